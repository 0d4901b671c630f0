//! Mapping-script results kept in the store: a new process (a fresh configuration load and
//! engine on the same store file) runs the scripts only for persons whose record changed, and
//! for everyone after the mapping changed. Secret mappings are never stored.

use crate::fixture::*;
use crate::mapping_file::{fixture, mapping_file};
use muster_core::mapping::ValueSource;
use muster_engine::Engine;
use muster_mapping::ScriptValue;

/// The `nickName` script of a freshly loaded engine.
fn nick(engine: &Engine) -> &ScriptValue {
    let t = engine.config.target("scim").unwrap();
    t.policy
        .mappings
        .iter()
        .filter(|m| m.field == "nickName")
        .find_map(|m| match &m.value {
            ValueSource::Computed(c) => c.as_any()?.downcast_ref::<ScriptValue>(),
            _ => None,
        })
        .unwrap()
}

/// (scripts, values) the store holds for the SCIM target.
async fn stored(engine: &Engine) -> (usize, usize) {
    let scripts = engine.store.computed_values(&"scim".into()).await.unwrap();
    let values = scripts.iter().map(|s| s.values.len()).sum();
    (scripts.len(), values)
}

#[tokio::test]
async fn a_new_process_runs_scripts_only_for_changed_persons_and_changed_mappings() {
    let f = fixture("none").await;
    let first = f.engine().await;
    first.apply(day(1), None).await.unwrap();
    let cold = nick(&first).runs();
    assert!(cold >= 300, "every person ran the script: {cold}");
    let (scripts, values) = stored(&first).await;
    assert_eq!(scripts, 1);
    assert!(
        values > 300,
        "300 persons plus the namesakes' iterations: {values}"
    );

    // A new process, nothing changed: no script runs, and the plan is as before.
    let second = f.engine().await;
    assert!(second.preview(day(1)).await.unwrap().plan.is_empty());
    assert_eq!(nick(&second).runs(), 0);
    assert_eq!(stored(&second).await, (1, values), "nothing to write");

    // One person's record changes (their initials, which the script does not read): only
    // they run the script again. (A changed nickName would also try Iteration 1–20, looking
    // for the value their account holds.)
    let persons = f.read("persons.csv");
    assert!(persons.contains("10002;Lars;;Bos;L.;"));
    f.write(
        "persons.csv",
        &persons.replace("10002;Lars;;Bos;L.;", "10002;Lars;;Bos;L.J.;"),
    );
    let third = f.engine().await;
    assert!(third.preview(day(1)).await.unwrap().plan.is_empty());
    assert_eq!(nick(&third).runs(), 1);
    assert_eq!(
        stored(&third).await,
        (1, values),
        "the old result replaced by the new"
    );
    // The same process again: its cache is warm, nothing runs and nothing is written.
    third.preview(day(1)).await.unwrap();
    assert_eq!(nick(&third).runs(), 1);

    // The mapping changes (the script now throws for 10007): everyone runs it again, and the
    // old mapping's results are dropped from the store.
    f.write("fieldMapping.json", &mapping_file("10007"));
    let fourth = f.engine().await;
    let preview = fourth.preview(day(1)).await.unwrap();
    assert!(nick(&fourth).runs() >= 300);
    assert_eq!(preview.plan.targets[0].held.len(), 1);
    assert_eq!(stored(&fourth).await.0, 1, "only the new mapping's results");

    // Its failure is stored too: the next process holds 10007 again without running anything.
    let fifth = f.engine().await;
    let preview = fifth.preview(day(1)).await.unwrap();
    assert_eq!(nick(&fifth).runs(), 0);
    let held = &preview.plan.targets[0].held;
    assert_eq!(held.len(), 1);
    assert!(held[0].reason.contains("no nickname for 10007"), "{held:?}");
}

#[tokio::test]
async fn secret_mappings_are_never_stored_and_run_again_in_a_new_process() {
    let f = fixture("none").await;
    let text = f.read("muster.toml").replace(
        "mapping_file = \"fieldMapping.json\"",
        "mapping_file = \"fieldMapping.json\"\nsecret_fields = [\"nickName\"]",
    );
    f.write("muster.toml", &text);
    let first = f.engine().await;
    first.apply(day(1), None).await.unwrap();
    assert_eq!(stored(&first).await, (0, 0));

    let second = f.engine().await;
    second.preview(day(1)).await.unwrap();
    assert!(nick(&second).runs() >= 300, "nothing was stored to reuse");
    assert_eq!(stored(&second).await, (0, 0));
}
