use super::*;
use muster_connectors::scim::ScimConfig;
use muster_connectors::zivver::ZivverConfig;

const VALID: &str = r#"
[source]
kind = "csv"
persons = "persons.csv"

[source_thresholds]
removed = { percent = 20 }

[targets.scim]
kind = "scim"
connection = { base_url = "http://127.0.0.1:9/scim/v2", auth = { bearer = { env = "SCIM_TOKEN" } } }
correlation = { person = "Contact.Business.Email", account = "userName" }
thresholds = { disable = { percent = 10 } }

[[targets.scim.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.scim.mapping]]
field = "displayName"
template = "{Name.GivenName} {Name.FamilyName}"
on = ["create"]

[[rules]]
name = "staff"
account = true
access = true
when = { field = "PrimaryContract.Department", in = ["Sales", "ICT"] }
dynamic_permissions = [{ template = "Dept {Contract.Department}" }]
"#;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(
        Path::new("/etc/muster/muster.toml"),
        text,
        std::iter::empty(),
    )
}

#[test]
fn a_valid_file_compiles_to_typed_policy() {
    let c = parse(VALID).unwrap();
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: "/etc/muster/muster.db".into()
        }
    );
    let t = c.target("scim").unwrap();
    assert_eq!(t.policy.mappings.len(), 2);
    assert!(t.policy.mappings[1].actions.create && !t.policy.mappings[1].actions.update);
    assert_eq!(t.policy.rules.len(), 1);
    assert!(
        t.thresholds
            .for_kind(muster_core::plan::ActionKind::Delete)
            .is_some(),
        "disable counts with delete"
    );
    assert!(c.source_thresholds.removed.is_some());
}

#[test]
fn unknown_key_names_line_and_key() {
    let text = VALID.replace(
        "[source_thresholds]\nremoved",
        "[source_thresholds]\nremovd",
    );
    let e = parse(&text).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("/etc/muster/muster.toml:7"), "{msg}");
    assert!(msg.contains("removd"), "{msg}");
}

#[test]
fn meaning_errors_are_all_collected_with_their_lines() {
    let text = VALID
        .replace(
            "{Name.GivenName} {Name.FamilyName}",
            "{Name.GivenName|shout}",
        )
        .replace(
            "person = \"Contact.Business.Email\"",
            "person = \"Contact.Work.Email\"",
        );
    let e = parse(&text).unwrap_err();
    assert_eq!(e.0.len(), 2, "{e}");
    let template =
        e.0.iter()
            .find(|e| e.key.ends_with("mapping[1].template"))
            .unwrap();
    assert_eq!(template.line, Some(21));
    assert!(template.message.contains("unknown filter `shout`"));
    let corr = e.0.iter().find(|e| e.key.contains("correlation")).unwrap();
    assert!(
        corr.message.contains("Contact.Business"),
        "{}",
        corr.message
    );
}

#[test]
fn a_condition_with_two_operators_is_rejected() {
    let text = VALID.replace(
        "in = [\"Sales\", \"ICT\"]",
        "in = [\"Sales\"], equals = \"ICT\"",
    );
    let e = parse(&text).unwrap_err();
    assert!(e.to_string().contains("exactly one of equals"), "{e}");
}

#[test]
fn connector_settings_are_checked_by_the_connector() {
    let text = VALID.replace("base_url = ", "base_uri = ");
    let e = parse(&text).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("targets.scim.connection") && msg.contains("base_uri"),
        "{msg}"
    );
    assert!(msg.contains(":11:"), "{msg}");
}

#[test]
fn environment_overrides_any_setting() {
    let env = vec![
        (
            "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
            "http://127.0.0.1:7/scim/v2".to_owned(),
        ),
        (
            "MUSTER__STORE__PATH".to_owned(),
            "/var/lib/muster/state.db".to_owned(),
        ),
    ];
    let c = Config::parse(Path::new("muster.toml"), VALID, env.into_iter()).unwrap();
    let Some(scim) = c
        .target("scim")
        .unwrap()
        .connection
        .as_any()
        .downcast_ref::<ScimConfig>()
    else {
        panic!("a scim target");
    };
    assert_eq!(scim.base_url, "http://127.0.0.1:7/scim/v2");
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: "/var/lib/muster/state.db".into()
        }
    );
}

