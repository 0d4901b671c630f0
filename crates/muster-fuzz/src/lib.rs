//! Fuzz harnesses: one function per kind of input Muster reads from outside — the CSV and JSON
//! source readers, the SCIM filter builder and the configuration parser. Each takes raw bytes
//! (or text), runs the real code on them and checks, besides "does not panic", the property
//! that this input must keep (a blocked record names its file; a filter value never changes
//! the filter; a configuration error names its file and a real line).
//!
//! Two drivers share these functions: `fuzz/` at the workspace root runs them under libFuzzer
//! (`cargo fuzz`, see `docs/RELIABILITY.md`), and `tests/it` runs them as bounded random
//! loops in `cargo test`, so the harnesses never rot and every run of the suite fuzzes a
//! little. A violated property panics, which both drivers report as a finding.

// A harness reports a finding by panicking: that is its whole interface.
#![allow(clippy::panic, clippy::expect_used)]

use muster_sources::{read_source, CsvSourceConfig, JsonSourceConfig, SourceRead};
use std::path::Path;

/// Checks what every successful source read promises: each blocked record says where it was
/// found (a file that was read, with a line) and why; ids of valid persons are unique.
fn check_read(read: &SourceRead, files: &[&str]) {
    for b in read.blocked() {
        assert!(
            files.iter().any(|f| b.location.starts_with(f)),
            "blocked record without its file: {:?}",
            b.location
        );
        assert!(!b.reason.is_empty(), "blocked record without a reason");
    }
    let mut ids: Vec<&str> = read.valid().map(|p| p.external_id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "a person id is valid twice");
    assert!(!read.digest.is_empty());
}

/// Reads `persons` (and `contracts`, when given) as the CSV source does, with every default.
pub fn csv_source(persons: &[u8], contracts: Option<&[u8]>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("persons.csv"), persons).expect("write persons");
    let mut config = CsvSourceConfig::new("persons.csv");
    if let Some(c) = contracts {
        std::fs::write(dir.path().join("contracts.csv"), c).expect("write contracts");
        config.contracts = Some("contracts.csv".into());
    }
    match read_source(&config, dir.path()) {
        Ok(read) => check_read(&read, &["persons.csv", "contracts.csv"]),
        Err(e) => assert!(!e.to_string().is_empty(), "an error without a message"),
    }
}

/// Reads `data` as the JSON source does, with every default.
pub fn json_source(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("export.json"), data).expect("write export");
    let config = JsonSourceConfig::new("export.json");
    match read_source(&config, dir.path()) {
        Ok(read) => check_read(&read, &["export.json"]),
        Err(e) => assert!(!e.to_string().is_empty(), "an error without a message"),
    }
}

/// Builds the look-up filter for `value` and reads it back with the SCIM simulator's parser
/// (an independent implementation of RFC 7644's grammar): it must be exactly one comparison
/// of the attribute with that value, whatever quotes, backslashes, operators or brackets the
/// value holds; and the query encoding must decode to the same filter.
pub fn scim_filter(value: &str) {
    use muster_connectors::scim::filter::{encode_query_value, eq_filter};
    use muster_sim::scim::filter::{parse, AttrPath, CompareOp, Filter};
    for attribute in ["userName", "externalId"] {
        let filter = eq_filter(attribute, value).expect("a plain attribute is a path");
        let parsed = parse(&filter).unwrap_or_else(|e| panic!("{filter:?} does not parse: {e:?}"));
        assert_eq!(
            parsed,
            Filter::Compare(
                AttrPath::simple(attribute),
                CompareOp::Eq,
                serde_json::Value::String(value.to_owned())
            ),
            "the value changed the filter {filter:?}"
        );
        let encoded = encode_query_value(&filter);
        let decoded = percent_encoding::percent_decode_str(&encoded)
            .decode_utf8()
            .expect("percent-encoded UTF-8");
        assert_eq!(decoded, filter);
    }
}

/// Parses `text` as `muster.toml` (with no environment overrides): it is accepted, or every
/// error names the file, a line within it (when it has one) and says what is wrong.
pub fn config(text: &str) {
    let file = Path::new("/nonexistent/fuzz/muster.toml");
    if let Err(errors) = muster_engine::Config::parse(file, text, std::iter::empty()) {
        assert!(!errors.0.is_empty(), "rejected without a reason");
        let lines = text.lines().count() + 1;
        for e in &errors.0 {
            assert_eq!(e.file, file);
            assert!(!e.message.is_empty(), "an error without a message: {e:?}");
            if let Some(line) = e.line {
                assert!(
                    (1..=lines).contains(&line),
                    "line {line} of a {lines}-line file"
                );
            }
        }
    }
}
