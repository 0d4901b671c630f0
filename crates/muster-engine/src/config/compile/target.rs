//! One `[targets.<name>]` table → [`TargetConfig`]: its kind's settings (from the table of
//! kinds), what they imply, its correlation, mappings (written here and in a `mapping_file`),
//! the field lists, domain filter, thresholds, quarantine and orphan policy. One step per
//! function; [`Compiler::target`] only calls them in order.

use super::super::raw::{RawMapping, RawTarget, RawThreshold};
use super::{threshold, Compiler, RawDomains};
use crate::config::TargetConfig;
use crate::kinds::{self, Implied, TargetSettings};
use muster_core::evaluate::{Correlation, Lifecycle, TargetPolicy};
use muster_core::gate::TargetThresholds;
use muster_core::leave_alone::LeaveAlone;
use muster_core::mapping::{FieldMapping, Template, ValueFilter, ValueSource};
use muster_core::model::TargetName;
use muster_core::plan::ActionKind;
use muster_core::rules::Rule;
use muster_core::unique::Uniqueness;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// `{Today}` renders only in dynamic permissions (a school year); in a field it would render
/// nothing and clear the field in the target on every run.
const TODAY_ONLY_IN_PERMISSIONS: &str =
    "`{Today}` is only available in dynamic permission templates; a field mapped from it would be cleared";

/// A target's mappings and what they say about their fields, while they are collected.
#[derive(Default)]
struct Mapped {
    mappings: Vec<FieldMapping>,
    secret_fields: BTreeSet<String>,
    unique: BTreeSet<String>,
    case_insensitive_fields: BTreeSet<String>,
    /// Fields that say what type an account is (`account_type = true`).
    type_fields: BTreeSet<String>,
    /// Fields whose values keep only addresses in `included_domains`, with where they are
    /// mapped (`in_included_domains = true`).
    in_included_domains: Vec<(String, String)>,
    /// Field → where muster.toml maps it, to name both places when the mapping file maps it
    /// too.
    in_toml: Vec<(String, String)>,
}

impl Mapped {
    fn writes(&self, field: &str) -> bool {
        self.mappings.iter().any(|m| m.field == field)
    }

    /// A field mapped explicitly wins over what the target's settings imply.
    fn add_implied(&mut self, implied: Vec<FieldMapping>) {
        for m in implied {
            if !self.writes(&m.field) {
                self.mappings.push(m);
            }
        }
    }
}