#[test]
fn inline_secrets_are_refused() {
    let text = VALID.replace(
        "auth = { bearer = { env = \"SCIM_TOKEN\" } }",
        "auth = { bearer = \"s3cr3t-token\" }",
    );
    let e = parse(&text).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("env") && msg.contains("file"), "{msg}");
    assert!(
        !msg.contains("s3cr3t-token"),
        "the error must not echo the secret: {msg}"
    );
}

#[test]
fn rules_naming_unknown_targets_are_errors() {
    let text = VALID.replace(
        "name = \"staff\"",
        "name = \"staff\"\ntargets = [\"zivver\"]",
    );
    let e = parse(&text).unwrap_err();
    assert!(e.to_string().contains("no target named `zivver`"), "{e}");
}

#[test]
fn a_zivver_target_is_configured_with_its_own_connection_settings() {
    let text = VALID.to_owned()
        + "\n[targets.zivver]\nkind = \"zivver\"\nconnection = { token = { env = \"ZIVVER_TOKEN\" }, delete = \"hard\" }\ncorrelation = { person = \"Contact.Business.Email\", account = \"userName\" }\n";
    let c = parse(&text).unwrap();
    let Some(z) = c
        .target("zivver")
        .unwrap()
        .connection
        .as_any()
        .downcast_ref::<ZivverConfig>()
    else {
        panic!("a zivver target");
    };
    assert_eq!(z.base_url, "https://app.zivver.com");
    let bad = VALID.to_owned() + "\n[targets.zivver]\nkind = \"zivver\"\nconnection = { tokn = { env = \"T\" } }\ncorrelation = { person = \"ExternalId\", account = \"userName\" }\n";
    let e = parse(&bad).unwrap_err();
    assert!(
        e.to_string().contains("targets.zivver.connection") && e.to_string().contains("tokn"),
        "{e}"
    );
}

#[test]
fn unique_and_secret_fields_must_be_mapped_and_are_applied() {
    let text = VALID.replace(
        "thresholds = { disable = { percent = 10 } }",
        "thresholds = { disable = { percent = 10 } }\nunique_fields = [\"displayName\"]\nunique_max_iterations = 5\nsecret_fields = [\"displayName\"]",
    );
    let text = text.replacen(
        "path = \"Contact.Business.Email\"\n",
        "path = \"Contact.Business.Email\"\nunique = true\n",
        1,
    );
    let c = parse(&text).unwrap();
    let t = c.target("scim").unwrap();
    assert_eq!(
        t.unique
            .fields
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["displayName", "userName"]
    );
    assert_eq!(t.unique.max_iterations, 5);
    assert!(t.secret_fields.contains("displayName"));
    assert!(
        t.policy.mappings[1].secret,
        "the mapping itself is secret too"
    );

    let bad = VALID.replace(
        "thresholds = { disable = { percent = 10 } }",
        "thresholds = { disable = { percent = 10 } }\nunique_fields = [\"mail\"]\nmapping_file = \"missing.json\"",
    );
    let errors = parse(&bad).unwrap_err().to_string();
    assert!(
        errors.contains("targets.scim.unique_fields: no mapping writes the field `mail`"),
        "{errors}"
    );
    assert!(
        errors.contains("targets.scim.mapping_file: cannot read `/etc/muster/missing.json`"),
        "{errors}"
    );
}

#[test]
fn today_is_refused_in_field_mappings_but_allowed_in_dynamic_permissions() {
    let field = VALID.replace(
        "template = \"{Name.GivenName} {Name.FamilyName}\"",
        "template = \"{Name.GivenName} since {Today}\"",
    );
    let e = parse(&field).unwrap_err().to_string();
    assert!(
        e.contains("targets.scim.mapping[1].template") && e.contains("{Today}"),
        "{e}"
    );
    let permission = VALID.replace(
        "\"Dept {Contract.Department}\"",
        "\"Year {Today|schoolyear}\"",
    );
    assert!(parse(&permission).is_ok());
}

