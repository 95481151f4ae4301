//! The in-memory id index: which slot holds each live id, and which slots of
//! each segment are used and live.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::checkpoint::{self, Checkpoint};
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::shards::ShardedArc;

/// Where a vector lives: segment id in the high 32 bits, slot in the low 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SlotRef(pub u64);

impl SlotRef {
    pub(crate) fn new(segment: u32, slot: u64) -> SlotRef {
        debug_assert!(slot <= u64::from(u32::MAX));
        SlotRef((u64::from(segment) << 32) | slot)
    }
    pub(crate) fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub(crate) fn slot(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

/// Slot accounting of one segment.
pub(crate) struct SegmentSlots {
    pub segment: Arc<Segment>,
    /// References for guards, one per thread shard.
    pub handles: ShardedArc<Arc<Segment>>,
    /// Slots handed out so far (live or dead); the next append goes here.
    pub used: u64,
    /// Slots that an index entry points at.
    pub live: u64,
    /// One bit per slot: set when an index entry points at it.
    pub live_bits: Vec<u64>,
}

impl SegmentSlots {
    fn set_live(&mut self, slot: u64, live: bool) {
        let (word, bit) = ((slot / 64) as usize, slot % 64);
        if live {
            self.live_bits[word] |= 1 << bit;
            self.live += 1;
        } else {
            self.live_bits[word] &= !(1 << bit);
            self.live -= 1;
        }
    }

    /// Slots not yet handed out.
    pub(crate) fn room(&self) -> u64 {
        self.segment.capacity() - self.used
    }

    /// Used slots that no entry points at any more.
    pub(crate) fn dead(&self) -> u64 {
        self.used.saturating_sub(self.live)
    }
}

/// Id → slot map plus per-segment slot accounting.
///
/// The map is the last checkpoint's hash table (`base`, mapped from the file
/// and shared through the page cache by every process) overlaid by `delta`,
/// the changes since: an id's entry there replaces the base's, and
/// [`TOMBSTONE`] removes it. A checkpoint folds the delta into a new base, so
/// the heap holds only what changed since the last one.
#[derive(Default)]
pub(crate) struct Index {
    base: Option<Arc<Checkpoint>>,
    delta: FxHashMap<u64, SlotRef>,
    len: u64,
    segments: BTreeMap<u32, SegmentSlots>,
}

/// A delta entry for an id the base holds and that was deleted since.
const TOMBSTONE: SlotRef = SlotRef(checkpoint::EMPTY);

impl Index {
    /// The index a checkpoint describes, its segments mapped by `open`.
    pub(crate) fn from_checkpoint(
        cp: Arc<Checkpoint>,
        mut open: impl FnMut(u32) -> Result<Arc<Segment>>,
    ) -> Result<Index> {
        let mut segments = BTreeMap::new();
        for entry in cp.segments() {
            let segment = open(entry.id)?;
            let marked: u64 = entry
                .live_bits
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum();
            // No bit at or past `used` (the last word's high bits).
            let past_used = entry.live_bits.last().is_some_and(|&w| {
                let tail = entry.used % 64;
                tail != 0 && w >> tail != 0
            });
            let mut live_bits = entry.live_bits;
            live_bits.resize(segment.capacity().div_ceil(64) as usize, 0);
            if entry.used > segment.capacity() || marked != entry.live || past_used {
                return Err(Error::corrupt(
                    segment.path(),
                    format!(
                        "checkpoint says {} slots used of {}, {} live, {marked} marked",
                        entry.used,
                        segment.capacity(),
                        entry.live
                    ),
                ));
            }
            segments.insert(
                entry.id,
                SegmentSlots {
                    handles: ShardedArc::new(segment.clone()),
                    segment,
                    used: entry.used,
                    live: entry.live,
                    live_bits,
                },
            );
        }
        Ok(Index {
            len: cp.entries,
            base: Some(cp),
            delta: FxHashMap::default(),
            segments,
        })
    }

    /// Makes `cp`, just written from this index, its new base.
    pub(crate) fn rebase(&mut self, cp: Arc<Checkpoint>) {
        self.len = cp.entries;
        self.base = Some(cp);
        self.delta = FxHashMap::default();
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Entries changed since the base was written.
    pub(crate) fn delta_len(&self) -> u64 {
        self.delta.len() as u64
    }

    /// Whether `id` is present; `Corrupt` if the index page to read fails
    /// its checksum.
    pub(crate) fn contains(&self, id: u64) -> Result<bool> {
        Ok(self.lookup(id)?.is_some())
    }

    fn lookup(&self, id: u64) -> Result<Option<SlotRef>> {
        if self.delta.is_empty() {
            return self.base.as_ref().map_or(Ok(None), |b| b.lookup(id));
        }
        match (self.delta.get(&id), &self.base) {
            (Some(&at), _) => Ok((at != TOMBSTONE).then_some(at)),
            (None, Some(base)) => base.lookup(id),
            (None, None) => Ok(None),
        }
    }

    /// The segment and slot holding `id`.
    pub(crate) fn locate(&self, id: u64) -> Result<Option<(&SegmentSlots, u64)>> {
        let Some(at) = self.lookup(id)? else {
            return Ok(None);
        };
        match self.segments.get(&at.segment()) {
            Some(slots) if at.slot() < slots.used => Ok(Some((slots, at.slot()))),
            _ => Err(self.impossible(id, at)),
        }
    }

    fn impossible(&self, id: u64, at: SlotRef) -> Error {
        let path = self.base.as_ref().map(|b| b.path().to_path_buf());
        Error::corrupt(
            &path.unwrap_or_default(),
            format!("entry for id {id} points at an impossible slot {:#x}", at.0),
        )
    }

    /// Checks every page of the base, so that [`Self::entries`] sees no damage.
    pub(crate) fn check_base(&self) -> Result<()> {
        self.base.as_ref().map_or(Ok(()), |b| b.check_table())
    }

    /// Every `(id, slot)`: the base's entries not changed since, then the
    /// delta's. Call [`Self::check_base`] first.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, SlotRef)> + '_ {
        let base = self
            .base
            .iter()
            .flat_map(|cp| cp.entries())
            .filter(|(id, _)| !self.delta.contains_key(id));
        let delta = self
            .delta
            .iter()
            .filter(|(_, &at)| at != TOMBSTONE)
            .map(|(&id, &at)| (id, at));
        base.chain(delta)
    }

    pub(crate) fn segments(&self) -> impl Iterator<Item = &SegmentSlots> {
        self.segments.values()
    }

    pub(crate) fn segment(&self, id: u32) -> Option<&SegmentSlots> {
        self.segments.get(&id)
    }

    pub(crate) fn add_segment(&mut self, segment: Arc<Segment>, used: u64) {
        let words = segment.capacity().div_ceil(64) as usize;
        self.segments.insert(
            segment.id(),
            SegmentSlots {
                handles: ShardedArc::new(segment.clone()),
                segment,
                used,
                live: 0,
                live_bits: vec![0; words],
            },
        );
    }

    /// Forgets a segment that no entry points into any more.
    pub(crate) fn remove_segment(&mut self, id: u32) -> Option<Arc<Segment>> {
        let slots = self.segments.remove(&id)?;
        debug_assert_eq!(slots.live, 0);
        Some(slots.segment)
    }

    /// Records that slots up to `end` of `segment` have been handed out.
    pub(crate) fn mark_used(&mut self, segment: u32, end: u64) {
        let slots = self.segments.get_mut(&segment).expect("known segment");
        slots.used = slots.used.max(end);
    }

    /// Points `id` at `at`; the slot it pointed at before (if any) becomes
    /// dead. Changes nothing if the lookup fails (`Corrupt`).
    pub(crate) fn insert(&mut self, id: u64, at: SlotRef) -> Result<()> {
        let old = self.lookup(id)?;
        self.segments
            .get_mut(&at.segment())
            .expect("known segment")
            .set_live(at.slot(), true);
        match old {
            Some(old) => self.kill(old),
            None => self.len += 1,
        }
        self.delta.insert(id, at);
        Ok(())
    }

    /// Removes `id`; returns whether it was present. Changes nothing if the
    /// lookup fails (`Corrupt`).
    pub(crate) fn remove(&mut self, id: u64) -> Result<bool> {
        let Some(old) = self.lookup(id)? else {
            return Ok(false);
        };
        let in_base = match &self.base {
            Some(base) => base.lookup(id)?.is_some(),
            None => false,
        };
        self.kill(old);
        // Saturating: a damaged checkpoint may understate its entries (the
        // next checkpoint counts them afresh; verify reports the mismatch).
        self.len = self.len.saturating_sub(1);
        if in_base {
            self.delta.insert(id, TOMBSTONE);
        } else {
            self.delta.remove(&id);
        }
        Ok(true)
    }

    fn kill(&mut self, at: SlotRef) {
        if let Some(slots) = self.segments.get_mut(&at.segment()) {
            if at.slot() < slots.used && is_live(&slots.live_bits, at.slot()) {
                slots.set_live(at.slot(), false);
            }
        }
    }

    /// A frozen view of every live slot, for cursors and searches.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            segments: self
                .segments
                .values()
                .filter(|s| s.live > 0)
                .map(|s| SnapshotSegment {
                    segment: s.segment.clone(),
                    live_bits: s.live_bits[..s.used.div_ceil(64) as usize].to_vec(),
                })
                .collect(),
        }
    }
}

