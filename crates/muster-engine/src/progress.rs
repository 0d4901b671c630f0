//! Progress reporting, so the engine can drive a progress bar without knowing about
//! terminals. The CLI implements it with indicatif when stdout is a terminal.

pub trait Progress: Send + Sync {
    fn start(&self, label: &str, total: u64);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Reports nothing (scripts, tests, non-terminal output).
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
