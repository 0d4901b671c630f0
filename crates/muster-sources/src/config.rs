//! The settings of each source kind's `[source]` section of `muster.toml` (its `kind` is read
//! by the engine's table of kinds), and their pure validation (no files are opened here; that
//! is [`read_source`](crate::read_source)'s job).

use crate::error::{ConfigProblem, SourceError};
use crate::fields::{self, Required};
use muster_core::model::PersonPath;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A CSV export: one row per person, and optionally a second file with one row per contract.
///
/// ```toml
/// [source]
/// kind = "csv"
/// persons = "export/persons.csv"
/// contracts = "export/contracts.csv"
/// delimiter = ";"
/// date_formats = ["%d-%m-%Y", "%Y-%m-%d"]
/// person_id_column = "Stamnummer"
/// columns = { "Name.GivenName" = "Roepnaam", "Contact.Business.Email" = "Email" }
/// contract_columns = { StartDate = "Begindatum", EndDate = "Einddatum" }
/// required = ["ExternalId", "Name.FamilyName"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSourceConfig {
    /// The persons file, one row per person after a header line. A relative path is read from
    /// the folder that holds the configuration file. Required.
    pub persons: PathBuf,
    /// The contracts file, one row per contract after a header line; each row names its person
    /// in the `contract_person_column`. Leave it out when the export has no contracts.
    /// Default: none.
    #[serde(default)]
    pub contracts: Option<PathBuf>,
    /// The character between values: `";"`, `","`, `"tab"`, or `"auto"` to take whichever of
    /// the three appears most often in the header line. Default: `"auto"`.
    #[serde(default)]
    pub delimiter: Delimiter,
    /// How dates are written in the export, as chrono formats (`%d` day, `%m` month, `%Y`
    /// year). Each value is tried in order; the first that fits is used.
    /// Default: `["%Y-%m-%d"]` (2025-08-01).
    #[serde(default = "default_date_formats")]
    pub date_formats: Vec<String>,
    /// The column in the persons file that holds each person's stable id (their `ExternalId`).
    /// Default: `"ExternalId"`.
    #[serde(default = "default_person_id_column")]
    pub person_id_column: String,
    /// The column in the contracts file that holds the id of the person the contract belongs to.
    /// Default: `"PersonId"`.
    #[serde(default = "default_contract_person_column")]
    pub contract_person_column: String,
    /// Which persons-file column fills which person field: person field → column name, e.g.
    /// `"Name.GivenName" = "Roepnaam"`. Fields are `DisplayName`, `Name.<part>`,
    /// `Contact.Business.<Email|PhoneFixed|PhoneMobile>`, `Contact.Personal.<...>` and
    /// `Accounts.<System>.<field>`. Default: a column named exactly like the field (a column
    /// `Name.GivenName` fills `Name.GivenName`); other columns are ignored with a warning.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Which contracts-file column fills which contract field: `ExternalId`, `StartDate`,
    /// `EndDate`, `Fte`, and the objects `Department`, `Title`, `Organization`, `Manager`,
    /// `Location`, `CostCenter`, `Division`, `Employer`, `Team` — alone (the name; the
    /// manager's `ExternalId`) or one part as HelloID names it (`Department.ExternalId`,
    /// `Department.Code`, `Department.DisplayName`, `Title.Name`, `Manager.DisplayName`,
    /// `Manager.Email`) → column name. Default: a column named exactly like the field.
    #[serde(default)]
    pub contract_columns: BTreeMap<String, String>,
    /// Person fields that must have a value; a person without one is blocked, not imported.
    /// `Contract.<field>` (e.g. `Contract.StartDate`) means every contract must have it.
    /// Default: `["ExternalId"]` (a person without an id is always blocked).
    #[serde(default = "default_required")]
    pub required: Vec<String>,
}

