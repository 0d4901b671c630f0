//! `muster mapping eval`: a fieldMapping.json tried on persons from a file, without any
//! configuration, store or target. Exit 0 when every person gets every value, 4 when a field
//! fails for someone (that person would be held), 1 when a file cannot be used.

use super::{print_json, today};
use crate::cli::Args;
use crate::exit;
use anyhow::{anyhow, Context, Result};
use muster_core::model::{Person, PrimaryContractRule};
use muster_core::unique::Uniqueness;
use muster_mapping::preview::{preview, MappedAction, Outcome, PersonPreview};
use muster_mapping::{read_helloid_mapping, Limits};
use muster_sources::{CsvSourceConfig, JsonSourceConfig, Source};
use std::path::Path;

pub async fn eval(
    args: &Args,
    mapping: &Path,
    persons: &Path,
    contracts: Option<&Path>,
    action: &str,
    day: Option<chrono::NaiveDate>,
) -> Result<u8> {
    let action = MappedAction::parse(action).ok_or_else(|| {
        anyhow!("unknown action `{action}`: expected create, update, enable, disable or delete")
    })?;
    let day = today(day);
    let loaded = read_helloid_mapping(mapping, Limits::default())
        .map_err(|e| anyhow!("{e}"))
        .context("the mapping file cannot be used")?;
    let source = source_config(persons, contracts)?;
    let base = std::env::current_dir().context("the current folder is unknown")?;
    let (people, blocked, evaluated) = tokio::task::spawn_blocking(move || {
        let read = muster_sources::read_source(source.as_ref(), &base)?;
        let rule = PrimaryContractRule::default();
        let people: Vec<Person> = read
            .valid()
            .cloned()
            .map(|mut p| {
                rule.apply(&mut p, day);
                p
            })
            .collect();
        let blocked: Vec<String> = read
            .blocked()
            .map(|b| format!("{} ({}): {}", b.id, b.location, b.reason))
            .collect();
        let unique = Uniqueness {
            fields: loaded.unique_fields.iter().cloned().collect(),
            ..Uniqueness::default()
        };
        let evaluated = preview(&loaded.field_mappings(), &unique, &people, action, day);
        Ok::<_, muster_sources::SourceError>((people.len(), blocked, evaluated))
    })
    .await?
    .context("the persons file cannot be read")?;

    let held = evaluated.iter().filter(|p| p.is_blocked()).count();
    if args.json {
        let persons: Vec<serde_json::Value> = evaluated.iter().map(as_json).collect();
        print_json(&serde_json::json!({
            "action": action,
            "persons": persons,
            "blocked_records": blocked,
        }))?;
    } else {
        for p in &evaluated {
            print!("{}", as_text(p));
        }
        for b in &blocked {
            println!("blocked record: {b}");
        }
        println!(
            "{people} person(s): {} with every value, {held} held (a field could not be computed); {} blocked record(s)",
            people - held,
            blocked.len()
        );
    }
    Ok(exit::of_mapping_eval(held))
}

/// CSV or JSON by the file's extension, with the reader's defaults (`ExternalId` column,
/// `PersonId` in contracts, ISO dates).
fn source_config(persons: &Path, contracts: Option<&Path>) -> Result<Box<dyn Source>> {
    let is_json = persons
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        let mut csv = CsvSourceConfig::new(persons);
        csv.contracts = contracts.map(Path::to_path_buf);
        return Ok(Box::new(csv));
    }
    if contracts.is_some() {
        return Err(anyhow!(
            "--contracts goes with a persons CSV; a JSON export holds each person's Contracts"
        ));
    }
    Ok(Box::new(JsonSourceConfig::new(persons)))
}

fn as_json(p: &PersonPreview) -> serde_json::Value {
    serde_json::json!({
        "person": p.person,
        "values": p.nested_values(),
        "errors": p.errors(),
    })
}

fn as_text(p: &PersonPreview) -> String {
    let width = p
        .fields
        .iter()
        .map(|(f, _)| f.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "{}{}\n",
        p.person,
        if p.is_blocked() { "  (held)" } else { "" }
    );
    for (field, outcome) in &p.fields {
        let shown = match outcome {
            Outcome::Value(v) => v.to_string(),
            Outcome::Error(e) => format!("ERROR {e}"),
        };
        out.push_str(&format!("  {field:<width$}  {shown}\n"));
    }
    out
}
