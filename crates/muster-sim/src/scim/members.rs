//! A group's member list, kept outside the group's generic attribute map so that one
//! membership change costs O(log n) in the group's size.
//!
//! Stored as a JSON array, removing one member meant scanning (and shifting) the whole array:
//! 3.8 ms per request in a group of 100,000. Here each member sits under an increasing position
//! number in a `BTreeMap` (the list's order: insertion order, a member removed and added again
//! going last), and an index from member id to its positions finds it without a scan. A member
//! listed several times (the `duplicate_member_adds` switch) has several positions, all removed
//! by one remove, as a `remove` of `members[value eq "id"]` does.
//!
//! The store renders [`Members::iter`] into `members` when it serves a group, and hands
//! [`Members::to_json`] to the generic paths (PUT, PATCH through `patch::apply`, filters) that
//! work on the whole attribute map; what they write back is split out again with
//! [`Members::from_json`]. Those paths cost the list's size, as they did before.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::schema::Kind;

/// Members in the order they were added, repeats included.
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// Position → member; positions only grow, so iteration is insertion order.
    by_pos: BTreeMap<u64, (String, Kind)>,
    /// Member id → its positions (more than one only when repeats are kept).
    positions: HashMap<String, Vec<u64>>,
    next: u64,
}

impl Members {
    /// Appends `id`, after every member there is (even if `id` is listed already).
    pub fn push(&mut self, id: String, ty: Kind) {
        let pos = self.next;
        self.next += 1;
        self.positions.entry(id.clone()).or_default().push(pos);
        self.by_pos.insert(pos, (id, ty));
    }

    /// Removes every entry of `id`; says whether there was one. O(k log n) for k entries.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(positions) = self.positions.remove(id) else {
            return false;
        };
        for pos in positions {
            self.by_pos.remove(&pos);
        }
        true
    }

    /// Whether no member is listed.
    pub fn is_empty(&self) -> bool {
        self.by_pos.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Kind)> {
        self.by_pos.values().map(|(id, ty)| (id.as_str(), *ty))
    }

    /// The list as the attribute map holds it (`[{"value": id, "type": …}, …]`), or `None`
    /// when empty (a group without members has no `members` attribute).
    pub fn to_json(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        Some(
            self.iter()
                .map(|(id, ty)| json!({ "value": id, "type": ty.name() }))
                .collect(),
        )
    }

    /// The list from a resolved `members` array (every element `{"value", "type"}`, as
    /// `Store::resolve_members` leaves it); elements without a string `value` are skipped.
    pub fn from_json(members: Option<Value>) -> Self {
        let mut out = Self::default();
        let Some(Value::Array(items)) = members else {
            return out;
        };
        for m in items {
            let Some(id) = m.get("value").and_then(Value::as_str) else {
                continue;
            };
            let ty = if m.get("type").and_then(Value::as_str) == Some("Group") {
                Kind::Group
            } else {
                Kind::User
            };
            out.push(id.to_string(), ty);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(m: &Members) -> Vec<&str> {
        m.iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn removes_take_every_repeat_and_re_adds_go_last() {
        let mut m = Members::default();
        for id in ["a", "b", "a", "c"] {
            m.push(id.into(), Kind::User);
        }
        m.push("g".into(), Kind::Group);
        assert!(m.remove("a"));
        assert!(!m.remove("a"));
        assert_eq!(ids(&m), ["b", "c", "g"]);
        m.push("a".into(), Kind::User);
        assert_eq!(ids(&m), ["b", "c", "g", "a"]);
        let back = Members::from_json(m.to_json());
        assert_eq!(back.to_json(), m.to_json());
        assert_eq!(
            m.to_json().and_then(|v| v.get(2).cloned()),
            Some(json!({"value": "g", "type": "Group"}))
        );
        for id in ["a", "b", "c", "g"] {
            assert!(m.remove(id));
        }
        assert!(m.is_empty() && m.to_json().is_none());
    }
}