#[test]
fn helloid_and_zermelo_settings_imply_their_rules_and_mappings() {
    let text = VALID.to_owned()
        + r#"
[targets.helloid]
kind = "helloid"
connection = { base_url = "http://127.0.0.1:9/api/v1", api_key = { env = "K" }, api_secret = { env = "S" }, department_groups = { prefix = "dep_" } }
correlation = { person = "Contact.Business.Email", account = "userName" }

[targets.zermelo]
kind = "zermelo"
connection = { base_url = "http://127.0.0.1:9", token = { env = "T" }, school_year_from = "run_date" }
correlation = { person = "ExternalId", account = "code" }
"#;
    let c = parse(&text).unwrap();
    let helloid = c.target("helloid").unwrap();
    assert!(helloid
        .policy
        .mappings
        .iter()
        .any(|m| m.field == "managedByUserGUID"
            && matches!(m.value, muster_core::mapping::ValueSource::AccountOf(_))));
    assert!(helloid.policy.managed_groups().contains("dep_Sales"));
    let zermelo = c.target("zermelo").unwrap();
    let class = &zermelo.policy.rules.last().unwrap().grants.dynamic[0];
    assert!(class.template.uses_today(), "run_date follows the calendar");
    assert!(
        !zermelo.policy.managed_groups().contains("x"),
        "no class is managed: only a class change revokes (the previous placement of that year)"
    );
}

#[test]
fn ignore_case_on_a_mapping_marks_the_field() {
    let text = VALID.replace(
        "field = \"userName\"\npath = \"Contact.Business.Email\"",
        "field = \"userName\"\npath = \"Contact.Business.Email\"\nignore_case = true",
    );
    let c = parse(&text).unwrap();
    let fields = &c.target("scim").unwrap().case_insensitive_fields;
    assert!(fields.contains("userName"), "{fields:?}");
    assert!(!fields.contains("displayName"));
}

#[test]
fn included_domains_check_a_mapped_field_defaulted_by_kind() {
    let with = |settings: &str| {
        VALID.replace(
            "thresholds = { disable = { percent = 10 } }",
            &format!("thresholds = {{ disable = {{ percent = 10 }} }}\n{settings}"),
        )
    };
    let c = parse(&with("included_domains = [\"Example.org\"]")).unwrap();
    let filter = c.target("scim").unwrap().domains.clone().unwrap();
    assert_eq!(filter.field(), "userName", "the default for scim");
    assert!(filter.includes("a@example.org") && !filter.includes("a@gmail.com"));

    let c = parse(&with(
        "included_domains = [\"example.org\"]\ndomain_field = \"displayName\"\noutside_domains = \"disable\"",
    ))
    .unwrap();
    let filter = c.target("scim").unwrap().domains.clone().unwrap();
    assert_eq!(filter.field(), "displayName");
    assert!(matches!(
        filter.decide(Some("x@gmail.com"), muster_core::domains::Existing::Enabled),
        muster_core::domains::DomainVerdict::Disable(_)
    ));
    assert!(parse(VALID)
        .unwrap()
        .target("scim")
        .unwrap()
        .domains
        .is_none());

    let errors = parse(&with(
        "included_domains = [\"example.org\"]\ndomain_field = \"mail\"\noutside_domains = \"delete\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("targets.scim.outside_domains: expected \"leave\" or \"disable\""),
        "{errors}"
    );
    let errors = parse(&with(
        "included_domains = [\"example.org\"]\ndomain_field = \"mail\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("/etc/muster/muster.toml:15: targets.scim.domain_field: `included_domains` checks the field `mail`, which no mapping writes"),
        "{errors}"
    );
    let errors = parse(&with("included_domains = [\"@example.org\"]"))
        .unwrap_err()
        .to_string();
    assert!(errors.contains("targets.scim.included_domains"), "{errors}");
    let errors = parse(&with("outside_domains = \"leave\""))
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("outside_domains: has no effect without `included_domains`"),
        "{errors}"
    );
}

