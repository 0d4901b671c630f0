//! Digests that name a script result: one of the person as a script sees them, one of the
//! mapping (the script, its field's `Type` and the engine that runs it). Both are stable
//! across processes (SHA-256 of a fixed encoding), so results can be kept in the store and
//! trusted by the next process.

use chrono::Datelike;
use muster_core::model::{ContactPoint, Contract, ContractField, Person};
use sha2::{Digest, Sha256};

/// What decides a script's result besides the script and the person: how `Person` is built,
/// how results are converted, the prelude, the QuickJS version (in Cargo.toml). Hashing their
/// source means a change to any of them invalidates stored results without anyone having to
/// remember to bump a number; a change to a comment costs one re-evaluation, nothing more.
const ENGINE_PARTS: [&str; 6] = [
    env!("CARGO_PKG_VERSION"),
    include_str!("../../Cargo.toml"),
    include_str!("prelude.js"),
    include_str!("person.rs"),
    include_str!("convert.rs"),
    include_str!("../field_type.rs"),
];

/// Digest of a script's source, taken when it is compiled.
pub(crate) fn source_digest(source: &str) -> [u8; 32] {
    Sha256::digest(source.as_bytes()).into()
}

/// Digest of a mapping's script as it runs here: the engine, the field's `Type` and the
/// source ([`source_digest`]). 32 hexadecimal characters (128 bits).
pub(crate) fn mapping_digest(source: &[u8; 32], ty_name: &str) -> String {
    let mut h = Feed(Sha256::new());
    h.count(ENGINE_PARTS.len());
    for part in ENGINE_PARTS {
        h.text(Some(part));
    }
    h.text(Some(ty_name));
    h.0.update(source);
    h.0.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 (truncated to 128 bits) over every field a script can read, each written with its
/// length (or as absent), so two different persons never feed the same bytes.
pub(crate) fn person_digest(p: &Person) -> u128 {
    let mut h = Feed(Sha256::new());
    h.text(Some(p.external_id.as_str()));
    h.text(p.display_name.as_deref());
    let n = &p.name;
    for v in [
        &n.given_name,
        &n.nick_name,
        &n.family_name,
        &n.family_name_prefix,
        &n.family_name_partner,
        &n.family_name_partner_prefix,
        &n.convention,
        &n.initials,
    ] {
        h.text(v.as_deref());
    }
    h.point(&p.contact.business);
    h.point(&p.contact.personal);
    h.count(p.contracts.len());
    for c in &p.contracts {
        h.contract(c);
    }
    h.count(p.primary.map_or(0, |i| i + 1));
    h.count(p.accounts.len());
    for (system, fields) in &p.accounts {
        h.text(Some(system));
        h.count(fields.len());
        for (k, v) in fields {
            h.text(Some(k));
            h.json(v);
        }
    }
    let out = h.0.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[..16]);
    u128::from_le_bytes(bytes)
}

struct Feed(Sha256);

impl Feed {
    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    fn text(&mut self, v: Option<&str>) {
        match v {
            None => self.0.update([0u8]),
            Some(s) => {
                self.0.update([1u8]);
                self.count(s.len());
                self.0.update(s.as_bytes());
            }
        }
    }

    fn point(&mut self, p: &ContactPoint) {
        self.text(p.email.as_deref());
        self.text(p.phone_fixed.as_deref());
        self.text(p.phone_mobile.as_deref());
    }

    fn date(&mut self, d: Option<chrono::NaiveDate>) {
        match d {
            None => self.0.update([0u8]),
            Some(d) => {
                self.0.update([1u8]);
                self.0.update(d.num_days_from_ce().to_le_bytes());
            }
        }
    }

    /// A JSON value, written straight into the digest (no string in between).
    fn json(&mut self, v: &serde_json::Value) {
        struct Sink<'a>(&'a mut Sha256);
        impl std::io::Write for Sink<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        // Writing to this sink cannot fail; JSON's own syntax delimits the value.
        let _ = serde_json::to_writer(Sink(&mut self.0), v);
        self.0.update([0u8]);
    }

    fn contract(&mut self, c: &Contract) {
        self.text(c.external_id.as_deref());
        self.date(c.start_date);
        self.date(c.end_date);
        for field in ContractField::all() {
            for (_, part) in field.parts() {
                self.text(field.get_part(c, *part).as_deref());
            }
        }
        match c.fte {
            None => self.0.update([0u8]),
            Some(f) => {
                self.0.update([1u8]);
                self.0.update(f.to_bits().to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_digest_follows_the_source_and_the_type() {
        let digest = |source: &str, ty: &str| mapping_digest(&source_digest(source), ty);
        let a = digest("Person.ExternalId", "Text");
        assert_eq!(a.len(), 32);
        assert_eq!(a, digest("Person.ExternalId", "Text"));
        assert_ne!(a, digest("Person.ExternalId ", "Text"));
        assert_ne!(a, digest("Person.ExternalId", "Number"));
    }
}
