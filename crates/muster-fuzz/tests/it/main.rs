//! The fuzz harnesses as bounded random loops, so `cargo test` fuzzes every input kind a
//! little on each run: generated values for the SCIM filter, and for the readers and the
//! configuration parser the seed corpus (the malformed-input corpus of `muster-sources`, the
//! example configurations) with random byte and line mutations. The case counts bound the
//! time; a longer campaign is `cargo fuzz` (see `docs/RELIABILITY.md`).

// Test harness code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn corpus(ext: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(ROOT).join("crates/muster-sources/tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "seed corpus for .{ext} in {}",
        dir.display()
    );
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// One edit of a byte string: replace, insert or delete at a position (taken modulo the
/// length), or cut the rest.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the formats get extra weight.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b";,\t\"\n\r{}[]:\\ 0-9\x00\xef\xbb\xbf".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = data.len().max(1);
        match *e {
            Edit::Set(i, b) if !data.is_empty() => data[i % len] = b,
            Edit::Insert(i, b) => data.insert(i % (data.len() + 1), b),
            Edit::Delete(i) if !data.is_empty() => {
                data.remove(i % len);
            }
            Edit::Truncate(i) => data.truncate(i % (data.len() + 1)),
            _ => {}
        }
    }
    data
}

/// Whole lines of `text`, some dropped, some repeated, some swapped with another's.
fn shuffle_lines(text: &str, picks: &[usize]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    picks
        .iter()
        .map(|i| lines[i % lines.len()])
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_keeps_its_promises_on_mutated_corpus_files(
        persons in any::<prop::sample::Index>(),
        contracts in any::<prop::sample::Index>(),
        with_contracts in any::<bool>(),
        edits in prop::collection::vec(edit(), 0..12),
    ) {
        let seeds = corpus("csv");
        let persons = apply(persons.get(&seeds).clone(), &edits);
        let contracts = contracts.get(&seeds).clone();
        muster_fuzz::csv_source(&persons, with_contracts.then_some(contracts.as_slice()));
    }

    #[test]
    fn csv_reader_keeps_its_promises_on_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        muster_fuzz::csv_source(&data, None);
    }

    #[test]
    fn json_reader_keeps_its_promises_on_mutated_corpus_files(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..12),
    ) {
        let seeds = corpus("json");
        muster_fuzz::json_source(&apply(seed.get(&seeds).clone(), &edits));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_value_changes_the_meaning_of_a_scim_filter(value in any::<String>()) {
        muster_fuzz::scim_filter(&value);
    }

    #[test]
    fn no_filter_syntax_in_a_value_changes_the_meaning_of_a_scim_filter(
        value in r#"([ "\\\[\]()]|eq|or|and|not|pr|co|sw|userName|\\u00|\\"|\x00){0,16}"#,
    ) {
        muster_fuzz::scim_filter(&value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn configuration_errors_name_file_and_line_on_mutated_configurations(
        which in any::<bool>(),
        picks in prop::collection::vec(any::<usize>(), 0..80),
        edits in prop::collection::vec(edit(), 0..8),
    ) {
        let file = if which { "examples/demo/muster.toml" } else { "examples/scim/muster.toml" };
        let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
        let text = if picks.is_empty() { text } else { shuffle_lines(&text, &picks) };
        let bytes = apply(text.into_bytes(), &edits);
        muster_fuzz::config(&String::from_utf8_lossy(&bytes));
    }
}

/// Found by `configuration_errors_name_file_and_line_on_mutated_configurations`: the TOML
/// parser reports an array left open at the end of the file with a position and no message.
#[test]
fn an_array_left_open_at_the_end_of_the_file_is_reported_with_a_message() {
    muster_fuzz::config("when = { any = [\n#");
}
