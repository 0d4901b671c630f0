//! A generated organisation of any size, written as the HR export the demo uses (persons and
//! contracts CSV), and the configuration that provisions it to the simulators.

use std::fmt::Write as _;
use std::path::Path;

pub const DEPARTMENTS: [&str; 8] = [
    "Finance",
    "HR",
    "ICT",
    "Sales",
    "Marketing",
    "Support",
    "Legal",
    "Facilities",
];
pub const FUNCTIONAL_ACCOUNTS: [&str; 2] = ["Administratie", "Servicedesk"];

/// Persons per team: the first person of every team manages the other members.
pub const TEAM: usize = 10;

/// The manager (a person's ExternalId) on person `i`'s contract: the first person of its team;
/// team leaders report to the first person of all, who has none. Changes never make or remove
/// a manager: the persons changed on the next day are never a team's first (see
/// [`write_export`]), so the tree stays the same on both days.
fn manager_of(i: usize) -> Option<usize> {
    match (i % TEAM, i) {
        (_, 0) => None,
        (0, _) => Some(100_000),
        _ => Some(100_000 + i - i % TEAM),
    }
}

/// Writes persons.csv and contracts.csv for `n` persons. `changed_every` > 0 applies the
/// "next day" changes to every n-th person: a department move, every 3rd of those a leaver.
/// Every contract names its manager (see [`manager_of`]); only HelloID maps it
/// (`set_manager`), so the SCIM and Zivver targets are not affected by it.
pub fn write_export(dir: &Path, n: usize, changed_every: usize) -> anyhow::Result<()> {
    let mut persons = String::from("ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email;Accounts.Entra.UserPrincipalName\n");
    let mut contracts =
        String::from("PersonId;StartDate;EndDate;Department;Title;Organization;Manager\n");
    for i in 0..n {
        let id = 100_000 + i;
        let changed = changed_every > 0 && i % changed_every == 1;
        let leaver = changed && (i / changed_every).is_multiple_of(3);
        let dept_index = if changed && !leaver { i + 1 } else { i };
        writeln!(
            persons,
            "{id};Given{};Family{i};user{i}@example.org;{id}@corp.example.org",
            i % 97
        )?;
        let end = if leaver { "2026-03-02" } else { "" };
        let manager = manager_of(i).map(|m| m.to_string()).unwrap_or_default();
        writeln!(
            contracts,
            "{id};2020-01-01;{end};{};Medewerker;Example BV;{manager}",
            DEPARTMENTS[dept_index % DEPARTMENTS.len()]
        )?;
    }
    std::fs::write(dir.join("persons.csv"), persons)?;
    std::fs::write(dir.join("contracts.csv"), contracts)?;
    Ok(())
}

/// The store, the export written by [`write_export`], and the rule that gives every person an
/// account: the start of every configuration here.
pub const HEADER: &str = r#"[store]
path = "muster.db"

[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[[rules]]
name = "employees"
account = true
access = true
"#;

/// The configuration: a SCIM target (department groups) and/or a Zivver target (functional
/// accounts), with URLs set later through the environment.
pub fn config(
    dir: &Path,
    scim: bool,
    zivver: bool,
    concurrency: usize,
    zivver_budget: u32,
) -> String {
    let token = dir.join("token");
    let token = format!("{{ file = {:?} }}", token.display().to_string());
    let mut c = String::from(HEADER);
    if scim {
        c += &format!(
            r#"
[targets.scim]
kind = "scim"
connection = {{ base_url = "http://127.0.0.1:1/scim/v2", auth = {{ bearer = {token} }}, rate_limit = {{ requests = 100000, per_seconds = 1 }}, concurrency = {concurrency} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}

[[targets.scim.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.scim.mapping]]
field = "name.familyName"
path = "Name.FamilyName"

[[targets.scim.mapping]]
field = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
path = "PrimaryContract.Department"

[[rules]]
name = "department groups"
targets = ["scim"]
dynamic_permissions = [{{ template = "Dept {{Contract.Department}}" }}]
"#
        );
    }
    if zivver {
        c += &format!(
            r#"
[targets.zivver]
kind = "zivver"
connection = {{ base_url = "http://127.0.0.1:1", token = {token}, rate_limit = {{ requests = {zivver_budget}, per_seconds = 10 }}, concurrency = {concurrency} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}

[[targets.zivver.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.zivver.mapping]]
field = "name.formatted"
template = "{{Name.GivenName}} {{Name.FamilyName}}"

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"
path = "PrimaryContract.Department"

[[targets.zivver.mapping]]
field = "urn:ietf:params:scim:schemas:zivver:0.1:User:SsoAccountKey"
path = "Accounts.Entra.UserPrincipalName"
secret = true

[[rules]]
name = "finance mailbox"
targets = ["zivver"]
when = {{ all = [{{ field = "AnyContract.Department", equals = "Finance" }}, {{ field = "PrimaryContract.EndDate", exists = false }}] }}
permissions = ["Administratie"]

[[rules]]
name = "support mailbox"
targets = ["zivver"]
when = {{ all = [{{ field = "AnyContract.Department", equals = "Support" }}, {{ field = "PrimaryContract.EndDate", exists = false }}] }}
permissions = ["Servicedesk"]
"#
        );
    }
    c
}

/// The `[targets.helloid]` section (appended to [`config`]): accounts with their manager
/// (`set_manager`), a department group per contract created when missing, names, e-mail and
/// two `userAttributes`; a rate limit far above what the simulator needs, so the client never
/// waits on it. The key and the secret are the token file; the URL is set later through the
/// environment.
pub fn helloid_config(dir: &Path, concurrency: usize) -> String {
    let token = dir.join("token");
    let token = format!("{{ file = {:?} }}", token.display().to_string());
    format!(
        r#"
[targets.helloid]
kind = "helloid"
connection = {{ base_url = "http://127.0.0.1:1/api/v1", api_key = {token}, api_secret = {token}, set_manager = true, department_groups = {{ prefix = "department_", create_missing = true }}, rate_limit = {{ requests = 100000, per_seconds = 1 }}, concurrency = {concurrency} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}

[[targets.helloid.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.helloid.mapping]]
field = "contactEmail"
path = "Contact.Business.Email"

[[targets.helloid.mapping]]
field = "firstName"
path = "Name.GivenName"

[[targets.helloid.mapping]]
field = "lastName"
path = "Name.FamilyName"

[[targets.helloid.mapping]]
field = "userAttributes.department"
path = "PrimaryContract.Department"

[[targets.helloid.mapping]]
field = "userAttributes.title"
path = "PrimaryContract.Title"
"#
    )
}
