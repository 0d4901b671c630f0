//! Environment overrides: `MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL=…` sets
//! `targets.scim.connection.base_url`, so one file serves test and production. Segments match
//! existing keys ignoring case and `-`/`_`; a value is read as TOML (number, boolean, inline
//! table) when it parses as one, else as a string.

use toml_edit::{DocumentMut, Item, Table, Value};

pub const PREFIX: &str = "MUSTER__";

/// Applies the overrides and returns the names of the variables used.
pub fn apply(
    doc: &mut DocumentMut,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Vec<String>, String> {
    let mut used = Vec::new();
    let mut vars: Vec<(String, String)> = vars.filter(|(k, _)| k.starts_with(PREFIX)).collect();
    vars.sort();
    for (name, raw) in vars {
        let segments: Vec<&str> = name[PREFIX.len()..]
            .split("__")
            .filter(|s| !s.is_empty())
            .collect();
        let Some((last, parents)) = segments.split_last() else {
            return Err(format!("{name}: no key after {PREFIX}"));
        };
        let mut table: &mut Table = doc.as_table_mut();
        for seg in parents {
            let key = find_key(table, seg);
            // An inline table becomes a `[table]` below; the comments above its key must move
            // above that header, or they end up inside the brackets and break the TOML.
            let comments = if matches!(table.get(&key), Some(Item::Value(Value::InlineTable(_)))) {
                table.key_mut(&key).and_then(|mut k| {
                    let decor = k.leaf_decor_mut();
                    let prefix = decor.prefix().cloned();
                    decor.clear();
                    prefix
                })
            } else {
                None
            };
            let entry = table
                .entry(&key)
                .or_insert_with(|| Item::Table(Table::new()));
            table = match entry {
                Item::Table(t) => t,
                Item::Value(Value::InlineTable(_)) => {
                    let Some(inline) = entry.as_inline_table_mut() else {
                        return Err(format!("{name}: `{seg}` is not a table"));
                    };
                    let mut t = std::mem::take(inline).into_table();
                    if let Some(comments) = comments {
                        t.decor_mut().set_prefix(comments);
                    }
                    *entry = Item::Table(t);
                    match entry {
                        Item::Table(t) => t,
                        _ => return Err(format!("{name}: `{seg}` is not a table")),
                    }
                }
                _ => {
                    return Err(format!(
                        "{name}: `{seg}` is not a table, so `{}` cannot be set in it",
                        last.to_lowercase()
                    ))
                }
            };
        }
        let key = find_key(table, last);
        table.insert(&key, Item::Value(parse_value(&raw)));
        used.push(name);
    }
    Ok(used)
}

fn find_key(table: &Table, segment: &str) -> String {
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    table
        .iter()
        .map(|(k, _)| k)
        .find(|k| norm(k) == norm(segment))
        .map_or_else(|| segment.to_lowercase(), str::to_owned)
}

fn parse_value(raw: &str) -> Value {
    raw.parse::<Value>()
        .ok()
        .filter(|v| !v.is_str())
        .unwrap_or_else(|| Value::from(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_nested_keys_case_insensitively() {
        let mut doc: DocumentMut =
            "[targets.My-Scim.connection]\nbase_url = \"http://a\"\npage_size = 10\n"
                .parse()
                .unwrap();
        let vars = vec![
            (
                "MUSTER__TARGETS__MY_SCIM__CONNECTION__BASE_URL".to_owned(),
                "http://b".to_owned(),
            ),
            (
                "MUSTER__TARGETS__MY_SCIM__CONNECTION__PAGE_SIZE".to_owned(),
                "50".to_owned(),
            ),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let used = apply(&mut doc, vars.into_iter()).unwrap();
        assert_eq!(used.len(), 2);
        let t = &doc["targets"]["My-Scim"]["connection"];
        assert_eq!(t["base_url"].as_str(), Some("http://b"));
        assert_eq!(t["page_size"].as_integer(), Some(50));
    }

    #[test]
    fn inline_tables_can_be_overridden_too() {
        let mut doc: DocumentMut = "[targets.s]\nconnection = { base_url = \"http://a\" }\n"
            .parse()
            .unwrap();
        apply(
            &mut doc,
            vec![(
                "MUSTER__TARGETS__S__CONNECTION__BASE_URL".to_owned(),
                "http://c".to_owned(),
            )]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            doc["targets"]["s"]["connection"]["base_url"].as_str(),
            Some("http://c")
        );
    }

    #[test]
    fn an_inline_table_under_comments_stays_valid_toml() {
        let text = "[targets.h]\nkind = \"x\"\n# a comment\n# another\nconnection = { base_url = \"a\", key = { env = \"K\" } }\ncorrelation = { person = \"p\" }\n";
        let mut doc: DocumentMut = text.parse().unwrap();
        apply(
            &mut doc,
            [(
                "MUSTER__TARGETS__H__CONNECTION__BASE_URL".to_owned(),
                "b".to_owned(),
            )]
            .into_iter(),
        )
        .unwrap();
        let out = doc.to_string();
        let again: DocumentMut = out.parse().unwrap();
        assert_eq!(
            again["targets"]["h"]["connection"]["base_url"].as_str(),
            Some("b")
        );
        assert!(
            out.contains("# a comment\n# another\n[targets.h.connection]"),
            "{out}"
        );
    }
}
