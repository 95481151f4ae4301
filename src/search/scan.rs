//! The scan: every slot of a set of runs compared with every query, on the
//! calling thread and the pool's.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use rustc_hash::FxHashMap;

use super::kernels::{self, Kernels, Tile};
use super::pool::{cores, pool, Job};
use super::topk::{Filter, Hits, TopK};
use super::Metric;
use crate::index::Snapshot;
use crate::segment::{slot_id, Segment};

/// Longest run of slots: runs are what a scan's parts are made of.
const RUN_SLOTS: u64 = 128;
/// Below this many multiply-adds a scan stays on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 22;
/// Parts per thread of a parallel scan: more parts than threads even out
/// threads that run slower (another search, another program).
const PARTS_PER_THREAD: usize = 4;

/// A run of consecutive slots of one segment.
#[derive(Clone, Copy)]
pub(super) struct Run {
    /// Index into [`Slots::segments`].
    segment: usize,
    first: u64,
    len: u64,
}

/// The slots a search reads, as runs, with the segments it holds on to.
pub(super) struct Slots {
    segments: Vec<Arc<Segment>>,
    runs: Vec<Run>,
}

impl Slots {
    /// Every live slot of `snapshot`. A word of the live bitmap with every
    /// bit set extends a run by 64 slots at once.
    pub(super) fn live(snapshot: &Snapshot) -> Slots {
        let mut slots = Slots {
            segments: Vec::with_capacity(snapshot.segments.len()),
            runs: Vec::new(),
        };
        for (segment, seg) in snapshot.segments.iter().enumerate() {
            slots.segments.push(Arc::clone(&seg.segment));
            for (w, &word) in seg.live_bits.iter().enumerate() {
                let base = w as u64 * 64;
                if word == u64::MAX {
                    slots.push(segment, base, 64);
                    continue;
                }
                let mut bits = word;
                while bits != 0 {
                    let first = bits.trailing_zeros();
                    let len = (bits >> first).trailing_ones();
                    slots.push(segment, base + u64::from(first), u64::from(len));
                    bits &= !(((1u128 << len) - 1) as u64).wrapping_shl(first);
                }
            }
        }
        slots
    }

    /// The given slots (duplicates once), in file order. Each segment is
    /// held once, however many of its slots are listed.
    pub(super) fn listed<'a>(located: impl IntoIterator<Item = (&'a Arc<Segment>, u64)>) -> Slots {
        let mut held: FxHashMap<u32, &Arc<Segment>> = FxHashMap::default();
        // Segment id and slot in one key: a slot number fits in 32 bits.
        let mut keyed: Vec<u64> = located
            .into_iter()
            .map(|(segment, slot)| {
                held.entry(segment.id()).or_insert(segment);
                u64::from(segment.id()) << 32 | slot
            })
            .collect();
        keyed.sort_unstable();
        keyed.dedup();
        let mut segments: Vec<Arc<Segment>> = held.into_values().cloned().collect();
        segments.sort_unstable_by_key(|s| s.id());
        let mut slots = Slots {
            segments,
            runs: Vec::new(),
        };
        for key in keyed {
            let segment = slots
                .segments
                .binary_search_by_key(&((key >> 32) as u32), |s| s.id())
                .expect("every listed segment is held");
            slots.push(segment, key & u64::from(u32::MAX), 1);
        }
        slots
    }

    /// Adds `len` slots from `first` of `segment`, extending the last run
    /// when they follow it.
    fn push(&mut self, segment: usize, mut first: u64, mut len: u64) {
        if let Some(last) = self.runs.last_mut() {
            if last.segment == segment && last.first + last.len == first {
                let more = len.min(RUN_SLOTS - last.len);
                last.len += more;
                first += more;
                len -= more;
            }
        }
        while len > 0 {
            let here = len.min(RUN_SLOTS);
            self.runs.push(Run {
                segment,
                first,
                len: here,
            });
            first += here;
            len -= here;
        }
    }

    /// Slots in `runs`.
    fn count(runs: &[Run]) -> usize {
        runs.iter().map(|run| run.len as usize).sum()
    }

    /// The `k` best of every query among these slots that `filter` accepts,
    /// each query's closest first. A large scan is split into parts that the
    /// calling thread and up to `threads - 1` pool threads share.
    pub(super) fn search(
        self,
        queries: Queries,
        k: usize,
        threads: usize,
        filter: Option<Arc<Filter>>,
    ) -> Vec<Vec<super::Neighbor>> {
        let work = Slots::count(&self.runs) * queries.dim * queries.count();
        let threads = if work >= PARALLEL_MIN_WORK {
            threads
        } else {
            1
        };
        let tops = if threads > 1 && self.runs.len() > 1 {
            Scan::new(self, queries, k, threads, filter).run(threads)
        } else {
            queries.scan(&self, &self.runs, k, filter.as_deref())
        };
        tops.into_iter().map(TopK::into_sorted).collect()
    }
}

