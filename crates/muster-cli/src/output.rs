//! What people see: aligned tables, the run summary, a progress bar on a terminal.

use muster_core::plan::Plan;
use muster_core::report::{RunSummary, TargetSummary};
use muster_engine::progress::Progress;
use muster_engine::run::RunReport;
use std::io::IsTerminal;
use std::sync::Mutex;

/// Prints rows under headers, columns padded to the widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The end-of-run summary per target × action type.
pub fn summary(s: &RunSummary) -> String {
    let mut out = String::new();
    if let Some(why) = &s.blocked {
        out.push_str(&format!(
            "RUN BLOCKED by the source threshold: {why}\nNothing was changed in any target.\n"
        ));
    }
    let mut rows = Vec::new();
    for t in &s.targets {
        for (kind, c) in &t.by_action {
            rows.push(vec![
                t.target.to_string(),
                kind.to_string(),
                c.planned.to_string(),
                c.done.to_string(),
                c.failed.to_string(),
                c.blocked.to_string(),
                c.skipped.to_string(),
            ]);
        }
    }
    if rows.is_empty() && s.blocked.is_none() {
        out.push_str("No changes.\n");
    } else if !rows.is_empty() {
        out.push_str(&table(
            &[
                "target", "action", "planned", "done", "failed", "blocked", "skipped",
            ],
            &rows,
        ));
        out.push('\n');
    }
    for t in &s.targets {
        if t.disputed > 0 {
            out.push_str(&format!(
                "{}: {} person(s) disputed (several accounts match; nothing done)\n",
                t.target, t.disputed
            ));
        }
        if t.held > 0 {
            out.push_str(&format!(
                "{}: {} person(s) held (see the plan for reasons)\n",
                t.target, t.held
            ));
        }
        if let Some(why) = &t.stopped {
            out.push_str(&format!("{}: STOPPED: {why}\n", t.target));
        }
        out.push_str(&blocks(&s.run, t));
        for w in &t.warnings {
            out.push_str(&format!("{}: warning: {w}\n", t.target));
        }
    }
    if s.blocked_persons > 0 {
        out.push_str(&format!(
            "{} source record(s) blocked; those persons were left as they are.\n",
            s.blocked_persons
        ));
    }
    out
}

/// Every limit a target's plan reached: why it blocks and how to release it, or how it was
/// released in this run.
fn blocks(run: &str, t: &TargetSummary) -> String {
    let mut out = String::new();
    for b in &t.blocks {
        match b.released {
            None => out.push_str(&format!(
                "{}: BLOCKED by the {} ({} action(s)): {}\n  release it for one run: `muster approve {run}`, or `muster apply --allow-large`\n",
                t.target, b.limit, b.actions, b.reason
            )),
            Some(how) => out.push_str(&format!(
                "{}: {} {how}: {}\n",
                t.target, b.limit, b.reason
            )),
        }
    }
    out
}

/// The plan's actions, one line each (secret values redacted).
pub fn plan_lines(plan: &Plan, limit: usize) -> String {
    let mut rows = Vec::new();
    for t in &plan.targets {
        for a in &t.actions {
            let what = match (&a.permission, a.changes.is_empty()) {
                (Some(p), _) => p.name.clone(),
                (None, false) => a
                    .changes
                    .iter()
                    .map(|c| {
                        let show = |v: &Option<serde_json::Value>| match v {
                            _ if c.secret => "***".to_owned(),
                            Some(serde_json::Value::String(s)) => s.clone(),
                            Some(v) => v.to_string(),
                            None => "∅".to_owned(),
                        };
                        format!(
                            "{}: {} → {}",
                            short_field(&c.field),
                            show(&c.before),
                            show(&c.after)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                (None, true) => String::new(),
            };
            rows.push(vec![
                t.target.to_string(),
                a.kind.to_string(),
                a.person.to_string(),
                clip(&what, 100),
                a.reason.clone(),
            ]);
        }
    }
    let total = rows.len();
    rows.truncate(limit);
    let mut out = table(&["target", "action", "person", "change", "reason"], &rows);
    if total > limit {
        out.push_str(&format!(
            "\n… and {} more (use --out plan.json or --json for all)",
            total - limit
        ));
    }
    out
}

pub fn report_text(r: &RunReport, show_plan: bool) -> String {
    let mut out = String::new();
    if show_plan && !r.plan.is_empty() {
        out.push_str(&plan_lines(&r.plan, 40));
        out.push_str("\n\n");
    }
    for t in &r.plan.targets {
        for d in &t.disputed {
            let accounts: Vec<String> = d.accounts.iter().map(ToString::to_string).collect();
            out.push_str(&format!(
                "disputed: {} {} ({:?} matches {})\n",
                t.target,
                d.person,
                d.value,
                accounts.join(", ")
            ));
        }
        for h in &t.held {
            out.push_str(&format!("held: {} {}: {}\n", t.target, h.person, h.reason));
        }
    }
    for b in r.blocked_records.iter().take(20) {
        out.push_str(&format!(
            "blocked record: {} ({}): {}\n",
            b.person, b.location, b.reason
        ));
    }
    for w in &r.warnings {
        out.push_str(&format!("source warning: {w}\n"));
    }
    out.push_str(&summary(&r.summary));
    out.push_str(&format!("run {}\n", r.run));
    out
}

/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department` reads as
/// `enterprise:department` in tables; plan files and audit keep the full path.
pub fn short_field(field: &str) -> String {
    let Some(rest) = field.strip_prefix("urn:") else {
        return field.to_owned();
    };
    let schema = rest
        .split(':')
        .skip_while(|p| *p != "schemas")
        .skip(1)
        .find(|p| *p != "extension");
    match (schema, rest.rsplit(':').next()) {
        (Some(schema), Some(attr)) => format!("{schema}:{attr}"),
        _ => field.to_owned(),
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// indicatif on a terminal; nothing otherwise.
pub struct Bar(Mutex<Option<indicatif::ProgressBar>>);

impl Bar {
    pub fn new() -> Option<Self> {
        std::io::stdout()
            .is_terminal()
            .then(|| Self(Mutex::new(None)))
    }
}

impl Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_owned());
        if let Ok(mut b) = self.0.lock() {
            *b = Some(bar);
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(b) = self.0.lock() {
            if let Some(b) = b.as_ref() {
                b.inc(n);
            }
        }
    }
    fn finish(&self) {
        if let Ok(mut b) = self.0.lock() {
            if let Some(b) = b.take() {
                b.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_paths_are_shortened_for_tables() {
        assert_eq!(
            short_field("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            "enterprise:department"
        );
        assert_eq!(
            short_field("urn:ietf:params:scim:schemas:zivver:0.1:User:SsoAccountKey"),
            "zivver:SsoAccountKey"
        );
        assert_eq!(short_field("name.givenName"), "name.givenName");
        assert_eq!(clip("abcdef", 4), "abc…");
    }

    #[test]
    fn columns_are_aligned() {
        let t = table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "a    bb");
        assert_eq!(lines[2], "xxx  y");
    }
}
