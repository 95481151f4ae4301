//! Exact k-nearest-neighbour search: a scan of every live slot of a snapshot,
//! straight from the mapped segments, keeping the k best per query in a
//! bounded heap.
//!
//! Speed comes from three things: distance kernels compiled for the CPU's
//! widest vector unit (AVX-512 or AVX2+FMA, chosen at run time; NEON and SSE2
//! through the portable kernel), cache blocking for many queries (a block of
//! stored vectors is compared with every query while it sits in cache), and
//! one thread per core for large scans.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::index::Snapshot;
use crate::segment::{slot_id, Segment};
use crate::store::Store;

/// How distance is measured; smaller is always closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    pub id: u64,
    pub distance: f32,
}

/// Stored vectors compared with every query while they sit in cache.
const BLOCK_SLOTS: usize = 128;
/// Below this many multiply-adds a scan stays on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 22;

// ---- kernels ---------------------------------------------------------------

/// Lanes per accumulator block: one AVX-512 register (two AVX2, four SSE or
/// NEON ones). Each kernel keeps four blocks, i.e. four independent FMA
/// chains, so it is not bound by the FMA latency.
const LANES: usize = 16;

/// One step of a sum of products (`L2 = false`) or of squared differences.
#[inline(always)]
fn step<const FMA: bool, const L2: bool>(acc: f32, x: f32, y: f32) -> f32 {
    let (a, b) = if L2 { (x - y, x - y) } else { (x, y) };
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

/// Sums a block by halves, so the compiler reduces it with vector adds.
#[inline(always)]
fn reduce(mut acc: [f32; LANES]) -> f32 {
    let mut half = LANES / 2;
    while half > 0 {
        for i in 0..half {
            acc[i] += acc[i + half];
        }
        half /= 2;
    }
    acc[0]
}

/// One query against one vector, four blocks of accumulators.
#[inline(always)]
fn one<const FMA: bool, const L2: bool>(q: &[f32], v: &[f32]) -> f32 {
    let mut acc = [[0f32; LANES]; 4];
    let (cq, cv) = (q.chunks_exact(4 * LANES), v.chunks_exact(4 * LANES));
    let (rq, rv) = (cq.remainder(), cv.remainder());
    for (x, y) in cq.zip(cv) {
        for (b, block) in acc.iter_mut().enumerate() {
            for i in 0..LANES {
                block[i] = step::<FMA, L2>(block[i], x[b * LANES + i], y[b * LANES + i]);
            }
        }
    }
    let (cq, cv) = (rq.chunks_exact(LANES), rv.chunks_exact(LANES));
    let mut tail = 0.0;
    for (x, y) in cq.remainder().iter().zip(cv.remainder()) {
        tail = step::<FMA, L2>(tail, *x, *y);
    }
    for (x, y) in cq.zip(cv) {
        for i in 0..LANES {
            acc[0][i] = step::<FMA, L2>(acc[0][i], x[i], y[i]);
        }
    }
    let mut sum = [0f32; LANES];
    for block in &acc {
        for i in 0..LANES {
            sum[i] += block[i];
        }
    }
    reduce(sum) + tail
}

/// Four queries against one vector: each block of the vector is loaded once
/// and feeds four independent chains.
#[inline(always)]
fn four<const FMA: bool, const L2: bool>(q: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
    let mut acc = [[0f32; LANES]; 4];
    let whole = v.len() / LANES * LANES;
    for start in (0..whole).step_by(LANES) {
        let y = &v[start..start + LANES];
        for (block, query) in acc.iter_mut().zip(q) {
            let x = &query[start..start + LANES];
            for i in 0..LANES {
                block[i] = step::<FMA, L2>(block[i], x[i], y[i]);
            }
        }
    }
    let mut out = [0f32; 4];
    for ((o, block), query) in out.iter_mut().zip(acc).zip(q) {
        let mut tail = 0.0;
        for i in whole..v.len() {
            tail = step::<FMA, L2>(tail, query[i], v[i]);
        }
        *o = reduce(block) + tail;
    }
    out
}

/// Distance kernels for one instruction set.
struct Kernels {
    name: &'static str,
    dot: fn(&[f32], &[f32]) -> f32,
    l2: fn(&[f32], &[f32]) -> f32,
    dot4: fn([&[f32]; 4], &[f32]) -> [f32; 4],
    l2x4: fn([&[f32]; 4], &[f32]) -> [f32; 4],
}

/// Defines a kernel set whose bodies are compiled with `features` enabled.
macro_rules! kernel_set {
    ($module:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $module {
            #[target_feature(enable = $features)]
            unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
                super::one::<true, false>(a, b)
            }
            #[target_feature(enable = $features)]
            unsafe fn l2(a: &[f32], b: &[f32]) -> f32 {
                super::one::<true, true>(a, b)
            }
            #[target_feature(enable = $features)]
            unsafe fn dot4(q: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
                super::four::<true, false>(q, v)
            }
            #[target_feature(enable = $features)]
            unsafe fn l2x4(q: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
                super::four::<true, true>(q, v)
            }
            /// Only handed out after the CPU was found to have `features`.
            pub(super) const KERNELS: super::Kernels = super::Kernels {
                name: $features,
                // SAFETY (all four): `kernels()` installs this set only when
                // `is_x86_feature_detected!` confirmed every feature.
                dot: |a, b| unsafe { dot(a, b) },
                l2: |a, b| unsafe { l2(a, b) },
                dot4: |q, v| unsafe { dot4(q, v) },
                l2x4: |q, v| unsafe { l2x4(q, v) },
            };
        }
    };
}