/// A scan shared by several threads: parts of the runs, claimed in turn.
struct Scan {
    slots: Slots,
    queries: Queries,
    k: usize,
    filter: Option<Arc<Filter>>,
    parts: Vec<Range<usize>>,
    /// The next part to claim.
    next: AtomicUsize,
    done: Mutex<Done>,
    finished: Condvar,
}

/// What the parts done so far found.
struct Done {
    parts: usize,
    tops: Option<Vec<TopK>>,
    /// The message of a part that panicked.
    panicked: Option<String>,
}

impl Scan {
    fn new(
        slots: Slots,
        queries: Queries,
        k: usize,
        threads: usize,
        filter: Option<Arc<Filter>>,
    ) -> Scan {
        let count = (threads * PARTS_PER_THREAD).min(slots.runs.len());
        let per = slots.runs.len().div_ceil(count);
        let parts = (0..slots.runs.len())
            .step_by(per)
            .map(|start| start..(start + per).min(slots.runs.len()))
            .collect();
        Scan {
            slots,
            queries,
            k,
            filter,
            parts,
            next: AtomicUsize::new(0),
            done: Mutex::new(Done {
                parts: 0,
                tops: None,
                panicked: None,
            }),
            finished: Condvar::new(),
        }
    }

    /// Scans with the calling thread and up to `threads - 1` pool threads;
    /// returns when every part is done.
    fn run(self, threads: usize) -> Vec<TopK> {
        let scan = Arc::new(self);
        let job: Arc<dyn Job> = scan.clone();
        pool().offer(&job, (threads - 1).min(scan.parts.len() - 1));
        scan.help();
        pool().withdraw(&job);
        let mut done = scan.done.lock();
        while done.parts < scan.parts.len() {
            scan.finished.wait(&mut done);
        }
        if let Some(message) = done.panicked.take() {
            panic!("a search thread panicked: {message}");
        }
        done.tops.take().expect("at least one part")
    }
}

impl Job for Scan {
    fn help(&self) {
        loop {
            let part = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(runs) = self.parts.get(part) else {
                return;
            };
            let runs = &self.slots.runs[runs.clone()];
            let found = catch_unwind(AssertUnwindSafe(|| {
                self.queries
                    .scan(&self.slots, runs, self.k, self.filter.as_deref())
            }));
            let mut done = self.done.lock();
            match found {
                Ok(tops) => match &mut done.tops {
                    Some(all) => all.iter_mut().zip(tops).for_each(|(a, t)| a.merge(t)),
                    None => done.tops = Some(tops),
                },
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    done.panicked = Some(message);
                }
            }
            done.parts += 1;
            if done.parts == self.parts.len() {
                self.finished.notify_all();
            }
        }
    }
}

/// The threads a search may use: `setting` (0: one per core), at most one
/// per core.
pub(super) fn threads(setting: usize) -> usize {
    if setting == 0 {
        cores()
    } else {
        setting.min(cores())
    }
}

/// Slots the in-place scan fetches ahead of the one it compares. Measured
/// at 1M x 128 on this project's 2-core machine through the Rust API: 1-3
/// give 26-28 GB/s on two threads, 0 (no prefetch) 21, 16 (the earlier
/// setting) 19: far ahead, the requests of 9 lines a slot crowd out the
/// ones the kernel waits for.
const IN_PLACE_PREFETCH: usize = 2;

/// Blocks the packed scan fetches ahead of the one it compares.
const PACKED_PREFETCH: usize = 1;

/// From this many queries on, a scan packs each block of vectors for the
/// tile kernel; fewer queries are compared with each vector in place. (On
/// AVX-512 at 1M x 128 the two paths break even at 5 queries.)
const PACKED_MIN_QUERIES: usize = 6;

