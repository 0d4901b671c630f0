//! Raw file → validated [`Config`]: person paths, templates and rules are parsed, every
//! problem is collected with its line. Reads no secrets, and no files but a target's
//! `mapping_file`: that one is read (and its scripts compiled, once per load) here, so that its
//! problems are reported with the others, each with the mapping file's path and line.

use super::error::{line_of, ConfigError};
use super::implied::{domain_field, implied, Implied};
use super::raw::*;
use super::{Config, Connection, TargetConfig};
use muster_core::domains::{DomainFilter, OutsideDomains};
use muster_core::evaluate::{Correlation, Lifecycle, TargetPolicy};
use muster_core::gate::{SourceThresholds, TargetThresholds, Threshold};
use muster_core::mapping::{ActionSet, FieldMapping, Template, ValueSource};
use muster_core::model::{PersonPath, PrimaryContractRule, PrimaryCriterion, TargetName};
use muster_core::plan::ActionKind;
use muster_core::rules::{
    Condition, ContractSelection, DynamicPermission, Grants, Op, Rule, Subject, Test,
};
use muster_core::unique::Uniqueness;
use muster_sources::SourceConfig;
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A target's domain-filter settings, as written.
struct RawDomains {
    included: Option<toml::Spanned<Vec<String>>>,
    field: Option<toml::Spanned<String>>,
    outside: Option<toml::Spanned<String>>,
}

/// `{Today}` renders only in dynamic permissions (a school year); in a field it would render
/// nothing and clear the field in the target on every run.
const TODAY_ONLY_IN_PERMISSIONS: &str =
    "`{Today}` is only available in dynamic permission templates; a field mapped from it would be cleared";

pub struct Compiler<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub errors: Vec<ConfigError>,
}

