//! Shared pieces of Muster's benchmarks: generated inputs for the pure stages. The figures
//! themselves come from `benches/plan.rs` (criterion) and the `muster-bench` binary.

pub mod generate;
