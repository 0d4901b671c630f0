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

/// Writes persons.csv and contracts.csv for `n` persons. `changed_every` > 0 applies the
/// "next day" changes to every n-th person: a department move, every 3rd of those a leaver.
pub fn write_export(dir: &Path, n: usize, changed_every: usize) -> anyhow::Result<()> {
    let mut persons = String::from("ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email;Accounts.Entra.UserPrincipalName\n");
    let mut contracts = String::from("PersonId;StartDate;EndDate;Department;Title;Organization\n");
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
        writeln!(
            contracts,
            "{id};2020-01-01;{end};{};Medewerker;Example BV",
            DEPARTMENTS[dept_index % DEPARTMENTS.len()]
        )?;
    }
    std::fs::write(dir.join("persons.csv"), persons)?;
    std::fs::write(dir.join("contracts.csv"), contracts)?;
    Ok(())
}

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
    let mut c = String::from(
        r#"[store]
path = "muster.db"

[source]
kind = "csv"
persons = "persons.csv"
contracts = "contracts.csv"

[[rules]]
name = "employees"
account = true
access = true
"#,
    );
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
