//! Exact k-nearest-neighbour search: a scan of every live slot of a snapshot,
//! straight from the mapped segments, keeping the k best per query in a
//! bounded heap.
//!
//! Speed comes from three things: distance kernels compiled for the CPU's
//! widest vector unit (AVX-512, AVX2+FMA or NEON, chosen at run time; a
//! portable fallback otherwise), cache blocking for many queries (a block of
//! stored vectors is compared with every query while it sits in cache), and
//! one thread per core for large scans.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::{Error, Result};
use crate::index::Snapshot;
use crate::segment::{slot_id, Segment};
use crate::store::Store;
use kernels::{kernels, Kernels, Tile};

mod kernels;

/// How distance is measured; smaller is always closer. Later versions may
/// add metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// Squared Euclidean distance.
    L2,
    /// Negative inner product.
    Dot,
    /// One minus cosine similarity (1 when either vector is all zeros).
    Cosine,
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The vector's id.
    pub id: u64,
    /// Its distance to the query under the search's metric.
    pub distance: f32,
}

/// Longest run of slots: runs are what threads divide a scan by.
const RUN_SLOTS: usize = 128;
/// Below this many multiply-adds a scan stays on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 22;

/// Name of the kernel set in use ("avx512f,fma", "avx2,fma", "neon" or
/// "portable").
pub fn search_kernel() -> &'static str {
    kernels().name
}

// ---- top-k -----------------------------------------------------------------

/// Orders candidates by distance, then id: the heap's top is the worst kept.
#[derive(Clone, Copy)]
struct Candidate(Neighbor);

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .distance
            .total_cmp(&other.0.distance)
            .then(self.0.id.cmp(&other.0.id))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}

/// The k best candidates seen so far.
struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    /// `live` bounds the room reserved: k may be far larger than the store.
    fn new(k: usize, live: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(live) + 1),
        }
    }

    /// Distance a candidate must beat (or tie with a smaller id) to get in.
    #[inline]
    fn bound(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |c| c.0.distance)
        }
    }

    fn offer(&mut self, candidate: Candidate) {
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if self.heap.peek().is_some_and(|worst| candidate < *worst) {
            self.heap.pop();
            self.heap.push(candidate);
        }
    }

    fn merge(&mut self, other: TopK) {
        for c in other.heap {
            self.offer(c);
        }
    }

    fn into_sorted(self) -> Vec<Neighbor> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| c.0)
            .collect()
    }
}

// ---- scan ------------------------------------------------------------------

/// A run of consecutive live slots.
struct Run<'a> {
    segment: &'a Segment,
    first: u64,
    len: u64,
}

fn runs(snapshot: &Snapshot) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    for seg in &snapshot.segments {
        let mut current: Option<(u64, u64)> = None;
        for slot in seg.live_slots() {
            current = match current {
                Some((first, len)) if first + len == slot && len < RUN_SLOTS as u64 => {
                    Some((first, len + 1))
                }
                Some((first, len)) => {
                    runs.push(Run {
                        segment: &seg.segment,
                        first,
                        len,
                    });
                    Some((slot, 1))
                }
                None => Some((slot, 1)),
            };
        }
        if let Some((first, len)) = current {
            runs.push(Run {
                segment: &seg.segment,
                first,
                len,
            });
        }
    }
    runs
}

/// Every query's best candidates so far, and the distance a candidate must
/// meet to be offered (kept beside the heaps so a miss is one comparison).
struct Hits {
    tops: Vec<TopK>,
    bounds: Vec<f32>,
}

impl Hits {
    fn new(queries: usize, k: usize, live: usize) -> Hits {
        Hits {
            tops: (0..queries).map(|_| TopK::new(k, live)).collect(),
            bounds: vec![f32::INFINITY; queries],
        }
    }

