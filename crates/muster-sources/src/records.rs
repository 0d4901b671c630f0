//! Collecting records as a reader produces them: valid persons and blocked records in file
//! order, an index by `ExternalId` (for joining contracts), and the duplicate-id rule: every
//! record that shares an id with another is blocked, because neither can be trusted to be
//! "the" person.

use crate::index::{IdIndex, Seen};
use crate::input::SourceFile;
use muster_core::model::{Contract, ExternalId, Person, SourceRecord};
use std::collections::BTreeMap;

/// Reasons grow when one person collects several problems; past this they are cut short.
const MAX_REASON_LEN: usize = 2000;

pub(crate) struct Collector<'f> {
    file: &'f SourceFile,
    records: Vec<SourceRecord>,
    /// The line each record starts on, parallel to `records`.
    lines: Vec<u64>,
    /// `ExternalId` → index of the first record with it.
    index: IdIndex,
    /// (first, later) index pairs of records that share an id.
    duplicates: Vec<(usize, usize)>,
}

impl<'f> Collector<'f> {
    pub(crate) fn new(file: &'f SourceFile) -> Self {
        Self {
            file,
            records: Vec::new(),
            lines: Vec::new(),
            index: IdIndex::default(),
            duplicates: Vec::new(),
        }
    }

    /// Indexes record `at` under `id`, noting it as a duplicate when the id was seen before.
    fn note_id(&mut self, id: &str, at: usize) {
        if let Seen::Before(first) = self.index.insert(&self.records, id, at) {
            self.duplicates.push((first, at));
        }
    }

    /// Makes room for about `additional` more records, so a large file is not re-indexed as
    /// it grows. Only a hint: when the memory is not there, the vectors grow as usual.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let _ = self.records.try_reserve(additional).is_ok()
            && self.lines.try_reserve(additional).is_ok()
            && self.index.try_reserve(additional).is_ok();
    }

    pub(crate) fn valid(&mut self, person: Person, line: u64) {
        let at = self.records.len();
        self.note_id(person.external_id.as_str(), at);
        self.records.push(SourceRecord::Valid(person));
        self.lines.push(line);
    }

    /// Blocks a record; without an id it is named `<line N>`, which matches no person.
    pub(crate) fn blocked(&mut self, id: Option<&str>, line: u64, reason: String) {
        let at = self.records.len();
        if let Some(id) = id {
            self.note_id(id, at);
        }
        self.records.push(SourceRecord::Blocked {
            id: id.map_or_else(
                || ExternalId::new(format!("<line {line}>")),
                ExternalId::from,
            ),
            location: self.file.at(line),
            reason,
        });
        self.lines.push(line);
    }

    /// The record with this id (the first, if the id is duplicated).
    pub(crate) fn lookup(&self, id: &str) -> Option<usize> {
        self.index.get(&self.records, id)
    }

    /// Blocks record `at` because of a problem found elsewhere (a contract row), keeping any
    /// reason it already has.
    pub(crate) fn block(&mut self, at: usize, location: String, reason: String) {
        let Some(record) = self.records.get_mut(at) else {
            return;
        };
        let id = match record {
            SourceRecord::Valid(person) => {
                std::mem::replace(&mut person.external_id, ExternalId::new(""))
            }
            SourceRecord::Blocked {
                reason: existing, ..
            } => {
                append(existing, &format!("{location}: {reason}"));
                return;
            }
        };
        *record = SourceRecord::Blocked {
            id,
            location,
            reason,
        };
    }

    /// Adds a contract to a valid person; a blocked person stays blocked without it.
    pub(crate) fn attach(&mut self, at: usize, contract: Contract) {
        if let Some(SourceRecord::Valid(person)) = self.records.get_mut(at) {
            // Most persons have one contract; a first push would make room for four.
            if person.contracts.capacity() == 0 {
                person.contracts.reserve_exact(1);
            }
            person.contracts.push(contract);
        }
    }

    /// Blocks every record whose id appears more than once, naming the other lines.
    pub(crate) fn block_duplicates(&mut self) {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(first, later) in &self.duplicates {
            groups
                .entry(first)
                .or_insert_with(|| vec![first])
                .push(later);
        }
        for members in groups.values() {
            for &at in members {
                let others: Vec<u64> = members
                    .iter()
                    .filter(|&&o| o != at)
                    .filter_map(|&o| self.lines.get(o).copied())
                    .collect();
                let reason = format!(
                    "duplicate ExternalId, also on {} {}",
                    if others.len() == 1 { "line" } else { "lines" },
                    list_lines(&others)
                );
                let location = self
                    .file
                    .at(self.lines.get(at).copied().unwrap_or_default());
                self.block(at, location, reason);
            }
        }
        self.duplicates.clear();
    }

    pub(crate) fn into_records(self) -> Vec<SourceRecord> {
        self.records
    }
}

