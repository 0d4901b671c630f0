//! reconcile: orphan accounts, their proposed actions, decisions and `--apply`.

use super::{confirmed, load_config, print_json, today};
use crate::cli::Args;
use crate::exit;
use crate::output::table;
use anyhow::Result;
use muster_core::model::AccountRef;
use muster_engine::reconcile::{Decide, ReconcileReport, ReconcileRequest};
use muster_engine::Engine;
use muster_store::OrphanVerdict;

/// The decision flags as given (clap lets at most one be set, and only with `--account`).
pub struct Decision {
    pub exclude_until: Option<chrono::NaiveDate>,
    pub resolve: bool,
    pub disable: bool,
    pub delete: bool,
    pub forget: bool,
}

/// The decision about `account` the flags ask for, if any.
pub fn decide(account: Option<&str>, d: &Decision) -> Option<(AccountRef, Decide)> {
    let decide = match d {
        Decision {
            exclude_until: Some(day),
            ..
        } => Decide::Record(OrphanVerdict::ExcludedUntil(*day)),
        Decision { resolve: true, .. } => Decide::Record(OrphanVerdict::Resolved),
        Decision { disable: true, .. } => Decide::Record(OrphanVerdict::Disable),
        Decision { delete: true, .. } => Decide::Record(OrphanVerdict::Delete),
        Decision { forget: true, .. } => Decide::Forget,
        _ => return None,
    };
    account.map(|a| (AccountRef::new(a), decide))
}

pub async fn run(
    args: &Args,
    target: &str,
    decide: Option<(AccountRef, Decide)>,
    apply: bool,
    yes: bool,
    day: Option<chrono::NaiveDate>,
) -> Result<u8> {
    let engine = Engine::open(load_config(args)?).await?;
    let mut request = ReconcileRequest {
        target: target.to_owned(),
        today: today(day),
        decide,
        by: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        apply: apply && yes,
    };
    if apply && !yes {
        let preview = engine.reconcile(&request).await?;
        let actions = preview
            .orphans
            .iter()
            .filter(|o| o.action.is_some())
            .count();
        if actions == 0 {
            print(args, &preview)?;
            return Ok(exit::of(preview.summary.status()));
        }
        let question = format!("Apply {actions} action(s) to orphan accounts?");
        if !confirmed(|| print(args, &preview), &question)? {
            return Ok(exit::OK);
        }
        request.decide = None;
        request.apply = true;
    }
    let report = engine.reconcile(&request).await?;
    print(args, &report)?;
    Ok(exit::of(report.summary.status()))
}

fn print(args: &Args, report: &ReconcileReport) -> Result<()> {
    if args.json {
        return print_json(&serde_json::json!({
            "status": report.summary.status().as_str(),
            "report": report,
        }));
    }
    println!(
        "{}: {} orphan account(s), policy {} (run {})",
        report.target,
        report.orphans.len(),
        report.policy,
        report.run
    );
    let rows: Vec<Vec<String>> = report
        .orphans
        .iter()
        .map(|o| {
            vec![
                o.account.to_string(),
                o.value.clone().unwrap_or_default(),
                if o.enabled { "yes" } else { "no" }.into(),
                o.decision
                    .as_ref()
                    .map(|d| d.verdict.to_string())
                    .unwrap_or_default(),
                o.action
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| "-".into()),
                o.reason.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        println!(
            "{}",
            table(
                &["account", "value", "enabled", "decision", "action", "why"],
                &rows
            )
        );
    }
    if let Some(why) = &report.source_incomplete {
        println!("nothing is disabled or deleted: {why}");
    }
    for why in &report.blocked {
        println!("blocked: {why}");
    }
    if report.applied {
        for t in &report.summary.targets {
            for (kind, c) in &t.by_action {
                println!(
                    "{kind}: {} done, {} failed, {} blocked, {} skipped",
                    c.done, c.failed, c.blocked, c.skipped
                );
            }
            if let Some(why) = &t.stopped {
                println!("stopped: {why}");
            }
        }
    }
    Ok(())
}
