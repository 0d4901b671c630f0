//! Issue 13, item 8: logs for unattended runs — no colour codes off a terminal, JSON lines on
//! request, and a log file instead of stderr.

use crate::{code, text, Setup, DAY1};

#[tokio::test(flavor = "multi_thread")]
async fn logs_off_a_terminal_carry_no_colour_codes() {
    let s = Setup::new(|t| t).await;
    // stderr is a pipe here, as under cron or systemd.
    let o = s.muster(&["plan", DAY1, "-v"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("INFO"), "there are log lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes: {stderr:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let s = Setup::new(|t| t).await;
    let o = s.muster(&["plan", DAY1, "-v", "--log-format", "json"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_file_takes_the_logs_instead_of_stderr() {
    let s = Setup::new(|t| t).await;
    let log = s.path("logs").join("muster.log");
    std::fs::create_dir(s.path("logs")).unwrap();
    let args = ["plan", DAY1, "-v", "--log-file", log.to_str().unwrap()];
    let o = s.muster(&args);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("INFO"),
        "{}",
        text(&o)
    );
    let first = std::fs::read_to_string(&log).unwrap();
    assert!(first.contains("INFO"), "{first}");
    assert!(!first.contains('\u{1b}'), "colour codes in the file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    // Appended to, as JSON when asked.
    let o = s.muster(&[&args[..], &["--log-format", "json"]].concat());
    assert_eq!(code(&o), 2, "{}", text(&o));
    let both = std::fs::read_to_string(&log).unwrap();
    let added = both.strip_prefix(first.as_str()).expect("appended");
    assert!(!added.trim().is_empty());
    for line in added.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // A log file that cannot be opened is an error, not silence.
    let o = s.muster(&[
        "plan",
        DAY1,
        "--log-file",
        s.path("none/x.log").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("cannot open the log file"),
        "{}",
        text(&o)
    );
}
