//! Where the writer's new slots come from: the active segment while it has
//! room, else a new segment sized by the growth policy.

use std::sync::Arc;
use std::time::Instant;

use super::{Stats, Store, Writer};
use crate::error::Result;
use crate::files::sync_dir;
use crate::segment::{self, Segment};

/// Slots in a new store's first segment unless `initial_capacity` says otherwise.
const DEFAULT_FIRST_SEGMENT_SLOTS: u64 = 4096;
/// Largest segment grown by policy (a single bigger batch still gets room).
const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// The writer's growth state: the next segment's id, the policy's smallest
/// size, and how long each segment took to create.
pub(super) struct Growth {
    next_segment: u32,
    first_segment_slots: u64,
    grow_ns: Vec<u64>,
}

impl Growth {
    /// Growth from segment id `next_segment` on; `initial_capacity` as in
    /// `Options` (0: the default first segment size).
    pub(super) fn new(next_segment: u32, initial_capacity: u64) -> Growth {
        let first_segment_slots = match initial_capacity {
            0 => DEFAULT_FIRST_SEGMENT_SLOTS,
            n => n,
        };
        Growth {
            next_segment,
            first_segment_slots,
            grow_ns: Vec::new(),
        }
    }

    /// The id the next new segment gets (what a checkpoint records).
    pub(super) fn next_segment(&self) -> u32 {
        self.next_segment
    }

    /// The growth fields of [`Stats`] (`capacity_grows`, `grow_p50_ns`,
    /// `grow_p99_ns`); every other field is left at its default.
    pub(super) fn stats(&self) -> Stats {
        let mut grow = self.grow_ns.clone();
        grow.sort_unstable();
        let percentile =
            |p: usize| grow.get((grow.len() * p / 100).min(grow.len().saturating_sub(1)));
        Stats {
            capacity_grows: grow.len() as u64,
            grow_p50_ns: percentile(50).copied().unwrap_or(0),
            grow_p99_ns: percentile(99).copied().unwrap_or(0),
            ..Stats::default()
        }
    }
}

impl Store {
    /// A segment with room for `count` consecutive slots starting at its `used`,
    /// growing by policy when the active segment lacks room.
    pub(crate) fn allocate(&self, w: &mut Writer, count: u64) -> Result<Arc<Segment>> {
        if let Some(active) = w.active {
            let index = self.index.read();
            let slots = index.segment(active).expect("active segment is indexed");
            if slots.room() >= count {
                return Ok(slots.segment.clone());
            }
        }
        let capacity = self.growth_capacity(w, count);
        self.grow(w, capacity)
    }

    /// Geometric growth (a new segment as large as all used so far), at least
    /// the first segment's size, at most `MAX_SEGMENT_BYTES`, and never less
    /// than `count`.
    fn growth_capacity(&self, w: &Writer, count: u64) -> u64 {
        let slot_size = segment::slot_size(self.dimension) as u64;
        let used: u64 = self.index.read().segments().map(|s| s.used).sum();
        used.max(w.growth.first_segment_slots)
            .min((MAX_SEGMENT_BYTES / slot_size).max(1))
            .max(count)
    }

    /// Creates a new active segment of `capacity` slots.
    pub(crate) fn grow(&self, w: &mut Writer, capacity: u64) -> Result<Arc<Segment>> {
        segment::check_capacity(self.dimension, capacity)?;
        let started = Instant::now();
        // The segment that stops taking writes gives back its descriptor (a
        // store holds one for its active segment only, whatever its size);
        // the next checkpoint syncs it through a new one.
        if let Some(a) = w.active {
            if let Some(old) = self.index.read().segment(a) {
                old.segment.release_file();
            }
        }
        // The id is used up even if creation fails halfway: a file left
        // behind is an orphan for the next open to remove, never a clash.
        let id = w.growth.next_segment;
        w.growth.next_segment += 1;
        let seg = Arc::new(Segment::create(&self.dir, id, self.dimension, capacity)?);
        sync_dir(&self.dir)?;
        w.growth.grow_ns.push(started.elapsed().as_nanos() as u64);
        w.active = Some(id);
        self.index.write().add_segment(seg.clone(), 0);
        Ok(seg)
    }
}
