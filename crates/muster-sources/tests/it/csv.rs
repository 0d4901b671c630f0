//! CSV exports: delimiters, encodings, quoting, column mapping, contracts, and every way a row
//! can be wrong.

use crate::util::{blocked, valid_ids, Dir};
use chrono::NaiveDate;
use muster_core::model::{Contract, ContractField, UnitPart};
use muster_sources::{CsvSourceConfig, Delimiter, SourceError};
use std::collections::BTreeMap;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn dept(c: &Contract) -> Option<std::borrow::Cow<'_, str>> {
    ContractField::Department.get(c)
}

fn date(s: &str) -> Option<NaiveDate> {
    Some(s.parse().unwrap())
}

#[test]
fn semicolons_with_a_byte_order_mark() {
    let dir = Dir::new();
    let mut body = BOM.to_vec();
    body.extend_from_slice(
        b"ExternalId;Name.GivenName;Name.FamilyName;Contact.Business.Email\r\n\
          1;Anouk;Bakker;anouk@school.example\r\n\
          2;  Bram ;de Vries;\r\n",
    );
    dir.write("persons.csv", &body);
    let mut config = CsvSourceConfig::new("persons.csv");
    config.delimiter = Delimiter::Semicolon;
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "2"]);
    let people: Vec<_> = read.valid().collect();
    assert_eq!(people[0].name.given_name.as_deref(), Some("Anouk"));
    assert_eq!(
        people[0].contact.business.email.as_deref(),
        Some("anouk@school.example")
    );
    assert_eq!(
        people[1].name.given_name.as_deref(),
        Some("Bram"),
        "values are trimmed"
    );
    assert_eq!(
        people[1].contact.business.email, None,
        "an empty value is absent"
    );
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    assert_eq!(read.files, [dir.path().join("persons.csv")]);
}

#[test]
fn commas() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId,Name.GivenName\n1,Anouk\n2,Bram\n");
    let mut config = CsvSourceConfig::new("p.csv");
    config.delimiter = Delimiter::Comma;
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "2"]);
    assert_eq!(
        read.valid().nth(1).unwrap().name.given_name.as_deref(),
        Some("Bram")
    );
}

#[test]
fn auto_detects_the_delimiter_from_the_header() {
    for body in [
        "ExternalId;Name.GivenName;Name.FamilyName\n1;Anouk, A.;Bakker\n",
        "ExternalId,Name.GivenName,Name.FamilyName\n1,Anouk; A.,Bakker\n",
        "ExternalId\tName.GivenName\tName.FamilyName\n1\tAnouk A.\tBakker\n",
    ] {
        let dir = Dir::new();
        dir.write("p.csv", body);
        let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
        assert_eq!(valid_ids(&read), ["1"], "{body:?}");
        let person = read.valid().next().unwrap();
        assert_eq!(
            person.name.family_name.as_deref(),
            Some("Bakker"),
            "{body:?}"
        );
        assert!(
            person
                .name
                .given_name
                .as_deref()
                .unwrap()
                .starts_with("Anouk"),
            "{body:?}"
        );
    }
}

#[test]
fn a_fixed_delimiter_that_does_not_match_makes_the_id_column_missing() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId,Name.GivenName\n1,Anouk\n");
    let mut config = CsvSourceConfig::new("p.csv");
    config.delimiter = Delimiter::Semicolon;
    let e = dir.csv(config).unwrap_err();
    assert!(matches!(e, SourceError::MissingColumn { .. }), "{e}");
    assert!(
        e.to_string().contains("\"ExternalId,Name.GivenName\""),
        "{e}"
    );
}

#[test]
fn quoted_fields_keep_delimiters_and_line_breaks_and_lines_stay_physical() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        "ExternalId;Name.GivenName;DisplayName;Note\n\
         1;\"Anouk; A.\";\"Bakker, Anouk\";\"first line\nsecond line\"\n\
         ;Bram;;\n",
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    let anouk = read.valid().next().unwrap();
    assert_eq!(anouk.name.given_name.as_deref(), Some("Anouk; A."));
    assert_eq!(anouk.display_name.as_deref(), Some("Bakker, Anouk"));
    // The record with the line break starts on line 2 and ends on 3, so the next is line 4.
    assert_eq!(
        blocked(&read),
        [(
            "<line 4>".to_owned(),
            "p.csv:4".to_owned(),
            "column \"ExternalId\" (ExternalId) is empty; every person needs an id".to_owned()
        )]
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("Note")),
        "{:?}",
        read.warnings
    );
}

