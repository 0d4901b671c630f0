//! `muster-bench goals`: the figures of issue 14 (and the sign-in hook's of issue 17), each beside
//! its goal and the ratio, in one run. Every figure is measured by this binary's own subcommand
//! in a process of its own (so each peak RSS belongs to that figure alone), and read from the
//! line that subcommand prints. The ratio is measured ÷ goal for times and memory (above 1
//! misses) and goal ÷ measured for rates (above 1 misses), so "met" is always ratio ≤ 1.
//! `muster plan` as a whole process is measured when the `muster` binary was built beside this
//! one (`cargo build --release -p muster-bench -p muster-cli`).

use anyhow::{bail, Context, Result};
use std::process::Command;

/// How a figure is read from its subcommand's output.
struct Figure {
    what: &'static str,
    args: Vec<String>,
    /// The text right before the number, in the line that holds it.
    before: &'static str,
    /// Which match of `before`, counting from 0 (a subcommand may print several series).
    nth: usize,
    goal: f64,
    unit: &'static str,
    /// A rate: more is better.
    rate: bool,
}

impl Figure {
    /// The figure is the `n`-th match of `before` (from 0).
    fn nth(mut self, n: usize) -> Self {
        self.nth = n;
        self
    }
}

fn figure(
    what: &'static str,
    args: &[&str],
    before: &'static str,
    goal: f64,
    unit: &'static str,
    rate: bool,
) -> Figure {
    Figure {
        what,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        before,
        nth: 0,
        goal,
        unit,
        rate,
    }
}

