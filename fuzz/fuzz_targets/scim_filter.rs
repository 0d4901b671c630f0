//! The SCIM filter builder: no value changes the filter's meaning.
#![no_main]

libfuzzer_sys::fuzz_target!(|value: &str| muster_fuzz::scim_filter(value));