    /// Offers a candidate to query `q`; `id` is read only when it may get in.
    /// A distance that is not finite comes from a float overflow (a sum, or a
    /// cosine norm marked NaN by [`norm`]): `exact` recomputes it in f64, so
    /// every vector ranks where its true distance puts it.
    #[inline]
    fn offer(
        &mut self,
        q: usize,
        distance: f32,
        id: impl FnOnce() -> u64,
        exact: impl FnOnce() -> f32,
    ) {
        let distance = if distance.is_finite() {
            distance
        } else {
            exact()
        };
        // -0 becomes +0, so that equal distances tie by id alone.
        let distance = distance + 0.0;
        if distance <= self.bounds[q] {
            let top = &mut self.tops[q];
            top.offer(Candidate(Neighbor { id: id(), distance }));
            self.bounds[q] = top.bound();
        }
    }
}

/// From this many queries on, a scan packs each block of vectors for the
/// tile kernel; fewer queries are compared with each vector in place. (On
/// AVX-512 at 1M x 128 the two paths break even at 5 queries.)
const PACKED_MIN_QUERIES: usize = 6;

/// Slots the in-place scan fetches ahead of the one it compares.
const IN_PLACE_PREFETCH: usize = 16;

/// Every slot of `runs` as (vector, slot image), in order, asking the CPU to
/// fetch the slot `ahead` places further on: a scan's compute then overlaps
/// its memory reads.
fn live_vectors<'r>(
    runs: &'r [Run<'r>],
    ahead: usize,
) -> impl Iterator<Item = (&'r [f32], &'r [u8])> {
    let all = runs.iter().flat_map(|run| {
        (run.first..run.first + run.len)
            .map(|slot| (run.segment.vector(slot), run.segment.slot(slot)))
    });
    let mut later = all.clone().skip(ahead);
    all.inspect(move |_| {
        if let Some((_, next)) = later.next() {
            kernels::prefetch(next);
        }
    })
}

/// The queries of one search, prepared once.
struct Queries<'a> {
    data: &'a [f32],
    dim: usize,
    norms: Vec<f32>,
    metric: Metric,
    kernels: &'static Kernels,
}