#[test]
fn custom_column_names_and_default_names_together() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        "Stamnummer;Roepnaam;Name.FamilyName;UPN;Salaris\n1001;Anouk;Bakker;anouk@ad.example;4000\n",
    );
    let mut config = CsvSourceConfig::new("p.csv");
    config.person_id_column = "Stamnummer".into();
    config.columns = BTreeMap::from([
        ("Name.GivenName".into(), "Roepnaam".into()),
        ("Accounts.AD.userPrincipalName".into(), "UPN".into()),
    ]);
    config.required = vec!["ExternalId".into(), "Name.GivenName".into()];
    let read = dir.csv(config).unwrap();
    let p = read.valid().next().unwrap();
    assert_eq!(p.external_id.as_str(), "1001");
    assert_eq!(p.name.given_name.as_deref(), Some("Anouk"));
    assert_eq!(
        p.name.family_name.as_deref(),
        Some("Bakker"),
        "default: column named like the path"
    );
    assert_eq!(p.accounts["AD"]["userPrincipalName"], "anouk@ad.example");
    assert_eq!(
        read.warnings,
        ["p.csv: columns not read into any person field, ignored: Salaris (map them in `columns` to use them)"]
    );
}

#[test]
fn a_configured_column_that_is_missing_is_fatal_and_named() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId;Voornaam\n1;Anouk\n");
    let mut config = CsvSourceConfig::new("p.csv");
    config.columns = BTreeMap::from([("Name.GivenName".into(), "Roepnaam".into())]);
    let e = dir.csv(config).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p.csv:1: the header has no column \"Roepnaam\" for Name.GivenName (configured in `columns`); \
         columns found: \"ExternalId\", \"Voornaam\""
    );
}

#[test]
fn a_required_field_without_a_column_is_fatal_and_named() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId;Name.GivenName\n1;Anouk\n");
    let mut config = CsvSourceConfig::new("p.csv");
    config.required = vec!["ExternalId".into(), "Name.FamilyName".into()];
    let e = dir.csv(config).unwrap_err();
    assert!(
        matches!(&e, SourceError::MissingColumn { column, .. } if column == "Name.FamilyName"),
        "{e}"
    );
    assert!(e.to_string().contains("listed in `required`"), "{e}");
}

#[test]
fn a_missing_id_column_is_fatal_with_a_hint_for_the_wrong_case() {
    let dir = Dir::new();
    dir.write("p.csv", "externalID;Name.GivenName\n1;Anouk\n");
    let e = dir.csv(CsvSourceConfig::new("p.csv")).unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with("p.csv:1: the header has no column \"ExternalId\""),
        "{message}"
    );
    assert!(
        message.contains("did you mean \"externalID\"?"),
        "{message}"
    );
}

#[test]
fn an_empty_required_field_blocks_the_person() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId;Achternaam\n1;Bakker\n2; \n");
    let mut config = CsvSourceConfig::new("p.csv");
    config.columns = BTreeMap::from([("Name.FamilyName".into(), "Achternaam".into())]);
    config.required = vec!["ExternalId".into(), "Name.FamilyName".into()];
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1"]);
    assert_eq!(
        blocked(&read),
        [(
            "2".to_owned(),
            "p.csv:3".to_owned(),
            "required field Name.FamilyName (column \"Achternaam\") is empty".to_owned()
        )]
    );
}

fn contracts_dir(contracts: &str) -> (Dir, CsvSourceConfig) {
    let dir = Dir::new();
    dir.write(
        "persons.csv",
        "ExternalId;Name.GivenName\n1;Anouk\n2;Bram\n3;Cees\n",
    );
    dir.write("contracts.csv", contracts);
    let mut config = CsvSourceConfig::new("persons.csv");
    config.contracts = Some("contracts.csv".into());
    (dir, config)
}

