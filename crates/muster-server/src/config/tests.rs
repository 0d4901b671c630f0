#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const BASE: &str = r#"
[source]
kind = "csv"
persons = "persons.csv"

[targets.scim]
kind = "scim"
connection = { base_url = "http://127.0.0.1:9/scim/v2", auth = { bearer = { env = "SCIM_TOKEN" } } }
correlation = { person = "Contact.Business.Email", account = "userName" }

[[targets.scim.mapping]]
field = "userName"
path = "Contact.Business.Email"
"#;

const FILE: &str = "/etc/muster/muster.toml";

fn load(extra: &str, env: &[(&str, &str)]) -> Result<ServiceConfig, String> {
    let path = Path::new(FILE);
    let text = format!("{BASE}{extra}");
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::parse(path, &text, env.clone().into_iter()).map_err(|e| e.to_string())?;
    // What `Config::effective_text` gives for a file with this text.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("muster.toml");
    std::fs::write(&file, &text).unwrap();
    let effective = Config::effective_text(&file, env.into_iter()).map_err(|e| e.to_string())?;
    parse(path, &effective, &config).map_err(|e| e.to_string())
}

#[test]
fn defaults_without_a_server_section() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.server, ServerSettings::default());
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8440");
    assert!(c.schedules.is_empty());
}

