//! Raw file → validated [`Config`]: person paths, templates and rules are parsed, every
//! problem is collected with its line. Reads no secrets, and no files but a target's
//! `mapping_file`: that one is read (and its scripts compiled, once per load) here, so that its
//! problems are reported with the others, each with the mapping file's path and line.

use super::error::{line_of, ConfigError};
use super::raw::*;
use super::Config;
use crate::kinds::{self, Source, TargetSettings};
use muster_core::domains::{DomainFilter, OutsideDomains};
use muster_core::gate::{SourceThresholds, Threshold};
use muster_core::mapping::{ActionSet, FieldMapping, Template};
use muster_core::model::{PersonPath, PrimaryContractRule, PrimaryCriterion, TargetName};
use muster_core::rules::{
    Condition, ContractSelection, DynamicPermission, Grants, Op, Rule, Subject, Test,
};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod jit;
mod target;

/// A target's domain-filter settings, as written.
struct RawDomains {
    included: Option<toml::Spanned<Vec<String>>>,
    field: Option<toml::Spanned<String>>,
    outside: Option<toml::Spanned<String>>,
}

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
        let store = super::store::compile(raw.store, base_dir)
            .map_err(|errors| {
                for e in errors {
                    self.err(None, e.key, e.message);
                }
            })
            .ok();
        let source = self.source(raw.source);
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

        let run = self.run_settings(raw.run);
        let source = source?;
        let store = store?;
        if !self.errors.is_empty() {
            return None;
        }
        Some(Config {
            file: self.file.to_owned(),
            base_dir: base_dir.to_owned(),
            digest,
            store,
            source,
            source_thresholds,
            primary_rule,
            targets,
            run,
        })
    }

    /// `[run]`: `perform_sync`, `max_run_time` (e.g. `"2h30m"`), `log_level`.
    fn run_settings(&mut self, raw: Option<toml::Spanned<RawRun>>) -> super::RunSettings {
        let Some(raw) = raw else {
            return super::RunSettings::default();
        };
        let span = raw.span();
        let raw = raw.into_inner();
        let max_run_time =
            raw.max_run_time
                .as_deref()
                .and_then(|text| match parse_duration(text) {
                    Ok(d) => Some(d),
                    Err(message) => {
                        self.err(Some(span.clone()), "run.max_run_time", message);
                        None
                    }
                });
        const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
        let log_level = raw.log_level.and_then(|level| {
            let lower = level.trim().to_lowercase();
            if LEVELS.contains(&lower.as_str()) {
                Some(lower)
            } else {
                self.err(
                    Some(span.clone()),
                    "run.log_level",
                    format!("unknown level {level:?}: expected error, warn, info, debug or trace"),
                );
                None
            }
        });
        super::RunSettings {
            perform_sync: raw.perform_sync,
            max_run_time,
            log_level,
        }
    }

    /// `[source]`: its `kind` looked up in the table of kinds, the rest as that kind's
    /// settings.
    fn source(&mut self, raw: toml::Spanned<toml::Value>) -> Option<Arc<dyn Source>> {
        let span = raw.span();
        let mut table = raw.into_inner();
        let expected = || kinds::expected(kinds::SOURCES.iter().map(|k| k.name()));
        let kind = match table.as_table_mut().map(|t| t.remove("kind")) {
            Some(Some(toml::Value::String(kind))) => kind,
            _ => {
                self.err(
                    Some(span),
                    "source.kind",
                    format!("missing `kind`: expected {}", expected()),
                );
                return None;
            }
        };
        let Some(source_kind) = kinds::source(&kind) else {
            self.err(
                Some(span),
                "source.kind",
                format!("unknown source `{kind}`: expected {}", expected()),
            );
            return None;
        };
        source_kind
            .settings(table)
            .map_err(|message| self.err(Some(span), "source", message))
            .ok()
    }

    /// `included_domains`, `domain_field`, `outside_domains`: the target's domain filter. The
    /// field must be one a mapping writes, so every person has the address that is checked.
    fn domains(
        &mut self,
        key: &str,
        raw: RawDomains,
        kind: Option<&dyn TargetSettings>,
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
            None => (kind?.domain_field().to_owned(), included.span()),
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

/// `"2h"`, `"90m"`, `"1h30m"`, `"45s"`: a positive duration in hours, minutes and seconds.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let expected = || {
        format!("{text:?} is not a duration: expected a number with h, m or s, e.g. \"2h\", \"90m\" or \"1h30m\"")
    };
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().map_err(|_| expected())?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                seconds = n
                    .checked_mul(unit)
                    .and_then(|n| seconds.checked_add(n))
                    .ok_or_else(expected)?;
                number.clear();
            }
            _ => return Err(expected()),
        }
    }
    if !number.is_empty() || seconds == 0 {
        return Err(expected());
    }
    Ok(std::time::Duration::from_secs(seconds))
}

fn threshold(t: RawThreshold) -> Threshold {
    Threshold {
        absolute: t.absolute,
        percent: t.percent,
    }
}