/// Whether bit `slot` of a live-slot bitmap is set.
pub(crate) fn is_live(bits: &[u64], slot: u64) -> bool {
    bits[(slot / 64) as usize] & (1 << (slot % 64)) != 0
}

/// The live slots of each segment at one instant. Holding it keeps the
/// segments mapped; slots are write-once, so the bytes it shows never change.
pub(crate) struct Snapshot {
    pub segments: Vec<SnapshotSegment>,
}

pub(crate) struct SnapshotSegment {
    pub segment: Arc<Segment>,
    pub live_bits: Vec<u64>,
}

impl SnapshotSegment {
    /// The live slots, in ascending order.
    pub(crate) fn live_slots(&self) -> impl Iterator<Item = u64> + '_ {
        self.live_bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                Some(w as u64 * 64 + u64::from(b))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ref_packs_segment_and_slot() {
        let r = SlotRef::new(7, 123_456);
        assert_eq!((r.segment(), r.slot()), (7, 123_456));
    }

    #[test]
    fn overwrite_and_delete_keep_counts() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path(), 1, 2, 130).unwrap());
        let mut index = Index::default();
        index.add_segment(seg, 0);
        index.mark_used(1, 3);
        index.insert(10, SlotRef::new(1, 0)).unwrap();
        index.insert(11, SlotRef::new(1, 1)).unwrap();
        index.insert(10, SlotRef::new(1, 2)).unwrap();
        let s = index.segment(1).unwrap();
        assert_eq!((s.used, s.live, s.dead(), s.room()), (3, 2, 1, 127));
        assert!(index.remove(11).unwrap());
        assert!(!index.remove(11).unwrap());
        assert_eq!(index.len(), 1);
        let snap = index.snapshot();
        let live: Vec<u64> = snap.segments[0].live_slots().collect();
        assert_eq!(live, vec![2]);
        assert_eq!(index.locate(10).unwrap().unwrap().1, 2);
    }

    #[test]
    fn live_slots_cross_word_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path(), 1, 1, 200).unwrap());
        let mut index = Index::default();
        index.add_segment(seg, 0);
        index.mark_used(1, 200);
        for slot in [0, 63, 64, 127, 128, 199] {
            index.insert(slot, SlotRef::new(1, slot)).unwrap();
        }
        let snap = index.snapshot();
        let live: Vec<u64> = snap.segments[0].live_slots().collect();
        assert_eq!(live, vec![0, 63, 64, 127, 128, 199]);
    }
}
