//! The CSV source reader: persons, or persons and contracts split at the first NUL byte.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match data.iter().position(|b| *b == 0) {
        Some(at) => muster_fuzz::csv_source(&data[..at], Some(&data[at + 1..])),
        None => muster_fuzz::csv_source(data, None),
    }
});
