//! Why a script produced no value, in the words an administrator reads in a plan: the
//! script's own message and line, a time or memory limit, or a result of the wrong type.

use crate::field_type::FieldType;
use rquickjs::{Ctx, Value};
use std::fmt;
use std::time::Duration;

/// Lines the engine puts before the script (the opening `{` of the block that scopes its
/// `let` and `const`); subtracted from every line QuickJS reports.
pub(crate) const WRAPPER_LINES: usize = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The script threw, or does not compile: `TypeError: cannot read property 'x' of null`.
    Threw {
        message: String,
        line: Option<usize>,
    },
    /// Ran past the time limit (an endless loop).
    Timeout(Duration),
    /// Tried to use more memory than the limit.
    OutOfMemory(usize),
    /// Returned something the field's `Type` does not allow.
    WrongType {
        got: &'static str,
        expected: FieldType,
    },
    /// The engine itself failed (could not start, bad bytecode): not the script's fault.
    Engine(String),
}

impl Failure {
    /// Takes the pending exception of `ctx` and describes it.
    pub(crate) fn from_exception(ctx: &Ctx<'_>) -> Self {
        describe(ctx.catch())
    }

    /// Whether running the same script for the same person again gives the same failure,
    /// so the outcome may be cached. Limits depend on the machine's load; the engine's own
    /// failures may be passing.
    pub(crate) fn is_deterministic(&self) -> bool {
        matches!(self, Self::Threw { .. } | Self::WrongType { .. })
    }
}

fn describe(exception: Value<'_>) -> Failure {
    let Some(object) = exception.as_object() else {
        // `throw 'text'`: no stack, no line.
        let text =
            rquickjs::convert::Coerced::<String>::from_js(exception.ctx(), exception.clone())
                .map(|c| c.0)
                .unwrap_or_else(|_| exception.type_name().to_owned());
        return Failure::Threw {
            message: format!("threw {text}"),
            line: None,
        };
    };
    let name: Option<String> = object.get("name").ok();
    let message: Option<String> = object.get("message").ok();
    let stack: Option<String> = object.get("stack").ok();
    let message = match (name, message) {
        (Some(n), Some(m)) if !m.is_empty() => format!("{n}: {m}"),
        (Some(n), _) => n,
        (None, Some(m)) => m,
        (None, None) => "threw an object".to_owned(),
    };
    Failure::Threw {
        message,
        line: stack.as_deref().and_then(line_of),
    }
}

use rquickjs::FromJs as _;

/// The script line of the innermost frame in a QuickJS stack trace
/// (`    at f (mapping:12:5)` or `    at mapping:3:1` for a syntax error).
fn line_of(stack: &str) -> Option<usize> {
    let marker = format!("{}:", super::engine::FILE_NAME);
    stack.lines().find_map(|frame| {
        let at = frame.find(&marker)?;
        let before = frame[..at].chars().last();
        if !matches!(before, Some('(') | Some(' ')) {
            return None;
        }
        let digits: String = frame[at + marker.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .parse::<usize>()
            .ok()?
            .checked_sub(WRAPPER_LINES)
            .filter(|l| *l > 0)
    })
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Threw {
                message,
                line: Some(line),
            } => write!(f, "script line {line}: {message}"),
            Self::Threw {
                message,
                line: None,
            } => write!(f, "script: {message}"),
            Self::Timeout(limit) => write!(
                f,
                "script did not finish within {} ms (an endless loop?)",
                limit.as_millis()
            ),
            Self::OutOfMemory(limit) => write!(
                f,
                "script needed more than {} MiB of memory",
                limit / (1024 * 1024)
            ),
            Self::WrongType { got, expected } => write!(
                f,
                "script returned {got} where Type {expected} ({}) is expected",
                expected.expected()
            ),
            Self::Engine(message) => write!(f, "JavaScript engine: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_from_the_innermost_frame_less_the_wrapper() {
        assert_eq!(
            line_of("    at g (mapping:3:21)\n    at <eval> (mapping:5:1)\n"),
            Some(2)
        );
        assert_eq!(line_of("    at mapping:4:2\n"), Some(3));
        assert_eq!(line_of("    at prelude:4:2\n"), None);
        assert_eq!(line_of(""), None);
    }
}
