//! The configuration parser.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| muster_fuzz::config(text));
