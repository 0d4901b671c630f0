//! Mapping-script results kept in the store, so that a new process (a one-shot `muster plan`)
//! only runs scripts for persons whose record or mapping changed since the last run.
//!
//! Each `Complex` mapping caches its results in memory, keyed by a digest of the person
//! (`muster_mapping::ResultCache`). Around the evaluation of a target, [`preload`] fills
//! caches that are still empty from the store, and [`save`] writes back what the run used: the
//! changes only when the store is known to hold the rest (a 1 % change writes 1 % of the rows),
//! else everything. Results of persons who left or changed drop out; results of a script whose
//! source changed are stored under another mapping digest and the old ones are dropped.
//!
//! Secret mappings are never stored: their values (a generated password) stay in memory and are
//! computed again by a new process. The store is a cache here: when it cannot be read or
//! written, the run goes on (logged) and scripts run again where results are missing.

use crate::config::TargetConfig;
use muster_core::mapping::{ComputeError, ValueSource};
use muster_mapping::{CachedResult, ResultCache, ResultKey, ScriptValue};
use muster_store::{ComputedChanges, ComputedEntry, ComputedKey, ComputedValues, Store};
use std::collections::HashMap;
use std::time::Instant;
use tracing::{debug, warn};

/// A script whose results may be stored: its field, the script and its cache.
type Stored<'a> = (&'a str, &'a ScriptValue, &'a ResultCache);

/// The target's scripts with a cache that are not secret.
fn stored_scripts(t: &TargetConfig) -> Vec<Stored<'_>> {
    let mut out: Vec<Stored<'_>> = Vec::new();
    for m in &t.policy.mappings {
        if m.secret || t.secret_fields.contains(&m.field) {
            continue;
        }
        let ValueSource::Computed(c) = &m.value else {
            continue;
        };
        let Some(script) = c.as_any().and_then(|a| a.downcast_ref::<ScriptValue>()) else {
            continue;
        };
        let Some(cache) = script.results() else {
            continue;
        };
        out.push((&m.field, script, cache));
    }
    out
}

/// Whether two scripts store their results under the same key: the same script mapped to a
/// field twice (on different actions) computes the same results.
fn same(a: &Stored<'_>, b: &Stored<'_>) -> bool {
    a.0 == b.0 && a.1.mapping_digest() == b.1.mapping_digest()
}

/// Before a target's evaluation (and before `start_run`): brings the stored results back into
/// scripts that hold none (a new process, a reloaded configuration). Caches that are warm are
/// left alone; they know more than the store.
pub async fn preload(store: &dyn Store, t: &TargetConfig) {
    let mut cold: Vec<Stored<'_>> = stored_scripts(t);
    cold.retain(|(_, _, cache)| cache.is_empty());
    if cold.is_empty() {
        return;
    }
    let started = Instant::now();
    let stored = match store.computed_values(&t.name).await {
        Ok(s) => s,
        Err(e) => {
            warn!(target = %t.name, error = %e, "Stored mapping results are unreadable; every script runs again.");
            return;
        }
    };
    let mut by_script: HashMap<(String, String), Vec<ComputedEntry>> = stored
        .into_iter()
        .map(|s| ((s.field, s.mapping_digest), s.values))
        .collect();
    let mut loaded = 0;
    for (i, (field, script, cache)) in cold.iter().enumerate() {
        let key = ((*field).to_owned(), script.mapping_digest().to_owned());
        let values = if cold[i + 1..].iter().any(|later| same(later, &cold[i])) {
            by_script.get(&key).cloned()
        } else {
            by_script.remove(&key)
        }
        .unwrap_or_default();
        loaded += values.len();
        // Also with nothing stored: the cache then knows the store holds nothing of it.
        cache.preload(values.into_iter().map(cached));
    }
    debug!(
        target = %t.name,
        results = loaded,
        outdated_scripts = by_script.len(),
        ms = started.elapsed().as_millis() as u64,
        "Stored mapping results loaded."
    );
}

