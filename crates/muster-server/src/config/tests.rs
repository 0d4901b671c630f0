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

/// `[server.oidc]` with `lines` after the issuer, client id and redirect URL, reading its
/// secret from a file in `dir`.
fn oidc(dir: &Path, issuer: &str, lines: &str) -> String {
    let secret = dir.join("oidc-secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    format!(
        "\n[server.oidc]\nissuer = \"{issuer}\"\nclient_id = \"muster\"\nclient_secret = {{ file = {:?} }}\nredirect_url = \"https://muster.example.com/callback\"\n{lines}",
        secret.display().to_string()
    )
}

/// The line of `extra` (after BASE) that starts with `key`.
fn line_in(extra: &str, key: &str) -> usize {
    let text = format!("{BASE}{extra}");
    text.lines().position(|l| l.starts_with(key)).unwrap() + 1
}

#[test]
fn oidc_sign_in_is_read_with_its_roles_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let extra = oidc(
        dir.path(),
        "https://login.example.com/realms/staff",
        "scopes = [\"profile\", \"groups\"]\nadmin = [\"muster-admins\"]\nviewer = [\"staff\"]\nsubjects = { \"u-1\" = \"approver\" }\n",
    );
    let c = load(&extra, &[]).unwrap();
    let s = c.server.oidc.unwrap();
    assert_eq!(s.oidc.issuer, "https://login.example.com/realms/staff");
    assert_eq!(s.oidc.client_secret.expose(), "s3cret");
    assert_eq!(s.oidc.scopes, ["openid", "profile", "groups"]);
    assert_eq!(s.roles.claim, "groups");
    assert_eq!(s.roles.subjects["u-1"], TokenRole::Approver);
    assert_eq!(s.roles.default_role, None);
    assert!(!format!("{s:?}").contains("s3cret"));
}

#[test]
fn bad_oidc_settings_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let https = "https://login.example.com";
    let cases = [
        (
            oidc(dir.path(), "http://login.example.com", "admin = [\"a\"]\n"),
            "server.oidc.issuer",
            "issuer",
            "expected https",
        ),
        (
            oidc(dir.path(), https, "default_role = \"boss\"\n"),
            "server.oidc.default_role",
            "default_role",
            "not a role",
        ),
        (
            oidc(dir.path(), https, ""),
            "server.oidc",
            "issuer",
            "no one could sign in",
        ),
        (
            oidc(dir.path(), https, "admin = [\"a\"]\n").replace(
                "https://muster.example.com/callback",
                "https://muster.example.com/cb",
            ),
            "server.oidc.redirect_url",
            "redirect_url",
            "/callback",
        ),
        (
            oidc(dir.path(), https, "admin = [\"a\"]\n").replace(
                &format!(
                    "{{ file = {:?} }}",
                    dir.path().join("oidc-secret").display().to_string()
                ),
                "{ env = \"MUSTER_TEST_SURELY_UNSET_OIDC\" }",
            ),
            "server.oidc.client_secret",
            "client_secret",
            "MUSTER_TEST_SURELY_UNSET_OIDC",
        ),
    ];
    for (extra, key, at, message) in cases {
        let err = load(&extra, &[]).unwrap_err();
        let line = line_in(&extra, at);
        assert!(
            err.starts_with(&format!("{FILE}:{line}: {key}: ")) && err.contains(message),
            "{key}: {err}"
        );
    }
    // An inline secret is refused without echoing it.
    let extra = oidc(dir.path(), https, "admin = [\"a\"]\n").replace(
        &format!(
            "{{ file = {:?} }}",
            dir.path().join("oidc-secret").display().to_string()
        ),
        "\"hunter2hunter2\"",
    );
    let err = load(&extra, &[]).unwrap_err();
    assert!(err.contains("never written inline"), "{err}");
    assert!(err.starts_with(&format!("{FILE}:")), "{err}");
    assert!(!err.contains("hunter2hunter2"), "{err}");
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
fn a_relative_smtp_password_file_is_beside_the_configuration() {
    let extra = "\n[server.email]\nhost = \"smtp.example.org\"\nsecurity = \"starttls\"\nuser = \"muster\"\n\
                 password = { file = \"secrets/smtp\" }\nfrom = \"muster@example.org\"\n\
                 to = [\"ops@example.org\"]\n";
    let email = load(extra, &[]).unwrap().server.email.unwrap();
    assert_eq!(
        email.login.unwrap().password,
        muster_connectors::SecretRef::File("/etc/muster/secrets/smtp".into())
    );
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

fn jit_secret() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("okta");
    std::fs::write(&file, "a-long-okta-secret-value\n").unwrap();
    let text = format!("{:?}", file.display().to_string());
    (dir, text)
}

