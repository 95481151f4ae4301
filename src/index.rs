//! The in-memory id index: which slot holds each live id, and which slots of
//! each segment are used and live.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::segment::Segment;

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
        self.used - self.live
    }
}

/// Id → slot map plus per-segment slot accounting. Mutated only by the writer.
#[derive(Default)]
pub(crate) struct Index {
    map: FxHashMap<u64, SlotRef>,
    segments: BTreeMap<u32, SegmentSlots>,
}

impl Index {
    pub(crate) fn with_capacity(entries: usize) -> Index {
        Index {
            map: FxHashMap::with_capacity_and_hasher(entries, Default::default()),
            segments: BTreeMap::new(),
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.map.contains_key(&id)
    }

    /// The segment and slot holding `id`.
    pub(crate) fn locate(&self, id: u64) -> Option<(&Arc<Segment>, u64)> {
        let at = *self.map.get(&id)?;
        Some((&self.segments[&at.segment()].segment, at.slot()))
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, SlotRef)> + '_ {
        self.map.iter().map(|(&id, &at)| (id, at))
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

    /// Points `id` at `at`; the slot it pointed at before (if any) becomes dead.
    pub(crate) fn insert(&mut self, id: u64, at: SlotRef) {
        self.segments
            .get_mut(&at.segment())
            .expect("known segment")
            .set_live(at.slot(), true);
        if let Some(old) = self.map.insert(id, at) {
            self.kill(old);
        }
    }

    /// Removes `id`; returns whether it was present.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match self.map.remove(&id) {
            Some(old) => {
                self.kill(old);
                true
            }
            None => false,
        }
    }

    fn kill(&mut self, at: SlotRef) {
        if let Some(slots) = self.segments.get_mut(&at.segment()) {
            slots.set_live(at.slot(), false);
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
        index.insert(10, SlotRef::new(1, 0));
        index.insert(11, SlotRef::new(1, 1));
        index.insert(10, SlotRef::new(1, 2));
        let s = index.segment(1).unwrap();
        assert_eq!((s.used, s.live, s.dead(), s.room()), (3, 2, 1, 127));
        assert!(index.remove(11));
        assert!(!index.remove(11));
        assert_eq!(index.len(), 1);
        let snap = index.snapshot();
        let live: Vec<u64> = snap.segments[0].live_slots().collect();
        assert_eq!(live, vec![2]);
        assert_eq!(index.locate(10).unwrap().1, 2);
    }

    #[test]
    fn live_slots_cross_word_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path(), 1, 1, 200).unwrap());
        let mut index = Index::default();
        index.add_segment(seg, 0);
        index.mark_used(1, 200);
        for slot in [0, 63, 64, 127, 128, 199] {
            index.insert(slot, SlotRef::new(1, slot));
        }
        let snap = index.snapshot();
        let live: Vec<u64> = snap.segments[0].live_slots().collect();
        assert_eq!(live, vec![0, 63, 64, 127, 128, 199]);
    }
}