/// After a target's evaluation: stores the results the run used, so the next process starts
/// from them. Writes nothing when nothing changed.
pub async fn save(store: &dyn Store, t: &TargetConfig) {
    let mut scripts = stored_scripts(t);
    let mut i = 0;
    while i < scripts.len() {
        if scripts[..i]
            .iter()
            .any(|earlier| same(earlier, &scripts[i]))
        {
            scripts.remove(i);
        } else {
            i += 1;
        }
    }
    if scripts.is_empty() {
        return;
    }
    let started = Instant::now();
    let in_sync = scripts.iter().all(|(_, _, cache)| cache.in_sync());
    let (written, result) = if in_sync {
        let changes: Vec<ComputedChanges> = scripts
            .iter()
            .map(|(field, script, cache)| {
                let c = cache.changes();
                ComputedChanges {
                    field: (*field).to_owned(),
                    mapping_digest: script.mapping_digest().to_owned(),
                    removed: c.removed.iter().map(key).collect(),
                    added: c.added.into_iter().map(entry).collect(),
                }
            })
            .collect();
        let written: usize = changes
            .iter()
            .map(|c| c.added.len() + c.removed.len())
            .sum();
        if written == 0 {
            return;
        }
        (
            written,
            store.update_computed_values(&t.name, &changes).await,
        )
    } else {
        let all: Vec<ComputedValues> = scripts
            .iter()
            .map(|(field, script, cache)| ComputedValues {
                field: (*field).to_owned(),
                mapping_digest: script.mapping_digest().to_owned(),
                values: cache.snapshot().into_iter().map(entry).collect(),
            })
            .collect();
        let written = all.iter().map(|s| s.values.len()).sum();
        (written, store.replace_computed_values(&t.name, &all).await)
    };
    match result {
        Ok(()) => {
            for (_, _, cache) in &scripts {
                cache.mark_saved();
            }
            debug!(
                target = %t.name,
                rows = written,
                whole = !in_sync,
                ms = started.elapsed().as_millis() as u64,
                "Mapping results stored."
            );
        }
        Err(e) => {
            warn!(target = %t.name, error = %e, "Mapping results could not be stored; the next process runs those scripts again.");
        }
    }
}

fn key(k: &ResultKey) -> ComputedKey {
    ComputedKey {
        person_digest: k.person_digest(),
        iteration: k.iteration(),
    }
}

fn entry(r: CachedResult) -> ComputedEntry {
    ComputedEntry {
        key: key(&r.key),
        outcome: r.outcome.map_err(|e| e.message),
    }
}

fn cached(e: ComputedEntry) -> CachedResult {
    CachedResult {
        key: ResultKey::from_parts(e.key.person_digest, e.key.iteration),
        outcome: e.outcome.map_err(|message| ComputeError { message }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use muster_core::evaluate::evaluate_all;
    use muster_core::model::Person;

    const MAPPING: &str = r#"{ "Version": "v1", "MappingFields": [
  { "Name": "nickName", "Type": "Text", "MappingActions": [{ "MapForActions": ["Create"],
    "MappingMode": "Complex", "Value": "\"Person.Name.GivenName + '!'\"" }] } ] }"#;

    fn config(dir: &std::path::Path) -> Config {
        std::fs::write(dir.join("fieldMapping.json"), MAPPING).unwrap();
        let text = "[source]\nkind = \"csv\"\npersons = \"persons.csv\"\n\n[targets.scim]\nkind = \"scim\"\n\
             connection = { base_url = \"http://127.0.0.1:9/scim/v2\", auth = { bearer = { env = \"T\" } } }\n\
             correlation = { person = \"ExternalId\", account = \"externalId\" }\n\
             mapping_file = \"fieldMapping.json\"\n";
        Config::parse(&dir.join("muster.toml"), text, std::iter::empty()).unwrap()
    }

    fn persons(names: &[&str]) -> Vec<Person> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut p = Person::new(format!("{i}"));
                p.name.given_name = Some((*n).into());
                p
            })
            .collect()
    }

    async fn run(store: &dyn Store, t: &TargetConfig, people: &[Person]) {
        preload(store, t).await;
        t.policy.start_run();
        let today = "2026-03-02".parse().unwrap();
        evaluate_all(people, &t.policy, today);
        save(store, t).await;
    }

    async fn stored(store: &dyn Store) -> Vec<serde_json::Value> {
        let mut values: Vec<serde_json::Value> = store
            .computed_values(&"scim".into())
            .await
            .unwrap()
            .into_iter()
            .flat_map(|s| s.values)
            .filter_map(|v| v.outcome.ok().flatten())
            .collect();
        values.sort_by_key(|v| v.to_string());
        values
    }

    #[tokio::test]
    async fn a_cache_out_of_step_with_the_store_is_written_whole_else_only_its_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let c = config(dir.path());
        let t = &c.targets[0];
        run(&store, t, &persons(&["Ann", "Bob"])).await;
        assert_eq!(stored(&store).await, ["Ann!", "Bob!"]);

        // A run whose results were not saved (the write failed): the next run's cache no
        // longer knows all the store holds (Bob), so the next save replaces everything.
        t.policy.start_run();
        evaluate_all(
            &persons(&["Ann", "Cas"]),
            &t.policy,
            "2026-03-02".parse().unwrap(),
        );
        run(&store, t, &persons(&["Ann", "Dirk"])).await;
        assert_eq!(stored(&store).await, ["Ann!", "Dirk!"]);
        let scripts = stored_scripts(t);
        assert!(scripts[0].2.in_sync());

        // In step: only the change is written (Dirk out, Eve in), on top of what is there.
        run(&store, t, &persons(&["Ann", "Eve"])).await;
        assert_eq!(stored(&store).await, ["Ann!", "Eve!"]);
    }
}