/// Every slot of `runs` (runs of `slots`) as (vector, slot image), in
/// order, asking the CPU to fetch every line of the slot `ahead` places
/// further on: a scan's compute then overlaps its memory reads.
fn live_vectors<'r>(
    slots: &'r Slots,
    runs: &'r [Run],
    ahead: usize,
) -> impl Iterator<Item = (&'r [f32], &'r [u8])> {
    let all = runs.iter().flat_map(|run| {
        let segment = &slots.segments[run.segment];
        (run.first..run.first + run.len).map(|slot| (segment.vector(slot), segment.slot(slot)))
    });
    let mut later = all.clone().skip(ahead);
    all.inspect(move |_| {
        if let Some((_, next)) = later.next() {
            kernels::prefetch(next);
        }
    })
}

/// The queries of one search, prepared once (and owned, so that pool
/// threads may scan with them).
pub(super) struct Queries {
    data: Vec<f32>,
    dim: usize,
    norms: Vec<f32>,
    metric: Metric,
    kernels: &'static Kernels,
}

impl Queries {
    /// `data`: rows of `dim` finite floats.
    pub(super) fn new(
        kernels: &'static Kernels,
        data: &[f32],
        dim: usize,
        metric: Metric,
    ) -> Queries {
        Queries {
            data: data.to_vec(),
            dim,
            norms: data.chunks_exact(dim).map(|q| norm(kernels, q)).collect(),
            metric,
            kernels,
        }
    }

    pub(super) fn count(&self) -> usize {
        self.norms.len()
    }

    fn query(&self, q: usize) -> &[f32] {
        &self.data[q * self.dim..(q + 1) * self.dim]
    }

    /// Raw kernel output (sum of squares, or inner product) to distance; the
    /// tile kernel computes the same in SIMD lanes.
    #[inline]
    fn distance(&self, q: usize, raw: f32, vector_norm: f32) -> f32 {
        match self.metric {
            Metric::L2 => raw,
            Metric::Dot => -raw,
            Metric::Cosine => {
                let norm = vector_norm * self.norms[q];
                if norm == 0.0 {
                    1.0
                } else {
                    1.0 - raw / norm
                }
            }
        }
    }

    /// The Euclidean norm of `vector` when the metric needs it.
    fn vector_norm(&self, vector: &[f32]) -> f32 {
        if self.metric == Metric::Cosine {
            norm(self.kernels, vector)
        } else {
            0.0
        }
    }

    /// The distance from query `q` to `vector`, in f64.
    fn exact(&self, q: usize, vector: &[f32]) -> f32 {
        exact_distance(self.metric, self.query(q), vector)
    }

    /// Compares every query with every vector of `runs` (runs of `slots`),
    /// keeping the `k` best the filter accepts.
    fn scan(&self, slots: &Slots, runs: &[Run], k: usize, filter: Option<&Filter>) -> Vec<TopK> {
        let mut hits = Hits::new(self.count(), k, Slots::count(runs), filter);
        if self.count() < PACKED_MIN_QUERIES {
            self.scan_in_place(slots, runs, &mut hits);
        } else {
            self.scan_packed(slots, runs, &mut hits);
        }
        hits.tops
    }

    /// Each vector read once from its mapping and compared with every query
    /// while it is in L1.
    fn scan_in_place(&self, slots: &Slots, runs: &[Run], hits: &mut Hits<'_>) {
        let kernel = if self.metric == Metric::L2 {
            self.kernels.l2
        } else {
            self.kernels.dot
        };
        for (vector, slot) in live_vectors(slots, runs, IN_PLACE_PREFETCH) {
            let norm = self.vector_norm(vector);
            for q in 0..self.count() {
                let distance = self.distance(q, kernel(self.query(q), vector), norm);
                hits.offer(q, distance, || slot_id(slot), || self.exact(q, vector));
            }
        }
    }

