//! The `exchange-online` source against the Exchange Online simulator (`muster-sim`): paging,
//! the address and delegation rules, groups, the source filter, credentials (secret, managed
//! identity, certificate), throttling and failing pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod certificate;
mod faults;
mod reads;

use muster_connectors::SecretRef;
use muster_core::model::{Person, SourceRecord};
use muster_exchange::ExchangeOnlineConfig;
use muster_sim::exchange::{
    ExchangeSim, ExchangeSimConfig, ExchangeSwitches, RunningExchangeSim, TenantSeed,
};
use muster_sources::{read_source, SourceError, SourceRead};
use serde_json::json;

/// The secret every test's simulator accepts, from this variable.
pub const SECRET_VAR: &str = "MUSTER_EXO_TEST_SECRET";

/// A small tenant with one of everything §4 lists.
pub fn tenant() -> TenantSeed {
    serde_json::from_value(json!({
        "mailboxes": [
            {"Name": "jan", "DisplayName": "Jan Jansen", "RecipientTypeDetails": "UserMailbox",
             "PrimarySmtpAddress": "Jan@Contoso.nl", "ExternalDirectoryObjectId": "u-jan",
             "EmailAddresses": ["SMTP:Jan@Contoso.nl", " smtp:J.Jansen@contoso.nl ", "smtp:jan@contoso.onmicrosoft.com",
                                "SIP:jan@contoso.nl", "X500:/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=jan", "SPO:SPO_1@SPO_2",
                                "jansen@contoso.nl", "smtp:not an address"]},
            {"Name": "piet", "DisplayName": "Piet", "RecipientTypeDetails": "UserMailbox", "AccountDisabled": true,
             "PrimarySmtpAddress": "piet@contoso.nl", "ExternalDirectoryObjectId": "u-piet",
             "EmailAddresses": ["SMTP:piet@contoso.nl"]},
            {"Name": "kees", "DisplayName": "Kees", "RecipientTypeDetails": "UserMailbox",
             "PrimarySmtpAddress": "kees@contoso.nl", "ExternalDirectoryObjectId": "u-kees",
             "EmailAddresses": ["SMTP:kees@contoso.nl"]},
            {"Name": "anna", "DisplayName": "Anna", "RecipientTypeDetails": "UserMailbox",
             "PrimarySmtpAddress": "anna@contoso.nl", "ExternalDirectoryObjectId": "u-anna",
             "EmailAddresses": ["SMTP:anna@contoso.nl"]},
            {"Name": "info", "DisplayName": "Info", "RecipientTypeDetails": "SharedMailbox", "AccountDisabled": true,
             "PrimarySmtpAddress": "info@contoso.nl", "ExternalDirectoryObjectId": "s-info",
             "EmailAddresses": ["SMTP:info@contoso.nl", "smtp:balie@contoso.nl", "smtp:info@contoso.onmicrosoft.com"]},
            {"Name": "hr", "DisplayName": "HR", "RecipientTypeDetails": "SharedMailbox", "AccountDisabled": true,
             "PrimarySmtpAddress": "hr@contoso.nl", "ExternalDirectoryObjectId": "s-hr",
             "EmailAddresses": ["SMTP:hr@contoso.nl"]},
            {"Name": "sales-box", "Alias": "Verkoop", "DisplayName": "Sales box", "RecipientTypeDetails": "SharedMailbox",
             "PrimarySmtpAddress": "sales@contoso.nl", "ExternalDirectoryObjectId": "s-sales",
             "EmailAddresses": ["SMTP:sales@contoso.nl"]},
            {"Name": "room1", "DisplayName": "Room 1", "RecipientTypeDetails": "RoomMailbox",
             "PrimarySmtpAddress": "room1@contoso.nl", "ExternalDirectoryObjectId": "r-1"},
            {"Name": "nosmtp", "DisplayName": "No SMTP", "RecipientTypeDetails": "UserMailbox",
             "ExternalDirectoryObjectId": "u-nosmtp", "EmailAddresses": ["SIP:nosmtp@contoso.nl"]},
            {"Name": "bad", "DisplayName": "Bad", "RecipientTypeDetails": "UserMailbox",
             "PrimarySmtpAddress": "bad at contoso", "ExternalDirectoryObjectId": "u-bad",
             "EmailAddresses": ["SMTP:bad at contoso"]}
        ],
        "groups": [
            {"Name": "Support", "PrimarySmtpAddress": "support@contoso.nl", "Members": ["kees", "Inner"],
             "ExternalDirectoryObjectId": "g-support"},
            {"Name": "Inner", "PrimarySmtpAddress": "inner@contoso.nl", "Members": ["anna", "Support"],
             "ExternalDirectoryObjectId": "g-inner"},
            {"Name": "Backoffice", "Guid": "7f3e2c1a-0000-4000-8000-000000000001", "PrimarySmtpAddress": "backoffice@contoso.nl",
             "RecipientTypeDetails": "MailUniversalDistributionGroup", "Members": ["piet"], "ExternalDirectoryObjectId": "g-back"},
            {"Name": "Verkoop", "PrimarySmtpAddress": "verkoop@contoso.nl", "Members": ["jan"], "ExternalDirectoryObjectId": "g-verkoop"}
        ],
        "permissions": [
            {"Mailbox": "info@contoso.nl", "User": "jan@contoso.nl"},
            {"Mailbox": "info@contoso.nl", "User": "Support"},
            {"Mailbox": "info@contoso.nl", "User": "7f3e2c1a-0000-4000-8000-000000000001"},
            {"Mailbox": "info@contoso.nl", "User": "S-1-5-21-1004336348-1177238915-682003330-5012"},
            {"Mailbox": "info@contoso.nl", "User": "anna@contoso.nl", "Deny": true},
            {"Mailbox": "info@contoso.nl", "User": "kees@contoso.nl", "IsInherited": true},
            {"Mailbox": "info@contoso.nl", "User": "piet@contoso.nl", "AccessRights": ["ReadPermission"]},
            {"Mailbox": "info@contoso.nl", "User": "info@contoso.nl"},
            {"Mailbox": "jan@contoso.nl", "User": "anna@contoso.nl"},
            {"Mailbox": "hr", "User": "Verkoop"}
        ]
    }))
    .unwrap()
}

