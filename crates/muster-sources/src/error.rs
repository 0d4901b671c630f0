//! Fatal source errors: problems with a whole file or the configuration, after which the run
//! must stop. Problems with one record are not errors; they become
//! [`SourceRecord::Blocked`](muster_core::model::SourceRecord::Blocked).

use std::fmt;
use std::path::PathBuf;

/// Why a source could not be read at all. Every variant names the file (as configured), the
/// line where known, and what was expected, so the administrator can fix it without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The configuration is inconsistent; nothing was read.
    #[error("invalid source configuration: {}", join(problems))]
    Config { problems: Vec<ConfigProblem> },

    /// The file could not be opened or read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file holds nothing: no header line (CSV) or no JSON value.
    #[error("{file}: the file is empty; expected {expected}")]
    Empty {
        file: String,
        expected: &'static str,
    },

    /// The bytes are not UTF-8 text where they must be (a UTF-16 export, a header or JSON
    /// document with invalid bytes).
    #[error("{file}{}: {detail}", at(*line, None))]
    Encoding {
        file: String,
        line: Option<u64>,
        detail: String,
    },

    /// A configured or required column is not in the header line.
    #[error("{file}:{line}: the header has no column \"{column}\" for {field} ({why}); columns found: {found}")]
    MissingColumn {
        file: String,
        line: u64,
        column: String,
        field: String,
        why: &'static str,
        found: String,
    },

    /// The header line is unusable, e.g. a column that is used appears twice.
    #[error("{file}:{line}: {detail}")]
    Header {
        file: String,
        line: u64,
        detail: String,
    },

    /// The JSON document is not well-formed.
    #[error("{file}{}: invalid JSON: {message}", at(Some(*line), Some(*column)))]
    JsonSyntax {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },

    /// A service the source reads over the network (`exchange-online`) could not be read
    /// completely: every page or nothing, so the run stops rather than see leavers.
    #[error("{service}: {detail}")]
    Service { service: String, detail: String },

    /// The JSON document is well-formed but is not an array of persons.
    #[error("{file}{}: expected a JSON array of persons, found {found}", at(*line, None))]
    NotAnArray {
        file: String,
        line: Option<u64>,
        found: String,
    },
}

/// One problem in the source configuration, by key (relative to the source's own table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key at fault, e.g. `columns."Name.Middle"` or `date_formats[1]`.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

fn join(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_line_and_expectation() {
        let e = SourceError::MissingColumn {
            file: "persons.csv".into(),
            line: 1,
            column: "Achternaam".into(),
            field: "Name.FamilyName".into(),
            why: "configured in `columns`",
            found: "Id, Naam".into(),
        };
        assert_eq!(
            e.to_string(),
            "persons.csv:1: the header has no column \"Achternaam\" for Name.FamilyName \
             (configured in `columns`); columns found: Id, Naam"
        );
        let e = SourceError::JsonSyntax {
            file: "p.json".into(),
            line: 3,
            column: 7,
            message: "expected `,`".into(),
        };
        assert_eq!(e.to_string(), "p.json:3:7: invalid JSON: expected `,`");
    }
}
