//! The malformed-input corpus in `tests/corpus/`: every file must give a fatal error or blocked
//! records (or warnings) whose message names the file, and where it applies the line. No file
//! may quietly yield fewer valid persons than it holds without saying why.
//!
//! Adding a file to the corpus without a row in [`CASES`] fails `every_corpus_file_has_a_case`.

use muster_sources::{read_source, CsvSourceConfig, JsonSourceConfig, Source, SourceRead};
use std::path::{Path, PathBuf};

#[derive(Debug)]
enum Expect {
    /// The read stops; the error names the file and says this.
    Fatal(&'static str),
    /// `valid` persons and `blocked` records; some blocked reason says this.
    Blocked {
        valid: usize,
        blocked: usize,
        says: &'static str,
    },
    /// `valid` persons, none blocked; a warning names the file and says this.
    Warned { valid: usize, says: &'static str },
    /// Unusual but well-formed: `valid` persons, nothing blocked, no warning.
    Clean { valid: usize },
}

use Expect::{Blocked, Clean, Fatal, Warned};

/// (file, contracts file read with `ok_persons.csv` when set, expectation)
const CASES: &[(&str, Option<&str>, Expect)] = &[
    // Encodings and byte order marks.
    ("empty.csv", None, Fatal("the file is empty")),
    ("bom_only.csv", None, Fatal("the file is empty")),
    ("blank_lines_only.csv", None, Fatal("the file is empty")),
    ("utf16le_bom.csv", None, Fatal(":1: the file is UTF-16")),
    ("utf16be_bom.csv", None, Fatal(":1: the file is UTF-16")),
    ("utf16le_no_bom.csv", None, Fatal("NUL bytes")),
    ("bom_semicolon.csv", None, Clean { valid: 2 }),
    ("double_bom.csv", None, Clean { valid: 1 }),
    ("concatenated_exports.csv", None, Warned { valid: 2, says: "repeated header lines were skipped (lines 3)" }),
    ("latin1_value.csv", None, Blocked { valid: 1, blocked: 1, says: "not valid UTF-8 (byte 0xE9" }),
    ("latin1_header.csv", None, Fatal(":1: header column 2: not valid UTF-8")),
    ("latin1_id.csv", None, Blocked { valid: 1, blocked: 1, says: "column \"ExternalId\" (ExternalId): not valid UTF-8" }),
    ("nul_in_value.csv", None, Blocked { valid: 0, blocked: 1, says: "control character U+0000" }),
    // Structure.
    ("header_only.csv", None, Clean { valid: 0 }),
    ("wrong_count_short.csv", None, Blocked { valid: 1, blocked: 1, says: "the row has 2 fields, the header has 3" }),
    ("wrong_count_long.csv", None, Blocked { valid: 1, blocked: 1, says: "the row has 4 fields, the header has 3" }),
    ("mixed_delimiters.csv", None, Blocked { valid: 1, blocked: 1, says: "the row has 1 fields" }),
    ("unclosed_quote.csv", None, Blocked { valid: 1, blocked: 1, says: "runs from line 3 to line 5: is a quote left open?" }),
    ("stray_quotes_inside.csv", None, Clean { valid: 2 }),
    ("quoted_delimiters.csv", None, Warned { valid: 2, says: "ignored: Note" }),
    ("blank_rows.csv", None, Warned { valid: 2, says: "2 rows with no values at all were skipped (lines 3, 4)" }),
    ("crlf_mixed.csv", None, Clean { valid: 2 }),
    ("no_trailing_newline.csv", None, Clean { valid: 1 }),
    ("whitespace_header_line.csv", None, Clean { valid: 1 }),
    // Header problems.
    ("missing_id_column.csv", None, Fatal(":1: the header has no column \"ExternalId\"")),
    ("wrong_case_id_column.csv", None, Fatal("did you mean \"externalid\"?")),
    ("duplicate_header.csv", None, Fatal(":1: column \"Name.GivenName\" appears twice")),
    ("duplicate_id_header.csv", None, Fatal(":1: column \"ExternalId\" appears twice")),
    // Ids.
    ("duplicate_ids.csv", None, Blocked { valid: 1, blocked: 3, says: "duplicate ExternalId, also on lines 4, 5" }),
    ("duplicate_ids_whitespace.csv", None, Blocked { valid: 0, blocked: 2, says: "duplicate ExternalId, also on line 3" }),
    ("empty_id.csv", None, Blocked { valid: 1, blocked: 2, says: "is empty; every person needs an id" }),
    // Contracts, joined to ok_persons.csv (3 persons).
    ("ok_persons.csv", None, Clean { valid: 3 }),
    ("ok_persons.csv", Some("contracts_bad_dates.csv"), Blocked { valid: 0, blocked: 3, says: "\"31-02-2025\" is not a date in format %Y-%m-%d" }),
    ("ok_persons.csv", Some("contracts_bad_fte.csv"), Blocked { valid: 2, blocked: 1, says: "column \"Fte\" (Contracts.Fte): \"full\" is not a non-negative number" }),
    ("ok_persons.csv", Some("contracts_unknown_person.csv"), Warned { valid: 3, says: "line 3: \"99\"" }),
    ("ok_persons.csv", Some("contracts_wrong_count.csv"), Blocked { valid: 2, blocked: 1, says: "the row has 4 fields, the header has 3" }),
    ("ok_persons.csv", Some("contracts_missing_person_column.csv"), Fatal(":1: the header has no column \"PersonId\"")),
    ("ok_persons.csv", Some("contracts_empty.csv"), Fatal("the file is empty")),
    ("ok_persons.csv", Some("contracts_latin1.csv"), Blocked { valid: 2, blocked: 1, says: "column \"Department\" (Contracts.Department): not valid UTF-8" }),
    // JSON.
    ("empty.json", None, Fatal("the file is empty")),
    ("syntax_missing_comma.json", None, Fatal(":3:3: invalid JSON")),
    ("syntax_trailing_comma.json", None, Fatal(":3:1: invalid JSON: trailing comma")),
    ("truncated.json", None, Fatal(":4:1: invalid JSON: EOF while parsing")),
    ("trailing_garbage.json", None, Fatal(":2:1: invalid JSON: trailing characters")),
    ("not_array_object.json", None, Fatal("expected a JSON array of persons, found an object")),
    ("not_array_null.json", None, Fatal("expected a JSON array of persons, found null")),
    ("contracts_not_array.json", None, Blocked { valid: 1, blocked: 1, says: "Contracts: expected an array of contracts" }),
    ("bad_date.json", None, Blocked { valid: 1, blocked: 1, says: "Contracts[0].StartDate: \"01-08-2025\" is not a date" }),
    ("numeric_and_float_ids.json", None, Blocked { valid: 1, blocked: 2, says: "ExternalId: expected a string or a whole number, found a number" }),
    ("element_not_object.json", None, Blocked { valid: 1, blocked: 3, says: "expected an object for a person, found a string" }),
    ("duplicate_ids.json", None, Blocked { valid: 1, blocked: 2, says: "duplicate ExternalId, also on line 3" }),
    ("missing_external_id.json", None, Blocked { valid: 1, blocked: 1, says: "ExternalId is missing or empty" }),
    ("wrong_types.json", None, Blocked { valid: 0, blocked: 1, says: "Accounts.AD: expected an object of account fields, found a string; Name.GivenName: expected a string, found a number" }),
    ("latin1.json", None, Fatal(":2: not valid UTF-8 (byte 0xE9")),
    ("bom.json", None, Clean { valid: 1 }),
    ("utf16.json", None, Fatal(":1: the file is UTF-16")),
    ("unknown_fields.json", None, Warned { valid: 1, says: "unknown field `externalId`" }),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn read(file: &str, contracts: Option<&str>) -> Result<SourceRead, muster_sources::SourceError> {
    let config: Box<dyn Source> = if file.ends_with(".json") {
        Box::new(JsonSourceConfig::new(file))
    } else {
        let mut c = CsvSourceConfig::new(file);
        c.contracts = contracts.map(PathBuf::from);
        Box::new(c)
    };
    read_source(config.as_ref(), &corpus())
}

/// `file:N` with N a line number.
fn names_a_line_in(location: &str, file: &str) -> bool {
    location
        .strip_prefix(file)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0))
}

fn check(file: &str, contracts: Option<&str>, expect: &Expect) -> Result<(), String> {
    // The file that the message must name: the contracts file when one is read.
    let named = contracts.unwrap_or(file);
    let result = read(file, contracts);
    let read = match (result, expect) {
        (Err(e), Fatal(says)) => {
            let message = e.to_string();
            return if message.contains(named) && message.contains(says) {
                Ok(())
            } else {
                Err(format!(
                    "error does not name {named} or say {says:?}: {message}"
                ))
            };
        }
        (Err(e), _) => return Err(format!("unexpected error: {e}")),
        (Ok(read), Fatal(says)) => {
            return Err(format!(
                "expected an error saying {says:?}, read {} records",
                read.records.len()
            ))
        }
        (Ok(read), _) => read,
    };
    let (valid, blocked) = (read.valid_count(), read.blocked_count());
    let (want_valid, want_blocked) = match expect {
        Blocked { valid, blocked, .. } => (*valid, *blocked),
        Warned { valid, .. } | Clean { valid } => (*valid, 0),
        Fatal(_) => unreachable!(),
    };
    if (valid, blocked) != (want_valid, want_blocked) {
        return Err(format!(
            "{valid} valid and {blocked} blocked, expected {want_valid} and {want_blocked}: {:?} {:?}",
            read.records, read.warnings
        ));
    }
    for b in read.blocked() {
        if !names_a_line_in(b.location, file) && !names_a_line_in(b.location, named) {
            return Err(format!(
                "blocked record's location {:?} names no file:line",
                b.location
            ));
        }
    }
    match expect {
        Blocked { says, .. } => {
            if !read.blocked().any(|b| b.reason.contains(says)) {
                return Err(format!(
                    "no blocked reason says {says:?}: {:?}",
                    read.records
                ));
            }
        }
        Warned { says, .. } => {
            if !read
                .warnings
                .iter()
                .any(|w| w.starts_with(&format!("{named}: ")) && w.contains(says))
            {
                return Err(format!(
                    "no warning names {named} and says {says:?}: {:?}",
                    read.warnings
                ));
            }
        }
        Clean { .. } => {
            if !read.warnings.is_empty() {
                return Err(format!("unexpected warnings: {:?}", read.warnings));
            }
        }
        Fatal(_) => {}
    }
    Ok(())
}

#[test]
fn every_corpus_file_fails_loudly_or_reads_as_expected() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(file, contracts, expect)| {
            check(file, *contracts, expect)
                .err()
                .map(|why| format!("{file} {contracts:?}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_has_a_case() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !CASES
            .iter()
            .any(|(f, c, _)| *f == name || *c == Some(name.as_str()))
        {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "corpus files without a case: {missing:?}"
    );
    assert!(CASES.len() >= 30);
}

/// Huge inputs are made here rather than committed: a field past the limit, a quote left open
/// at the top of a large file, and a row with thousands of fields.
#[test]
fn huge_inputs_are_blocked_with_a_reason() {
    let dir = crate::util::Dir::new();
    let mut body = String::from("ExternalId;Name.GivenName\n1;\"");
    for i in 0..20_000 {
        body.push_str(&format!("{i};Person {i}\n"));
    }
    dir.write("open.csv", &body);
    let read = dir.csv(CsvSourceConfig::new("open.csv")).unwrap();
    let b: Vec<_> = read.blocked().collect();
    assert_eq!((read.valid_count(), b.len()), (0, 1));
    assert_eq!(b[0].location, "open.csv:2");
    assert!(b[0].reason.contains("bytes long"), "{}", b[0].reason);

    let wide = format!(
        "ExternalId;Name.GivenName\n1;Anouk{}\n2;Bram\n",
        ";x".repeat(10_000)
    );
    dir.write("wide.csv", wide);
    let read = dir.csv(CsvSourceConfig::new("wide.csv")).unwrap();
    let b: Vec<_> = read.blocked().collect();
    assert_eq!((read.valid_count(), b[0].location), (1, "wide.csv:2"));
    assert!(
        b[0].reason
            .contains("the row has 10002 fields, the header has 2"),
        "{}",
        b[0].reason
    );
}