#[test]
fn contracts_are_joined_to_their_person_in_file_order() {
    let (dir, mut config) = contracts_dir(
        "Persoon;Begin;Einde;Afdeling;Fte;Title\n\
         1;01-08-2020;31-07-2024;Sales;1;Teacher\n\
         2;01-01-2025;;IT;0,5;\n\
         1;01-08-2024;;Board;0.8;Head\n",
    );
    config.contract_person_column = "Persoon".into();
    config.date_formats = vec!["%d-%m-%Y".into()];
    config.contract_columns = BTreeMap::from([
        ("StartDate".into(), "Begin".into()),
        ("EndDate".into(), "Einde".into()),
        ("Department".into(), "Afdeling".into()),
    ]);
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "2", "3"]);
    let people: Vec<_> = read.valid().collect();
    let anouk = &people[0].contracts;
    assert_eq!(anouk.len(), 2);
    assert_eq!(anouk[0].start_date, date("2020-08-01"));
    assert_eq!(anouk[0].end_date, date("2024-07-31"));
    assert_eq!(dept(&anouk[0]).as_deref(), Some("Sales"));
    assert_eq!(
        ContractField::Title.get(&anouk[0]).as_deref(),
        Some("Teacher"),
        "default: column named like the field"
    );
    assert_eq!(dept(&anouk[1]).as_deref(), Some("Board"));
    assert_eq!(anouk[1].fte, Some(0.8));
    assert_eq!(people[1].contracts[0].fte, Some(0.5), "decimal comma");
    assert_eq!(people[1].contracts[0].end_date, None);
    assert!(people[2].contracts.is_empty());
    assert!(
        people.iter().all(|p| p.primary.is_none()),
        "the engine picks the primary contract"
    );
    assert_eq!(read.files.len(), 2);
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn a_contract_for_an_unknown_person_is_a_warning_not_an_error() {
    let (dir, config) = contracts_dir("PersonId;StartDate\n1;2025-01-01\n99;2025-01-01\n");
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "2", "3"]);
    assert_eq!(read.valid().next().unwrap().contracts.len(), 1);
    assert_eq!(
        read.warnings,
        [
            "contracts.csv: 1 contract rows belong to a person who is not in persons.csv and were \
          ignored (line 3: \"99\")"
        ]
    );
}

#[test]
fn a_bad_contract_date_blocks_its_person_naming_file_line_and_column() {
    let (dir, config) = contracts_dir(
        "PersonId;StartDate;EndDate\n1;2025-01-01;\n2;31-02-2025;\n2;2025-01-01;2025-13-01\n",
    );
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "3"]);
    assert_eq!(
        blocked(&read),
        [(
            "2".to_owned(),
            "contracts.csv:3".to_owned(),
            "column \"StartDate\" (Contracts.StartDate): \"31-02-2025\" is not a date in format \
             %Y-%m-%d; contracts.csv:4: column \"EndDate\" (Contracts.EndDate): \"2025-13-01\" is \
             not a date in format %Y-%m-%d"
                .to_owned()
        )]
    );
}

#[test]
fn a_required_contract_field_must_be_on_every_contract() {
    let (dir, mut config) = contracts_dir("PersonId;StartDate\n1;2025-01-01\n2;\n");
    config.required = vec!["ExternalId".into(), "Contract.StartDate".into()];
    let read = dir.csv(config).unwrap();
    assert_eq!(valid_ids(&read), ["1", "3"]);
    let b = blocked(&read);
    assert_eq!(b[0].1, "contracts.csv:3");
    assert_eq!(
        b[0].2,
        "required field Contracts.StartDate (column \"StartDate\") is empty"
    );
}

#[test]
fn duplicate_ids_block_every_record_with_that_id() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        "ExternalId;Name.GivenName\n7;Anouk\n8;Bram\n7;Anna\n7;Ans\n",
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["8"]);
    assert_eq!(
        blocked(&read),
        [
            (
                "7".into(),
                "p.csv:2".into(),
                "duplicate ExternalId, also on lines 4, 5".into()
            ),
            (
                "7".into(),
                "p.csv:4".into(),
                "duplicate ExternalId, also on lines 2, 5".into()
            ),
            (
                "7".into(),
                "p.csv:5".into(),
                "duplicate ExternalId, also on lines 2, 4".into()
            ),
        ]
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_blocked_under_its_id() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        "ExternalId;Name.GivenName;Name.FamilyName\n1;Anouk;Bakker\n2;Bram\n3;Cees;de;Vries\n",
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["1"]);
    assert_eq!(
        blocked(&read),
        [
            (
                "2".into(),
                "p.csv:3".into(),
                "the row has 2 fields, the header has 3; check the delimiter and quotes".into()
            ),
            (
                "3".into(),
                "p.csv:4".into(),
                "the row has 4 fields, the header has 3; check the delimiter and quotes".into()
            ),
        ]
    );
}

#[test]
fn invalid_utf8_blocks_only_its_row_and_names_the_column() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        b"ExternalId;Name.GivenName\n1;Ren\xE9\n2;Bram\n\xFF;Cees\n",
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["2"]);
    assert_eq!(
        blocked(&read),
        [
            (
                "1".into(),
                "p.csv:2".into(),
                "column \"Name.GivenName\" (Name.GivenName): not valid UTF-8 (byte 0xE9 at position \
                 4); save the export as UTF-8"
                    .into()
            ),
            (
                "<line 4>".into(),
                "p.csv:4".into(),
                "column \"ExternalId\" (ExternalId): not valid UTF-8 (byte 0xFF at position 1); \
                 save the export as UTF-8"
                    .into()
            ),
        ]
    );
}

