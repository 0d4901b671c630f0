//! The run report as an e-mail, composed without I/O: per target what changed (counts by kind
//! and the persons, up to a limit), what failed and why, what is blocked and how to approve it,
//! and a link to the run on the dashboard. Plain text and HTML (every value escaped) in one
//! `multipart/alternative` message.
//!
//! Field values never appear, only field names: a report cannot leak a secret that a change
//! carried. Failure details are the audit's, which keeps no secrets either.

use crate::config::{EmailSettings, OnlyOn};
use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::Message;
use muster_core::plan::ActionKind;
use muster_core::report::{ActionOutcome, RunSummary, TargetSummary};
use muster_core::{ExternalId, TargetName};
use muster_store::RunMode;
use std::fmt::Write as _;
use std::time::Duration;

/// One action of the run, as the report lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionLine {
    pub target: TargetName,
    pub person: ExternalId,
    pub kind: ActionKind,
    /// `None`: planned only (a preview).
    pub outcome: Option<ActionOutcome>,
    /// Why it failed (the target's words), from the audit.
    pub detail: Option<String>,
    /// Names of the fields it changes (never their values).
    pub fields: Vec<String>,
}

/// What the report is made of: the run's summary (or why it produced none) and some of its
/// actions (the I/O side reads up to the list limit per target and outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct RunDigest {
    /// `None` when the run stopped before it was recorded.
    pub run: Option<muster_store::RunId>,
    pub mode: RunMode,
    /// Who started it: `schedule nightly`, `token ci (…)`.
    pub origin: String,
    pub took: Duration,
    pub result: Result<RunSummary, String>,
    pub lines: Vec<ActionLine>,
    /// The Cloud Sync section, for a configuration in that mode (`[run] perform_sync`).
    pub sync: Option<SyncDigest>,
}

impl RunDigest {
    /// `changes`, `no-changes`, `blocked`, `failures` or `error`.
    pub fn status(&self) -> &'static str {
        match &self.result {
            Ok(summary) => summary.status().as_str(),
            Err(_) => "error",
        }
    }

    /// A failed run, failed actions or something blocked.
    pub fn has_problems(&self) -> bool {
        matches!(self.status(), "failures" | "blocked" | "error")
    }

    /// Whether `only_on` asks for a report of this run.
    pub fn wanted(&self, only_on: OnlyOn) -> bool {
        match only_on {
            OnlyOn::Always => true,
            OnlyOn::Problems => self.has_problems(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the report could not be built: {0}")]
    Message(#[from] lettre::error::Error),
}

/// A part of the report: a heading, then sentences and list items in order.
#[derive(Debug, Default)]
struct Section {
    heading: String,
    body: Vec<Entry>,
}

#[derive(Debug)]
enum Entry {
    Line(String),
    /// Consecutive items make one list.
    Item(String),
}

impl Section {
    fn line(&mut self, text: String) {
        self.body.push(Entry::Line(text));
    }

    fn item(&mut self, text: String) {
        self.body.push(Entry::Item(text));
    }
}

/// The report of `digest` as a message from and to the configured addresses.
pub fn compose(digest: &RunDigest, settings: &EmailSettings) -> Result<Message, ComposeError> {
    let link = run_link(settings.dashboard_url.as_ref(), digest.run.as_deref());
    let sections = sections(digest, link.as_deref(), settings.list_limit);
    let subject = subject(digest);
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .subject(subject.clone());
    for to in &settings.to {
        builder = builder.to(to.clone());
    }
    let message = builder.multipart(
        MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text(&subject, &sections)),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html(&subject, &sections, link.as_deref())),
            ),
    )?;
    Ok(message)
}

/// `Muster apply 1a2b3c4d: failures (scim: 2 failed)`.
pub fn subject(digest: &RunDigest) -> String {
    let run = digest
        .run
        .as_deref()
        .map(|r| format!(" {}", &r[..r.len().min(8)]))
        .unwrap_or_default();
    let mut parts = Vec::new();
    if let Ok(summary) = &digest.result {
        for t in &summary.targets {
            let c = t.totals();
            let mut p = Vec::new();
            if c.failed > 0 {
                p.push(format!("{} failed", c.failed));
            }
            if c.blocked > 0 {
                p.push(format!("{} blocked", c.blocked));
            }
            if t.stopped.is_some() {
                p.push("stopped".to_owned());
            }
            if !p.is_empty() {
                parts.push(format!("{}: {}", t.target, p.join(", ")));
            }
        }
    }
    let detail = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    };
    format!("Muster {}{run}: {}{detail}", digest.mode, digest.status())
}

/// `{dashboard}/runs/{id}`, each segment escaped.
pub fn run_link(dashboard: Option<&url::Url>, run: Option<&str>) -> Option<String> {
    let (mut url, run) = (dashboard?.clone(), run?);
    {
        let mut segments = url.path_segments_mut().ok()?;
        segments.pop_if_empty().push("runs").push(run);
    }
    Some(url.to_string())
}

