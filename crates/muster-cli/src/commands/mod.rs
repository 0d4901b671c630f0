//! One function per command. Each returns the process exit code.

mod demo;
mod inspect;
mod mapping;
mod reconcile;
mod run;
mod serve;
mod sim;
mod store;

use crate::cli::{Args, Command, DemoScenario, MappingCommand, StoreCommand, TokenCommand};
use anyhow::{bail, Context, Result};
use muster_engine::Config;
use std::io::{BufRead, IsTerminal, Write};

pub async fn dispatch(args: Args) -> Result<u8> {
    match &args.command {
        Command::Validate => run::validate(&args).await,
        Command::Plan {
            out,
            full,
            today,
            reset_account_mapping,
        } => run::plan(&args, out.as_deref(), *full, *today, *reset_account_mapping).await,
        Command::Apply {
            plan,
            yes,
            allow_large,
            perform_sync,
            reset_account_mapping,
            today,
        } => {
            let options = run::ApplyOptions {
                yes: *yes,
                allow_large: *allow_large,
                perform_sync: *perform_sync,
                reset_account_mapping: *reset_account_mapping,
            };
            run::apply(&args, plan.as_deref(), options, *today).await
        }
        Command::Approve {
            run: id,
            action,
            no_apply,
            perform_sync,
            today,
        } => {
            run::approve(
                &args,
                id,
                action.as_deref(),
                *no_apply,
                *perform_sync,
                *today,
            )
            .await
        }
        Command::Import { target, link } => inspect::import(&args, target, *link).await,
        Command::Reconcile {
            target,
            account,
            exclude_until,
            resolve,
            disable,
            delete,
            forget,
            apply,
            yes,
            today,
        } => {
            let decision = reconcile::Decision {
                exclude_until: *exclude_until,
                resolve: *resolve,
                disable: *disable,
                delete: *delete,
                forget: *forget,
            };
            let decide = reconcile::decide(account.as_deref(), &decision);
            reconcile::run(&args, target, decide, *apply, *yes, *today).await
        }
        Command::Runs { limit } => inspect::runs(&args, *limit).await,
        Command::Audit {
            person,
            target,
            since,
            run,
            limit,
        } => {
            inspect::audit(
                &args,
                person.as_deref(),
                target.as_deref(),
                since.as_deref(),
                run.as_deref(),
                *limit,
            )
            .await
        }
        Command::Mapping {
            command:
                MappingCommand::Eval {
                    mapping,
                    persons,
                    contracts,
                    action,
                    today,
                },
        } => {
            mapping::eval(
                &args,
                mapping,
                persons,
                contracts.as_deref(),
                action,
                *today,
            )
            .await
        }
        Command::Sim { kind } => sim::run(kind).await,
        Command::Demo { dir, scenario } => match scenario {
            None => demo::run(dir).await,
            Some(DemoScenario::CloudSync { dir }) => demo::cloud_sync(dir).await,
        },
        Command::Serve => serve::serve(&args).await,
        Command::Token { command } => match command {
            TokenCommand::Create { name, role } => serve::token_create(&args, name, role).await,
            TokenCommand::Revoke { id } => serve::token_revoke(&args, id).await,
            TokenCommand::List => serve::token_list(&args).await,
        },
        Command::Store { command } => match command {
            StoreCommand::Migrate => store::migrate(&args).await,
            StoreCommand::Copy { from, to, force } => {
                store::copy(&args, from, to.as_deref(), *force).await
            }
        },
    }
}

pub fn load_config(args: &Args) -> Result<Config> {
    Config::load(&args.config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the configuration is not valid")
}

/// Asks before applying: refuses when stdin is not a terminal, calls `show` (the preview),
/// prints `question` and reads one line. `true` on `y`, `Y` or `yes`; otherwise says
/// "Nothing applied." and returns `false`.
pub fn confirmed(show: impl FnOnce() -> Result<()>, question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: not on a terminal; pass --yes");
    }
    show()?;
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        return Ok(true);
    }
    println!("Nothing applied.");
    Ok(false)
}

pub fn today(explicit: Option<chrono::NaiveDate>) -> chrono::NaiveDate {
    explicit.unwrap_or_else(|| chrono::Local::now().date_naive())
}

pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