#[test]
fn invalid_utf8_in_an_ignored_column_blocks_no_one() {
    let dir = Dir::new();
    dir.write("p.csv", b"ExternalId;Opmerking\n1;caf\xE9\n");
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["1"]);
}

#[test]
fn an_empty_file_is_an_error_not_zero_persons() {
    for body in [&b""[..], BOM, b"\r\n\n"] {
        let dir = Dir::new();
        dir.write("p.csv", body);
        let e = dir.csv(CsvSourceConfig::new("p.csv")).unwrap_err();
        assert!(matches!(e, SourceError::Empty { .. }), "{body:?}: {e}");
        assert_eq!(
            e.to_string(),
            "p.csv: the file is empty; expected a header line naming the columns"
        );
    }
}

#[test]
fn a_header_without_rows_is_zero_persons_not_an_error() {
    let dir = Dir::new();
    dir.write("p.csv", "ExternalId;Name.GivenName\n");
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert!(read.records.is_empty());
    assert!(read.warnings.is_empty());
}

#[test]
fn a_missing_file_is_an_error_naming_the_resolved_path() {
    let dir = Dir::new();
    let e = dir.csv(CsvSourceConfig::new("nope/p.csv")).unwrap_err();
    assert!(matches!(e, SourceError::Io { .. }));
    assert!(
        e.to_string()
            .contains(&dir.path().join("nope/p.csv").display().to_string()),
        "{e}"
    );
}

#[test]
fn the_digest_covers_every_file_and_changes_with_any_byte() {
    let (dir, config) = contracts_dir("PersonId;StartDate\n1;2025-01-01\n");
    let first = dir.csv(config.clone()).unwrap().digest;
    assert_eq!(first.len(), 64);
    assert_eq!(
        dir.csv(config.clone()).unwrap().digest,
        first,
        "same bytes, same digest"
    );
    dir.write("contracts.csv", "PersonId;StartDate\n1;2025-01-02\n");
    assert_ne!(
        dir.csv(config.clone()).unwrap().digest,
        first,
        "a changed contracts file shows"
    );
    let mut persons_only = config;
    persons_only.contracts = None;
    assert_ne!(dir.csv(persons_only).unwrap().digest, first);
}

#[test]
fn a_huge_field_blocks_the_row_instead_of_importing_it() {
    let dir = Dir::new();
    let huge = "x".repeat(muster_sources::MAX_VALUE_BYTES + 1);
    dir.write(
        "p.csv",
        format!("ExternalId;Name.GivenName\n1;{huge}\n2;Bram\n"),
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["2"]);
    let b = blocked(&read);
    assert_eq!((b[0].0.as_str(), b[0].1.as_str()), ("1", "p.csv:2"));
    assert!(
        b[0].2.contains("bytes long; at most 65536 are accepted"),
        "{}",
        b[0].2
    );
}

#[test]
fn an_unclosed_quote_is_explained_with_the_lines_it_swallowed() {
    let dir = Dir::new();
    dir.write(
        "p.csv",
        "ExternalId;Name.GivenName;Name.FamilyName\n1;Anouk;Bakker\n2;\"Bram;de Vries\n3;Cees;Jansen\n4;Dirk;Smit\n",
    );
    let read = dir.csv(CsvSourceConfig::new("p.csv")).unwrap();
    assert_eq!(valid_ids(&read), ["1"]);
    let b = blocked(&read);
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].0.as_str(), b[0].1.as_str()), ("2", "p.csv:3"));
    assert!(
        b[0].2
            .contains("runs from line 3 to line 5: is a quote left open?"),
        "{}",
        b[0].2
    );
}