fn sections(digest: &RunDigest, link: Option<&str>, limit: usize) -> Vec<Section> {
    let mut head = Section::default();
    let run = digest.run.as_deref().unwrap_or("(not recorded)");
    if digest.result.as_ref().is_ok_and(|s| s.preview_mode) {
        head.line("This run ran in preview mode: nothing was written.".to_owned());
    }
    head.line(format!(
        "The {} run {run} ended: {}. Started by {}; took {} s.",
        digest.mode,
        digest.status(),
        digest.origin,
        digest.took.as_secs()
    ));
    if let Some(link) = link {
        head.line(format!("On the dashboard: {link}"));
    }
    let mut out = vec![head];
    match &digest.result {
        Err(why) => out.push(Section {
            heading: "The run failed".to_owned(),
            body: vec![
                Entry::Line(why.clone()),
                Entry::Line(
                    "Nothing was changed after this point; the next run picks up from the journal."
                        .to_owned(),
                ),
            ],
        }),
        Ok(summary) => {
            if let Some(why) = &summary.blocked {
                out.push(Section {
                    heading: "The whole run was blocked".to_owned(),
                    body: vec![
                        Entry::Line(why.clone()),
                        Entry::Line(approve_hint(digest.run.as_deref(), link)),
                    ],
                });
            }
            if let Some(sync) = &digest.sync {
                out.push(sync.section());
            }
            for t in &summary.targets {
                out.push(target_section(digest, t, link, limit));
            }
        }
    }
    out
}

fn target_section(
    digest: &RunDigest,
    t: &TargetSummary,
    link: Option<&str>,
    limit: usize,
) -> Section {
    let mut s = Section {
        heading: format!("Target {}", t.target),
        ..Section::default()
    };
    let preview = digest.mode == RunMode::Preview;
    let counts: Vec<String> = t
        .by_action
        .iter()
        .map(|(kind, c)| {
            if preview {
                format!("{kind} {} planned", c.planned)
            } else {
                let mut parts = vec![format!("{} done", c.done)];
                for (n, word) in [
                    (c.failed, "failed"),
                    (c.blocked, "blocked"),
                    (c.skipped, "skipped"),
                ] {
                    if n > 0 {
                        parts.push(format!("{n} {word}"));
                    }
                }
                format!("{kind} {} of {}", parts.join(", "), c.planned)
            }
        })
        .collect();
    s.line(if counts.is_empty() {
        "No changes.".to_owned()
    } else {
        format!("Actions: {}.", counts.join("; "))
    });
    if let Some(why) = &t.stopped {
        s.line(format!("Stopped: {why}"));
    }
    let totals = t.totals();
    let mine = |outcome: Option<ActionOutcome>| {
        digest
            .lines
            .iter()
            .filter(move |l| l.target == t.target && l.outcome == outcome)
    };
    if totals.failed > 0 {
        s.line(format!("Failed ({}):", totals.failed));
        for l in mine(Some(ActionOutcome::Failed)).take(limit) {
            s.item(format!(
                "{} {}: {}",
                l.kind,
                l.person,
                l.detail.as_deref().unwrap_or("no reason given")
            ));
        }
        more(&mut s, totals.failed, limit);
    }
    let blocks: Vec<_> = t.blocks.iter().filter(|b| b.is_blocking()).collect();
    if totals.blocked > 0 || !blocks.is_empty() {
        s.line(format!("Blocked ({} actions):", totals.blocked));
        for b in blocks {
            s.item(format!("{} action(s) held: {}", b.actions, b.reason));
        }
        s.item(approve_hint(digest.run.as_deref(), link));
    }
    let changed = if preview { totals.planned } else { totals.done };
    let outcome = if preview {
        None
    } else {
        Some(ActionOutcome::Done)
    };
    if changed > 0 {
        s.line(format!(
            "{} ({changed}):",
            if preview { "Would change" } else { "Changed" }
        ));
        for l in mine(outcome).take(limit) {
            let fields = if l.fields.is_empty() {
                String::new()
            } else {
                format!(" ({})", l.fields.join(", "))
            };
            s.item(format!("{} {}{fields}", l.kind, l.person));
        }
        more(&mut s, changed, limit);
    }
    for w in &t.warnings {
        s.item(format!("Warning: {w}"));
    }
    s
}

fn more(s: &mut Section, total: usize, limit: usize) {
    if total > limit {
        s.item(format!("… and {} more", total - limit));
    }
}

fn approve_hint(run: Option<&str>, link: Option<&str>) -> String {
    let run = run.unwrap_or("RUN");
    match link {
        Some(link) => format!("To approve: `muster approve {run}`, or on the dashboard: {link}"),
        None => format!("To approve: `muster approve {run}`"),
    }
}

fn text(subject: &str, sections: &[Section]) -> String {
    let mut out = format!("{subject}\n");
    for s in sections {
        out.push('\n');
        if !s.heading.is_empty() {
            let _ = writeln!(out, "== {} ==", s.heading);
        }
        for e in &s.body {
            let _ = match e {
                Entry::Line(l) => writeln!(out, "{l}"),
                Entry::Item(i) => writeln!(out, "  - {i}"),
            };
        }
    }
    out
}

fn html(subject: &str, sections: &[Section], link: Option<&str>) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head><body>\n<h1>{0}</h1>\n",
        escape(subject)
    );
    for s in sections {
        if !s.heading.is_empty() {
            let _ = writeln!(out, "<h2>{}</h2>", escape(&s.heading));
        }
        let mut in_list = false;
        for e in &s.body {
            match e {
                Entry::Line(l) => {
                    if std::mem::take(&mut in_list) {
                        out.push_str("</ul>\n");
                    }
                    let _ = writeln!(out, "<p>{}</p>", escape(l));
                }
                Entry::Item(i) => {
                    if !std::mem::replace(&mut in_list, true) {
                        out.push_str("<ul>\n");
                    }
                    let _ = writeln!(out, "<li>{}</li>", escape(i));
                }
            }
        }
        if in_list {
            out.push_str("</ul>\n");
        }
    }
    if let Some(link) = link {
        let _ = writeln!(
            out,
            "<p><a href=\"{0}\">Open the run on the dashboard</a></p>",
            escape(link)
        );
    }
    out.push_str("</body></html>\n");
    out
}

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

mod sync;
pub use sync::{SyncDigest, SyncTarget};

#[cfg(test)]
mod tests;