/// A simulator serving `seed` with `page_size` mailboxes per page.
pub async fn sim(seed: TenantSeed, page_size: usize) -> RunningExchangeSim {
    ExchangeSim::start(ExchangeSimConfig {
        tenant_seed: seed,
        switches: ExchangeSwitches {
            page_size,
            ..ExchangeSwitches::default()
        },
        ..ExchangeSimConfig::default()
    })
    .await
    .unwrap()
}

/// A source reading `sim` with the right secret.
pub fn config(sim: &RunningExchangeSim) -> ExchangeOnlineConfig {
    std::env::set_var(SECRET_VAR, "sim-secret");
    let mut c = ExchangeOnlineConfig::new(
        sim.state.tenant_name(),
        "muster-app",
        SecretRef::Env(SECRET_VAR.into()),
    );
    c.token_url = Some(sim.token_url());
    c.exchange_url = sim.exchange_url();
    c.graph_url = sim.graph_url();
    c.timeout_s = 5;
    c.max_attempts = 3;
    c
}

/// Reads the source on a blocking thread, as the engine does.
pub async fn read(c: &ExchangeOnlineConfig) -> Result<SourceRead, SourceError> {
    let c = c.clone();
    tokio::task::spawn_blocking(move || read_source(&c, std::path::Path::new(".")))
        .await
        .unwrap()
}

/// The valid record with object id `id`.
pub fn person<'a>(read: &'a SourceRead, id: &str) -> &'a Person {
    read.valid()
        .find(|p| p.external_id.as_str() == id)
        .unwrap_or_else(|| panic!("no valid record {id}: {:?}", read.records))
}

/// The reason record `id` is blocked.
pub fn blocked<'a>(read: &'a SourceRead, id: &str) -> &'a str {
    read.records
        .iter()
        .find_map(|r| match r {
            SourceRecord::Blocked { id: i, reason, .. } if i.as_str() == id => {
                Some(reason.as_str())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no blocked record {id}: {:?}", read.records))
}
