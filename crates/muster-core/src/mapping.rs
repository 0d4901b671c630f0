//! Field mappings: how each account field is computed from the person, and for which actions.
//!
//! A value is a person path, a fixed value, or a template such as
//! `{Name.GivenName|lower}.{Name.FamilyName|ascii|lower}@example.org`. Templates are parsed once
//! at configuration time.

use crate::model::{Contract, Person, PersonPath};
use std::fmt;
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Lower,
    Upper,
    Trim,
    /// Strips diacritics (`é` → `e`) and drops what is not ASCII.
    Ascii,
    /// Removes every whitespace character.
    NoSpaces,
    /// Keeps the first character (for initials).
    First,
    /// A date (`YYYY-MM-DD…`) → its school year `YYYY-YYYY`, which starts on 1 August:
    /// 2025-07-31 → `2024-2025`, 2025-08-01 → `2025-2026` (Zermelo). Not a date: no value.
    SchoolYear,
    /// HelloID's group-name sanitiser: trim, `" - "` → `-`, drop ``` `~!#$%^&*()+=<>?/'",:\|{}.[] ```,
    /// spaces → `-`, `--` → `-`, strip diacritics (`Mens - Maatschappij (MM)` → `Mens-Maatschappij-MM`).
    Sanitize,
}

impl Filter {
    const ALL: [(&'static str, Filter); 8] = [
        ("lower", Filter::Lower),
        ("upper", Filter::Upper),
        ("trim", Filter::Trim),
        ("ascii", Filter::Ascii),
        ("nospaces", Filter::NoSpaces),
        ("first", Filter::First),
        ("schoolyear", Filter::SchoolYear),
        ("sanitize", Filter::Sanitize),
    ];

    /// The filtered text; `None` when the value does not fit the filter (`schoolyear` of
    /// something that is not a date).
    fn apply(self, s: String) -> Option<String> {
        Some(match self {
            Filter::SchoolYear => return school_year(&s),
            Filter::Sanitize => sanitize_group_name(&s),
            other => other.apply_text(s),
        })
    }

    fn apply_text(self, s: String) -> String {
        match self {
            Filter::Lower => s.to_lowercase(),
            Filter::Upper => s.to_uppercase(),
            Filter::Trim => s.trim().to_owned(),
            Filter::Ascii => s
                .nfd()
                .filter(|c| c.is_ascii() && !c.is_ascii_control())
                .collect(),
            Filter::NoSpaces => s.chars().filter(|c| !c.is_whitespace()).collect(),
            Filter::First => s.chars().next().map(String::from).unwrap_or_default(),
            Filter::SchoolYear | Filter::Sanitize => s,
        }
    }
}

/// `YYYY-YYYY` of the school year a date falls in; the year turns on 1 August.
pub fn school_year(date: &str) -> Option<String> {
    use chrono::Datelike;
    let day: chrono::NaiveDate = date.trim().get(..10)?.parse().ok()?;
    let first = if day.month() >= 8 {
        day.year()
    } else {
        day.year() - 1
    };
    Some(format!("{first}-{}", first + 1))
}

/// HelloID's group-name sanitiser (targets/helloid.md §5), in its order.
pub fn sanitize_group_name(name: &str) -> String {
    const DROP: &str = "`~!#$%^&*()+=<>?/'\",:\\|{}.[]";
    let mut s = name.trim().replace(" - ", "-");
    s.retain(|c| !DROP.contains(c));
    let mut s = s.replace(' ', "-");
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    // Dots are already gone (step 3), so step 6 (collapse runs of dots) has nothing left to do.
    Filter::Ascii.apply_text(s)
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Field {
        path: PersonPath,
        filters: Vec<Filter>,
        /// `{Path?}`: renders as nothing when empty (a family-name prefix), instead of making
        /// the whole value absent.
        optional: bool,
    },
    /// `{Today|…}`: the run's reference date (`YYYY-MM-DD`), for values that follow the
    /// calendar (Zermelo's school year under `school_year_from = "run_date"`).
    Today {
        filters: Vec<Filter>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}`: {problem}")]
pub struct TemplateError {
    pub template: String,
    pub problem: String,
}

impl Template {
    /// Parses `text{Path|filter}text`; `{{` and `}}` are literal braces.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let err = |problem: String| TemplateError {
            template: source.to_owned(),
            problem,
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(err("unmatched `}` (write `}}` for a literal brace)".into())),
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(err("unclosed `{`".into()));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    let mut pieces = inner.split('|').map(str::trim);
                    let head = pieces.next().unwrap_or_default();
                    let (head, optional) = match head.strip_suffix('?') {
                        Some(h) => (h.trim_end(), true),
                        None => (head, false),
                    };
                    let filters = pieces
                        .map(|name| {
                            Filter::ALL
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                                .map(|(_, f)| *f)
                                .ok_or_else(|| {
                                    err(format!(
                                        "unknown filter `{name}`: expected lower, upper, trim, ascii, nospaces, first, schoolyear or sanitize"
                                    ))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if head.eq_ignore_ascii_case("Today") {
                        parts.push(Part::Today { filters });
                        continue;
                    }
                    let path = PersonPath::parse(head).map_err(|e| err(e.to_string()))?;
                    parts.push(Part::Field {
                        path,
                        filters,
                        optional,
                    });
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The rendered text, or `None` when a required field is empty: a user name built from a
    /// missing family name is worse than no user name. When an optional field was empty, the
    /// spaces around it are collapsed ("Jan {Prefix?} Berg" → "Jan Berg").
    pub fn render(&self, person: &Person, contract: Option<&Contract>) -> Option<String> {
        self.render_on(person, contract, None)
    }

    /// [`render`](Self::render) with the run's reference date for `{Today}`; without one, a
    /// template that uses `{Today}` renders nothing.
    pub fn render_on(
        &self,
        person: &Person,
        contract: Option<&Contract>,
        today: Option<chrono::NaiveDate>,
    ) -> Option<String> {
        let mut out = String::new();
        let mut skipped = false;
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Today { filters } => {
                    let mut v = today?.format("%Y-%m-%d").to_string();
                    for f in filters {
                        v = f.apply(v)?;
                    }
                    out.push_str(&v);
                }
                Part::Field {
                    path,
                    filters,
                    optional,
                } => {
                    let Some(v) = path.get(person, contract) else {
                        if *optional {
                            skipped = true;
                            continue;
                        }
                        return None;
                    };
                    let mut v = v.into_owned();
                    for f in filters {
                        match f.apply(v) {
                            Some(next) => v = next,
                            None if *optional => {
                                skipped = true;
                                v = String::new();
                                break;
                            }
                            None => return None,
                        }
                    }
                    out.push_str(&v);
                }
            }
        }
        if skipped {
            out = out
                .split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
        }
        Some(out)
    }

    /// Uses `{Today}`, which only a dynamic permission is rendered with: a field mapping that
    /// used it would render nothing and clear the field, so configuration refuses it there.
    pub fn uses_today(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Today { .. }))
    }

    /// The text before the first field: a dynamic permission's scope ("Dept {Contract.Department}"
    /// manages every group whose name starts with "Dept ").
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(s)) => s,
            _ => "",
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    Path(PersonPath),
    Fixed(serde_json::Value),
    Template(Template),
    /// A multi-valued attribute (Zivver aliases): each template that renders adds one value;
    /// the attribute is compared and written as a whole list.
    List(Vec<Template>),
    /// Computed outside this crate (a HelloID `Complex` mapping runs JavaScript).
    Computed(Arc<dyn ComputedValue>),
    /// The account reference, in this same target, of the person this path names (HelloID's
    /// `managedByUserGUID` from `PrimaryContract.Manager`). Evaluate only names the person;
    /// the plan resolves the account, which may be created in the same run.
    AccountOf(PersonPath),
    /// The value of another mapping passed through a filter: a translation table
    /// (`values = { SharedMailbox = "functional" }`) or only the addresses in the target's
    /// domains (`in_included_domains = true`: Cloud Sync's aliases).
    Filtered(Box<FieldMapping>, ValueFilter),
}

/// What [`ValueSource::Filtered`] does to a value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueFilter {
    /// The value's text looked up in a table (exactly, then ignoring case); a value the table
    /// lacks is an error that holds the person, never a guess.
    Lookup(std::collections::BTreeMap<String, serde_json::Value>),
    /// Only addresses in these domains: a list keeps its items that are, a single address is
    /// kept or dropped.
    InDomains(crate::domains::DomainFilter),
}

impl ValueFilter {
    pub fn apply(
        &self,
        value: Option<serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ComputeError> {
        use serde_json::Value;
        let Some(value) = value else {
            return Ok(None);
        };
        match self {
            ValueFilter::Lookup(table) => {
                let key = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                table
                    .get(&key)
                    .or_else(|| {
                        table
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                            .map(|(_, v)| v)
                    })
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| ComputeError {
                        message: format!(
                            "{key:?} is not in the mapping's `values` table (expected one of {})",
                            table
                                .keys()
                                .map(|k| format!("{k:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            }
            ValueFilter::InDomains(domains) => Ok(match value {
                Value::Array(items) => Some(Value::Array(
                    items
                        .into_iter()
                        .filter(|i| i.as_str().is_some_and(|a| domains.includes(a)))
                        .collect(),
                )),
                Value::String(a) if domains.includes(&a) => Some(Value::String(a)),
                _ => None,
            }),
        }
    }
}

/// A value computed by an evaluator this crate does not know (the JavaScript engine of
/// `muster-mapping`). `iteration` is 0 on the first try; unique fields (user names) are asked
/// again with 1, 2, … while the value collides.
///
/// Implementations may keep results between runs (a script is only re-run for persons whose
/// record changed); [`start_run`](ComputedValue::start_run) tells them a new run begins.
pub trait ComputedValue: Send + Sync + fmt::Debug {
    fn compute(
        &self,
        person: &Person,
        iteration: u32,
    ) -> Result<Option<serde_json::Value>, ComputeError>;

    /// Called once per run and target before any person is evaluated, so an implementation
    /// that caches results can drop what the previous run did not use. Default: nothing.
    fn start_run(&self) {}

    /// The implementation itself, for a caller that knows its concrete type: the engine keeps
    /// the cached results of `muster_mapping::ScriptValue` in its store, so a new process does
    /// not start cold. This crate knows no store and no script. Default: `None`.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Why a computed value could not be produced: the person is held for that target with this
/// text, never the whole run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ComputeError {
    pub message: String,
}

impl PartialEq for dyn ComputedValue {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(self as *const Self, other as *const Self)
    }
}

/// The actions a mapping is written on. `create` only = "only on create"; `create` + `update`
/// = "always" (compared on every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionSet {
    pub create: bool,
    pub update: bool,
    pub enable: bool,
    pub disable: bool,
    pub delete: bool,
}

impl ActionSet {
    pub const ALWAYS: ActionSet = ActionSet {
        create: true,
        update: true,
        enable: false,
        disable: false,
        delete: false,
    };

    /// The set holding `action` alone.
    pub fn only(action: FieldAction) -> ActionSet {
        ActionSet {
            create: action == FieldAction::Create,
            update: action == FieldAction::Update,
            enable: action == FieldAction::Enable,
            disable: action == FieldAction::Disable,
            delete: action == FieldAction::Delete,
        }
    }

    pub fn contains(self, action: FieldAction) -> bool {
        match action {
            FieldAction::Create => self.create,
            FieldAction::Update => self.update,
            FieldAction::Enable => self.enable,
            FieldAction::Disable => self.disable,
            FieldAction::Delete => self.delete,
        }
    }

    pub fn is_empty(self) -> bool {
        self == ActionSet::default()
    }

    /// The actions of `self` that are not in `other`.
    pub fn without(self, other: ActionSet) -> ActionSet {
        ActionSet {
            create: self.create && !other.create,
            update: self.update && !other.update,
            enable: self.enable && !other.enable,
            disable: self.disable && !other.disable,
            delete: self.delete && !other.delete,
        }
    }
}

/// One action a mapping can be written on (see [`ActionSet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldAction {
    Create,
    Update,
    Enable,
    Disable,
    Delete,
}

impl FieldAction {
    pub const ALL: [FieldAction; 5] = [
        FieldAction::Create,
        FieldAction::Update,
        FieldAction::Enable,
        FieldAction::Disable,
        FieldAction::Delete,
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    /// The target's attribute path (`userName`, `name.givenName`, …).
    pub field: String,
    pub value: ValueSource,
    pub actions: ActionSet,
    /// Never shown in plans, logs, audit or reports.
    pub secret: bool,
}

impl FieldMapping {
    /// The value for this person; `Err` only for computed values that failed.
    pub fn compute(
        &self,
        person: &Person,
        iteration: u32,
    ) -> Result<Option<serde_json::Value>, ComputeError> {
        match &self.value {
            ValueSource::Computed(c) => c.compute(person, iteration),
            ValueSource::Filtered(inner, filter) => filter.apply(inner.compute(person, iteration)?),
            _ => Ok(self.value(person)),
        }
    }

    pub fn value(&self, person: &Person) -> Option<serde_json::Value> {
        match &self.value {
            ValueSource::Computed(c) => c.compute(person, 0).ok().flatten(),
            ValueSource::Path(p) => p.value(person),
            ValueSource::Fixed(v) => Some(v.clone()),
            // Not a value of this person's own: see `Evaluation::references`.
            ValueSource::AccountOf(_) => None,
            ValueSource::Filtered(inner, filter) => {
                filter.apply(inner.value(person)).ok().flatten()
            }
            ValueSource::Template(t) => t.render(person, None).map(serde_json::Value::String),
            ValueSource::List(ts) => {
                let mut values: Vec<String> = ts
                    .iter()
                    .filter_map(|t| t.render(person, None))
                    .filter(|v| !v.is_empty())
                    .collect();
                values.sort();
                values.dedup();
                Some(serde_json::Value::from(values))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anouk() -> Person {
        let mut p = Person::new("1001");
        p.name.given_name = Some("Anouk".into());
        p.name.family_name = Some("Müller-Öztürk".into());
        p.name.family_name_prefix = Some("van der".into());
        p
    }

    #[test]
    fn renders_fields_with_filters() {
        let t = Template::parse("{Name.GivenName|first|lower}.{Name.FamilyNamePrefix|nospaces}{Name.FamilyName|ascii|lower}@corp.example").unwrap();
        assert_eq!(
            t.render(&anouk(), None).unwrap(),
            "a.vandermuller-ozturk@corp.example"
        );
    }

    #[test]
    fn missing_field_renders_nothing() {
        let t = Template::parse("{Name.NickName} x").unwrap();
        assert_eq!(t.render(&anouk(), None), None);
    }

    #[test]
    fn optional_fields_collapse_their_spaces() {
        let t = Template::parse("{Name.GivenName} {Name.NickName?} {Name.FamilyName}").unwrap();
        assert_eq!(t.render(&anouk(), None).unwrap(), "Anouk Müller-Öztürk");
        let t = Template::parse("{Name.FamilyNamePrefix?} {Name.FamilyName}").unwrap();
        assert_eq!(t.render(&anouk(), None).unwrap(), "van der Müller-Öztürk");
    }

    #[test]
    fn literal_braces_and_errors() {
        assert_eq!(
            Template::parse("{{x}}")
                .unwrap()
                .render(&anouk(), None)
                .unwrap(),
            "{x}"
        );
        assert!(Template::parse("{Name.GivenName").is_err());
        assert!(Template::parse("{Name.GivenName|shout}")
            .unwrap_err()
            .problem
            .contains("unknown filter"));
        assert!(Template::parse("{Nope}").is_err());
    }

    #[test]
    fn lists_keep_the_values_that_render_sorted_and_unique() {
        let m = FieldMapping {
            field: "aliases".into(),
            value: ValueSource::List(vec![
                Template::parse("{Name.GivenName|lower}@corp.example").unwrap(),
                Template::parse("{Name.NickName}@corp.example").unwrap(),
                Template::parse("{Name.GivenName|lower}@corp.example").unwrap(),
            ]),
            actions: ActionSet::ALWAYS,
            secret: false,
        };
        assert_eq!(
            m.value(&anouk()),
            Some(serde_json::json!(["anouk@corp.example"]))
        );
    }

    fn filtered(inner: ValueSource, filter: ValueFilter) -> FieldMapping {
        let inner = FieldMapping {
            field: "f".into(),
            value: inner,
            actions: ActionSet::ALWAYS,
            secret: false,
        };
        FieldMapping {
            value: ValueSource::Filtered(Box::new(inner.clone()), filter),
            ..inner
        }
    }

    #[test]
    fn a_values_table_translates_and_holds_what_it_lacks() {
        let table = ValueFilter::Lookup(
            [
                ("UserMailbox".to_owned(), serde_json::json!("user")),
                ("SharedMailbox".to_owned(), serde_json::json!("functional")),
            ]
            .into(),
        );
        let m = filtered(
            ValueSource::Path(PersonPath::parse("Name.GivenName").unwrap()),
            table,
        );
        let mut p = anouk();
        p.name.given_name = Some("sharedmailbox".into());
        assert_eq!(m.compute(&p, 0), Ok(Some(serde_json::json!("functional"))));
        p.name.given_name = Some("RoomMailbox".into());
        let err = m.compute(&p, 0).unwrap_err();
        assert!(
            err.message
                .contains("\"RoomMailbox\" is not in the mapping's `values` table"),
            "{err}"
        );
        assert_eq!(m.value(&p), None);
        p.name.given_name = None;
        assert_eq!(m.compute(&p, 0), Ok(None), "no value stays no value");
    }

    #[test]
    fn in_domains_keeps_only_the_addresses_of_the_domains() {
        let domains = crate::domains::DomainFilter::new(
            "userName",
            &["example.org".to_owned()],
            crate::domains::OutsideDomains::Leave,
        )
        .unwrap();
        let m = filtered(
            ValueSource::List(vec![
                Template::parse("{Name.GivenName|lower}@example.org").unwrap(),
                Template::parse("{Name.GivenName|lower}@example.onmicrosoft.com").unwrap(),
                Template::parse("{Name.GivenName|lower}@Example.ORG").unwrap(),
            ]),
            ValueFilter::InDomains(domains),
        );
        assert_eq!(
            m.value(&anouk()),
            Some(serde_json::json!([
                "anouk@Example.ORG",
                "anouk@example.org"
            ]))
        );
    }

    #[test]
    fn literal_prefix_scopes_dynamic_groups() {
        let t = Template::parse("Dept {Contract.Department}").unwrap();
        assert_eq!(t.literal_prefix(), "Dept ");
    }

    #[test]
    fn school_year_turns_on_the_first_of_august() {
        assert_eq!(school_year("2025-07-31").as_deref(), Some("2024-2025"));
        assert_eq!(school_year("2025-08-01").as_deref(), Some("2025-2026"));
        assert_eq!(
            school_year("2024-08-01T00:00:00").as_deref(),
            Some("2024-2025")
        );
        assert_eq!(school_year("next year"), None);
    }

    #[test]
    fn today_renders_only_with_a_reference_date() {
        let t = Template::parse("{Name.GivenName} {Today|schoolyear}").unwrap();
        assert_eq!(t.render(&anouk(), None), None);
        let day = "2026-09-01".parse().unwrap();
        assert_eq!(
            t.render_on(&anouk(), None, Some(day)).as_deref(),
            Some("Anouk 2026-2027")
        );
    }

    #[test]
    fn helloid_sanitiser_matches_its_examples() {
        assert_eq!(
            sanitize_group_name("Mens - Maatschappij (MM)"),
            "Mens-Maatschappij-MM"
        );
        assert_eq!(sanitize_group_name("Zorg & Welzijn"), "Zorg-Welzijn");
        assert_eq!(sanitize_group_name("Économie"), "Economie");
        assert_eq!(sanitize_group_name("  a.b/c [d]  "), "abc-d");
    }
}
