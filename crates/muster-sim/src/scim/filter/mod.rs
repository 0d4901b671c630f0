//! SCIM filters (RFC 7644 §3.4.2.2): parsing the `filter` query value into a [`Filter`], and
//! matching it against a stored resource.
//!
//! Supported: `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (…)`, parentheses, value paths
//! (`emails[type eq "work"]`) and, beyond the RFC grammar, a compared sub-attribute after a value
//! path (`emails[type eq "work"].value eq "x"`). String values are JSON strings, so `\"`, `\\`
//! and `\uXXXX` are unescaped exactly as JSON does. Case sensitivity per attribute comes from
//! `schema`; matching lives in `eval`. PATCH paths reuse [`parse_attr_path`] and [`Parser`].

use serde_json::Value;

mod eval;

pub use eval::get_ci;

/// An attribute reference: optional schema URN, attribute, optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. the enterprise extension, as written.
    pub schema: Option<String>,
    /// Attribute name, as written.
    pub attr: String,
    /// Sub-attribute name, as written.
    pub sub: Option<String>,
}

impl AttrPath {
    /// A bare attribute.
    pub fn simple(attr: &str) -> Self {
        Self {
            schema: None,
            attr: attr.to_string(),
            sub: None,
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr op value`
    Compare(AttrPath, CompareOp, Value),
    /// `attr pr`
    Present(AttrPath),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attr[inner]`: some element of `attr` matches `inner`, whose paths name sub-attributes.
    ValuePath(AttrPath, Box<Filter>),
}

/// Why a filter did not parse; the position is a byte offset into the filter text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at byte {pos}: {reason}")]
pub struct FilterError {
    /// Byte offset of the offending token.
    pub pos: usize,
    /// What was wrong.
    pub reason: String,
}

fn err<T>(pos: usize, reason: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        pos,
        reason: reason.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBrack,
    RBrack,
    Word(String),
    Str(String),
}

/// Splits filter text into tokens with their byte offsets.
pub(crate) fn lex(text: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let single = match c {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBrack),
            b']' => Some(Tok::RBrack),
            _ => None,
        };
        if let Some(t) = single {
            toks.push((i, t));
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' {
            let start = i;
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return err(start, "unterminated string"),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
            // The value is a JSON string (RFC 7644 §3.4.2.2), so JSON does the unescaping.
            let raw = text.get(start..i).unwrap_or_default();
            match serde_json::from_str::<String>(raw) {
                Ok(s) => toks.push((start, Tok::Str(s))),
                Err(e) => return err(start, format!("bad string {raw}: {e}")),
            }
        } else {
            let start = i;
            while i < bytes.len()
                && !b"()[]\"".contains(&bytes[i])
                && !bytes[i].is_ascii_whitespace()
            {
                i += 1;
            }
            toks.push((
                start,
                Tok::Word(text.get(start..i).unwrap_or_default().to_string()),
            ));
        }
    }
    Ok(toks)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name == "$ref"
        || (chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// Parses `[URN ":"] attr ["." sub]`. A URN prefix ends at the last `:`.
pub fn parse_attr_path(word: &str, pos: usize) -> Result<AttrPath, FilterError> {
    let (schema, rest) = match word.rfind(':') {
        Some(i)
            if word
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("urn:")) =>
        {
            (Some(word[..i].to_string()), &word[i + 1..])
        }
        Some(_) => return err(pos, format!("'{word}' is not an attribute path")),
        None => (None, word),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return err(pos, format!("'{word}' is not an attribute path"));
    }
    Ok(AttrPath {
        schema,
        attr: attr.to_string(),
        sub: sub.map(str::to_string),
    })
}

/// Recursive-descent parser over [`lex`] tokens; `not` binds tightest, then `and`, then `or`.
pub(crate) struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    nested: bool,
}

impl Parser {
    pub(crate) fn new(toks: Vec<(usize, Tok)>, end: usize) -> Self {
        Self {
            toks,
            i: 0,
            end,
            nested: false,
        }
    }