pub fn run(million: bool, scim2_server: Option<String>) -> Result<()> {
    let mut figures = vec![
        figure(
            "plan 10,000 x 3: time",
            &["plan-memory", "--persons", "10000"],
            "seconds=",
            0.2,
            "s",
            false,
        ),
        figure(
            "plan 100,000 x 3: time",
            &["plan-memory", "--persons", "100000"],
            "seconds=",
            2.0,
            "s",
            false,
        ),
        figure(
            "plan 100,000 x 3: peak RSS",
            &["plan-memory", "--persons", "100000"],
            "peak_rss_mib=",
            1024.0,
            "MiB",
            false,
        ),
    ];
    if million {
        figures.push(figure(
            "plan 1,000,000 x 3: time",
            &["plan-memory", "--persons", "1000000"],
            "seconds=",
            30.0,
            "s",
            false,
        ));
        figures.push(figure(
            "plan 1,000,000 x 3: peak RSS",
            &["plan-memory", "--persons", "1000000"],
            "peak_rss_mib=",
            4096.0,
            "MiB",
            false,
        ));
    }
    // `muster plan` as a whole process needs the `muster` binary beside this one.
    let whole_process = crate::plan_process::muster_binary(None);
    if whole_process.is_ok() {
        figures.push(figure(
            "muster plan, whole process, 100,000 persons: time",
            &["plan-process", "--persons", "100000"],
            "seconds=",
            3.0,
            "s",
            false,
        ));
    }
    figures.push(figure(
        "apply: creates/s, SCIM simulator, 8 in flight",
        &["creates", "--persons", "3000"],
        "failed in",
        3000.0,
        "/s",
        true,
    ));
    if let Some(bin) = &scim2_server {
        // The same run measures the simulator first, then scim2-server.
        figures.push(
            figure(
                "apply: creates/s, scim2-server, 8 in flight",
                &["creates", "--persons", "3000", "--scim2-server", bin],
                "failed in",
                3000.0,
                "/s",
                true,
            )
            .nth(1),
        );
    }
    figures.push(figure(
        "grants/s into a 100,000-member group (executing)",
        &["grants", "--members", "100000", "--grants", "3000"],
        "executing",
        1000.0,
        "/s",
        true,
    ));
    let jit = ["jit-latency", "--signins", "1000", "--concurrency", "8"];
    figures.push(
        figure(
            "sign-in hook p99, 8 at once, fail closed (+ one round trip)",
            &jit,
            "p99 ",
            100.0,
            "ms",
            false,
        )
        .nth(1),
    );
    figures.push(
        figure(
            "sign-in hook p99, 8 at once, fail open at 15 ms",
            &jit,
            "p99 ",
            20.0,
            "ms",
            false,
        )
        .nth(2),
    );

    let me = std::env::current_exe().context("cannot find this benchmark's own binary")?;
    let mut outputs: Vec<(Vec<String>, String)> = Vec::new();
    println!(
        "{:<62} {:>12} {:>10} {:>7}  met",
        "figure", "measured", "goal", "ratio"
    );
    for f in &figures {
        // Several figures come from one run of a subcommand: run it once.
        if !outputs.iter().any(|(args, _)| *args == f.args) {
            let out = Command::new(&me)
                .args(&f.args)
                .output()
                .with_context(|| format!("cannot run {}", f.args.join(" ")))?;
            if !out.status.success() {
                bail!(
                    "`muster-bench {}` failed: {}",
                    f.args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            outputs.push((
                f.args.clone(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            ));
        }
        let text = outputs
            .iter()
            .find(|(args, _)| *args == f.args)
            .map(|(_, text)| text.as_str())
            .unwrap_or_default();
        let measured = number_after(text, f.before, f.nth, f.rate).with_context(|| {
            format!(
                "`muster-bench {}` printed no figure after {:?}:\n{text}",
                f.args.join(" "),
                f.before
            )
        })?;
        let ratio = if f.rate {
            f.goal / measured
        } else {
            measured / f.goal
        };
        println!(
            "{:<62} {:>9.2} {:<3} {} {:>6} {:<3} {:>7.2}  {}",
            f.what,
            measured,
            f.unit,
            if f.rate { "≥" } else { "≤" },
            f.goal,
            f.unit,
            ratio,
            if ratio <= 1.0 { "yes" } else { "no" }
        );
    }
    println!("load average after: {}", load());
    if let Err(e) = whole_process {
        println!("not measured here: `muster plan` as a whole process ({e})");
    }
    println!("not measured here: Zivver's budget use (`muster-bench zivver-budget`: minutes at the real budget)");
    Ok(())
}

/// The 1-, 5- and 15-minute load averages, as `uptime` shows them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The `nth` number printed after `before`: for a rate, the figure after the `=` that follows
/// (`… in 2.31 s = 1300 grants/s`); otherwise the number right after `before`.
fn number_after(text: &str, before: &str, nth: usize, rate: bool) -> Option<f64> {
    let (_, rest) = text
        .match_indices(before)
        .nth(nth)
        .map(|(i, _)| text.split_at(i + before.len()))?;
    let rest = if rate { rest.split_once('=')?.1 } else { rest };
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::number_after;

    #[test]
    fn figures_are_read_from_the_lines_the_subcommands_print() {
        let plan = "plan  persons=10000  targets=3  seconds=0.24  actions=300  peak_rss_mib=114\n";
        assert_eq!(number_after(plan, "seconds=", 0, false), Some(0.24));
        assert_eq!(number_after(plan, "peak_rss_mib=", 0, false), Some(114.0));
        let creates = "creates against muster-sim, sqlite store: 3000 done, 0 failed in 2.18 s = 1376 creates/s (concurrency 8)\n\
                       creates against scim2-server, sqlite store: 3000 done, 0 failed in 14.1 s = 213 creates/s (concurrency 8)\n";
        assert_eq!(number_after(creates, "failed in", 0, true), Some(1376.0));
        assert_eq!(number_after(creates, "failed in", 1, true), Some(213.0));
        let grants = "apply 7.06 s = 425 grants/s; of which read + plan 5.78 s (a preview); executing 1.28 s = 2345 grants/s (concurrency 8)";
        assert_eq!(number_after(grants, "executing", 0, true), Some(2345.0));
        let jit = "fail open, deadline 1500 ms: … p50 33.3 ms, p99 155.3 ms, p99.9 263.7 ms\n\
                   fail closed, deadline 1500 ms: … p50 30.2 ms, p99 123.4 ms, p99.9 142.8 ms\n";
        assert_eq!(number_after(jit, "p99 ", 0, false), Some(155.3));
        assert_eq!(number_after(jit, "p99 ", 1, false), Some(123.4));
        assert_eq!(
            number_after(jit, "p99 ", 2, false),
            None,
            "p99.9 is not a p99"
        );
    }
}