    /// Vectors packed a block at a time into panels; each block is compared
    /// with every query, a tile of queries per kernel call, while it is in
    /// cache.
    fn scan_packed(&self, slots: &Slots, runs: &[Run], hits: &mut Hits<'_>) {
        let block = self.kernels.block;
        let mut rows: Vec<&[f32]> = Vec::with_capacity(block);
        let mut ids = Vec::with_capacity(block);
        let mut packed = Block {
            vectors: vec![0.0; block * self.dim],
            norms: vec![0.0; block],
        };
        let mut distances = vec![0.0; self.kernels.tile_queries * block];
        // One block ahead: its slots arrive while this block computes.
        let mut vectors = live_vectors(slots, runs, PACKED_PREFETCH * block);
        loop {
            rows.clear();
            ids.clear();
            for (vector, slot) in vectors.by_ref().take(block) {
                rows.push(vector);
                ids.push(slot_id(slot));
            }
            let Some(last) = rows.last().copied() else {
                break;
            };
            for (norm, row) in packed.norms.iter_mut().zip(&rows) {
                *norm = self.vector_norm(row);
            }
            // A partial block repeats its last vector (its norms lanes keep
            // stale values); those lanes are masked out.
            rows.resize(block, last);
            (self.kernels.pack)(&rows, &mut packed.vectors);
            self.search_block(&packed, &rows, &ids, hits, &mut distances);
        }
    }

    /// Offers the vectors of one packed block (`rows` and `ids` per filled
    /// lane) to every query.
    fn search_block(
        &self,
        block: &Block,
        rows: &[&[f32]],
        ids: &[u64],
        hits: &mut Hits<'_>,
        distances: &mut [f32],
    ) {
        let (dim, block_lanes, tile_queries) =
            (self.dim, self.kernels.block, self.kernels.tile_queries);
        let valid = u64::MAX >> (64 - ids.len());
        let mut within = [0u64; kernels::MAX_TILE_QUERIES];
        for first in (0..self.count()).step_by(tile_queries) {
            let end = (first + tile_queries).min(self.count());
            let tile = Tile {
                queries: &self.data[first * dim..end * dim],
                query_norms: &self.norms[first..end],
                bounds: &hits.bounds[first..end],
                packed: &block.vectors,
                vector_norms: &block.norms,
                dim,
                metric: self.metric,
            };
            (self.kernels.tile)(&tile, distances, &mut within);
            for q in first..end {
                let mut lanes = within[q - first] & valid;
                while lanes != 0 {
                    let lane = lanes.trailing_zeros() as usize;
                    lanes &= lanes - 1;
                    let distance = distances[(q - first) * block_lanes + lane];
                    hits.offer(q, distance, || ids[lane], || self.exact(q, rows[lane]));
                }
            }
        }
    }
}

/// The Euclidean norm of `vector` for cosine, or NaN when its square is out
/// of float's normal range (it overflowed, or a non-zero vector underflowed):
/// the NaN makes every cosine distance to the vector non-finite, and so
/// recomputed by [`exact_distance`].
fn norm(kernels: &Kernels, vector: &[f32]) -> f32 {
    let squared = (kernels.dot)(vector, vector);
    if squared.is_normal() {
        squared.sqrt()
    } else if vector.iter().all(|x| *x == 0.0) {
        0.0
    } else {
        f32::NAN
    }
}

/// The distance from `q` to `v` computed in f64, for the rare pair whose
/// float computation overflowed: f64 holds any sum of products of floats, so
/// the result is never NaN, and it is +/-infinity only when the true
/// distance is beyond float's range.
fn exact_distance(metric: Metric, q: &[f32], v: &[f32]) -> f32 {
    let pairs = q.iter().zip(v).map(|(a, b)| (f64::from(*a), f64::from(*b)));
    match metric {
        Metric::L2 => pairs.map(|(a, b)| (a - b) * (a - b)).sum::<f64>() as f32,
        Metric::Dot => -pairs.map(|(a, b)| a * b).sum::<f64>() as f32,
        Metric::Cosine => {
            let (dot, qq, vv) = pairs.fold((0.0, 0.0, 0.0), |(dot, qq, vv), (a, b)| {
                (dot + a * b, qq + a * a, vv + b * b)
            });
            let norms = qq.sqrt() * vv.sqrt();
            if norms == 0.0 {
                1.0
            } else {
                (1.0 - dot / norms) as f32
            }
        }
    }
}

/// One block of vectors packed for the tile kernel.
struct Block {
    vectors: Vec<f32>,
    /// Euclidean norms (cosine only).
    norms: Vec<f32>,
}
