//! A full consistency check of an open store, for tools and tests: the
//! checkpoint's hash table against its checksum (open checks only its
//! header, segment table and bitmaps), every index entry against the slot it
//! names, and the slot accounting of every segment. (Headers and every log
//! record were already checked when the store was opened.)

use crate::segment::{slot_id, slot_is_intact};
use crate::store::Store;

/// What [`Store::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Live vectors checked.
    pub vectors: u64,
    /// Segment files.
    pub segments: u64,
    /// Slots handed out (live or dead).
    pub slots_used: u64,
    /// Slots no entry points at any more, awaiting compaction.
    pub dead_slots: u64,
    /// Every problem found, one line each; empty when the store is sound.
    pub problems: Vec<String>,
}

impl Store {
    /// Checks every live vector's slot (checksum, stored id, bounds) and every
    /// segment's live-slot accounting. Readers and writers may run meanwhile;
    /// the check sees one consistent instant.
    pub fn verify(&self) -> Verification {
        let mut report = Verification::default();
        if let Err(e) = self.catch_up() {
            report.problems.push(e.to_string());
        }
        let index = self.index.read();
        for s in index.segments() {
            report.segments += 1;
            report.slots_used += s.used;
            report.dead_slots += s.dead();
            let bits: u64 = s.live_bits.iter().map(|w| u64::from(w.count_ones())).sum();
            if bits != s.live || s.used > s.segment.capacity() {
                report.problems.push(format!(
                    "{}: {} live slots counted, {bits} marked, {} used of {}",
                    s.segment.path().display(),
                    s.live,
                    s.used,
                    s.segment.capacity()
                ));
            }
        }
        if let Err(e) = index.check_base() {
            // Its entries cannot be listed: report that, and the count.
            report.problems.push(e.to_string());
            report.vectors = index.len();
            return report;
        }
        let mut counted = 0;
        for (id, at) in index.entries() {
            counted += 1;
            report.vectors += 1;
            let Some(s) = index.segment(at.segment()) else {
                report.problems.push(format!(
                    "id {id}: points at missing segment {}",
                    at.segment()
                ));
                continue;
            };
            if at.slot() >= s.used {
                report.problems.push(format!(
                    "id {id}: slot {} of {} is beyond its {} used slots",
                    at.slot(),
                    s.segment.path().display(),
                    s.used
                ));
                continue;
            }
            let image = s.segment.slot(at.slot());
            if !slot_is_intact(image) {
                report.problems.push(format!(
                    "id {id}: slot {} of {} fails its checksum",
                    at.slot(),
                    s.segment.path().display()
                ));
            } else if slot_id(image) != id {
                report.problems.push(format!(
                    "id {id}: slot {} of {} holds id {}",
                    at.slot(),
                    s.segment.path().display(),
                    slot_id(image)
                ));
            }
        }
        if counted != index.len() {
            report.problems.push(format!(
                "the index counts {} vectors but holds {counted} entries",
                index.len()
            ));
        }
        report
    }
}