fn append(reason: &mut String, more: &str) {
    if reason.len() + more.len() < MAX_REASON_LEN {
        reason.push_str("; ");
        reason.push_str(more);
    } else if !reason.ends_with('…') {
        reason.push_str("; …");
    }
}

/// `4, 9, 12` or `4, 9, 12, … and 7 more`.
pub(crate) fn list_lines(lines: &[u64]) -> String {
    const SHOWN: usize = 10;
    let mut out: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    if lines.len() > SHOWN {
        out.push(format!("… and {} more", lines.len() - SHOWN));
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn reasons(c: Collector<'_>) -> Vec<(String, String)> {
        c.into_records()
            .into_iter()
            .map(|r| match r {
                SourceRecord::Valid(p) => (p.external_id.to_string(), "valid".to_owned()),
                SourceRecord::Blocked { id, reason, .. } => (id.to_string(), reason),
            })
            .collect()
    }

    #[test]
    fn every_record_sharing_an_id_is_blocked() {
        let file = SourceFile::new(Path::new("."), Path::new("p.csv"));
        let mut c = Collector::new(&file);
        c.valid(Person::new("7"), 2);
        c.valid(Person::new("8"), 3);
        c.valid(Person::new("7"), 4);
        c.blocked(Some("7"), 9, "bad date".into());
        c.block_duplicates();
        assert_eq!(
            reasons(c),
            [
                (
                    "7".into(),
                    "duplicate ExternalId, also on lines 4, 9".into()
                ),
                ("8".into(), "valid".into()),
                (
                    "7".into(),
                    "duplicate ExternalId, also on lines 2, 9".into()
                ),
                (
                    "7".into(),
                    "bad date; p.csv:9: duplicate ExternalId, also on lines 2, 4".into()
                ),
            ]
        );
    }

    #[test]
    fn blocking_keeps_the_id_and_earlier_reasons() {
        let file = SourceFile::new(Path::new("."), Path::new("p.csv"));
        let mut c = Collector::new(&file);
        c.valid(Person::new("1"), 2);
        c.block(0, "c.csv:3".into(), "bad date".into());
        c.block(0, "c.csv:4".into(), "bad fte".into());
        c.attach(0, Contract::default());
        let records = c.into_records();
        assert_eq!(
            records,
            [SourceRecord::Blocked {
                id: "1".into(),
                location: "c.csv:3".into(),
                reason: "bad date; c.csv:4: bad fte".into()
            }]
        );
    }

    #[test]
    fn records_without_id_get_a_line_placeholder_and_no_index_entry() {
        let file = SourceFile::new(Path::new("."), Path::new("p.csv"));
        let mut c = Collector::new(&file);
        c.blocked(None, 5, "empty id".into());
        c.blocked(None, 6, "empty id".into());
        c.block_duplicates();
        let ids: Vec<_> = reasons(c).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["<line 5>", "<line 6>"]);
    }

    #[test]
    fn long_line_lists_are_cut() {
        let lines: Vec<u64> = (1..=13).collect();
        assert_eq!(
            list_lines(&lines),
            "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … and 3 more"
        );
    }
}
