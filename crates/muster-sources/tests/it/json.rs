//! JSON exports: the nested person shape, one bad element among good ones, and documents that
//! cannot be read at all.

use crate::util::{blocked, valid_ids, Dir};
use muster_core::model::{ContractField, UnitPart};
use muster_sources::{JsonSourceConfig, SourceError};

fn read(body: &str) -> Result<muster_sources::SourceRead, SourceError> {
    let dir = Dir::new();
    dir.write("persons.json", body);
    dir.json(JsonSourceConfig::new("persons.json"))
}

#[test]
fn reads_the_nested_person_shape() {
    let read = read(
        r#"[
  {
    "ExternalId": "1001",
    "DisplayName": "Anouk Bakker",
    "Name": {"GivenName": "Anouk", "FamilyName": "Bakker", "Convention": "B"},
    "Contact": {"Business": {"Email": "anouk@school.example"}, "Personal": {"PhoneMobile": "0612345678"}},
    "Contracts": [
      {"StartDate": "2020-08-01", "EndDate": "2024-07-31", "Department": "Sales", "Fte": 1},
      {"StartDate": "2024-08-01T00:00:00Z", "Department": "Board", "Title": "Head", "Manager": 1000, "Fte": 0.8}
    ],
    "Accounts": {"AD": {"userPrincipalName": "anouk@ad.example", "enabled": true}}
  }
]"#,
    )
    .unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let p = read.valid().next().unwrap();
    assert_eq!(p.external_id.as_str(), "1001");
    assert_eq!(p.display_name.as_deref(), Some("Anouk Bakker"));
    assert_eq!(p.name.convention.as_deref(), Some("B"));
    assert_eq!(
        p.contact.business.email.as_deref(),
        Some("anouk@school.example")
    );
    assert_eq!(
        p.contact.personal.phone_mobile.as_deref(),
        Some("0612345678")
    );
    assert_eq!(p.contracts.len(), 2);
    assert_eq!(p.contracts[1].start_date, "2024-08-01".parse().ok());
    assert_eq!(
        ContractField::Manager.get(&p.contracts[1]).as_deref(),
        Some("1000")
    );
    assert_eq!(p.contracts[1].fte, Some(0.8));
    assert_eq!(p.accounts["AD"]["enabled"], true);
    assert_eq!(p.primary, None);
    assert_eq!(read.files.len(), 1);
    assert_eq!(read.digest.len(), 64);
}

#[test]
fn one_bad_element_blocks_only_itself_with_its_line() {
    let read = read(
        "[\n  {\"ExternalId\": \"1\"},\n  {\"ExternalId\": \"2\",\n   \"Contracts\": {\"StartDate\": \"2025-01-01\"}},\n  {\"ExternalId\": \"3\"}\n]\n",
    )
    .unwrap();
    assert_eq!(valid_ids(&read), ["1", "3"]);
    assert_eq!(
        blocked(&read),
        [(
            "2".to_owned(),
            "persons.json:3".to_owned(),
            "Contracts: expected an array of contracts, found an object".to_owned()
        )]
    );
}