/// A JSON export: an array of persons shaped like HelloID's person
/// (`ExternalId`, `DisplayName`, `Name{..}`, `Contact{Business{..},Personal{..}}`,
/// `Contracts[{..}]`, `Accounts{System{field: value}}`); a contract's `Department`, `Title`,
/// `Manager`, … are HelloID's objects (`{"ExternalId": .., "DisplayName": ..}`) or, in
/// Muster's flat form, one string (the name; the manager's `ExternalId`).
///
/// ```toml
/// [source]
/// kind = "json"
/// path = "export/persons.json"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSourceConfig {
    /// The JSON file. A relative path is read from the folder that holds the configuration
    /// file. Required.
    pub path: PathBuf,
    /// How dates are written, as chrono formats, tried in order. An RFC 3339 date-time such as
    /// `2025-08-01T00:00:00Z` is always accepted too; its date is used as written.
    /// Default: `["%Y-%m-%d"]`.
    #[serde(default = "default_date_formats")]
    pub date_formats: Vec<String>,
    /// Person fields that must have a value; a person without one is blocked, not imported.
    /// `Contract.<field>` means every contract must have it. Default: `["ExternalId"]`.
    #[serde(default = "default_required")]
    pub required: Vec<String>,
}

/// The character between values in a CSV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Delimiter {
    /// Take whichever of `;`, `,` and tab appears most often in the header line.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// `";"`, what Excel writes where `,` is the decimal separator.
    #[serde(rename = ";")]
    Semicolon,
    /// `","`
    #[serde(rename = ",")]
    Comma,
    /// `"tab"` (or a literal tab character).
    #[serde(rename = "tab", alias = "\t")]
    Tab,
}

impl Delimiter {
    /// The byte for a fixed delimiter; `None` for [`Delimiter::Auto`].
    pub fn byte(self) -> Option<u8> {
        match self {
            Delimiter::Auto => None,
            Delimiter::Semicolon => Some(b';'),
            Delimiter::Comma => Some(b','),
            Delimiter::Tab => Some(b'\t'),
        }
    }
}

fn default_date_formats() -> Vec<String> {
    vec!["%Y-%m-%d".to_owned()]
}
fn default_person_id_column() -> String {
    "ExternalId".to_owned()
}
fn default_contract_person_column() -> String {
    "PersonId".to_owned()
}
fn default_required() -> Vec<String> {
    vec!["ExternalId".to_owned()]
}

impl CsvSourceConfig {
    /// A configuration with every default, reading `persons` and no contracts.
    pub fn new(persons: impl Into<PathBuf>) -> Self {
        Self {
            persons: persons.into(),
            contracts: None,
            delimiter: Delimiter::Auto,
            date_formats: default_date_formats(),
            person_id_column: default_person_id_column(),
            contract_person_column: default_contract_person_column(),
            columns: BTreeMap::new(),
            contract_columns: BTreeMap::new(),
            required: default_required(),
        }
    }
}

impl JsonSourceConfig {
    /// A configuration with every default, reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            date_formats: default_date_formats(),
            required: default_required(),
        }
    }
}

impl CsvSourceConfig {
    /// Checks the configuration without touching any file, and reports every problem at once.
    pub fn validate(&self) -> Result<(), SourceError> {
        let mut problems = Vec::new();
        self.check(&mut problems);
        result(problems)
    }
}

impl JsonSourceConfig {
    /// Checks the configuration without touching any file, and reports every problem at once.
    pub fn validate(&self) -> Result<(), SourceError> {
        let mut problems = Vec::new();
        check_date_formats(&self.date_formats, &mut problems);
        check_required(&self.required, true, &mut problems);
        result(problems)
    }
}

fn result(problems: Vec<ConfigProblem>) -> Result<(), SourceError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SourceError::Config { problems })
    }
}