#[test]
fn the_jit_hooks_are_read_with_their_defaults() {
    let (_dir, secret) = jit_secret();
    let extra = format!(
        r#"
[server.jit]
domains = ["Contoso.nl"]
answer_claims = {{ DomainKey = "dk", Other = {{ file = {secret} }} }}

[server.jit.entra]
tenant_id = "t1"
audience = ["api://muster", "0000-app"]
claims = {{ mail = "Contact.Business.Email", employeeId = "ExternalId" }}
fail = "closed"

[server.jit.okta]
secret = {{ file = {secret} }}
deadline_ms = 2500
"#
    );
    let jit = load(&extra, &[]).unwrap().server.jit.unwrap();
    assert_eq!(jit.domains, vec!["contoso.nl"]);
    assert_eq!(jit.answer_claims[0].0, "DomainKey");
    assert_eq!(jit.answer_claims[0].1.expose(), "dk");
    assert_eq!(jit.answer_claims[1].1.expose(), "a-long-okta-secret-value");
    let entra = jit.entra.unwrap();
    assert_eq!(
        entra.jwks_url,
        "https://login.microsoftonline.com/t1/discovery/v2.0/keys"
    );
    assert_eq!(entra.issuer, "https://login.microsoftonline.com/t1/v2.0");
    assert_eq!(entra.authorized_party, ENTRA_EVENTS_APP);
    assert_eq!(entra.policy.deadline, Duration::from_millis(1500));
    assert_eq!(entra.policy.fail, FailMode::Closed);
    let okta = jit.okta.unwrap();
    assert_eq!(okta.policy.deadline, Duration::from_millis(2500));
    assert_eq!(okta.policy.fail, FailMode::Open);
    assert_eq!(okta.header, "authorization");
    assert!(jit.oidc.is_none());
}

#[test]
fn bad_jit_settings_name_the_key_and_what_was_expected() {
    let (_dir, secret) = jit_secret();
    let entra = |body: &str| {
        format!("\n[server.jit.entra]\ntenant_id = \"t1\"\naudience = \"a\"\n{body}\n")
    };
    let cases = [
        (entra("fail = \"sometimes\""), "server.jit.entra.fail", "expected `open`"),
        (entra("deadline_ms = 2000"), "server.jit.entra.deadline_ms", "waits at most 2000 ms"),
        (entra("claims = { dept = \"PrimaryContract.Department\" }"), "server.jit.entra.claims", "cannot set"),
        (entra("jwks_url = \"http://keys.example.com/keys\""), "server.jit.entra.jwks_url", "expected https"),
        ("\n[server.jit.entra]\ntenant_id = \"t1\"\naudience = []\n".to_owned(), "server.jit.entra.audience", "is empty"),
        ("\n[server.jit]\ndeadline_ms = 2500\n[server.jit.entra]\ntenant_id = \"t1\"\naudience = \"a\"\n".to_owned(), "server.jit.entra.deadline_ms", "inherited deadline"),
        ("\n[server.jit.okta]\nsecret = \"inline-secret\"\n".to_owned(), "", "never written inline"),
        (format!("\n[server.jit.okta]\nsecret = {{ file = {secret} }}\nheader = \"bad header\"\n"), "server.jit.okta.header", "not a header name"),
        (format!("\n[server.jit.oidc]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nclient_secret = {{ file = {secret} }}\nredirect_url = \"https://muster.example.com/callback\"\napplication_url = \"https://app.example.com/\"\n"), "server.jit.oidc.redirect_url", "/jit/callback"),
        ("\n[server.jit]\nanswer_claims = { DomainKey = \"\" }\n".to_owned(), "server.jit.answer_claims.DomainKey", "is empty"),
    ];
    for (extra, key, expected) in cases {
        let err = load(&extra, &[]).unwrap_err();
        assert!(
            err.contains(&format!(" {key}")) || key.is_empty(),
            "{extra}: {err}"
        );
        assert!(err.contains(expected), "{extra}: {err}");
        assert!(!err.contains("inline-secret"), "{err}");
    }
    // Switched off, a hook is not checked further and not served.
    let off = "\n[server.jit.entra]\nenabled = false\ntenant_id = \"t1\"\naudience = \"a\"\n";
    assert!(load(off, &[]).unwrap().server.jit.unwrap().entra.is_none());
}
