//! Zero-copy read handles: guards pin one vector, cursors pin a snapshot.

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::index::Snapshot;
use crate::segment::{slot_id, Segment};
use crate::shards::{Padded, ShardedArc};

/// Counts guards and cursors alive, for `Stats::guards_outstanding`: each
/// holds a reference of its thread's shard.
pub(crate) struct PinCount(ShardedArc<()>);

impl Default for PinCount {
    fn default() -> PinCount {
        PinCount(ShardedArc::new(()))
    }
}

impl PinCount {
    fn pin(&self) -> Pin {
        Pin {
            _held: self.0.clone_for_thread(),
        }
    }
    pub(crate) fn outstanding(&self) -> u64 {
        self.0.held_elsewhere()
    }
}

/// Counted as outstanding while it lives.
struct Pin {
    _held: Arc<Padded<()>>,
}

/// A borrowed vector, read straight from the store's read-only mapping.
///
/// The bytes stay valid and unchanged until the guard is dropped, whatever
/// happens to the store meanwhile (overwrite or delete of the id, compaction,
/// growth, close): slots are never rewritten while visible, and the guard keeps
/// the segment's mapping alive. Holding a guard takes no lock.
pub struct VectorGuard {
    /// The calling thread's shard of the segment's references: taking and
    /// dropping it writes no cache line that other threads' guards use.
    segment: Arc<Padded<Arc<Segment>>>,
    slot: u64,
    id: u64,
    _pin: Pin,
}

impl VectorGuard {
    pub(crate) fn new(
        segment: &ShardedArc<Arc<Segment>>,
        slot: u64,
        id: u64,
        pins: &PinCount,
    ) -> VectorGuard {
        VectorGuard {
            segment: segment.clone_for_thread(),
            slot,
            id,
            _pin: pins.pin(),
        }
    }

    /// The vector's values.
    pub fn data(&self) -> &[f32] {
        self.segment.0.vector(self.slot)
    }

    /// The id the vector was read for.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// A scan over the live vectors of one instant, in unspecified order.
pub struct Cursor {
    snapshot: Snapshot,
    segment: usize,
    slots: Vec<u64>,
    next: usize,
    _pin: Pin,
}

impl Cursor {
    pub(crate) fn new(snapshot: Snapshot, pins: &PinCount) -> Cursor {
        Cursor {
            snapshot,
            segment: 0,
            slots: Vec::new(),
            next: 0,
            _pin: pins.pin(),
        }
    }

    /// The next `(id, vector)`, or `None` at the end. The vector borrows the
    /// cursor: it stays valid until the next call. A slot whose checksum does
    /// not match gives `Corrupt` (and the scan can go on past it).
    #[allow(clippy::should_implement_trait)] // lending: the item borrows the cursor
    pub fn next(&mut self) -> Result<Option<(u64, &[f32])>> {
        while self.next == self.slots.len() {
            let Some(seg) = self.snapshot.segments.get(self.segment) else {
                return Ok(None);
            };
            self.slots.clear();
            self.slots.extend(seg.live_slots());
            self.next = 0;
            self.segment += 1;
        }
        let seg = &self.snapshot.segments[self.segment - 1].segment;
        let slot = self.slots[self.next];
        self.next += 1;
        if !seg.slot_is_intact(slot) {
            return Err(corrupt_slot(seg, slot));
        }
        Ok(Some((slot_id(seg.slot(slot)), seg.vector(slot))))
    }
}

/// The error for a slot whose bytes fail their checksum.
pub(crate) fn corrupt_slot(segment: &Segment, slot: u64) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!(
            "{}: slot {slot} fails its checksum or holds another id",
            segment.path().display()
        ),
    )
}