#[test]
fn a_bad_date_names_the_field_and_the_formats() {
    let read = read(r#"[{"ExternalId": "1", "Contracts": [{"StartDate": "2025-01-01"}, {"EndDate": "31-02-2025"}]}]"#)
        .unwrap();
    assert_eq!(
        blocked(&read)[0].2,
        "Contracts[1].EndDate: \"31-02-2025\" is not a date in format %Y-%m-%d or an RFC 3339 date-time"
    );
}

#[test]
fn configured_date_formats_apply_to_json_too() {
    let dir = Dir::new();
    dir.write(
        "p.json",
        r#"[{"ExternalId": "1", "Contracts": [{"StartDate": "01-08-2025"}]}]"#,
    );
    let mut config = JsonSourceConfig::new("p.json");
    config.date_formats = vec!["%d-%m-%Y".into()];
    let read = dir.json(config).unwrap();
    assert_eq!(
        read.valid().next().unwrap().contracts[0].start_date,
        "2025-08-01".parse().ok()
    );
}

#[test]
fn a_syntax_error_is_fatal_with_line_and_column() {
    let e = read("[\n  {\"ExternalId\": \"1\"}\n  {\"ExternalId\": \"2\"}\n]\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::JsonSyntax {
                line: 3,
                column: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "persons.json:3:3: invalid JSON: expected `,` or `]`"
    );
}

#[test]
fn a_numeric_external_id_is_taken_as_text() {
    let read =
        read(r#"[{"ExternalId": 1001}, {"ExternalId": "1002"}, {"ExternalId": -5}]"#).unwrap();
    assert_eq!(valid_ids(&read), ["1001", "1002", "-5"]);
}

#[test]
fn a_document_that_is_not_an_array_is_fatal() {
    let e = read(r#"{"persons": []}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "persons.json:1: expected a JSON array of persons, found an object"
    );
}

#[test]
fn an_empty_array_is_zero_persons_but_an_empty_file_is_an_error() {
    assert!(read(" [ ] ").unwrap().records.is_empty());
    let e = read(" \n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "persons.json: the file is empty; expected a JSON array of persons"
    );
}

#[test]
fn duplicates_across_text_and_number_ids_are_blocked() {
    let read =
        read("[\n{\"ExternalId\": \"7\"},\n{\"ExternalId\": 7},\n{\"ExternalId\": \"8\"}\n]")
            .unwrap();
    assert_eq!(valid_ids(&read), ["8"]);
    let b = blocked(&read);
    assert_eq!(b[0].2, "duplicate ExternalId, also on line 3");
    assert_eq!(b[1].2, "duplicate ExternalId, also on line 2");
}

#[test]
fn a_missing_id_is_blocked_under_its_line() {
    let read =
        read("[\n{\"ExternalId\": \"1\"},\n{\"Name\": {\"GivenName\": \"Anouk\"}}\n]").unwrap();
    assert_eq!(
        blocked(&read),
        [(
            "<line 3>".to_owned(),
            "persons.json:3".to_owned(),
            "ExternalId is missing or empty; every person needs an id".to_owned()
        )]
    );
}

#[test]
fn required_fields_apply_to_json() {
    let dir = Dir::new();
    dir.write(
        "p.json",
        r#"[{"ExternalId": "1", "Name": {"FamilyName": "Bakker"}, "Contracts": [{"StartDate": "2025-01-01"}]},
            {"ExternalId": "2", "Contracts": [{}]}]"#,
    );
    let mut config = JsonSourceConfig::new("p.json");
    config.required = vec!["Name.FamilyName".into(), "Contract.StartDate".into()];
    let read = dir.json(config).unwrap();
    assert_eq!(valid_ids(&read), ["1"]);
    assert_eq!(
        blocked(&read)[0].2,
        "required field Contracts[0].StartDate is missing or empty; required field Name.FamilyName is missing or empty"
    );
}

#[test]
fn unknown_fields_are_warned_about_once_per_field() {
    let read = read("[\n{\"ExternalId\": \"1\", \"Salary\": 1},\n{\"ExternalId\": \"2\", \"Salary\": 2, \"Name\": {\"Givenname\": \"x\"}}\n]")
        .unwrap();
    assert_eq!(valid_ids(&read), ["1", "2"]);
    assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
    assert!(read.warnings[0].starts_with(
        "persons.json: unknown field `Name.Givenname` ignored in 1 persons (first on line 3)"
    ));
    assert!(read.warnings[1].starts_with(
        "persons.json: unknown field `Salary` ignored in 2 persons (first on line 2)"
    ));
}

#[test]
fn invalid_utf8_is_fatal_with_its_line() {
    let dir = Dir::new();
    dir.write(
        "p.json",
        b"[\n{\"ExternalId\": \"1\"},\n{\"ExternalId\": \"Ren\xE9\"}\n]",
    );
    let e = dir.json(JsonSourceConfig::new("p.json")).unwrap_err();
    assert!(
        matches!(e, SourceError::Encoding { line: Some(3), .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("p.json:3: not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn a_huge_string_blocks_its_person() {
    let huge = "x".repeat(muster_sources::MAX_VALUE_BYTES + 1);
    let read = read(&format!(
        r#"[{{"ExternalId": "1", "DisplayName": "{huge}"}}, {{"ExternalId": "2"}}]"#
    ))
    .unwrap();
    assert_eq!(valid_ids(&read), ["2"]);
    assert!(blocked(&read)[0]
        .2
        .starts_with("DisplayName: value is 65537 bytes long"));
}

/// `examples/helloid/persons.json`: persons as HelloID's own person view shows them, with its
/// contract objects, `Details.Fte`, `Contact.*.Phone` and keys Muster does not read.
#[test]
fn reads_a_helloid_person_export_as_it_is() {
    let body = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/helloid/persons.json"),
    )
    .unwrap();
    let read = read(&body).unwrap();
    assert!(blocked(&read).is_empty(), "{:?}", blocked(&read));
    assert_eq!(valid_ids(&read), ["1000", "1001", "200345"]);
    let anouk = read.valid().nth(1).unwrap();
    assert_eq!(
        anouk.contact.business.phone_mobile.as_deref(),
        Some("+31 6 1000 0002")
    );
    assert_eq!(
        anouk.contact.personal.email.as_deref(),
        Some("anouk.bakker@mail.example")
    );
    let c = &anouk.contracts[1];
    assert_eq!(c.fte, Some(0.8), "Details.Fte");
    assert_eq!(c.start_date, "2024-08-01".parse().ok());
    let get =
        |field: ContractField, part: UnitPart| field.get_part(c, part).map(|v| v.into_owned());
    assert_eq!(
        get(ContractField::Department, UnitPart::ExternalId).as_deref(),
        Some("MM")
    );
    assert_eq!(
        get(ContractField::Department, UnitPart::Name).as_deref(),
        Some("Mens - Maatschappij (MM)")
    );
    assert_eq!(
        get(ContractField::Title, UnitPart::Code).as_deref(),
        Some("DOC-C")
    );
    assert_eq!(
        get(ContractField::Title, UnitPart::Name).as_deref(),
        Some("Docent LC")
    );
    assert_eq!(
        get(ContractField::Organization, UnitPart::Name).as_deref(),
        Some("Lyceum Noord")
    );
    assert_eq!(
        get(ContractField::Manager, UnitPart::ExternalId).as_deref(),
        Some("1000")
    );
    assert_eq!(
        get(ContractField::Manager, UnitPart::Email).as_deref(),
        Some("m.visser@lyceum.example")
    );
    assert_eq!(
        get(ContractField::CostCenter, UnitPart::Code).as_deref(),
        Some("310")
    );
    assert_eq!(
        get(ContractField::Employer, UnitPart::Name).as_deref(),
        Some("Stichting Lyceum")
    );
    assert_eq!(
        get(ContractField::Division, UnitPart::Code).as_deref(),
        Some("VO")
    );
    assert_eq!(
        get(ContractField::Team, UnitPart::ExternalId).as_deref(),
        Some("T-BB")
    );
    assert_eq!(
        get(ContractField::Location, UnitPart::Name).as_deref(),
        Some("Amsterdam Schoolweg")
    );
    // All-null objects (a student's team) are absent, not empty strings.
    let sem = read.valid().nth(2).unwrap();
    assert_eq!(ContractField::Team.get(&sem.contracts[0]), None);
    // What Muster does not read is named once per key, never blocking anyone.
    let warned = read.warnings.join("\n");
    for key in [
        "`Details`",
        "`PrimaryContract`",
        "`Contracts[].Type`",
        "`Contracts[].Manager.Id`",
    ] {
        assert!(warned.contains(key), "{key} in {warned}");
    }
}

#[test]
fn a_contract_object_of_the_wrong_kind_is_named() {
    let (_, _, reason) = blocked(
        &read(r#"[{"ExternalId": "1", "Contracts": [{"Department": ["Sales"], "Title": {"Name": 3}}]}]"#)
            .unwrap(),
    )
    .remove(0);
    assert!(
        reason.contains(
            "Contracts[0].Department: expected an object (or a plain name), found an array"
        ),
        "{reason}"
    );
    assert!(
        reason.contains("Contracts[0].Title.Name: expected a string, found a number"),
        "{reason}"
    );
}
