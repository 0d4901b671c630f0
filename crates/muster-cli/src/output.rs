//! What people see: aligned tables, the run summary, a progress bar on a terminal.

use muster_core::model::TargetName;
use muster_core::plan::{Action, Plan};
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

/// Plans with at most this many actions are shown row by row; a larger plan shows its first
/// [`PLAN_HEAD`] rows, then the summary per target and action (as after every run), and how
/// to see every row (`--full`, or `--out` / `--json` for a file). Formatting 300,000 rows for
/// a terminal helps nobody and took seconds.
pub const PLAN_ROWS: usize = 200;
/// Rows shown of a plan larger than [`PLAN_ROWS`].
pub const PLAN_HEAD: usize = 50;

/// The plan's actions, one line each (secret values redacted): every row when `full` or when
/// there are at most [`PLAN_ROWS`], otherwise the first [`PLAN_HEAD`] and a line that says
/// how to see the rest. Only the rows shown are formatted.
pub fn plan_lines(plan: &Plan, full: bool) -> String {
    let total = plan.action_count();
    let shown = if full || total <= PLAN_ROWS {
        total
    } else {
        PLAN_HEAD
    };
    let rows: Vec<Vec<String>> = plan
        .targets
        .iter()
        .flat_map(|t| t.actions.iter().map(move |a| action_row(&t.target, a)))
        .take(shown)
        .collect();
    let mut out = table(&["target", "action", "person", "change", "reason"], &rows);
    if total > shown {
        out.push_str(&format!(
            "\n… and {} more of {total} actions (more than {PLAN_ROWS}: see the summary below; \
             `muster plan --full` shows every row, `--out plan.json` or `--json` writes them all)",
            total - shown
        ));
    }
    out
}

fn action_row(target: &TargetName, a: &Action) -> Vec<String> {
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
    vec![
        target.to_string(),
        a.kind.to_string(),
        a.person.to_string(),
        clip(&what, 100),
        a.reason.clone(),
    ]
}

/// Writes the plan as pretty JSON (secrets redacted) straight to `w`, without building the
/// whole text in memory first (a plan of 300,000 actions is a file of ~170 MB).
pub fn write_plan(plan: &Plan, w: impl std::io::Write) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, plan)?;
    std::io::Write::flush(&mut w)
}

/// What a run (or a plan) reports: its actions when `show_plan` (every row when `full`, see
/// [`plan_lines`]), the persons disputed and held, and the summary.
pub fn report_text(r: &RunReport, show_plan: bool, full: bool) -> String {
    let mut out = String::new();
    if show_plan && !r.plan.is_empty() {
        out.push_str(&plan_lines(&r.plan, full));
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
    if r.summary.preview_mode {
        out.push_str(PREVIEW_MODE);
        out.push('\n');
    }
    out.push_str(&format!("run {}\n", r.run));
    out
}

/// What an apply under `perform_sync = false` says instead of writing.
pub const PREVIEW_MODE: &str = "ran in preview mode: nothing was written (perform_sync = false); run `muster apply --perform-sync` to write";

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

    fn plan(actions: usize) -> Plan {
        use muster_core::plan::{ActionId, ActionKind, TargetPlan};
        let action = |i: usize| Action {
            id: ActionId(i as u32),
            kind: ActionKind::Create,
            person: format!("p{i}").into(),
            account: None,
            depends_on: vec![],
            waits_for: vec![],
            enabled: Some(true),
            changes: vec![],
            permission: None,
            resend: vec![],
            reason: "new person".into(),
        };
        // Two targets, so the rows shown run across both.
        let target = |name: &str, range: std::ops::Range<usize>| TargetPlan {
            target: name.into(),
            observed_digest: String::new(),
            accounts_observed: 0,
            actions: range.map(action).collect(),
            disputed: vec![],
            held: vec![],
            warnings: vec![],
        };
        Plan {
            version: Plan::VERSION,
            today: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            source_digest: String::new(),
            targets: vec![
                target("scim", 0..actions / 2),
                target("zivver", actions / 2..actions),
            ],
        }
    }

    /// Table lines below the header and its rule.
    fn rows(text: &str) -> usize {
        text.lines()
            .skip(2)
            .filter(|l| l.starts_with("scim") || l.starts_with("zivver"))
            .count()
    }

    #[test]
    fn a_plan_up_to_the_threshold_shows_every_row() {
        let text = plan_lines(&plan(PLAN_ROWS), false);
        assert_eq!(rows(&text), PLAN_ROWS);
        assert!(!text.contains("more"), "{text}");
    }

    #[test]
    fn a_larger_plan_shows_its_first_rows_and_how_to_see_all() {
        let text = plan_lines(&plan(PLAN_ROWS + 1), false);
        assert_eq!(rows(&text), PLAN_HEAD);
        let last = text.lines().last().unwrap();
        assert!(
            last.contains(&format!(
                "and {} more of {} actions",
                PLAN_ROWS + 1 - PLAN_HEAD,
                PLAN_ROWS + 1
            )) && last.contains("muster plan --full"),
            "{last}"
        );
        // `--full`: every row, across both targets.
        let full = plan_lines(&plan(PLAN_ROWS + 1), true);
        assert_eq!(rows(&full), PLAN_ROWS + 1);
        assert!(full.lines().any(|l| l.starts_with("zivver")));
        assert!(!full.contains("more of"));
    }

    #[test]
    fn the_streamed_plan_file_is_the_plan() {
        let p = plan(10);
        let mut written = Vec::new();
        write_plan(&p, &mut written).unwrap();
        assert_eq!(
            String::from_utf8(written.clone()).unwrap(),
            serde_json::to_string_pretty(&p).unwrap()
        );
        let back: Plan = serde_json::from_slice(&written).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn columns_are_aligned() {
        let t = table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "a    bb");
        assert_eq!(lines[2], "xxx  y");
    }
}