impl Compiler<'_> {
    pub(super) fn err(
        &mut self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let key = key.into();
        let line = span.map(|s| self.key_line(s, &key));
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            key,
            message: message.into(),
        });
    }

    /// The line of `key`'s last segment inside `span` when it is written there as
    /// `segment = …`, else the span's first line (a table header).
    fn key_line(&self, span: Range<usize>, key: &str) -> usize {
        let start = line_of(self.text, span.start);
        let segment = key.rsplit('.').next().unwrap_or(key);
        let segment = segment.split('[').next().unwrap_or(segment);
        let inside = self.text.get(span).unwrap_or_default();
        inside
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(segment)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(start, |i| start + i)
    }

    pub fn compile(&mut self, raw: RawConfig, base_dir: &Path, digest: String) -> Option<Config> {
        let store_path =
            base_dir.join(raw.store.path.unwrap_or_else(|| PathBuf::from("muster.db")));
        if let Some(kind) = raw.store.kind.as_deref().filter(|k| *k != "sqlite") {
            self.err(
                None,
                "store.kind",
                format!("unknown store `{kind}`: expected `sqlite`"),
            );
        }
        let source_span = raw.source.span();
        let source = match SourceConfig::deserialize(raw.source.into_inner()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(Some(source_span), "source", e.to_string());
                None
            }
        };
        let source_thresholds = SourceThresholds {
            added: raw.source_thresholds.added.map(threshold),
            removed: raw.source_thresholds.removed.map(threshold),
            blocked: raw.source_thresholds.blocked.map(threshold),
        };
        let primary_rule = match raw.primary_contract {
            None => PrimaryContractRule::default(),
            Some(p) => {
                let span = p.span();
                let mut order = Vec::new();
                for name in &p.get_ref().order {
                    match serde_json::from_value::<PrimaryCriterion>(serde_json::Value::String(name.clone())) {
                        Ok(c) => order.push(c),
                        Err(_) => self.err(Some(span.clone()), "primary_contract.order", format!(
                            "unknown criterion `{name}`: expected active-first, latest-start, earliest-start, highest-fte or latest-end"
                        )),
                    }
                }
                PrimaryContractRule(order)
            }
        };

        let target_names: Vec<String> = raw.targets.keys().cloned().collect();
        let mut rules = Vec::new();
        for (i, rule) in raw.rules.into_iter().enumerate() {
            let span = rule.span();
            if let Some(r) = self.rule(i, rule.into_inner(), span, &target_names) {
                rules.push(r);
            }
        }

        let mut targets = Vec::new();
        for (name, target) in raw.targets {
            let span = target.span();
            if let Some(t) = self.target(&name, target.into_inner(), span, &rules, base_dir) {
                targets.push(t);
            }
        }
        if targets.is_empty() && self.errors.is_empty() {
            self.err(
                None,
                "targets",
                "no target is configured: add a [targets.<name>] table",
            );
        }

        let source = source?;
        if !self.errors.is_empty() {
            return None;
        }
        Some(Config {
            file: self.file.to_owned(),
            base_dir: base_dir.to_owned(),
            digest,
            store_path,
            source,
            source_thresholds,
            primary_rule,
            targets,
        })
    }

    fn target(
        &mut self,
        name: &str,
        raw: RawTarget,
        span: Range<usize>,
        rules: &[Rule],
        base_dir: &Path,
    ) -> Option<TargetConfig> {
        let key = format!("targets.{name}");
        let connection = match raw.kind.get_ref().as_str() {
            "scim" => self.connection(
                &key,
                raw.connection,
                |c: muster_connectors::scim::ScimConfig| (c.validate(), Connection::Scim(c)),
            ),
            "zivver" => self.connection(
                &key,
                raw.connection,
                |c: muster_connectors::zivver::ZivverConfig| (c.validate(), Connection::Zivver(c)),
            ),
            "helloid" => self.connection(
                &key,
                raw.connection,
                |c: muster_connectors::helloid::HelloIdConfig| {
                    (c.validate(), Connection::HelloId(c))
                },
            ),
            "zermelo" => self.connection(
                &key,
                raw.connection,
                |c: muster_connectors::zermelo::ZermeloConfig| {
                    (c.validate(), Connection::Zermelo(c))
                },
            ),
            other => {
                self.err(
                    Some(raw.kind.span()),
                    format!("{key}.kind"),
                    format!(
                        "unknown connector `{other}`: expected `scim`, `zivver`, `helloid` or `zermelo`"
                    ),
                );
                None
            }
        };
        let target_name = TargetName::new(name);
        let implied = match connection.as_ref().map(|c| implied(&target_name, c)) {
            Some(Ok(i)) => i,
            Some(Err((setting, message))) => {
                self.err(Some(span.clone()), format!("{key}.{setting}"), message);
                Implied::default()
            }
            None => Implied::default(),
        };

        let corr_span = raw.correlation.span();
        let corr_span_for_account = corr_span.clone();
        let corr = raw.correlation.into_inner();
        let correlation_path = self.path(
            &corr.person,
            Some(corr_span),
            &format!("{key}.correlation.person"),
        );

        let mut mappings = Vec::new();
        let mut secret_fields = BTreeSet::new();
        let mut unique = BTreeSet::new();
        let mut case_insensitive_fields = BTreeSet::new();
        // Field → where muster.toml maps it, to name both places when the mapping file maps it too.
        let mut in_toml: Vec<(String, String)> = Vec::new();
        for (i, m) in raw.mapping.into_iter().enumerate() {
            let span = m.span();
            let mut m = m.into_inner();
            let mkey = format!("{key}.mapping[{i}]");
            m.field = self.account_field(
                connection.as_ref(),
                &m.field,
                &span,
                &format!("{mkey}.field"),
            );
            let sources = [
                m.path.is_some(),
                m.template.is_some(),
                m.value.is_some(),
                m.list.is_some(),
                m.account_of.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                self.err(
                    Some(span),
                    mkey,
                    "give exactly one of `path`, `template`, `value`, `list` or `account_of`",
                );
                continue;
            }
            let value = if let Some(p) = &m.path {
                self.path(p, Some(span.clone()), &format!("{mkey}.path"))
                    .map(ValueSource::Path)
            } else if let Some(p) = &m.account_of {
                self.path(p, Some(span.clone()), &format!("{mkey}.account_of"))
                    .map(ValueSource::AccountOf)
            } else if let Some(t) = &m.template {
                match Template::parse(t) {
                    Ok(t) if t.uses_today() => {
                        self.err(
                            Some(span.clone()),
                            format!("{mkey}.template"),
                            TODAY_ONLY_IN_PERMISSIONS,
                        );
                        None
                    }
                    Ok(t) => Some(ValueSource::Template(t)),
                    Err(e) => {
                        self.err(
                            Some(span.clone()),
                            format!("{mkey}.template"),
                            e.to_string(),
                        );
                        None
                    }
                }
            } else if let Some(list) = &m.list {
                let parsed: Result<Vec<Template>, _> =
                    list.iter().map(|t| Template::parse(t)).collect();
                match parsed {
                    Ok(ts) if ts.iter().any(Template::uses_today) => {
                        self.err(
                            Some(span.clone()),
                            format!("{mkey}.list"),
                            TODAY_ONLY_IN_PERMISSIONS,
                        );
                        None
                    }
                    Ok(ts) => Some(ValueSource::List(ts)),
                    Err(e) => {
                        self.err(Some(span.clone()), format!("{mkey}.list"), e.to_string());
                        None
                    }
                }
            } else {
                m.value.clone().and_then(|v| match serde_json::to_value(v) {
                    Ok(v) => Some(ValueSource::Fixed(v)),
                    Err(e) => {
                        self.err(Some(span.clone()), format!("{mkey}.value"), e.to_string());
                        None
                    }
                })
            };
            let actions = self.actions(m.on.as_ref(), span.clone(), &mkey);
            if let (Some(value), Some(actions)) = (value, actions) {
                if m.secret {
                    secret_fields.insert(m.field.clone());
                }
                if m.unique {
                    unique.insert(m.field.clone());
                }
                if m.ignore_case {
                    case_insensitive_fields.insert(m.field.clone());
                }
                if !in_toml.iter().any(|(f, _)| *f == m.field) {
                    in_toml.push((m.field.clone(), mkey.clone()));
                }
                mappings.push(FieldMapping {
                    field: m.field,
                    value,
                    actions,
                    secret: m.secret,
                });
            }
        }

        let limits = self.mapping_limits(&key, raw.mapping_limits, raw.mapping_file.is_some());
        let from_toml = mappings.len();
        if let Some(file) = raw.mapping_file {
            let file_key = format!("{key}.mapping_file");
            let file_span = file.span();
            self.mapping_file(
                &key,
                file,
                limits,
                base_dir,
                &in_toml,
                &mut mappings,
                &mut unique,
            );
            for m in mappings.iter_mut().skip(from_toml) {
                m.field = self.account_field(connection.as_ref(), &m.field, &file_span, &file_key);
            }
            unique = unique
                .into_iter()
                .map(|f| canonical_or_same(connection.as_ref(), &f))
                .collect();
        }
        // A field mapped explicitly wins over what the target's settings imply.
        for m in implied.mappings {
            if !mappings.iter().any(|have| have.field == m.field) {
                mappings.push(m);
            }
        }
        let mapped = |field: &str| mappings.iter().any(|m: &FieldMapping| m.field == field);
        let mut unmapped = Vec::new();
        for f in &raw.unique_fields {
            let f = &canonical_or_same(connection.as_ref(), f);
            if mapped(f) {
                unique.insert(f.clone());
            } else {
                unmapped.push(("unique_fields", f.clone()));
            }
        }
        for f in &raw.secret_fields {
            let f = &canonical_or_same(connection.as_ref(), f);
            if mapped(f) {
                secret_fields.insert(f.clone());
            } else {
                unmapped.push(("secret_fields", f.clone()));
            }
        }
        for (setting, f) in unmapped {
            self.err(
                Some(span.clone()),
                format!("{key}.{setting}"),
                format!("no mapping writes the field `{f}`"),
            );
        }
        for m in mappings.iter_mut() {
            m.secret |= secret_fields.contains(&m.field);
        }
        let domains = self.domains(
            &key,
            RawDomains {
                included: raw.included_domains,
                field: raw.domain_field,
                outside: raw.outside_domains,
            },
            connection.as_ref(),
            &mappings,
        );

        let mut thresholds = TargetThresholds::default();
        for (kind, t) in raw.thresholds {
            match kind.parse::<ActionKind>() {
                Ok(k) if k != ActionKind::Correlate => {
                    thresholds
                        .per_kind
                        .insert(k.threshold_group(), threshold(*t.get_ref()));
                }
                _ => self.err(
                    Some(t.span()),
                    format!("{key}.thresholds.{kind}"),
                    "expected one of create, update, enable, disable, delete, grant, revoke",
                ),
            }
        }
        if let Some(a) = raw.all_or_nothing {
            thresholds.all_or_nothing_percent = Some(a.percent);
            thresholds.allow_large = a.allow_large;
        }
        let target = target_name;
        let _ = span;
        let quarantine = self.quarantine(&key, raw.quarantine);
        let orphans = self.orphan_policy(&key, raw.reconcile);
        Some(TargetConfig {
            policy: TargetPolicy {
                target: target.clone(),
                rules: rules
                    .iter()
                    .filter(|r| r.applies_to(&target))
                    .cloned()
                    .chain(implied.rules)
                    .collect(),
                mappings,
                lifecycle: Lifecycle {
                    create_days_before_start: raw.lifecycle.create_days_before_start,
                    delete_days_after_end: raw.lifecycle.delete_days_after_end,
                },
                correlation: Correlation {
                    person: correlation_path?,
                    account_field: self.account_field(
                        connection.as_ref(),
                        &corr.account,
                        &corr_span_for_account,
                        &format!("{key}.correlation.account"),
                    ),
                    case_insensitive: corr.case_insensitive,
                },
            },
            unique: Uniqueness {
                fields: unique,
                max_iterations: raw
                    .unique_max_iterations
                    .unwrap_or(Uniqueness::DEFAULT_MAX_ITERATIONS),
            },
            name: target,
            connection: connection?,
            thresholds,
            secret_fields,
            case_insensitive_fields,
            quarantine,
            domains,
            orphans,
        })
    }

    /// `included_domains`, `domain_field`, `outside_domains`: the target's domain filter. The
    /// field must be one a mapping writes, so every person has the address that is checked.
    fn domains(
        &mut self,
        key: &str,
        raw: RawDomains,
        connection: Option<&Connection>,
        mappings: &[FieldMapping],
    ) -> Option<DomainFilter> {
        let Some(included) = raw.included else {
            for (setting, span) in [
                ("domain_field", raw.field.as_ref().map(|f| f.span())),
                ("outside_domains", raw.outside.as_ref().map(|o| o.span())),
            ] {
                if span.is_some() {
                    self.err(
                        span,
                        format!("{key}.{setting}"),
                        "has no effect without `included_domains`",
                    );
                }
            }
            return None;
        };
        let outside = match raw.outside {
            None => OutsideDomains::default(),
            Some(o) => match o.get_ref().parse() {
                Ok(o) => o,
                Err(message) => {
                    self.err(Some(o.span()), format!("{key}.outside_domains"), message);
                    return None;
                }
            },
        };
        let (field, field_span) = match raw.field {
            Some(f) => (f.get_ref().clone(), f.span()),
            None => (domain_field(connection?).to_owned(), included.span()),
        };
        if !mappings.iter().any(|m| m.field == field) {
            self.err(
                Some(field_span),
                format!("{key}.domain_field"),
                format!("`included_domains` checks the field `{field}`, which no mapping writes: map it, or name the mapped address field in `domain_field`"),
            );
            return None;
        }
        let span = included.span();
        DomainFilter::new(field, included.get_ref(), outside)
            .map_err(|message| self.err(Some(span), format!("{key}.included_domains"), message))
            .ok()
    }

    /// `reconcile = { orphans = "report" | "disable" | "delete" }`; default `report`.
    fn orphan_policy(
        &mut self,
        key: &str,
        raw: Option<toml::Spanned<super::raw::RawReconcile>>,
    ) -> crate::reconcile::OrphanPolicy {
        let Some(raw) = raw else {
            return crate::reconcile::OrphanPolicy::default();
        };
        let span = raw.span();
        match raw.into_inner().orphans.parse() {
            Ok(policy) => policy,
            Err(e) => {
                self.err(
                    Some(span),
                    format!("{key}.reconcile.orphans"),
                    format!("{e}"),
                );
                crate::reconcile::OrphanPolicy::default()
            }
        }
    }

    /// `quarantine = { error_ratio, min_actions }`, each defaulted on its own.
    fn quarantine(
        &mut self,
        key: &str,
        raw: Option<toml::Spanned<super::raw::RawQuarantine>>,
    ) -> crate::execute::Quarantine {
        let mut q = crate::execute::Quarantine::default();
        let Some(raw) = raw else { return q };
        let span = raw.span();
        let raw = raw.into_inner();
        if let Some(r) = raw.error_ratio {
            if r > 0.0 && r <= 1.0 {
                q.error_ratio = r;
            } else {
                self.err(
                    Some(span.clone()),
                    format!("{key}.quarantine.error_ratio"),
                    format!("expected a share above 0 and at most 1, not {r}"),
                );
            }
        }
        match raw.min_actions {
            Some(0) => self.err(
                Some(span),
                format!("{key}.quarantine.min_actions"),
                "expected at least 1",
            ),
            Some(n) => q.min_actions = n,
            None => {}
        }
        q
    }

    /// `mapping_file`: a HelloID `fieldMapping.json`, relative to the configuration's folder.
    /// Its fields are appended to `mappings`; its `UniqueFieldNames` to `unique`. Problems
    /// inside it are reported with its path and line; a field muster.toml maps too is an error
    /// that names both places. Its scripts are compiled with `limits`.
    #[allow(clippy::too_many_arguments)]
    fn mapping_file(
        &mut self,
        key: &str,
        file: toml::Spanned<PathBuf>,
        limits: muster_mapping::Limits,
        base_dir: &Path,
        in_toml: &[(String, String)],
        mappings: &mut Vec<FieldMapping>,
        unique: &mut BTreeSet<String>,
    ) {
        let span = file.span();
        let path = base_dir.join(file.get_ref());
        let read = muster_mapping::read_helloid_mapping(&path, limits);
        let mapping = match read {
            Ok(m) => m,
            Err(muster_mapping::MappingError::Read { source, .. }) => {
                self.err(
                    Some(span),
                    format!("{key}.mapping_file"),
                    format!("cannot read `{}`: {source}", path.display()),
                );
                return;
            }
            Err(e) => {
                for p in e.problems() {
                    self.errors.push(ConfigError {
                        file: path.clone(),
                        line: p.line,
                        key: p.key,
                        message: p.message,
                    });
                }
                return;
            }
        };
        for f in &mapping.fields {
            if let Some((_, toml_key)) = in_toml.iter().find(|(name, _)| *name == f.name) {
                let at = f.line.map(|l| format!(":{l}")).unwrap_or_default();
                self.err(
                    Some(span.clone()),
                    format!("{key}.mapping_file"),
                    format!(
                        "the field `{}` is mapped both by {toml_key} and in {}{at}; keep one",
                        f.name,
                        path.display()
                    ),
                );
            }
        }
        unique.extend(mapping.unique_fields.iter().cloned());
        mappings.extend(mapping.field_mappings());
    }

    /// `field` in the one spelling of its target kind ([`Connection::mapping_field`]), or as
    /// written after reporting why it cannot be (under `key`, at `span`).
    fn account_field(
        &mut self,
        connection: Option<&Connection>,
        field: &str,
        span: &Range<usize>,
        key: &str,
    ) -> String {
        match connection.map(|c| c.mapping_field(field)) {
            Some(Ok(canonical)) => canonical,
            Some(Err(e)) => {
                self.err(Some(span.clone()), key.to_owned(), e);
                field.to_owned()
            }
            None => field.to_owned(),
        }
    }

    /// Deserializes a connector's own settings and collects its validation problems.
    fn connection<C: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
        raw: toml::Spanned<toml::Value>,
        build: impl FnOnce(C) -> (Vec<String>, Connection),
    ) -> Option<Connection> {
        let span = raw.span();
        match C::deserialize(raw.into_inner()) {
            Ok(c) => {
                let (problems, connection) = build(c);
                for problem in problems {
                    self.err(Some(span.clone()), format!("{key}.connection"), problem);
                }
                Some(connection)
            }
            Err(e) => {
                self.err(Some(span), format!("{key}.connection"), e.to_string());
                None
            }
        }
    }

    fn actions(&mut self, on: Option<&RawOn>, span: Range<usize>, key: &str) -> Option<ActionSet> {
        let names: Vec<&str> = match on {
            None => return Some(ActionSet::ALWAYS),
            Some(RawOn::One(s)) if s == "always" => return Some(ActionSet::ALWAYS),
            Some(RawOn::One(s)) => vec![s.as_str()],
            Some(RawOn::Many(v)) => v.iter().map(String::as_str).collect(),
        };
        let mut set = ActionSet::default();
        for n in names {
            match n {
                "create" => set.create = true,
                "update" => set.update = true,
                "enable" => set.enable = true,
                "disable" => set.disable = true,
                "delete" => set.delete = true,
                other => {
                    self.err(Some(span.clone()), format!("{key}.on"), format!("unknown action `{other}`: expected \"always\" or a list of create, update, enable, disable, delete"));
                    return None;
                }
            }
        }
        Some(set)
    }

    fn rule(
        &mut self,
        i: usize,
        raw: RawRule,
        span: Range<usize>,
        targets: &[String],
    ) -> Option<Rule> {
        let key = format!("rules[{i}] ({})", raw.name);
        if let Some(ts) = &raw.targets {
            for t in ts.iter().filter(|t| !targets.contains(t)) {
                self.err(
                    Some(span.clone()),
                    format!("{key}.targets"),
                    format!("no target named `{t}` is configured"),
                );
            }
        }
        let when = match &raw.when {
            None => Some(Condition::Always),
            Some(c) => self.condition(c, &span, &format!("{key}.when")),
        };
        let mut dynamic = Vec::new();
        for (j, d) in raw.dynamic_permissions.iter().enumerate() {
            let dkey = format!("{key}.dynamic_permissions[{j}]");
            let contracts = match d.contracts.as_deref() {
                None | Some("in-scope") => ContractSelection::InScope,
                Some("primary") => ContractSelection::Primary,
                Some(other) => {
                    self.err(
                        Some(span.clone()),
                        format!("{dkey}.contracts"),
                        format!("`{other}`: expected `in-scope` or `primary`"),
                    );
                    continue;
                }
            };
            match Template::parse(&d.template) {
                Ok(template) => dynamic.push(DynamicPermission {
                    template,
                    contracts,
                }),
                Err(e) => self.err(
                    Some(span.clone()),
                    format!("{dkey}.template"),
                    e.to_string(),
                ),
            }
        }
        Some(Rule {
            name: raw.name,
            targets: raw
                .targets
                .map(|ts| ts.into_iter().map(TargetName::new).collect()),
            when: when?,
            grants: Grants {
                account: raw.account,
                access: raw.access,
                permissions: raw.permissions,
                dynamic,
            },
        })
    }

    fn condition(&mut self, c: &RawCondition, span: &Range<usize>, key: &str) -> Option<Condition> {
        let forms = [
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
            c.field.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            self.err(
                Some(span.clone()),
                key,
                "a condition has exactly one of `all`, `any`, `not` or `field`",
            );
            return None;
        }
        let list = |this: &mut Self, cs: &[RawCondition], k: &str| -> Option<Vec<Condition>> {
            let out: Vec<Option<Condition>> = cs
                .iter()
                .enumerate()
                .map(|(i, c)| this.condition(c, span, &format!("{key}.{k}[{i}]")))
                .collect();
            out.into_iter().collect()
        };
        if let Some(cs) = &c.all {
            return list(self, cs, "all").map(Condition::All);
        }
        if let Some(cs) = &c.any {
            return list(self, cs, "any").map(Condition::Any);
        }
        if let Some(inner) = &c.not {
            return self
                .condition(inner, span, &format!("{key}.not"))
                .map(|c| Condition::Not(Box::new(c)));
        }
        let field = c.field.as_deref().unwrap_or_default();
        let subject = match field.strip_prefix("AnyContract.") {
            Some(f) => match any_contract(f) {
                Ok(subject) => subject,
                Err(message) => {
                    self.err(Some(span.clone()), format!("{key}.field"), message);
                    return None;
                }
            },
            None => {
                Subject::Person(self.path(field, Some(span.clone()), &format!("{key}.field"))?)
            }
        };
        let mut ops = Vec::new();
        if let Some(v) = &c.equals {
            ops.push(Op::Equals(v.clone()))
        }
        if let Some(v) = &c.not_equals {
            ops.push(Op::NotEquals(v.clone()))
        }
        if let Some(v) = &c.in_ {
            ops.push(Op::In(v.clone()))
        }
        if let Some(v) = &c.contains {
            ops.push(Op::Contains(v.clone()))
        }
        if let Some(v) = &c.starts_with {
            ops.push(Op::StartsWith(v.clone()))
        }
        if let Some(v) = c.exists {
            ops.push(if v { Op::Exists } else { Op::Missing })
        }
        if let Some(v) = c.before_days {
            ops.push(Op::BeforeDays(v))
        }
        if let Some(v) = c.after_days {
            ops.push(Op::AfterDays(v))
        }
        if ops.len() != 1 {
            self.err(Some(span.clone()), key, "a `field` condition needs exactly one of equals, not_equals, in, contains, starts_with, exists, before_days, after_days");
            return None;
        }
        Some(Condition::Test(Test {
            subject,
            op: ops.remove(0),
        }))
    }

    fn path(&mut self, path: &str, span: Option<Range<usize>>, key: &str) -> Option<PersonPath> {
        match PersonPath::parse(path) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(span, key, e.to_string());
                None
            }
        }
    }
}

/// `AnyContract.<field>` or `AnyContract.<field>.<part>`, read with the grammar of
/// `Contract.*` paths.
fn any_contract(rest: &str) -> Result<Subject, String> {
    match PersonPath::parse(&format!("Contract.{rest}")) {
        Ok(PersonPath::Contract(_, field)) => Ok(Subject::AnyContract(field)),
        Ok(PersonPath::ContractPart(_, field, part)) => Ok(Subject::AnyContractPart(field, part)),
        Ok(_) => Err(format!("unknown contract field `{rest}`")),
        Err(e) => Err(format!("unknown contract field `{rest}`: {}", e.hint)),
    }
}

fn threshold(t: RawThreshold) -> Threshold {
    Threshold {
        absolute: t.absolute,
        percent: t.percent,
    }
}

use serde::Deserialize as _;

/// `field` in the one spelling of its target kind, or as written when it has none (the error
/// is reported where the field is mapped).
fn canonical_or_same(connection: Option<&Connection>, field: &str) -> String {
    connection
        .and_then(|c| c.mapping_field(field).ok())
        .unwrap_or_else(|| field.to_owned())
}
