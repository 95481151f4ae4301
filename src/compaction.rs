//! Compaction: move the live vectors out of segments that hold dead slots or
//! stranded room (free slots of a segment that no longer takes writes), then
//! drop those segments.
//!
//! Crash safety comes from ordering: moved vectors are written to new slots,
//! a checkpoint that points at the new slots (and no longer lists the old
//! segments) is made durable, and only then are the old files unlinked. A
//! crash before the checkpoint leaves the old state intact (the new segment is
//! an orphan, removed at open); a crash after it leaves old files that are
//! orphans. Guards and cursors keep old segments mapped after the unlink.

use std::sync::Arc;

use crate::error::Result;
use crate::files::sync_dir;
use crate::guard::corrupt_slot;
use crate::index::{SegmentSlots, SlotRef, SnapshotSegment};
use crate::segment::slot_id;
use crate::store::Store;

/// Live vectors moved per index publication: small enough that readers never
/// wait long for the index lock.
const MOVE_CHUNK: usize = 256;

impl Store {
    /// Rewrites the live vectors of every segment that has dead slots or
    /// stranded room into fresh slots, deletes those segments, and returns
    /// the bytes reclaimed.
    /// Ends with a checkpoint, so it is also a durability barrier. Readers,
    /// guards and cursors are not disturbed; writers wait.
    pub fn compact(&self) -> Result<u64> {
        let mut w = self.writer_checked()?;
        // Moving a vector looks its id up: check every index page first, so
        // that no move can fail halfway on a damaged one.
        self.index.read().check_base()?;
        let (victims, live, bytes_before) = {
            let index = self.index.read();
            // Dead slots, and room no write will ever use: segments other
            // than the active one stop taking writes.
            let chosen: Vec<&SegmentSlots> = index
                .segments()
                .filter(|s| s.dead() > 0 || (s.room() > 0 && w.active != Some(s.segment.id())))
                .collect();
            let victims: Vec<SnapshotSegment> = chosen
                .iter()
                .map(|s| SnapshotSegment {
                    segment: s.segment.clone(),
                    live_bits: s.live_bits.clone(),
                })
                .collect();
            let live: u64 = chosen.iter().map(|s| s.live).sum();
            let bytes: u64 = index.segments().map(|s| s.segment.file_bytes()).sum();
            (victims, live, bytes)
        };
        if victims.is_empty() {
            // Still a barrier, as a compaction that moved vectors is.
            self.checkpoint_locked(&mut w)?;
            return Ok(0);
        }
        if let Some(active) = w.active {
            if let Some(v) = victims.iter().find(|v| v.segment.id() == active) {
                v.segment.release_file();
                w.active = None;
            }
        }
        let slot_size = crate::segment::slot_size(self.dimension);
        let mut images = Vec::with_capacity(MOVE_CHUNK * slot_size);
        let mut remaining = live;
        for victim in &victims {
            let old = &victim.segment;
            let slots: Vec<u64> = victim.live_slots().collect();
            let mut rest = &slots[..];
            while !rest.is_empty() {
                // The active segment's room first, then one new segment of
                // exactly the room still needed: nothing is stranded, nothing
                // moved twice, and compaction only shrinks the store.
                let room = w
                    .active
                    .and_then(|a| self.index.read().segment(a).map(|s| s.room()))
                    .unwrap_or(0);
                if room == 0 {
                    self.grow(&mut w, remaining)?;
                    continue;
                }
                let n = rest.len().min(MOVE_CHUNK).min(room as usize);
                let (chunk, after) = rest.split_at(n);
                rest = after;
                remaining -= n as u64;
                images.clear();
                for &slot in chunk {
                    if !old.slot_is_intact(slot) {
                        return Err(corrupt_slot(old, slot));
                    }
                    images.extend_from_slice(old.slot(slot));
                }
                let target = self.allocate(&mut w, n as u64)?;
                let first = self.index.read().segment(target.id()).expect("active").used;
                target.write_slots(first, &images)?;
                let mut index = self.index.write();
                index.mark_used(target.id(), first + n as u64);
                for (i, image) in images.chunks_exact(slot_size).enumerate() {
                    index.insert(slot_id(image), SlotRef::new(target.id(), first + i as u64))?;
                }
                drop(index);
                w.unsynced.insert(target.id());
                // Moved slots are durable only through a checkpoint: one that
                // fails below must be retried by the next barrier or close.
                w.dirty = true;
            }
        }
        let dropped: Vec<Arc<crate::segment::Segment>> = {
            let mut index = self.index.write();
            victims
                .iter()
                .filter_map(|v| index.remove_segment(v.segment.id()))
                .collect()
        };
        self.checkpoint_locked(&mut w)?;
        for seg in &dropped {
            std::fs::remove_file(seg.path())
                .map_err(|e| crate::Error::io("remove compacted segment", seg.path(), &e))?;
        }
        sync_dir(&self.dir)?;
        let bytes_after: u64 = self
            .index
            .read()
            .segments()
            .map(|s| s.segment.file_bytes())
            .sum();
        Ok(bytes_before.saturating_sub(bytes_after))
    }
}
