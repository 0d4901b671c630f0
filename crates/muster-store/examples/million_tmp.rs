#![allow(clippy::unwrap_used)]
use muster_store::{open_sqlite, RunMode, SnapshotPerson, Store};
use std::time::Instant;
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .collect::<Vec<_>>()
        .join(" ")
}
#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(&dir.path().join("m.db")).await.unwrap();
    let run = store.start_run(RunMode::Apply, "c").await.unwrap();
    let persons: Vec<SnapshotPerson> = (0..1_000_000u32)
        .map(|i| SnapshotPerson {
            external_id: format!("{i:08}").into(),
            record_hash: format!("{:064x}", u64::from(i) * 7919),
            record: serde_json::json!({"ExternalId": format!("{i:08}"), "Name": {"GivenName": "Ann", "FamilyName": "Jansen"}, "Contact": {"Business": {"Email": format!("p{i}@example.org")}}, "Contracts": [{"Department": "Maths", "Title": "Teacher", "StartDate": "2020-01-01"}]}),
        })
        .collect();
    println!("built: {}", rss());
    for round in 0..2 {
        let t = Instant::now();
        let meta = store
            .save_snapshot("hr", &run.id, "d", &persons, 0)
            .await
            .unwrap();
        println!("save round {round}: {:?} {}", t.elapsed(), rss());
        let t = Instant::now();
        let back = store.snapshot_persons(meta.id).await.unwrap();
        println!("load: {:?} ({} persons) {}", t.elapsed(), back.len(), rss());
    }
    store.close().await;
    println!(
        "file: {} MB",
        std::fs::metadata(dir.path().join("m.db")).unwrap().len() / 1_000_000
    );
}
