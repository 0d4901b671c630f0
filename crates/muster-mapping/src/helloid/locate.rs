//! Where things are in a `fieldMapping.json`'s text, for messages: serde_json gives no
//! positions for values, so the reader finds each field's object and its keys itself.

/// 1-based line of a byte offset.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Byte offsets of `"key"` used as an object key (followed by `:`) in `text[from..to]`. A
/// quote inside a JSON string is escaped (`\"`), so string contents never match.
pub(super) fn key_offsets(text: &str, from: usize, to: usize, key: &str) -> Vec<usize> {
    let needle = format!("\"{key}\"");
    let region = text.get(from..to.min(text.len())).unwrap_or_default();
    region
        .match_indices(&needle)
        .filter(|(i, _)| region[i + needle.len()..].trim_start().starts_with(':'))
        .map(|(i, _)| from + i)
        .collect()
}

pub(super) fn line_of_key(text: &str, from: usize, key: &str) -> Option<usize> {
    key_offsets(text, from, text.len(), key)
        .first()
        .map(|o| line_at(text, *o))
}

/// The byte range of each object in a top-level array (`MappingFields`' entries), in file
/// order. Walks the text once, skipping string contents (scripts are full of braces).
pub(super) fn field_regions(text: &str) -> Vec<(usize, usize)> {
    let mut regions = Vec::new();
    let mut depth = 0usize;
    let mut open: Option<usize> = None;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 2 && b == b'{' {
                    open = Some(i);
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 2 && b == b'}' {
                    if let Some(start) = open.take() {
                        regions.push((start, i + 1));
                    }
                }
            }
            _ => {}
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_regions_skip_braces_inside_strings() {
        let text = r#"{"Version": "v1", "MappingFields": [
            {"Name": "a", "Value": "\"{ } [ \\\" {\""},
            {"Name": "b"}
        ], "UniqueFieldNames": ["a"]}"#;
        let regions = field_regions(text);
        assert_eq!(regions.len(), 2);
        assert!(text[regions[0].0..regions[0].1].ends_with("\"}"));
        assert_eq!(&text[regions[1].0..regions[1].1], "{\"Name\": \"b\"}");
    }

    #[test]
    fn keys_inside_strings_are_not_keys() {
        let text = r#"{"Description": "the \"Value\": x", "Value": "1"}"#;
        assert_eq!(key_offsets(text, 0, text.len(), "Value").len(), 1);
    }
}
