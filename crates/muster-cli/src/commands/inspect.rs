//! import, runs, audit: commands that read and report.

use super::{load_config, print_json, today};
use crate::cli::Args;
use crate::exit;
use crate::output::table;
use anyhow::{Context, Result};
use muster_core::model::{ExternalId, TargetName};
use muster_engine::Engine;
use muster_store::AuditQuery;

pub async fn import(args: &Args, target: &str, link: bool) -> Result<u8> {
    let engine = Engine::open(load_config(args)?).await?;
    let report = engine.import(target, today(None), link).await?;
    if args.json {
        print_json(&report)?;
        return Ok(exit::OK);
    }
    println!(
        "{}: {} account(s), {} group(s), {} membership(s)",
        report.target, report.accounts, report.groups, report.memberships
    );
    let rows = vec![
        vec!["linked".into(), report.linked.len().to_string()],
        vec![
            if link {
                "correlated now (linked)"
            } else {
                "correlated now"
            }
            .into(),
            report.correlated_now.len().to_string(),
        ],
        vec![
            "persons without account".into(),
            report.persons_without_account.len().to_string(),
        ],
        vec![
            "accounts without person".into(),
            report.accounts_without_person.len().to_string(),
        ],
        vec!["disputed".into(), report.disputed.len().to_string()],
        vec![
            "matching account linked to someone else".into(),
            report.linked_to_someone_else.len().to_string(),
        ],
        vec![
            "deleted in the target (never correlated)".into(),
            report.deleted_accounts.len().to_string(),
        ],
    ];
    println!("{}", table(&["correlation", "count"], &rows));
    for d in &report.disputed {
        let accounts: Vec<String> = d.accounts.iter().map(ToString::to_string).collect();
        println!(
            "disputed: {} ({:?}) matches {}",
            d.person,
            d.value,
            accounts.join(", ")
        );
    }
    for h in &report.linked_to_someone_else {
        println!(
            "held: {} matches account {}, which is linked to {}",
            h.person, h.account, h.owner
        );
    }
    if !report.permissions.is_empty() {
        let rows: Vec<Vec<String>> = report
            .permissions
            .iter()
            .map(|p| vec![p.name.clone(), p.accounts.len().to_string()])
            .collect();
        println!("{}", table(&["permission", "holders"], &rows));
    }
    for p in &report.permissions {
        for (account, times) in &p.listed_more_than_once {
            println!(
                "listed more than once: {account} is listed {times} times in `{}`",
                p.name
            );
        }
    }
    for a in report.accounts_without_person.iter().take(50) {
        println!(
            "account without person: {} {}",
            a.account,
            a.value.as_deref().unwrap_or("")
        );
    }
    Ok(exit::OK)
}

pub async fn runs(args: &Args, limit: usize) -> Result<u8> {
    let config = load_config(args)?;
    let store = muster_engine::open_store(&config.store).await?;
    let runs = store.runs(limit).await?;
    if args.json {
        print_json(&runs)?;
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.mode.as_str().to_owned(),
                r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.finished_at
                    .map(|f| (f - r.started_at).num_milliseconds().to_string() + " ms")
                    .unwrap_or_else(|| "running".into()),
                r.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["run", "mode", "started (UTC)", "took", "status"], &rows)
    );
    Ok(exit::OK)
}

pub async fn audit(
    args: &Args,
    person: Option<&str>,
    target: Option<&str>,
    since: Option<&str>,
    run: Option<&str>,
    limit: usize,
) -> Result<u8> {
    let config = load_config(args)?;
    let store = muster_engine::open_store(&config.store).await?;
    let since = since.map(parse_since).transpose()?;
    let events = store
        .audit(&AuditQuery {
            person: person.map(ExternalId::new),
            target: target.map(TargetName::new),
            since,
            run: run.map(str::to_owned),
            limit,
            ..AuditQuery::default()
        })
        .await?;
    if args.json {
        print_json(&events)?;
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.target.to_string(),
                e.person.to_string(),
                e.action.to_string(),
                e.outcome.to_string(),
                e.permission
                    .as_ref()
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| {
                        e.changes
                            .iter()
                            .map(|c| c.field.clone())
                            .collect::<Vec<_>>()
                            .join(",")
                    }),
                match &e.detail {
                    Some(d) => format!("{} — {d}", e.reason),
                    None => e.reason.clone(),
                },
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &["at (UTC)", "target", "person", "action", "outcome", "what", "why"],
            &rows
        )
    );
    Ok(exit::OK)
}

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d: chrono::NaiveDate = s
        .parse()
        .with_context(|| format!("--since {s:?}: expected YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(d.and_hms_opt(0, 0, 0).context("midnight")?.and_utc())
}