#[test]
fn conditions_read_parts_of_contract_objects() {
    use muster_core::model::{ContractField, UnitPart};
    use muster_core::rules::{Condition, Subject};
    let text = VALID.replace(
        "when = { field = \"PrimaryContract.Department\", in = [\"Sales\", \"ICT\"] }",
        "when = { any = [{ field = \"AnyContract.Department.ExternalId\", equals = \"D-7\" }, { field = \"PrimaryContract.Title.Code\", equals = \"DOC\" }] }",
    );
    let c = parse(&text).unwrap();
    let rule = &c.target("scim").unwrap().policy.rules[0];
    let Condition::Any(tests) = &rule.when else {
        panic!("{:?}", rule.when)
    };
    let Condition::Test(first) = &tests[0] else {
        panic!("{tests:?}")
    };
    assert_eq!(
        first.subject,
        Subject::AnyContractPart(ContractField::Department, UnitPart::ExternalId)
    );
    let bad = VALID.replace(
        "field = \"PrimaryContract.Department\"",
        "field = \"AnyContract.Manager.Code\"",
    );
    let e = parse(&bad).unwrap_err().to_string();
    assert!(
        e.contains("AnyContract.Manager.Code") || e.contains("Manager.Code"),
        "{e}"
    );
    assert!(e.contains("ExternalId, DisplayName, Email"), "{e}");
}

#[test]
fn helloid_department_groups_may_be_named_after_the_department_id() {
    let text = VALID.to_owned()
        + r#"
[targets.helloid]
kind = "helloid"
connection = { base_url = "http://127.0.0.1:9/api/v1", api_key = { env = "K" }, api_secret = { env = "S" }, department_groups = { field = "Contract.Department.ExternalId" } }
correlation = { person = "Contact.Business.Email", account = "userName" }
"#;
    let c = parse(&text).unwrap();
    let helloid = c.target("helloid").unwrap();
    let groups = &helloid.policy.rules.last().unwrap().grants.dynamic[0];
    assert_eq!(
        groups.template.to_string(),
        "department_{Contract.Department.ExternalId|sanitize}"
    );
}

#[test]
fn zermelo_fields_take_helloids_contract_paths() {
    let text = VALID.to_owned()
        + r#"
[targets.zermelo]
kind = "zermelo"
connection = { base_url = "http://127.0.0.1:9", token = { env = "T" }, class_field = "PrimaryContract.Department.DisplayName", school_field = "PrimaryContract.Organization.Name" }
correlation = { person = "ExternalId", account = "code" }
"#;
    let c = parse(&text).unwrap();
    let class = &c
        .target("zermelo")
        .unwrap()
        .policy
        .rules
        .last()
        .unwrap()
        .grants
        .dynamic[0];
    assert!(
        class
            .template
            .to_string()
            .starts_with("{PrimaryContract.Department.DisplayName|trim} / {PrimaryContract.Organization.Name|trim} "),
        "{}",
        class.template
    );
}

#[test]
fn the_orphan_policy_defaults_to_report_and_an_unknown_one_names_line_and_key() {
    use crate::reconcile::OrphanPolicy;
    assert_eq!(
        parse(VALID).unwrap().target("scim").unwrap().orphans,
        OrphanPolicy::Report
    );
    let text = VALID.replace(
        "thresholds = { disable = { percent = 10 } }",
        "thresholds = { disable = { percent = 10 } }\nreconcile = { orphans = \"delete\" }",
    );
    assert_eq!(
        parse(&text).unwrap().target("scim").unwrap().orphans,
        OrphanPolicy::Delete
    );
    let e = parse(&text.replace("\"delete\"", "\"purge\"")).unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(e.0[0].key, "targets.scim.reconcile.orphans");
    assert_eq!(e.0[0].line, Some(14), "{e}");
    assert!(
        e.0[0]
            .message
            .contains("`purge`: expected report, disable or delete"),
        "{e}"
    );
}

