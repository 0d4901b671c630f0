//! The `muster` binary: glue between the command line and `muster-engine`. Exit codes are
//! decided here, in one place (see [`exit`]).

mod cli;
mod commands;
mod exit;
mod output;

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// mimalloc instead of the system allocator: a plan is millions of small allocations (names,
/// values, actions), and glibc's malloc spent ~40 % of a 100,000-person plan in allocating,
/// freeing and consolidating them (perf, docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if let Err(e) = init_logging(&args) {
        eprintln!("error: {e}");
        return exit::ERROR.into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR.into();
        }
    };
    match runtime.block_on(commands::dispatch(args)) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::ERROR.into()
        }
    }
}

/// Logs go to stderr so `--json` output on stdout stays parseable, or to `--log-file`.
/// `RUST_LOG` wins over `--log-level`, that over `-v`, that over the configuration's
/// `[run] log_level`. Colour only on a terminal, and never with `NO_COLOR` set.
fn init_logging(args: &cli::Args) -> Result<(), String> {
    let default = log_level(args);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&default));
    let (writer, colour) = match &args.log_file {
        Some(path) => {
            let file = muster_store::private_file::append(path)
                .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
            (BoxMakeWriter::new(std::sync::Arc::new(file)), false)
        }
        None => (BoxMakeWriter::new(std::io::stderr), colour_on_stderr()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    match args.log_format {
        cli::LogFormat::Text => builder.with_ansi(colour).init(),
        cli::LogFormat::Json => builder.with_ansi(false).json().init(),
    }
    Ok(())
}

/// The log level the arguments and the configuration ask for (before `RUST_LOG`).
fn log_level(args: &cli::Args) -> String {
    if let Some(level) = &args.log_level {
        return level.clone();
    }
    match args.verbose {
        0 => configured_log_level(&args.config).unwrap_or_else(|| "warn".to_owned()),
        1 => "info".to_owned(),
        2 => "debug".to_owned(),
        _ => "trace".to_owned(),
    }
}

/// `[run] log_level` of the configuration file, if it can be read; its problems are reported
/// when the configuration is loaded (logging starts before that).
fn configured_log_level(path: &std::path::Path) -> Option<String> {
    const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
    let text = std::fs::read_to_string(path).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let level = value
        .get("run")?
        .get("log_level")?
        .as_str()?
        .trim()
        .to_lowercase();
    LEVELS.contains(&level.as_str()).then_some(level)
}

/// Colour codes only for a person at a terminal: stderr is one, and `NO_COLOR` (no-color.org:
/// set and not empty) does not ask otherwise.
fn colour_on_stderr() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}
