//! `muster sim <kind>`: the kind's simulator on 127.0.0.1 until Ctrl-C.

use crate::cli::SimKind;
use crate::exit;
use anyhow::{Context, Result};
use std::net::Ipv4Addr;

pub async fn run(request: &SimKind) -> Result<u8> {
    let port = request.port;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let sim = request.sim;
    println!("{}", sim.banner(listener.local_addr()?));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    sim.serve(&request.values, listener, Box::pin(shutdown))
        .await
        .with_context(|| format!("the {} simulator stopped", request.name))?;
    Ok(exit::OK)
}