#[test]
fn plain_http_beyond_loopback_is_refused_for_every_target_kind_unless_allowed() {
    // Line 11 is the SCIM target's connection; the others follow on lines 33, 38 and 43.
    let remote = VALID.replace(
        "http://127.0.0.1:9/scim/v2",
        "http://idm.example.org/scim/v2",
    ) + r#"
[targets.zivver]
kind = "zivver"
connection = { base_url = "http://zivver.example.org", token = { env = "Z" } }
correlation = { person = "Contact.Business.Email", account = "userName" }

[targets.helloid]
kind = "helloid"
connection = { base_url = "http://acme.example.org/api/v1", api_key = { env = "K" }, api_secret = { env = "S" } }
correlation = { person = "Contact.Business.Email", account = "userName" }

[targets.zermelo]
kind = "zermelo"
connection = { base_url = "http://10.1.2.3", token = { env = "T" } }
correlation = { person = "ExternalId", account = "code" }
"#;
    let e = parse(&remote).unwrap_err();
    for (target, line) in [
        ("scim", 11),
        ("zivver", 33),
        ("helloid", 38),
        ("zermelo", 43),
    ] {
        let found =
            e.0.iter()
                .find(|p| p.key == format!("targets.{target}.connection"))
                .unwrap_or_else(|| panic!("no error for {target}: {e}"));
        assert_eq!(found.line, Some(line), "{target}: {e}");
        assert!(found.message.starts_with("base_url:"), "{}", found.message);
        assert!(
            found.message.contains("allow_insecure_http = true"),
            "{}",
            found.message
        );
    }
    assert!(e.to_string().contains("/etc/muster/muster.toml:38:"), "{e}");
    let allowed = remote.replace(
        "connection = { base_url",
        "connection = { allow_insecure_http = true, base_url",
    );
    assert!(parse(&allowed).is_ok(), "{:?}", parse(&allowed).err());
}

#[test]
fn helloids_extension_notation_is_read_as_the_scim_path_and_unreadable_paths_are_refused() {
    let text = VALID.to_owned()
        + r#"
[[targets.scim.mapping]]
field = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.division"
path = "PrimaryContract.Department"
"#;
    let c = parse(&text).unwrap();
    let fields: Vec<&str> = c
        .target("scim")
        .unwrap()
        .policy
        .mappings
        .iter()
        .map(|m| m.field.as_str())
        .collect();
    assert!(
        fields.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"),
        "{fields:?}"
    );

    let bad = VALID.to_owned()
        + r#"
[[targets.scim.mapping]]
field = "emails[type eq \"work\"]"
path = "Contact.Business.Email"
"#;
    let e = parse(&bad).unwrap_err();
    let found =
        e.0.iter()
            .find(|p| p.key == "targets.scim.mapping[2].field")
            .unwrap_or_else(|| panic!("{e}"));
    assert_eq!(found.line, Some(32), "{e}");
    assert!(
        found.message.contains("emails[type eq \"work\"].value"),
        "{e}"
    );
}

#[test]
fn an_unknown_kind_names_its_line_and_the_kinds_of_the_table() {
    let e = parse(&VALID.replace("kind = \"scim\"", "kind = \"ldap\"")).unwrap_err();
    let problem =
        e.0.iter()
            .find(|p| p.key == "targets.scim.kind")
            .expect("{e}");
    assert_eq!(
        problem.message,
        "unknown connector `ldap`: expected `scim`, `zivver`, `helloid` or `zermelo`"
    );
    assert_eq!(problem.line, line_with(VALID, "kind = \"scim\""));

    let e = parse(&VALID.replace("kind = \"csv\"", "kind = \"xml\"")).unwrap_err();
    let problem = e.0.iter().find(|p| p.key == "source.kind").expect("{e}");
    assert_eq!(
        problem.message,
        "unknown source `xml`: expected `csv`, `json` or `exchange-online`"
    );
    assert_eq!(problem.line, line_with(VALID, "kind = \"csv\""));

    let e = parse(&VALID.replace("kind = \"csv\"\n", "")).unwrap_err();
    assert!(
        e.to_string().contains("source.kind") && e.to_string().contains("missing `kind`"),
        "{e}"
    );
}

#[test]
fn a_source_is_typed_by_its_kind_and_its_settings_checked_by_it() {
    let json = VALID.replace(
        "kind = \"csv\"\npersons = \"persons.csv\"",
        "kind = \"json\"\npath = \"persons.json\"",
    );
    assert!(parse(&json).is_ok());
    let e =
        parse(&VALID.replace("persons = \"persons.csv\"", "path = \"persons.csv\"")).unwrap_err();
    assert!(
        e.to_string().contains("source") && e.to_string().contains("path"),
        "{e}"
    );
}

