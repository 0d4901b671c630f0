//! Why a mapping file cannot be used: the file, the JSON line, the field and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// One problem in a mapping file. Every problem of a file is collected, so an administrator
/// fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when it can be found.
    pub line: Option<usize>,
    /// Where in the file, e.g. `MappingFields[3] (userName).MappingActions[0].Value`.
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{}: cannot read the mapping file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON, or not shaped like a `fieldMapping.json`.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", Listed { path, problems })]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl MappingError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Read { path, .. } | Self::Json { path, .. } | Self::Invalid { path, .. } => path,
        }
    }

    /// Every problem as (line, key, message), whatever the kind of error.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Read { source, .. } => vec![Problem {
                line: None,
                key: String::new(),
                message: format!("cannot read the mapping file: {source}"),
            }],
            Self::Json { line, message, .. } => vec![Problem {
                line: Some(*line),
                key: String::new(),
                message: message.clone(),
            }],
            Self::Invalid { problems, .. } => problems.clone(),
        }
    }
}

struct Listed<'a> {
    path: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.path.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            if !p.key.is_empty() {
                write!(f, ": {}", p.key)?;
            }
            write!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}
