//! The JSON source reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| muster_fuzz::json_source(data));