kernel_set!(avx512, "avx512f,fma");
kernel_set!(avx2, "avx2,fma");

/// Whether the portable kernels may fuse multiply-adds: aarch64 always has
/// FMA (elsewhere `mul_add` without hardware support is a slow library call).
const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

/// Portable kernels: SSE2 on x86_64, NEON on aarch64.
const PORTABLE: Kernels = Kernels {
    name: "portable",
    dot: one::<PORTABLE_FMA, false>,
    l2: one::<PORTABLE_FMA, true>,
    dot4: four::<PORTABLE_FMA, false>,
    l2x4: four::<PORTABLE_FMA, true>,
};

/// The best kernels this CPU runs, chosen once.
fn kernels() -> &'static Kernels {
    static CHOSEN: OnceLock<&'static Kernels> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
                return &avx512::KERNELS;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return &avx2::KERNELS;
            }
        }
        &PORTABLE
    })
}

/// Name of the kernel set in use ("avx512f,fma", "avx2,fma" or "portable").
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
    fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
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
                Some((first, len)) if first + len == slot && len < BLOCK_SLOTS as u64 => {
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

    /// Raw kernel output (sum of squares, or inner product) to distance.
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

    /// Compares every query with every vector of `runs`, a run (at most
    /// `BLOCK_SLOTS` vectors, so it stays in cache) at a time, four queries
    /// per pass over it.
    fn scan(&self, runs: &[Run<'_>], k: usize) -> Vec<TopK> {
        let kernels = self.kernels;
        let l2 = self.metric == Metric::L2;
        let (single, quad) = if l2 {
            (kernels.l2, kernels.l2x4)
        } else {
            (kernels.dot, kernels.dot4)
        };
        let mut tops: Vec<TopK> = (0..self.count()).map(|_| TopK::new(k)).collect();
        // Each query's current admission bound, kept beside the loop so the
        // common case (no admission) is one comparison.
        let mut bounds = vec![f32::INFINITY; self.count()];
        let mut vectors: Vec<&[f32]> = Vec::with_capacity(BLOCK_SLOTS);
        let mut norms: Vec<f32> = Vec::with_capacity(BLOCK_SLOTS);
        for run in runs {
            vectors.clear();
            vectors.extend((run.first..run.first + run.len).map(|s| run.segment.vector(s)));
            norms.clear();
            if self.metric == Metric::Cosine {
                norms.extend(vectors.iter().map(|v| (kernels.dot)(v, v).sqrt()));
            }
            let norm = |j: usize| norms.get(j).copied().unwrap_or(0.0);
            let offer = |top: &mut TopK, bound: &mut f32, j: usize, distance: f32| {
                if distance <= *bound {
                    let id = slot_id(run.segment.slot(run.first + j as u64));
                    top.offer(Candidate(Neighbor { id, distance }));
                    *bound = top.bound();
                }
            };
            let groups = self.count() / 4;
            for g in 0..groups {
                let q = 4 * g;
                let group = [
                    self.query(q),
                    self.query(q + 1),
                    self.query(q + 2),
                    self.query(q + 3),
                ];
                for (j, v) in vectors.iter().enumerate() {
                    let raw = quad(group, v);
                    for i in 0..4 {
                        let distance = self.distance(q + i, raw[i], norm(j));
                        offer(&mut tops[q + i], &mut bounds[q + i], j, distance);
                    }
                }
            }
            for q in 4 * groups..self.count() {
                let query = self.query(q);
                for (j, v) in vectors.iter().enumerate() {
                    let distance = self.distance(q, single(query, v), norm(j));
                    offer(&mut tops[q], &mut bounds[q], j, distance);
                }
            }
        }
        tops
    }
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
        let kernels = kernels();
        let prepared = Queries {
            data: queries,
            dim,
            norms: queries
                .chunks_exact(dim)
                .map(|q| (kernels.dot)(q, q).sqrt())
                .collect(),
            metric,
            kernels,
        };
        if k == 0 {
            return Ok(vec![Vec::new(); prepared.count()]);
        }
        let snapshot = self.index.read().snapshot();
        let runs = runs(&snapshot);
        let live: usize = runs.iter().map(|r| r.len as usize).sum();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let work = live * dim * prepared.count();
        let tops = if threads > 1 && work >= PARALLEL_MIN_WORK && runs.len() > 1 {
            let per = runs.len().div_ceil(threads);
            let prepared = &prepared;
            std::thread::scope(|s| {
                let handles: Vec<_> = runs
                    .chunks(per)
                    .map(|part| s.spawn(move || prepared.scan(part, k)))
                    .collect();
                let mut all = handles.into_iter().map(|h| h.join().expect("scan thread"));
                let mut first = all.next().expect("at least one part");
                for other in all {
                    for (mine, theirs) in first.iter_mut().zip(other) {
                        mine.merge(theirs);
                    }
                }
                first
            })
        } else {
            prepared.scan(&runs, k)
        };
        Ok(tops.into_iter().map(TopK::into_sorted).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    #[test]
    fn every_kernel_set_matches_f64_at_odd_lengths() {
        let mut sets = vec![&PORTABLE];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                sets.push(&avx2::KERNELS);
            }
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
                sets.push(&avx512::KERNELS);
            }
        }
        for set in sets {
            for n in [1usize, 7, 15, 16, 17, 33, 128, 131, 384, 768] {
                let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
                let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
                let d = reference_dot(&a, &b);
                let e: f64 = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                    .sum();
                let tol = 1e-4 * n as f64;
                assert!(
                    (f64::from((set.dot)(&a, &b)) - d).abs() <= tol,
                    "{} dot n={n}",
                    set.name
                );
                assert!(
                    (f64::from((set.l2)(&a, &b)) - e).abs() <= tol,
                    "{} l2 n={n}",
                    set.name
                );
                let c: Vec<f32> = a.iter().map(|x| x * 0.5 + 1.0).collect();
                let queries = [&a[..], &b[..], &c[..], &a[..]];
                let dots = (set.dot4)(queries, &b);
                let l2s = (set.l2x4)(queries, &b);
                for (i, q) in queries.iter().enumerate() {
                    let d = reference_dot(q, &b);
                    let e: f64 = q
                        .iter()
                        .zip(&b)
                        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                        .sum();
                    assert!(
                        (f64::from(dots[i]) - d).abs() <= tol,
                        "{} dot4[{i}] n={n}",
                        set.name
                    );
                    assert!(
                        (f64::from(l2s[i]) - e).abs() <= tol,
                        "{} l2x4[{i}] n={n}",
                        set.name
                    );
                }
            }
        }
    }
}