#[test]
fn a_config_written_in_toml_reads_files_relative_to_its_folder() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path().join("hr")).unwrap();
    dir.write("hr/medewerkers.csv", "Stamnummer;Roepnaam\n1;Anouk\n");
    dir.write("hr/contracten.csv", "Medewerker;Begin\n1;01-08-2025\n");
    let config: muster_sources::CsvSourceConfig = toml::from_str(
        r#"
        persons = "hr/medewerkers.csv"
        contracts = "hr/contracten.csv"
        delimiter = ";"
        date_formats = ["%d-%m-%Y"]
        person_id_column = "Stamnummer"
        contract_person_column = "Medewerker"
        columns = { "Name.GivenName" = "Roepnaam" }
        contract_columns = { StartDate = "Begin" }
        required = ["ExternalId", "Name.GivenName", "Contract.StartDate"]
        "#,
    )
    .unwrap();
    let read = muster_sources::read_source(&config, dir.path()).unwrap();
    let p = read.valid().next().unwrap();
    assert_eq!(p.name.given_name.as_deref(), Some("Anouk"));
    assert_eq!(p.contracts[0].start_date, date("2025-08-01"));
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn an_invalid_config_is_refused_before_any_file_is_opened() {
    let dir = Dir::new();
    let mut config = CsvSourceConfig::new("does-not-exist.csv");
    config.date_formats = vec![];
    let e = dir.csv(config).unwrap_err();
    assert!(matches!(e, SourceError::Config { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("`date_formats`: give at least one chrono format"),
        "{e}"
    );
}

/// Past the first rows the reader makes room for the rest of the file; ids and joins must work
/// the same on both sides of that point.
#[test]
fn large_files_index_and_join_across_the_whole_file() {
    let dir = Dir::new();
    let mut persons = String::from("ExternalId;Name.GivenName\n");
    let mut contracts = String::from("PersonId;Department\n");
    for i in 0..5000 {
        persons.push_str(&format!("{i};Person {i}\n"));
        contracts.push_str(&format!("{};Dept {i}\n", 4999 - i));
    }
    persons.push_str("10;Again\n");
    dir.write("p.csv", persons).write("c.csv", contracts);
    let mut config = CsvSourceConfig::new("p.csv");
    config.contracts = Some("c.csv".into());
    let read = dir.csv(config).unwrap();
    assert_eq!(read.valid_count(), 4999);
    let b = blocked(&read);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].2, "duplicate ExternalId, also on line 5002");
    assert_eq!(b[1].2, "duplicate ExternalId, also on line 12");
    let last = read.valid().last().unwrap();
    assert_eq!(last.external_id.as_str(), "4999");
    assert_eq!(dept(&last.contracts[0]).as_deref(), Some("Dept 0"));
    assert!(read.valid().all(|p| p.contracts.len() == 1));
}

#[test]
fn contract_columns_fill_the_parts_of_helloids_contract_objects() {
    let (dir, mut config) = contracts_dir(
        "PersonId;Department.ExternalId;Department.DisplayName;Title.Code;Title;Manager;Manager.DisplayName;School;Kpl\n\
         1;MM;Mens - Maatschappij (MM);DOC-C;Docent LC;1000;Maarten Visser;Lyceum Noord;310\n",
    );
    config.contract_columns = BTreeMap::from([
        ("Organization.Name".into(), "School".into()),
        ("costcenter.code".into(), "Kpl".into()),
    ]);
    let read = dir.csv(config).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let c = &read.valid().next().unwrap().contracts[0];
    let get = |f: ContractField, p: UnitPart| f.get_part(c, p).map(|v| v.into_owned());
    assert_eq!(
        get(ContractField::Department, UnitPart::ExternalId).as_deref(),
        Some("MM")
    );
    assert_eq!(
        dept(c).as_deref(),
        Some("Mens - Maatschappij (MM)"),
        "the flat path reads Department.DisplayName"
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
        get(ContractField::Manager, UnitPart::ExternalId).as_deref(),
        Some("1000")
    );
    assert_eq!(
        get(ContractField::Manager, UnitPart::Name).as_deref(),
        Some("Maarten Visser")
    );
    assert_eq!(
        get(ContractField::Organization, UnitPart::Name).as_deref(),
        Some("Lyceum Noord")
    );
    assert_eq!(
        get(ContractField::CostCenter, UnitPart::Code).as_deref(),
        Some("310")
    );
}

#[test]
fn an_unknown_contract_part_in_contract_columns_is_refused() {
    let (dir, mut config) = contracts_dir("PersonId;X\n1;y\n");
    config.contract_columns = BTreeMap::from([("Manager.Code".into(), "X".into())]);
    let e = dir.csv(config).unwrap_err().to_string();
    assert!(e.contains("contract_columns.\"Manager.Code\""), "{e}");
    assert!(e.contains("Department.ExternalId"), "{e}");
}

#[test]
fn two_columns_for_one_contract_value_are_refused() {
    let (dir, config) = contracts_dir("PersonId;Department;Department.DisplayName\n1;a;b\n");
    let e = dir.csv(config).unwrap_err().to_string();
    assert!(
        e.contains("\"Department\" and \"Department.DisplayName\" both fill Contracts.Department"),
        "{e}"
    );
}
