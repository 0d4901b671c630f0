//! The field values of one evaluation: each mapped field once, with the actions it is written
//! on. A field written on create and update used to be held twice (once per action's map),
//! with a new name `String` per copy; at 100,000 persons × 3 targets those copies were a third
//! of the plan's heap. Names are shared with the policy ([`FieldNames`]).

use crate::connector::Attributes;
use crate::mapping::{ActionSet, FieldAction, FieldMapping};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// The mappings' field names of one policy, allocated once and shared by every evaluation
/// of a run: `names[i]` is the name of `mappings[i]`.
#[derive(Debug, Clone, Default)]
pub struct FieldNames(Vec<Arc<str>>);

impl FieldNames {
    pub fn of(mappings: &[FieldMapping]) -> Self {
        Self(
            mappings
                .iter()
                .map(|m| Arc::from(m.field.as_str()))
                .collect(),
        )
    }

    /// The shared name of `mappings[index]`; a new one when these names belong to other
    /// mappings (a caller's mistake that must not cost a wrong field name).
    pub(crate) fn name(&self, index: usize, mapping: &FieldMapping) -> Arc<str> {
        match self.0.get(index) {
            Some(name) if **name == *mapping.field => Arc::clone(name),
            _ => Arc::from(mapping.field.as_str()),
        }
    }
}

/// The values of one person's mapped fields in one target, by action. Each value is held
/// once with the set of actions it is written on. Sorted by name, so every action's fields
/// come in the order an [`Attributes`] map gives them.
#[derive(Clone, Default)]
pub struct FieldValues {
    /// Sorted by name. Several entries share a name only when several mappings write one
    /// field on different actions; their action sets never overlap.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    name: Arc<str>,
    value: Value,
    actions: ActionSet,
}

impl FieldValues {
    /// Room for `n` fields, so an evaluation allocates its fields once.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Sets `name` to `value` on `actions`, replacing what the field had on those actions
    /// (as a later mapping of the same field overrides an earlier one); its value on other
    /// actions stays.
    pub fn set(&mut self, name: &Arc<str>, value: Value, actions: ActionSet) {
        if actions.is_empty() {
            return;
        }
        let start = self.entries.partition_point(|e| *e.name < **name);
        let mut end = start;
        let mut emptied = false;
        while let Some(e) = self.entries.get_mut(end).filter(|e| *e.name == **name) {
            e.actions = e.actions.without(actions);
            emptied |= e.actions.is_empty();
            end += 1;
        }
        self.entries.insert(
            end,
            Entry {
                name: Arc::clone(name),
                value,
                actions,
            },
        );
        if emptied {
            self.entries.retain(|e| !e.actions.is_empty());
        }
    }

    /// The fields written on `action`.
    pub fn on(&self, action: FieldAction) -> FieldsOn<'_> {
        FieldsOn {
            entries: &self.entries,
            action,
        }
    }

    /// The value of `name` written on `action`.
    pub fn get(&self, action: FieldAction, name: &str) -> Option<&Value> {
        self.on(action).get(name)
    }
}

/// Equal when every action has the same fields and values, however the entries are split.
impl PartialEq for FieldValues {
    fn eq(&self, other: &Self) -> bool {
        FieldAction::ALL
            .iter()
            .all(|a| self.on(*a).iter().eq(other.on(*a).iter()))
    }
}

/// Shown per action, as the five maps it replaces were.
impl fmt::Debug for FieldValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("FieldValues");
        for (label, action) in [
            ("create", FieldAction::Create),
            ("update", FieldAction::Update),
            ("enable", FieldAction::Enable),
            ("disable", FieldAction::Disable),
            ("delete", FieldAction::Delete),
        ] {
            s.field(label, &self.on(action));
        }
        s.finish()
    }
}

/// The fields of one evaluation written on one action: a borrowed view, in name order.
#[derive(Clone, Copy)]
pub struct FieldsOn<'a> {
    entries: &'a [Entry],
    action: FieldAction,
}

impl<'a> FieldsOn<'a> {
    /// `(name, value)` in name order.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        let action = self.action;
        self.entries
            .iter()
            .filter(move |e| e.actions.contains(action))
            .map(|e| (&*e.name, &e.value))
    }

    pub fn get(self, name: &str) -> Option<&'a Value> {
        let start = self.entries.partition_point(|e| *e.name < *name);
        self.entries[start..]
            .iter()
            .take_while(|e| *e.name == *name)
            .find(|e| e.actions.contains(self.action))
            .map(|e| &e.value)
    }

    pub fn is_empty(self) -> bool {
        self.iter().next().is_none()
    }

    /// An owned copy, for an action that must own its attributes.
    pub fn to_attributes(self) -> Attributes {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }
}

