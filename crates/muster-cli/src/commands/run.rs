//! validate, plan, apply, approve: the commands that run the pipeline.

use super::{confirmed, load_config, print_json, today};
use crate::cli::Args;
use crate::exit;
use crate::output;
use anyhow::{Context, Result};
use muster_core::plan::{ActionKind, Plan};
use muster_engine::progress::Progress;
use muster_engine::run::RunReport;
use muster_engine::Engine;
use std::path::Path;
use std::sync::Arc;

pub async fn validate(args: &Args) -> Result<u8> {
    let config = load_config(args)?;
    // Without touching a target: the source is read and checked, secrets must be resolvable.
    let engine_free_read = {
        let source = config.source.clone();
        let base = config.base_dir.clone();
        tokio::task::spawn_blocking(move || muster_sources::read_source(&*source, &base)).await?
    };
    let read = engine_free_read.context("the source cannot be read")?;
    let blocked: Vec<_> = read.blocked().collect();
    if args.json {
        print_json(&serde_json::json!({
            "config": config.file,
            "targets": config.targets.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
            "persons": read.valid_count(),
            "blocked": blocked.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>(),
            "warnings": read.warnings,
        }))?;
    } else {
        println!("{}: configuration is valid", config.file.display());
        println!(
            "targets: {}",
            config
                .targets
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "source: {} valid person(s), {} blocked record(s)",
            read.valid_count(),
            blocked.len()
        );
        for b in blocked.iter().take(50) {
            println!("  blocked: {b:?}");
        }
        for w in &read.warnings {
            println!("  warning: {w}");
        }
    }
    Ok(exit::OK)
}

async fn open(args: &Args) -> Result<Engine> {
    let config = load_config(args)?;
    let engine = Engine::open(config).await?;
    Ok(match (args.json, crate::output::Bar::new()) {
        (false, Some(bar)) => engine.with_progress(Arc::new(bar) as Arc<dyn Progress>),
        _ => engine,
    })
}

pub async fn plan(
    args: &Args,
    out: Option<&Path>,
    full: bool,
    day: Option<chrono::NaiveDate>,
    reset_account_mapping: bool,
) -> Result<u8> {
    let engine = open(args)
        .await?
        .resetting_account_mapping(reset_account_mapping);
    let report = engine.preview(today(day)).await?;
    if let Some(path) = out {
        // Only the owner may read it: a plan names persons and their addresses.
        muster_store::private_file::create(path)
            .and_then(|file| output::write_plan(&report.plan, file))
            .with_context(|| format!("cannot write the plan to {}", path.display()))?;
    }
    print_report(args, &report, true, full)?;
    Ok(exit::of(report.summary.status()))
}

/// The switches of one `muster apply`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    pub yes: bool,
    /// `--allow-large` / `--allow-large-sync`.
    pub allow_large: bool,
    /// `--perform-sync`: write even under `perform_sync = false`.
    pub perform_sync: bool,
    /// `--reset-account-mapping`: forget the stored links once.
    pub reset_account_mapping: bool,
}

pub async fn apply(
    args: &Args,
    plan_file: Option<&Path>,
    options: ApplyOptions,
    day: Option<chrono::NaiveDate>,
) -> Result<u8> {
    let engine = open(args)
        .await?
        .allowing_large(options.allow_large)
        .performing_sync(options.perform_sync)
        .resetting_account_mapping(options.reset_account_mapping);
    let yes = options.yes || engine.preview_only();
    let today = today(day);
    let expected: Option<Plan> = match plan_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the plan {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a Muster plan", path.display()))?,
            )
        }
        None => None,
    };
    if !yes {
        let preview = engine.preview(today).await?;
        if preview.plan.is_empty() && preview.summary.blocked.is_none() {
            print_report(args, &preview, false, false)?;
            return Ok(exit::of(preview.summary.status()));
        }
        let show = || -> Result<()> {
            println!("{}", output::report_text(&preview, true, false));
            Ok(())
        };
        let question = format!("Apply {} action(s)?", preview.plan.action_count());
        if !confirmed(show, &question)? {
            return Ok(exit::OK);
        }
    }
    let report = engine.apply(today, expected.as_ref()).await?;
    print_report(args, &report, report.summary.preview_mode, false)?;
    Ok(exit::of(report.summary.status()))
}

pub async fn approve(
    args: &Args,
    run: &str,
    action: Option<&str>,
    no_apply: bool,
    perform_sync: bool,
    day: Option<chrono::NaiveDate>,
) -> Result<u8> {
    let engine = open(args).await?.performing_sync(perform_sync);
    let kind = action.map(str::parse::<ActionKind>).transpose()?;
    let by = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let approvals = engine.approve(run, kind, &by).await?;
    for a in &approvals {
        println!(
            "approved: {} {} × {} (run {})",
            a.target, a.kind, a.count, a.run
        );
    }
    if no_apply {
        return Ok(exit::OK);
    }
    let report = engine.apply(today(day), None).await?;
    print_report(args, &report, false, false)?;
    Ok(exit::of(report.summary.status()))
}

fn print_report(args: &Args, report: &RunReport, show_plan: bool, full: bool) -> Result<()> {
    if args.json {
        print_json(&serde_json::json!({
            "run": report.run,
            "status": report.summary.status().as_str(),
            "summary": report.summary,
            "plan": report.plan,
            "blocked_records": report.blocked_records,
            "warnings": report.warnings,
        }))
    } else {
        print!("{}", output::report_text(report, show_plan, full));
        Ok(())
    }
}