impl Compiler<'_> {
    pub(super) fn target(
        &mut self,
        name: &str,
        raw: RawTarget,
        span: Range<usize>,
        rules: &[Rule],
        base_dir: &Path,
    ) -> Option<TargetConfig> {
        let key = format!("targets.{name}");
        let target = TargetName::new(name);
        let settings = self.settings(&key, raw.kind, raw.connection);
        let kind = settings.as_deref();
        let implied = self.implied(&key, &span, &target, kind);
        let corr_span = raw.correlation.span();
        let corr = raw.correlation.into_inner();
        let person = self.path(
            &corr.person,
            Some(corr_span.clone()),
            &format!("{key}.correlation.person"),
        );
        let mut mapped = self.mappings(&key, raw.mapping, kind);
        let limits = self.mapping_limits(&key, raw.mapping_limits, raw.mapping_file.is_some());
        if let Some(file) = raw.mapping_file {
            self.add_mapping_file(&key, file, limits, base_dir, kind, &mut mapped);
        }
        mapped.add_implied(implied.mappings);
        self.field_lists(
            &key,
            &span,
            &raw.unique_fields,
            &raw.secret_fields,
            kind,
            &mut mapped,
        );
        let raw_domain_field = raw.domain_field.as_ref().map(|f| f.get_ref().clone());
        let domains = self.domains(
            &key,
            RawDomains {
                included: raw.included_domains,
                field: raw.domain_field,
                outside: raw.outside_domains,
            },
            kind,
            &mapped.mappings,
        );
        self.scope_to_domains(&span, domains.as_ref(), &mut mapped);
        let leave_alone = self.leave_alone(
            &key,
            raw.leave_alone,
            domains.as_ref(),
            kind,
            raw_domain_field.as_deref(),
        );
        let thresholds = self.thresholds(&key, raw.thresholds, raw.all_or_nothing);
        let quarantine = self.quarantine(&key, raw.quarantine);
        let orphans = self.orphan_policy(&key, raw.reconcile);
        let address_field = domains.as_ref().map(|d| d.field().to_owned());
        let jit = self.jit(
            &key,
            raw.jit,
            address_field.as_deref().or(kind.map(|k| k.domain_field())),
            &mapped.mappings,
            &mapped.unique,
        );
        let account_field = self.account_field(
            kind,
            &corr.account,
            &corr_span,
            &format!("{key}.correlation.account"),
        );
        let correlation = Correlation {
            person: person?,
            account_field,
            case_insensitive: corr.case_insensitive,
        };
        let lifecycle = Lifecycle {
            create_days_before_start: raw.lifecycle.create_days_before_start,
            delete_days_after_end: raw.lifecycle.delete_days_after_end,
        };
        Some(TargetConfig {
            policy: TargetPolicy {
                target: target.clone(),
                rules: rules_for(&target, rules, implied.rules),
                mappings: mapped.mappings,
                lifecycle,
                correlation,
            },
            unique: Uniqueness {
                fields: mapped.unique,
                max_iterations: raw
                    .unique_max_iterations
                    .unwrap_or(Uniqueness::DEFAULT_MAX_ITERATIONS),
            },
            name: target,
            connection: settings?,
            thresholds,
            secret_fields: mapped.secret_fields,
            case_insensitive_fields: mapped.case_insensitive_fields,
            quarantine,
            domains,
            leave_alone,
            type_fields: mapped.type_fields,
            orphans,
            jit,
        })
    }

    /// `in_included_domains = true` mappings: their values keep only addresses in the
    /// target's `included_domains`, which they need.
    fn scope_to_domains(
        &mut self,
        span: &Range<usize>,
        domains: Option<&muster_core::domains::DomainFilter>,
        mapped: &mut Mapped,
    ) {
        for (field, key) in std::mem::take(&mut mapped.in_included_domains) {
            let Some(domains) = domains else {
                self.err(
                    Some(span.clone()),
                    key,
                    "needs the target's `included_domains`: set them, or drop `in_included_domains`",
                );
                continue;
            };
            for m in mapped.mappings.iter_mut().filter(|m| m.field == field) {
                let inner = m.clone();
                m.value =
                    ValueSource::Filtered(Box::new(inner), ValueFilter::InDomains(domains.clone()));
            }
        }
    }

    /// `leave_alone = { accounts, domains }`: checked against the `domain_field` address
    /// (the included domains' field when those are set).
    fn leave_alone(
        &mut self,
        key: &str,
        raw: Option<Spanned<super::super::raw::RawLeaveAlone>>,
        domains: Option<&muster_core::domains::DomainFilter>,
        kind: Option<&dyn TargetSettings>,
        domain_field: Option<&str>,
    ) -> Option<LeaveAlone> {
        let raw = raw?;
        let span = raw.span();
        let field = match (domains, domain_field) {
            (Some(d), _) => d.field().to_owned(),
            (None, Some(f)) => f.to_owned(),
            (None, None) => kind?.domain_field().to_owned(),
        };
        let raw = raw.into_inner();
        LeaveAlone::new(field, &raw.accounts, &raw.domains)
            .map_err(|message| self.err(Some(span), format!("{key}.leave_alone"), message))
            .ok()
    }

    /// `kind` looked up in the table of kinds, and `connection` as that kind's settings, with
    /// every problem found in them.
    fn settings(
        &mut self,
        key: &str,
        kind: Spanned<String>,
        connection: Spanned<toml::Value>,
    ) -> Option<Arc<dyn TargetSettings>> {
        let Some(target_kind) = kinds::target(kind.get_ref()) else {
            self.err(
                Some(kind.span()),
                format!("{key}.kind"),
                format!(
                    "unknown connector `{}`: expected {}",
                    kind.get_ref(),
                    kinds::expected(kinds::TARGETS.iter().map(|k| k.name()))
                ),
            );
            return None;
        };
        let span = connection.span();
        match target_kind.settings(connection.into_inner()) {
            Ok((settings, problems)) => {
                for problem in problems {
                    self.err(Some(span.clone()), format!("{key}.connection"), problem);
                }
                Some(settings)
            }
            Err(e) => {
                self.err(Some(span), format!("{key}.connection"), e);
                None
            }
        }
    }

    /// The rules and mappings the target's settings imply; none when they are unusable.
    fn implied(
        &mut self,
        key: &str,
        span: &Range<usize>,
        target: &TargetName,
        kind: Option<&dyn TargetSettings>,
    ) -> Implied {
        match kind.map(|k| k.implied(target)) {
            Some(Ok(i)) => i,
            Some(Err((setting, message))) => {
                self.err(Some(span.clone()), format!("{key}.{setting}"), message);
                Implied::default()
            }
            None => Implied::default(),
        }
    }

    /// The `[[targets.<name>.mapping]]` entries that compile; each that does not is reported.
    fn mappings(
        &mut self,
        key: &str,
        raw: Vec<Spanned<RawMapping>>,
        kind: Option<&dyn TargetSettings>,
    ) -> Mapped {
        let mut mapped = Mapped::default();
        for (i, m) in raw.into_iter().enumerate() {
            let span = m.span();
            let mkey = format!("{key}.mapping[{i}]");
            if let Some((m, mapping)) = self.mapping(&mkey, m.into_inner(), span, kind) {
                mapped.record(&m, &mkey);
                mapped.mappings.push(mapping);
            }
        }
        mapped
    }

    /// One mapping entry, its field in the kind's spelling; `None` after reporting why not.
    fn mapping(
        &mut self,
        mkey: &str,
        mut m: RawMapping,
        span: Range<usize>,
        kind: Option<&dyn TargetSettings>,
    ) -> Option<(RawMapping, FieldMapping)> {
        m.field = self.account_field(kind, &m.field, &span, &format!("{mkey}.field"));
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
            return None;
        }
        let value = self.value_source(mkey, &m, &span);
        let table = self.values_table(mkey, &m, &span);
        let actions = self.actions(m.on.as_ref(), span, mkey);
        let mut mapping = FieldMapping {
            field: m.field.clone(),
            value: value?,
            actions: actions?,
            secret: m.secret,
        };
        if let Some(table) = table? {
            mapping.value =
                ValueSource::Filtered(Box::new(mapping.clone()), ValueFilter::Lookup(table));
        }
        Some((m, mapping))
    }

    /// `values = { from = to, … }`: `Some(None)` without one, `None` after reporting a problem.
    #[allow(clippy::type_complexity)]
    fn values_table(
        &mut self,
        mkey: &str,
        m: &RawMapping,
        span: &Range<usize>,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>> {
        let Some(values) = &m.values else {
            return Some(None);
        };
        let key = format!("{mkey}.values");
        if values.is_empty() {
            self.err(
                Some(span.clone()),
                key,
                "expected at least one `from = to` entry",
            );
            return None;
        }
        if m.list.is_some() || m.account_of.is_some() {
            self.err(
                Some(span.clone()),
                key,
                "translates a `path`, `template` or `value`, not a `list` or `account_of`",
            );
            return None;
        }
        let mut table = BTreeMap::new();
        for (from, to) in values {
            match serde_json::to_value(to) {
                Ok(v) => {
                    table.insert(from.clone(), v);
                }
                Err(e) => {
                    self.err(Some(span.clone()), key.clone(), format!("{from}: {e}"));
                    return None;
                }
            }
        }
        Some(Some(table))
    }

    /// Where a mapping's value comes from: the one of `path`, `account_of`, `template`, `list`
    /// or `value` it gives.
    fn value_source(
        &mut self,
        mkey: &str,
        m: &RawMapping,
        span: &Range<usize>,
    ) -> Option<ValueSource> {
        if let Some(p) = &m.path {
            self.path(p, Some(span.clone()), &format!("{mkey}.path"))
                .map(ValueSource::Path)
        } else if let Some(p) = &m.account_of {
            self.path(p, Some(span.clone()), &format!("{mkey}.account_of"))
                .map(ValueSource::AccountOf)
        } else if let Some(t) = &m.template {
            let key = format!("{mkey}.template");
            self.field_templates(std::slice::from_ref(t), span, &key)
                .and_then(|mut ts| ts.pop())
                .map(ValueSource::Template)
        } else if let Some(list) = &m.list {
            self.field_templates(list, span, &format!("{mkey}.list"))
                .map(ValueSource::List)
        } else {
            m.value.clone().and_then(|v| match serde_json::to_value(v) {
                Ok(v) => Some(ValueSource::Fixed(v)),
                Err(e) => {
                    self.err(Some(span.clone()), format!("{mkey}.value"), e.to_string());
                    None
                }
            })
        }
    }

    /// Templates that render a field's value: each must parse and none may use `{Today}`.
    fn field_templates(
        &mut self,
        sources: &[String],
        span: &Range<usize>,
        key: &str,
    ) -> Option<Vec<Template>> {
        let parsed: Result<Vec<Template>, _> = sources.iter().map(|t| Template::parse(t)).collect();
        match parsed {
            Ok(ts) if ts.iter().any(Template::uses_today) => {
                self.err(Some(span.clone()), key, TODAY_ONLY_IN_PERMISSIONS);
                None
            }
            Ok(ts) => Some(ts),
            Err(e) => {
                self.err(Some(span.clone()), key, e.to_string());
                None
            }
        }
    }

    /// The fields of `mapping_file`, in the kind's spelling, added to `mapped`.
    fn add_mapping_file(
        &mut self,
        key: &str,
        file: Spanned<std::path::PathBuf>,
        limits: muster_mapping::Limits,
        base_dir: &Path,
        kind: Option<&dyn TargetSettings>,
        mapped: &mut Mapped,
    ) {
        let file_key = format!("{key}.mapping_file");
        let file_span = file.span();
        let from_toml = mapped.mappings.len();
        self.mapping_file(
            key,
            file,
            limits,
            base_dir,
            &mapped.in_toml,
            &mut mapped.mappings,
            &mut mapped.unique,
        );
        for m in mapped.mappings.iter_mut().skip(from_toml) {
            m.field = self.account_field(kind, &m.field, &file_span, &file_key);
        }
        mapped.unique = std::mem::take(&mut mapped.unique)
            .into_iter()
            .map(|f| canonical_or_same(kind, &f))
            .collect();
    }

    /// `unique_fields` and `secret_fields`: each must name a field a mapping writes.
    fn field_lists(
        &mut self,
        key: &str,
        span: &Range<usize>,
        unique_fields: &[String],
        secret_fields: &[String],
        kind: Option<&dyn TargetSettings>,
        mapped: &mut Mapped,
    ) {
        let mut unmapped = Vec::new();
        for (setting, fields) in [
            ("unique_fields", unique_fields),
            ("secret_fields", secret_fields),
        ] {
            for f in fields {
                let f = canonical_or_same(kind, f);
                if !mapped.writes(&f) {
                    unmapped.push((setting, f));
                } else if setting == "unique_fields" {
                    mapped.unique.insert(f);
                } else {
                    mapped.secret_fields.insert(f);
                }
            }
        }
        for (setting, f) in unmapped {
            self.err(
                Some(span.clone()),
                format!("{key}.{setting}"),
                format!("no mapping writes the field `{f}`"),
            );
        }
        for m in mapped.mappings.iter_mut() {
            m.secret |= mapped.secret_fields.contains(&m.field);
        }
    }

    /// `thresholds` per action type and `all_or_nothing`.
    fn thresholds(
        &mut self,
        key: &str,
        raw: BTreeMap<String, Spanned<RawThreshold>>,
        all_or_nothing: Option<super::super::raw::RawAllOrNothing>,
    ) -> TargetThresholds {
        let mut thresholds = TargetThresholds::default();
        for (kind, t) in raw {
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
        if let Some(a) = all_or_nothing {
            thresholds.all_or_nothing_percent = Some(a.percent);
            thresholds.allow_large = a.allow_large;
        }
        thresholds
    }

    /// `field` in the one spelling of its target kind ([`TargetSettings::mapping_field`]), or
    /// as written after reporting why it cannot be (under `key`, at `span`).
    fn account_field(
        &mut self,
        kind: Option<&dyn TargetSettings>,
        field: &str,
        span: &Range<usize>,
        key: &str,
    ) -> String {
        match kind.map(|k| k.mapping_field(field)) {
            Some(Ok(canonical)) => canonical,
            Some(Err(e)) => {
                self.err(Some(span.clone()), key.to_owned(), e);
                field.to_owned()
            }
            None => field.to_owned(),
        }
    }
}

impl Mapped {
    /// What a compiled mapping entry says about its field.
    fn record(&mut self, m: &RawMapping, mkey: &str) {
        if m.secret {
            self.secret_fields.insert(m.field.clone());
        }
        if m.unique {
            self.unique.insert(m.field.clone());
        }
        if m.ignore_case {
            self.case_insensitive_fields.insert(m.field.clone());
        }
        if m.account_type {
            self.type_fields.insert(m.field.clone());
        }
        if m.in_included_domains {
            self.in_included_domains
                .push((m.field.clone(), format!("{mkey}.in_included_domains")));
        }
        if !self.in_toml.iter().any(|(f, _)| *f == m.field) {
            self.in_toml.push((m.field.clone(), mkey.to_owned()));
        }
    }
}

/// The rules that apply to `target`, then those its settings imply.
fn rules_for(target: &TargetName, rules: &[Rule], implied: Vec<Rule>) -> Vec<Rule> {
    rules
        .iter()
        .filter(|r| r.applies_to(target))
        .cloned()
        .chain(implied)
        .collect()
}

/// `field` in the one spelling of its target kind, or as written when it has none (the error
/// is reported where the field is mapped).
fn canonical_or_same(kind: Option<&dyn TargetSettings>, field: &str) -> String {
    kind.and_then(|k| k.mapping_field(field).ok())
        .unwrap_or_else(|| field.to_owned())
}
