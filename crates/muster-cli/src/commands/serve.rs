//! serve, token: Muster as a service, and the API tokens it accepts.

use super::{load_config, print_json};
use crate::cli::Args;
use crate::exit;
use crate::output::table;
use anyhow::{Context, Result};
use muster_server::tokens;
use muster_store::TokenRole;

pub async fn serve(args: &Args) -> Result<u8> {
    let service = muster_server::Service::open(
        &args.config,
        std::env::vars().collect::<Vec<_>>().into_iter(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("muster serve cannot start")?;
    let serving = service.start().await?;
    eprintln!(
        "muster serves on {}://{} (stop with Ctrl-C or SIGTERM)",
        if serving.tls { "https" } else { "http" },
        serving.addr
    );
    muster_server::shutdown_signal().await;
    let ended = serving.shutdown().await?;
    if !ended {
        eprintln!(
            "warning: the running run was cut off; the next apply settles what it left in flight"
        );
    }
    Ok(exit::OK)
}

async fn store(args: &Args) -> Result<std::sync::Arc<dyn muster_store::Store>> {
    let config = load_config(args)?;
    Ok(muster_engine::open_store(&config.store).await?)
}

pub async fn token_create(args: &Args, name: &str, role: &str) -> Result<u8> {
    let role: TokenRole = role.parse()?;
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "--name must not be empty");
    let store = store(args).await?;
    let made = tokens::create(&*store, name, role).await?;
    if args.json {
        print_json(&serde_json::json!({
            "id": made.record.id, "name": made.record.name, "role": role, "token": made.token,
        }))?;
    } else {
        println!(
            "Token {} ({}, {role}) — shown this once, store it now:",
            made.record.id, made.record.name
        );
        println!("{}", made.token);
    }
    Ok(exit::OK)
}

pub async fn token_revoke(args: &Args, id: &str) -> Result<u8> {
    let store = store(args).await?;
    let revoked = store.revoke_token(id).await?;
    println!("Token {} ({}) is revoked.", revoked.id, revoked.name);
    Ok(exit::OK)
}

pub async fn token_list(args: &Args) -> Result<u8> {
    let store = store(args).await?;
    let list = store.tokens().await?;
    if args.json {
        let views: Vec<_> = list
            .into_iter()
            .map(|t| serde_json::json!({
                "id": t.id, "name": t.name, "role": t.role, "created_at": t.created_at, "revoked_at": t.revoked_at,
            }))
            .collect();
        print_json(&views)?;
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = list
        .into_iter()
        .map(|t| {
            vec![
                t.id,
                t.name,
                t.role.to_string(),
                t.created_at.to_rfc3339(),
                t.revoked_at
                    .map_or_else(|| "-".to_owned(), |r| r.to_rfc3339()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["id", "name", "role", "created", "revoked"], &rows)
    );
    Ok(exit::OK)
}