impl fmt::Debug for FieldsOn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(actions: &[FieldAction]) -> ActionSet {
        let mut set = ActionSet::default();
        for a in actions {
            set = ActionSet {
                create: set.create || *a == FieldAction::Create,
                update: set.update || *a == FieldAction::Update,
                enable: set.enable || *a == FieldAction::Enable,
                disable: set.disable || *a == FieldAction::Disable,
                delete: set.delete || *a == FieldAction::Delete,
            };
        }
        set
    }

    fn names(fields: FieldsOn<'_>) -> Vec<&str> {
        fields.iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_field_is_held_once_on_every_action_it_is_written_on() {
        use FieldAction::*;
        let mut f = FieldValues::default();
        f.set(&"userName".into(), "a".into(), on(&[Create]));
        f.set(&"displayName".into(), "A".into(), ActionSet::ALWAYS);
        f.set(&"active".into(), false.into(), on(&[Disable]));
        assert_eq!(f.entries.len(), 3, "one entry per field, not per action");
        assert_eq!(names(f.on(Create)), ["displayName", "userName"]);
        assert_eq!(names(f.on(Update)), ["displayName"]);
        assert_eq!(names(f.on(Disable)), ["active"]);
        assert!(f.on(Enable).is_empty() && f.on(Delete).is_empty());
        assert_eq!(f.get(Create, "userName"), Some(&Value::from("a")));
        assert_eq!(f.get(Update, "userName"), None);
        assert_eq!(f.get(Update, "displayName"), Some(&Value::from("A")));
        let create = f.on(Create).to_attributes();
        assert_eq!(create.len(), 2);
        assert_eq!(create["userName"], "a");
    }

    #[test]
    fn a_rewritten_value_shows_on_every_action_it_is_on() {
        use FieldAction::*;
        let name: Arc<str> = "userName".into();
        let mut f = FieldValues::default();
        f.set(&name, "j.jansen".into(), ActionSet::ALWAYS);
        // What `unique` does when the first value is taken.
        f.set(&name, "ja.jansen".into(), ActionSet::ALWAYS);
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.get(Create, "userName"), Some(&Value::from("ja.jansen")));
        assert_eq!(f.get(Update, "userName"), Some(&Value::from("ja.jansen")));
        assert!(
            Arc::ptr_eq(&f.entries[0].name, &name),
            "the name is shared, not copied"
        );
    }

    #[test]
    fn a_later_mapping_of_a_field_overrides_only_its_own_actions() {
        use FieldAction::*;
        let name: Arc<str> = "mail".into();
        let mut f = FieldValues::default();
        f.set(&name, "first".into(), ActionSet::ALWAYS);
        f.set(&name, "second".into(), on(&[Update, Delete]));
        assert_eq!(f.get(Create, "mail"), Some(&Value::from("first")));
        assert_eq!(f.get(Update, "mail"), Some(&Value::from("second")));
        assert_eq!(f.get(Delete, "mail"), Some(&Value::from("second")));
        f.set(&name, "third".into(), ActionSet::ALWAYS);
        assert_eq!(f.entries.len(), 2, "the emptied entry is dropped");
        assert_eq!(f.get(Create, "mail"), Some(&Value::from("third")));
        assert_eq!(f.get(Delete, "mail"), Some(&Value::from("second")));
        assert_eq!(names(f.on(Update)), ["mail"], "each name once per action");
    }

    #[test]
    fn equality_is_by_action_not_by_how_entries_are_split() {
        use FieldAction::*;
        let name: Arc<str> = "x".into();
        let mut split = FieldValues::default();
        split.set(&name, 1.into(), on(&[Create]));
        split.set(&name, 1.into(), on(&[Update]));
        let mut whole = FieldValues::default();
        whole.set(&name, 1.into(), ActionSet::ALWAYS);
        assert_eq!(split, whole);
        whole.set(&name, 2.into(), on(&[Update]));
        assert_ne!(split, whole);
    }

    #[test]
    fn shared_names_fall_back_to_a_new_one_for_other_mappings() {
        use crate::mapping::ValueSource;
        let m = |field: &str| FieldMapping {
            field: field.into(),
            value: ValueSource::Fixed(Value::Null),
            actions: ActionSet::ALWAYS,
            secret: false,
        };
        let names = FieldNames::of(&[m("a"), m("b")]);
        assert!(Arc::ptr_eq(&names.name(1, &m("b")), &names.0[1]));
        assert_eq!(&*names.name(1, &m("c")), "c");
        assert_eq!(&*names.name(5, &m("d")), "d");
    }
}