impl Queries<'_> {
    fn count(&self) -> usize {
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

    /// Compares every query with every vector of `runs`.
    fn scan(&self, runs: &[Run<'_>], k: usize) -> Vec<TopK> {
        let live = runs.iter().map(|run| run.len as usize).sum();
        let mut hits = Hits::new(self.count(), k, live);
        if self.count() < PACKED_MIN_QUERIES {
            self.scan_in_place(runs, &mut hits);
        } else {
            self.scan_packed(runs, &mut hits);
        }
        hits.tops
    }

    /// Each vector read once from its mapping and compared with every query
    /// while it is in L1.
    fn scan_in_place(&self, runs: &[Run<'_>], hits: &mut Hits) {
        let kernel = if self.metric == Metric::L2 {
            self.kernels.l2
        } else {
            self.kernels.dot
        };
        for (vector, slot) in live_vectors(runs, IN_PLACE_PREFETCH) {
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
    fn scan_packed(&self, runs: &[Run<'_>], hits: &mut Hits) {
        let block = self.kernels.block;
        let mut rows: Vec<&[f32]> = Vec::with_capacity(block);
        let mut ids = Vec::with_capacity(block);
        let mut packed = Block {
            vectors: vec![0.0; block * self.dim],
            norms: vec![0.0; block],
        };
        let mut distances = vec![0.0; self.kernels.tile_queries * block];
        // One block ahead: its slots arrive while this block computes.
        let mut vectors = live_vectors(runs, block);
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
        hits: &mut Hits,
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

impl Store {
    /// The `k` live vectors closest to `query`, closest first, ties broken by
    /// smaller id; fewer when the store holds fewer. Scans a snapshot, so
    /// concurrent writers neither block nor tear it.
    pub fn search(&self, query: &[f32], k: usize, metric: Metric) -> Result<Vec<Neighbor>> {
        Ok(self
            .search_batch(query, k, metric)?
            .pop()
            .expect("one query, one result"))
    }

    /// [`Store::search`] for many queries at once (row-major, `dimension`
    /// floats each): one pass over the stored vectors serves every query.
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dimension as usize;
        if !queries.len().is_multiple_of(dim) || queries.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::DimensionMismatch,
                format!(
                    "{} query floats are not a positive multiple of the store's dimension {dim}",
                    queries.len()
                ),
            ));
        }
        if queries.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("query has a non-finite value"));
        }
        self.catch_up()?;
        Ok(self.search_with(kernels(), queries, k, metric))
    }

    /// The search proper, with a given kernel set; `queries` are checked.
    fn search_with(
        &self,
        kernels: &'static Kernels,
        queries: &[f32],
        k: usize,
        metric: Metric,
    ) -> Vec<Vec<Neighbor>> {
        let dim = self.dimension as usize;
        let prepared = Queries {
            data: queries,
            dim,
            norms: queries
                .chunks_exact(dim)
                .map(|q| norm(kernels, q))
                .collect(),
            metric,
            kernels,
        };
        if k == 0 {
            return vec![Vec::new(); prepared.count()];
        }
        let snapshot = self.index.read().snapshot();
        let runs = runs(&snapshot);
        let live: usize = runs.iter().map(|r| r.len as usize).sum();
        let work = live * dim * prepared.count();
        let threads = if work >= PARALLEL_MIN_WORK && runs.len() > 1 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            1
        };
        let tops = if threads > 1 {
            let prepared = &prepared;
            let mut parts = runs.chunks(runs.len().div_ceil(threads));
            let mine = parts.next().expect("runs is not empty");
            std::thread::scope(|s| {
                // A thread the OS refuses (a thread or memory limit) costs
                // only speed: its part is scanned on this thread instead.
                let others: Vec<_> = parts
                    .map(|part| {
                        std::thread::Builder::new()
                            .spawn_scoped(s, move || prepared.scan(part, k))
                            .map_err(|_| part)
                    })
                    .collect();
                let mut tops = prepared.scan(mine, k);
                for other in others {
                    let theirs = match other {
                        Ok(thread) => thread.join().expect("scan thread"),
                        Err(part) => prepared.scan(part, k),
                    };
                    for (mine, theirs) in tops.iter_mut().zip(theirs) {
                        mine.merge(theirs);
                    }
                }
                tops
            })
        } else {
            prepared.scan(&runs, k)
        };
        tops.into_iter().map(TopK::into_sorted).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Durability, Options};

    /// A fresh store of `dim` floats without a log, in a directory that
    /// lives as long as the returned guard.
    fn scratch_store(dim: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            durability: Durability::None,
            create_if_missing: true,
            ..Options::default()
        };
        let store = Store::open(dir.path(), dim as u32, &options).unwrap();
        (dir, store)
    }

    /// Every kernel set this CPU runs gives the same results through the
    /// whole scan (block sizes differ: 64, 16, 8 lanes), in place and packed,
    /// with deletions breaking the runs.
    #[test]
    fn every_kernel_set_finds_the_same_neighbours() {
        let dim = 19;
        let (_dir, store) = scratch_store(dim);
        let mut x = 1u32;
        let mut next = move || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let ids: Vec<u64> = (0..3001).collect();
        let rows: Vec<f32> = (0..ids.len() * dim).map(|_| next()).collect();
        store.put_batch(&ids, &rows).unwrap();
        for id in (0..3001).step_by(7) {
            store.delete(id).unwrap();
        }
        let queries: Vec<f32> = (0..9 * dim).map(|_| next()).collect();
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            for count in [1, 3, 9] {
                let queries = &queries[..count * dim];
                let sets = kernels::runnable();
                let expected = store.search_with(sets[0], queries, 20, metric);
                for set in &sets[1..] {
                    let got = store.search_with(set, queries, 20, metric);
                    for (want, got) in expected.iter().zip(&got) {
                        let ids = |n: &[Neighbor]| n.iter().map(|n| n.id).collect::<Vec<_>>();
                        assert_eq!(ids(want), ids(got), "{} {metric:?} count={count}", set.name);
                        for (w, g) in want.iter().zip(got) {
                            assert!((w.distance - g.distance).abs() <= 1e-5, "{}", set.name);
                        }
                    }
                }
            }
        }
    }

    /// Distances whose float computation overflows or underflows (huge and
    /// tiny vectors, a huge query, a product that rounds to -0) come out as
    /// their f64 distances within float rounding, ranked closest first with
    /// equal distances by id, with every kernel set, in place and packed.
    #[test]
    fn extreme_magnitudes_rank_as_in_f64() {
        let (_dir, store) = scratch_store(2);
        let vectors: [[f32; 2]; 10] = [
            [0.0, 1e-30],
            [-1.0, -1.0],
            [1.0, -1.0],
            [1e20, 1e20],
            [1.0, 1.0],
            [1e-25, 0.0],
            [1e20, -1e20],
            [0.0, 0.0],
            [3e38, -3e38],
            [-2.0, 0.5],
        ];
        for (id, v) in vectors.iter().enumerate() {
            store.put(id as u64, v).unwrap();
        }
        let queries: Vec<f32> = [
            [1e20f32, 1e20],
            [1.0, 1.0],
            [1.0, 0.0],
            [0.0, -1e-30],
            [3e38, 3e38],
            [1e-25, 1e-25],
        ]
        .concat();
        for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
            // What float rounding may cost: relative for L2, relative to the
            // sum of |products| for dot (cancellation), absolute for cosine.
            let tolerance = |q: &[f32], v: &[f32], exact: f64| match metric {
                Metric::L2 => 1e-6 * exact.abs(),
                Metric::Dot => q
                    .iter()
                    .zip(v)
                    .map(|(a, b)| 1e-6 * (f64::from(*a) * f64::from(*b)).abs())
                    .sum(),
                Metric::Cosine => 1e-6,
            };
            for set in kernels::runnable() {
                let one_by_one = queries
                    .chunks(2)
                    .map(|q| store.search_with(set, q, 10, metric).pop().unwrap());
                let together = store.search_with(set, &queries, 10, metric);
                for (path, results) in [("single", one_by_one.collect()), ("packed", together)] {
                    for (q, got) in queries.chunks(2).zip(&results) {
                        let what = format!("{} {path} {metric:?} query {q:?}: {got:?}", set.name);
                        let mut ids: Vec<u64> = got.iter().map(|n| n.id).collect();
                        ids.sort_unstable();
                        assert_eq!(ids, (0..10).collect::<Vec<u64>>(), "{what}");
                        assert!(
                            got.windows(2).all(|w| w[0].distance < w[1].distance
                                || (w[0].distance == w[1].distance && w[0].id < w[1].id)),
                            "{what}: not closest first, ties by id"
                        );
                        for n in got {
                            let v = &vectors[n.id as usize];
                            let exact = kernels::tests::reference(metric, q, v);
                            let off = (f64::from(n.distance) - exact).abs();
                            assert!(
                                // Beyond float's range: +/-infinity.
                                n.distance == exact as f32 || off <= tolerance(q, v, exact),
                                "{what}: id {} is {exact} in f64",
                                n.id
                            );
                        }
                    }
                }
            }
        }
    }

    /// A vector whose float distance overflows to +infinity though its true
    /// distance is finite and the closest, met after the heap is full (so
    /// the admission bound is finite): the packed path must still pass its
    /// lane on for the f64 recomputation, with every kernel set.
    #[test]
    fn an_overflowed_distance_still_beats_a_full_heap() {
        let (_dir, store) = scratch_store(3);
        // Dot distance 3.3e38 each: finite, and they fill the heap first.
        for id in 1..=100u64 {
            store.put(id, &[-3.3e19, 0.0, 0.0]).unwrap();
        }
        // True distance 3e38, but -3e38 - 3e38 overflows before + 3e38.
        store.put(1000, &[-3e19, -3e19, 3e19]).unwrap();
        let query = [1e19f32, 1e19, 1e19];
        for set in kernels::runnable() {
            for count in [1, 6] {
                let found = store.search_with(set, &query.repeat(count), 1, Metric::Dot);
                for hits in found {
                    assert_eq!(hits.len(), 1);
                    assert_eq!(hits[0].id, 1000, "{} count={count}: {hits:?}", set.name);
                    assert_eq!(hits[0].distance, 3e38, "{}", set.name);
                }
            }
        }
    }
}