#[test]
fn listen_is_read_and_overridden_from_the_environment() {
    let extra = "\n[server]\nlisten = \"127.0.0.1:9000\"\ntls = { cert = \"tls/cert.pem\", key = \"tls/key.pem\" }\n";
    let c = load(extra, &[]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(
        c.server.tls.unwrap().cert,
        Path::new("/etc/muster/tls/cert.pem")
    );
    let c = load(extra, &[("MUSTER__SERVER__LISTEN", "0.0.0.0:8555")]).unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:8555");
    // Also without a [server] section in the file.
    let c = load("", &[("MUSTER__SERVER__LISTEN", "127.0.0.2:1234")]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.2:1234");
}

#[test]
fn a_schedule_is_read_with_its_zone_targets_and_mode() {
    let extra = "\n[[schedules]]\nname = \"nightly\"\ncron = \"30 2 * * *\"\ntimezone = \"Europe/Amsterdam\"\ntargets = [\"scim\"]\nmode = \"apply\"\njitter_seconds = 60\n";
    let c = load(extra, &[]).unwrap();
    let s = &c.schedules[0];
    assert_eq!(
        (s.name.as_str(), s.mode, s.jitter),
        ("nightly", RunMode::Apply, Duration::from_secs(60))
    );
    assert_eq!(s.targets, vec![TargetName::from("scim")]);
    // 02:30 in Amsterdam is 00:30 UTC in summer (CEST, +2).
    let after = DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let next = s.next_after(after).unwrap();
    assert_eq!(next.to_rfc3339(), "2026-07-02T00:30:00+00:00");
}

#[test]
fn bad_schedules_name_file_line_and_key() {
    let cases = [
        (
            "cron = \"61 * * * *\"\nmode = \"plan\"",
            "schedules[0].cron",
            17,
        ),
        (
            "cron = \"0 0 1 1 * 2020\"\nmode = \"plan\"",
            "schedules[0].cron",
            17,
        ),
        ("cron = \"* * *\"\nmode = \"plan\"", "schedules[0].cron", 17),
        (
            "cron = \"0 3 * * *\"\nmode = \"sometimes\"",
            "schedules[0].mode",
            18,
        ),
        (
            "cron = \"0 3 * * *\"\nmode = \"plan\"\ntimezone = \"Mars/Olympus\"",
            "schedules[0].timezone",
            19,
        ),
        (
            "cron = \"0 3 * * *\"\nmode = \"plan\"\ntargets = [\"zivver\"]",
            "schedules[0].targets",
            19,
        ),
    ];
    for (body, key, line) in cases {
        let extra = format!("\n[[schedules]]\nname = \"s\"\n{body}\n");
        let err = load(&extra, &[]).unwrap_err();
        assert!(
            err.starts_with(&format!("{FILE}:{line}: {key}: ")),
            "{body}: {err}"
        );
    }
    let err = load(
        "\n[[schedules]]\nname = \"s\"\ncron = \"0 0 0 1 1 * 2020\"\nmode = \"plan\"\n",
        &[],
    )
    .unwrap_err();
    assert!(err.contains("never fires again"), "{err}");
}

#[test]
fn unknown_server_keys_and_bad_addresses_are_config_errors() {
    let err = load("\n[server]\nlisen = \"127.0.0.1:1\"\n", &[]).unwrap_err();
    assert!(err.contains("unknown field `lisen`"), "{err}");
    assert!(err.starts_with(&format!("{FILE}:")), "{err}");
    let err = load("\n[server]\nlisten = \"localhost\"\n", &[]).unwrap_err();
    assert!(
        err.starts_with(&format!("{FILE}:16: server.listen: ")),
        "{err}"
    );
}

#[test]
fn an_email_section_is_read_with_defaults() {
    let extra = "\n[server.email]\nhost = \"smtp.example.org\"\nsecurity = \"starttls\"\n\
                 user = \"muster\"\npassword = { env = \"SMTP_PASSWORD\" }\n\
                 from = \"Muster <muster@example.org>\"\nto = [\"ops@example.org\"]\n\
                 dashboard_url = \"https://muster.example.org/\"\n";
    let email = load(extra, &[]).unwrap().server.email.unwrap();
    assert_eq!(email.port, 587);
    assert_eq!(email.security, SmtpSecurity::StartTls);
    assert_eq!(email.only_on, OnlyOn::Always);
    assert_eq!(email.list_limit, 50);
    assert_eq!(
        email.login.unwrap().password,
        muster_connectors::SecretRef::Env("SMTP_PASSWORD".into())
    );
    assert_eq!(email.to.len(), 1);
    let tls = extra.replace("\"starttls\"", "\"tls\"");
    assert_eq!(load(&tls, &[]).unwrap().server.email.unwrap().port, 465);
}

#[test]
fn bad_email_settings_name_file_line_and_key() {
    let base = "\n[server.email]\nhost = \"smtp.example.org\"\nsecurity = \"starttls\"\n\
                from = \"muster@example.org\"\nto = [\"ops@example.org\"]\n";
    // An inline password is refused: secrets are references.
    let err = load(
        &format!("{base}user = \"u\"\npassword = \"hunter2\"\n"),
        &[],
    )
    .unwrap_err();
    assert!(err.contains("never written inline"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let err = load(&base.replace("starttls", "none-loopback-only"), &[]).unwrap_err();
    assert!(
        err.starts_with(&format!("{FILE}:17: server.email.security: ")),
        "{err}"
    );
    assert!(load(
        &base
            .replace("starttls", "none-loopback-only")
            .replace("smtp.example.org", "127.0.0.1"),
        &[]
    )
    .is_ok());
    let err = load(&base.replace("ops@example.org", "not an address"), &[]).unwrap_err();
    assert!(err.contains("server.email.to: `not an address`"), "{err}");
    let err = load(&format!("{base}only_on = \"sometimes\"\n"), &[]).unwrap_err();
    assert!(err.contains("server.email.only_on"), "{err}");
    let err = load(&format!("{base}user = \"u\"\n"), &[]).unwrap_err();
    assert!(err.contains("server.email.password: is missing"), "{err}");
    let err = load(&format!("{base}dashboard_url = \"ftp://x\"\n"), &[]).unwrap_err();
    assert!(err.contains("server.email.dashboard_url"), "{err}");
    let err = load(&format!("{base}colour = \"blue\"\n"), &[]).unwrap_err();
    assert!(err.contains("unknown field `colour`"), "{err}");
}
