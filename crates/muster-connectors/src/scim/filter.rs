//! SCIM filter values (RFC 7644 §3.4.2.2) and query encoding.
//!
//! A filter value is a JSON string inside the filter text, so it is JSON-escaped (`\` → `\\`,
//! `"` → `\"`, control characters `\uXXXX`); the whole filter is then percent-encoded as a
//! query value, `+ & # % @` included, so that no character of a person's data can change the
//! filter's structure or the query string's. See `targets/scim.md` §2.

use super::path::{literal, AttrPath};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 "unreserved" characters is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` as a SCIM/JSON string literal, quotes included.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `attribute eq "value"`, for an attribute given as a SCIM attribute path. The attribute is
/// parsed first, so text that is not an attribute path never reaches the filter.
///
/// A path with a value filter, as Muster flattens multi-valued attributes, becomes the
/// filter form of the same thing: `emails[type eq "work"].value` and `x` give
/// `emails[type eq "work" and value eq "x"]`.
pub fn eq_filter(attribute: &str, value: &str) -> Result<String, String> {
    let path = AttrPath::parse(attribute)?;
    Ok(match &path.filter {
        None => format!("{path} eq {}", quote(value)),
        Some(selector) => {
            let outer = AttrPath {
                filter: None,
                sub: None,
                ..path.clone()
            };
            format!(
                "{outer}[{} eq {} and {} eq {}]",
                selector.attr,
                literal(&selector.value),
                path.sub.as_deref().unwrap_or("value"),
                quote(value)
            )
        }
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_spec_example_is_encoded_exactly() {
        let filter = eq_filter("userName", "ann \"jr\" o+b@corp.example").unwrap();
        assert_eq!(filter, r#"userName eq "ann \"jr\" o+b@corp.example""#);
        assert_eq!(
            format!("filter={}", encode_query_value(&filter)),
            "filter=userName%20eq%20%22ann%20%5C%22jr%5C%22%20o%2Bb%40corp.example%22"
        );
    }

    #[test]
    fn backslashes_controls_and_query_delimiters() {
        assert_eq!(quote(r"a\b"), r#""a\\b""#);
        assert_eq!(quote("a\nb\u{1}"), r#""a\u000ab\u0001""#);
        assert_eq!(encode_query_value("a&b#c%d e+f"), "a%26b%23c%25d%20e%2Bf");
        assert_eq!(encode_query_value("é"), "%C3%A9");
    }

    #[test]
    fn attributes_that_are_not_paths_are_refused() {
        assert!(eq_filter(r#"userName eq "x" or userName"#, "y").is_err());
        assert!(eq_filter("", "y").is_err());
        assert_eq!(
            eq_filter("emails.value", "a@b").unwrap(),
            r#"emails.value eq "a@b""#
        );
        assert_eq!(
            eq_filter(r#"emails[type eq "work"].value"#, "a@b").unwrap(),
            r#"emails[type eq "work" and value eq "a@b"]"#
        );
    }

    /// The filter's structure, read back the way a server reads it: an attribute, an
    /// operator, and one complete JSON string that is the whole rest of the filter.
    fn parse_back(filter: &str) -> Option<(String, String, String)> {
        let (attr, rest) = filter.split_once(' ')?;
        let (op, literal) = rest.split_once(' ')?;
        let value: String = serde_json::from_str(literal).ok()?;
        Some((attr.to_owned(), op.to_owned(), value))
    }

    proptest! {
        #[test]
        fn any_value_round_trips_without_changing_the_filter(value in any::<String>()) {
            let filter = eq_filter("userName", &value).unwrap();
            let (attr, op, back) = parse_back(&filter).expect("filter parses back");
            prop_assert_eq!(attr, "userName");
            prop_assert_eq!(op, "eq");
            prop_assert_eq!(&back, &value);

            let encoded = encode_query_value(&filter);
            prop_assert!(encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded = percent_encoding::percent_decode_str(&encoded)
                .decode_utf8()
                .unwrap();
            prop_assert_eq!(decoded.as_ref(), filter.as_str());
        }

        #[test]
        fn nasty_ascii_values_round_trip(value in "[ -~\\t\\n\\r\"\\\\]{0,40}") {
            let filter = eq_filter("externalId", &value).unwrap();
            let (_, _, back) = parse_back(&filter).expect("filter parses back");
            prop_assert_eq!(back, value);
        }
    }
}