#[test]
fn an_exchange_online_source_is_configured_and_checked_like_any_other() {
    let exo = VALID.replace(
        "kind = \"csv\"\npersons = \"persons.csv\"",
        "kind = \"exchange-online\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"app\"\nclient_secret = { env = \"EXO_SECRET\" }",
    );
    assert!(parse(&exo).is_ok());
    let e = parse(&exo.replace("client_id", "client_idd")).unwrap_err();
    assert!(e.to_string().contains("client_idd"), "{e}");
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_with(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// VALID with Cloud Sync's settings: `[run]`, a target filter, a translated account type and
/// aliases kept to the included domains.
fn cloud_sync(extra_target: &str, extra_mapping: &str, run: &str) -> String {
    VALID
        .replace(
            "thresholds = { disable = { percent = 10 } }",
            &format!("thresholds = {{ disable = {{ percent = 10 }} }}\n{extra_target}"),
        )
        .replace("[[rules]]", &format!("{extra_mapping}\n{run}\n[[rules]]"))
}

#[test]
fn cloud_sync_settings_compile_to_the_run_and_the_target() {
    let text = cloud_sync(
        "included_domains = [\"example.org\"]\nleave_alone = { accounts = [\"beheer@example.org\"], domains = [\"supplier.example\"] }",
        "[[targets.scim.mapping]]\nfield = \"userType\"\npath = \"Name.NickName\"\nvalues = { UserMailbox = \"user\", SharedMailbox = \"functional\" }\naccount_type = true\n\n[[targets.scim.mapping]]\nfield = \"emails\"\nlist = [\"{Name.GivenName}@example.org\", \"{Name.GivenName}@x.onmicrosoft.com\"]\nin_included_domains = true\n",
        "[run]\nperform_sync = false\nmax_run_time = \"1h30m\"\nlog_level = \"Info\"\n",
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.run.perform_sync, Some(false));
    assert!(c.run.preview_by_default());
    assert_eq!(
        c.run.max_run_time,
        Some(std::time::Duration::from_secs(5400))
    );
    assert_eq!(c.run.log_level.as_deref(), Some("info"));
    let t = c.target("scim").unwrap();
    assert_eq!(t.type_fields, BTreeSet::from(["userType".to_owned()]));
    let filter = t.leave_alone.as_ref().unwrap();
    assert_eq!(filter.field(), "userName");
    assert!(filter.covers("a@SUPPLIER.example").is_some());
    let mut p = muster_core::model::Person::new("1");
    p.name.given_name = Some("jan".into());
    p.name.nick_name = Some("SharedMailbox".into());
    let value = |field: &str| {
        t.policy
            .mappings
            .iter()
            .find(|m| m.field == field)
            .unwrap()
            .compute(&p, 0)
    };
    assert_eq!(value("userType"), Ok(Some(serde_json::json!("functional"))));
    assert_eq!(
        value("emails"),
        Ok(Some(serde_json::json!(["jan@example.org"]))),
        "only the included domains"
    );
    assert!(parse(VALID).unwrap().run == RunSettings::default());
}

#[test]
fn cloud_sync_settings_that_cannot_work_say_why() {
    let text = cloud_sync(
        "leave_alone = { domains = [\"@supplier\"] }",
        "[[targets.scim.mapping]]\nfield = \"emails\"\nlist = [\"{Name.GivenName}@example.org\"]\nin_included_domains = true\n\n[[targets.scim.mapping]]\nfield = \"userType\"\nlist = [\"x\"]\nvalues = { a = \"b\" }\n",
        "[run]\nmax_run_time = \"soon\"\nlog_level = \"loud\"\n",
    );
    let e = parse(&text).unwrap_err();
    let find = |key: &str| {
        e.0.iter()
            .find(|e| e.key.ends_with(key))
            .unwrap_or_else(|| panic!("no error for {key}: {e}"))
    };
    assert!(find("leave_alone").message.contains("is not a domain"));
    assert!(find("in_included_domains")
        .message
        .contains("needs the target's `included_domains`"));
    assert!(find("values").message.contains("not a `list`"));
    let cap = find("run.max_run_time");
    assert!(
        cap.message.contains("\"soon\" is not a duration"),
        "{}",
        cap.message
    );
    assert!(cap.line.is_some());
    assert!(find("run.log_level")
        .message
        .contains("expected error, warn"));
}

#[test]
fn durations_are_hours_minutes_and_seconds() {
    use super::compile::parse_duration;
    assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
    assert_eq!(parse_duration("90m").unwrap().as_secs(), 5400);
    assert_eq!(parse_duration(" 1h30m15s ").unwrap().as_secs(), 5415);
    for bad in ["", "0s", "2", "h", "2d", "1.5h", "-1h"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}
