//! Exact k-nearest-neighbour search: a scan of every live slot of a snapshot
//! (or of a listed few), straight from the mapped segments, keeping the k
//! best per query in a bounded heap.
//!
//! Speed comes from three things: distance kernels compiled for the CPU's
//! widest vector unit (AVX-512, AVX2+FMA or NEON, chosen at run time; a
//! portable fallback otherwise), cache blocking for many queries (a block of
//! stored vectors is compared with every query while it sits in cache), and
//! the cores shared between searches through one pool of threads.
//!
//! `topk.rs` keeps the best candidates (and asks a filter only about those
//! close enough to get in), `scan.rs` reads the slots, `pool.rs` owns the
//! threads, `kernels/` computes distances.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::Store;
use kernels::{kernels, Kernels};
use scan::{Queries, Slots};

mod kernels;
mod pool;
mod scan;
mod topk;

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

/// Name of the kernel set in use ("avx512f,fma", "avx2,fma", "neon" or
/// "portable").
pub fn search_kernel() -> &'static str {
    kernels().name
}

/// Which vectors a search ranks.
enum Among<'a> {
    /// Every live vector.
    All,
    /// The live vectors of these ids (absent ones skipped, duplicates once).
    Listed(&'a [u64]),
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
        self.check_queries(queries)?;
        self.catch_up()?;
        Ok(self.search_with(kernels(), queries, k, metric))
    }

    /// [`Store::search`] among the vectors whose id `filter` accepts. The
    /// filter is called from the search's threads, several at once, and only
    /// for vectors close enough to enter the results (possibly more than
    /// once for an id), so its cost hardly depends on how many it accepts.
    pub fn search_filter<F>(
        &self,
        query: &[f32],
        k: usize,
        metric: Metric,
        filter: F,
    ) -> Result<Vec<Neighbor>>
    where
        F: Fn(u64) -> bool + Send + Sync + 'static,
    {
        self.check_queries(query)?;
        self.check_single(query)?;
        self.catch_up()?;
        let found = self.search_among(
            kernels(),
            query,
            k,
            metric,
            Among::All,
            Some(Arc::new(filter)),
        )?;
        Ok(found.into_iter().next().expect("one query, one result"))
    }

    /// [`Store::search`] among the vectors of `candidates` only: absent ids
    /// are skipped, a duplicate counts once. Reads only the listed vectors.
    pub fn search_ids(
        &self,
        query: &[f32],
        candidates: &[u64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.check_queries(query)?;
        self.check_single(query)?;
        self.catch_up()?;
        let found =
            self.search_among(kernels(), query, k, metric, Among::Listed(candidates), None)?;
        Ok(found.into_iter().next().expect("one query, one result"))
    }

    /// The `k` live vectors closest to the stored vector `id`, which is
    /// itself left out; the query and the scan see one state of the store.
    /// `NotFound` if there is no vector `id`, `Corrupt` if its bytes fail
    /// their checksum.
    pub fn search_by_id(&self, id: u64, k: usize, metric: Metric) -> Result<Vec<Neighbor>> {
        self.catch_up()?;
        let (query, slots) = {
            let index = self.index.read();
            let mut query = vec![0.0; self.dimension as usize];
            self.copy_vector(&index, id, &mut query)?;
            if k == 0 {
                return Ok(Vec::new());
            }
            (query, Slots::live(&index.snapshot()))
        };
        let queries = Queries::new(kernels(), &query, query.len(), metric);
        let others: Arc<topk::Filter> = Arc::new(move |other| other != id);
        let threads = self.search_threads();
        Ok(slots
            .search(queries, k, threads, Some(others))
            .pop()
            .expect("one query, one result"))
    }

    /// The threads a search on this handle may use: 0 (the default) one per
    /// core, 1 the calling thread only; more than the cores counts as one
    /// per core. Searches share one pool of threads per process.
    pub fn set_search_threads(&self, threads: usize) {
        self.search_threads.store(threads, Ordering::Relaxed);
    }

    fn search_threads(&self) -> usize {
        scan::threads(self.search_threads.load(Ordering::Relaxed))
    }

    /// Refuses queries that are not whole rows of the store's dimension, or
    /// hold a non-finite value.
    fn check_queries(&self, queries: &[f32]) -> Result<()> {
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
        Ok(())
    }

    /// Refuses more than one query where one is expected.
    fn check_single(&self, query: &[f32]) -> Result<()> {
        if query.len() != self.dimension as usize {
            return Err(Error::dimension(self.dimension, query.len()));
        }
        Ok(())
    }

    /// The search proper over every live vector, with a given kernel set;
    /// `queries` are checked.
    fn search_with(
        &self,
        kernels: &'static Kernels,
        queries: &[f32],
        k: usize,
        metric: Metric,
    ) -> Vec<Vec<Neighbor>> {
        self.search_among(kernels, queries, k, metric, Among::All, None)
            .expect("a full scan looks nothing up")
    }

    /// The search proper: `queries` are checked.
    fn search_among(
        &self,
        kernels: &'static Kernels,
        queries: &[f32],
        k: usize,
        metric: Metric,
        among: Among<'_>,
        filter: Option<Arc<topk::Filter>>,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dimension as usize;
        let queries = Queries::new(kernels, queries, dim, metric);
        if k == 0 {
            return Ok(vec![Vec::new(); queries.count()]);
        }
        let slots = {
            let index = self.index.read();
            match among {
                Among::All => Slots::live(&index.snapshot()),
                Among::Listed(ids) => {
                    let mut located = Vec::with_capacity(ids.len());
                    for &id in ids {
                        if let Some((slots, slot)) = index.locate(id)? {
                            located.push((&slots.segment, slot));
                        }
                    }
                    Slots::listed(located)
                }
            }
        };
        Ok(slots.search(queries, k, self.search_threads(), filter))
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