impl CsvSourceConfig {
    fn check(&self, problems: &mut Vec<ConfigProblem>) {
        let mut problem =
            |key: String, message: String| problems.push(ConfigProblem { key, message });
        if self.person_id_column.trim().is_empty() {
            problem("person_id_column".into(), "must name a column".into());
        }
        if self.contract_person_column.trim().is_empty() {
            problem("contract_person_column".into(), "must name a column".into());
        }
        for (path, column) in &self.columns {
            let key = format!("columns.\"{path}\"");
            if column.trim().is_empty() {
                problem(key.clone(), "must name a column".into());
            }
            match PersonPath::parse(path) {
                Ok(PersonPath::ExternalId) => problem(
                    key,
                    "the id column is set with `person_id_column`, not in `columns`".into(),
                ),
                Ok(PersonPath::Contract(..) | PersonPath::ContractPart(..)) => problem(
                    key,
                    "contract fields come from the contracts file: set them in `contract_columns`"
                        .into(),
                ),
                Ok(_) => {}
                Err(e) => problem(key, e.hint),
            }
        }
        for (field, column) in &self.contract_columns {
            let key = format!("contract_columns.\"{field}\"");
            if column.trim().is_empty() {
                problem(key.clone(), "must name a column".into());
            }
            if fields::ContractSlot::parse(field).is_none() {
                problem(
                    key,
                    format!(
                        "unknown contract field; expected one of {}",
                        fields::CONTRACT_FIELD_NAMES
                    ),
                );
            }
        }
        if self.contracts.is_none() && !self.contract_columns.is_empty() {
            problem(
                "contract_columns".into(),
                "is set, but there is no `contracts` file to read them from".into(),
            );
        }
        check_date_formats(&self.date_formats, problems);
        check_required(&self.required, self.contracts.is_some(), problems);
    }
}

fn check_date_formats(formats: &[String], problems: &mut Vec<ConfigProblem>) {
    if formats.is_empty() {
        problems.push(ConfigProblem {
            key: "date_formats".into(),
            message: "give at least one chrono format, e.g. \"%Y-%m-%d\"".into(),
        });
    }
    for (i, format) in formats.iter().enumerate() {
        if let Err(message) = fields::DateFormats::check(format) {
            problems.push(ConfigProblem {
                key: format!("date_formats[{i}]"),
                message,
            });
        }
    }
}

fn check_required(required: &[String], has_contracts: bool, problems: &mut Vec<ConfigProblem>) {
    for (i, path) in required.iter().enumerate() {
        let key = format!("required[{i}]");
        match Required::parse(path) {
            Ok(Required::Contract(_)) if !has_contracts => problems.push(ConfigProblem {
                key,
                message: format!(
                    "\"{path}\" is a contract field, but there is no `contracts` file"
                ),
            }),
            Ok(_) => {}
            Err(message) => problems.push(ConfigProblem { key, message }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> CsvSourceConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn csv_defaults_fill_every_optional_key() {
        let c = parse("persons = \"p.csv\"");
        assert_eq!(c, CsvSourceConfig::new("p.csv"));
        assert_eq!(c.delimiter, Delimiter::Auto);
        assert_eq!(c.date_formats, ["%Y-%m-%d"]);
        assert_eq!(c.required, ["ExternalId"]);
    }

    #[test]
    fn delimiter_words_parse() {
        for (text, want) in [("\";\"", b';'), ("\",\"", b','), ("\"tab\"", b'\t')] {
            let c = parse(&format!("persons = \"p.csv\"\ndelimiter = {text}"));
            assert_eq!(c.delimiter.byte(), Some(want));
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e =
            toml::from_str::<CsvSourceConfig>("persons = \"p\"\ndelimitter = \";\"").unwrap_err();
        assert!(e.to_string().contains("delimitter"), "{e}");
        let e = toml::from_str::<JsonSourceConfig>("path = \"p\"\npersons = \"x\"").unwrap_err();
        assert!(e.to_string().contains("persons"), "{e}");
    }

    #[test]
    fn validate_reports_every_problem_with_its_key() {
        let mut c = CsvSourceConfig::new("p.csv");
        c.columns.insert("Name.Middle".into(), "M".into());
        c.columns.insert("PrimaryContract.Title".into(), "T".into());
        c.contract_columns.insert("Salary".into(), "S".into());
        c.date_formats = vec!["%Y-%Q".into()];
        c.required = vec!["Contract.StartDate".into(), "Foo".into()];
        let Err(SourceError::Config { problems }) = c.validate() else {
            panic!("expected config problems");
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "columns.\"Name.Middle\"",
                "columns.\"PrimaryContract.Title\"",
                "contract_columns.\"Salary\"",
                "contract_columns",
                "date_formats[0]",
                "required[0]",
                "required[1]",
            ]
        );
    }

    #[test]
    fn defaults_are_valid() {
        assert!(CsvSourceConfig::new("p").validate().is_ok());
        assert!(JsonSourceConfig::new("p").validate().is_ok());
    }
}