    pub(crate) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    pub(crate) fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(p, _)| *p)
    }

    pub(crate) fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), FilterError> {
        let pos = self.pos();
        match self.next() {
            Some((_, t)) if &t == want => Ok(()),
            _ => err(pos, format!("expected {what}")),
        }
    }

    pub(crate) fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.i += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.i += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.i += 1;
            self.expect(&Tok::LParen, "'(' after 'not'")?;
            let f = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(Filter::Not(Box::new(f)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let f = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(f);
        }
        self.attr_expr()
    }

    /// Parses `attr[filter]` after `attr` was read: the bracketed filter, then an optional
    /// `.sub` glued to the `]`. Returns the inner filter and that sub-attribute.
    pub(crate) fn value_filter(&mut self) -> Result<(Filter, Option<String>), FilterError> {
        let open = self.pos();
        if self.nested {
            return err(open, "value filters cannot nest");
        }
        self.expect(&Tok::LBrack, "'['")?;
        self.nested = true;
        let inner = self.or()?;
        self.nested = false;
        let close = self.pos();
        self.expect(&Tok::RBrack, "']'")?;
        match self.toks.get(self.i) {
            Some((p, Tok::Word(w))) if *p == close + 1 && w.starts_with('.') => {
                let sub = w[1..].to_string();
                if !valid_name(&sub) {
                    return err(*p, format!("'{w}' is not a sub-attribute"));
                }
                self.i += 1;
                Ok((inner, Some(sub)))
            }
            _ => Ok((inner, None)),
        }
    }

    fn attr_expr(&mut self) -> Result<Filter, FilterError> {
        let pos = self.pos();
        let path = match self.next() {
            Some((p, Tok::Word(w))) => parse_attr_path(&w, p)?,
            _ => return err(pos, "expected an attribute"),
        };
        if self.peek() == Some(&Tok::LBrack) {
            let (inner, sub) = self.value_filter()?;
            let inner = match sub {
                // `emails[type eq "work"].value eq "x"` is `emails[type eq "work" and value eq "x"]`.
                Some(sub) => Filter::And(
                    Box::new(inner),
                    Box::new(self.operation(AttrPath::simple(&sub))?),
                ),
                None => inner,
            };
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.operation(path)
    }

    fn operation(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let pos = self.pos();
        let op = match self.next() {
            Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path))
            }
            Some((_, Tok::Word(w))) => match CompareOp::parse(&w) {
                Some(op) => op,
                None => return err(pos, format!("unknown operator '{w}'")),
            },
            _ => return err(pos, "expected an operator"),
        };
        let pos = self.pos();
        let value = match self.next() {
            Some((_, Tok::Str(s))) => Value::String(s),
            Some((_, Tok::Word(w))) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => match serde_json::from_str::<serde_json::Number>(&w) {
                    Ok(n) => Value::Number(n),
                    Err(_) => {
                        return err(
                            pos,
                            format!("'{w}' is not a value; strings need double quotes"),
                        )
                    }
                },
            },
            _ => return err(pos, "expected a value"),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a whole filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return err(0, "empty filter");
    }
    let mut p = Parser::new(toks, text.len());
    let f = p.or()?;
    if !p.at_end() {
        return err(p.pos(), "unexpected text after the filter");
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_values_are_unescaped_as_json() {
        let f = parse(r#"userName eq "ann \"jr\" o+b@corp.example""#).unwrap();
        assert_eq!(
            f,
            Filter::Compare(
                AttrPath::simple("userName"),
                CompareOp::Eq,
                json!("ann \"jr\" o+b@corp.example")
            )
        );
        let f = parse(r#"displayName eq "back\\slash \u0041\ud83d\ude00""#).unwrap();
        assert_eq!(
            f,
            Filter::Compare(
                AttrPath::simple("displayName"),
                CompareOp::Eq,
                json!("back\\slash A😀")
            )
        );
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName eq "unterminated"#,
            r#"userName eq unquoted"#,
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"userName eq "a" and"#,
            r#"userName eq "a" "b""#,
            r#"emails[type eq "work""#,
            r#"emails[x[y eq "1"]]"#,
            r#"userName eq "bad \q escape""#,
            r#"1name eq "a""#,
            r#"not userName eq "a""#,
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }
}
