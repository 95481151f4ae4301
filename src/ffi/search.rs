//! Exact k-nearest-neighbour search.

use std::ffi::c_void;

use super::boundary::{rows, slice, slice_mut, with_store, CFilter};
use super::types::*;
use super::values::*;
use crate::{Error, Neighbor};

/// ==== Search ====
///
/// Exact k-nearest-neighbour search over all live vectors (a consistent
/// snapshot; concurrent writers neither block nor tear it), on all cores
/// when the store is large. Safe to call from many threads at once.
///
/// Results are closest first, ties broken by smaller id. Distances are
/// computed in float; one that overflows float (or a cosine norm that
/// does) is recomputed in double, so no finite input yields NaN, and a
/// distance beyond the float range is reported as +/-infinity.
///
/// @param[in] store the handle.
/// @param[in] query `dimension` finite floats, read during the call only.
/// @param[in] dimension the store's dimension.
/// @param[in] k results wanted; 0 returns none. SIZE_MAX (with arrays of
/// vecstore_len() elements) ranks every vector, when no other thread adds
/// vectors meanwhile.
/// @param[in] metric the distance.
/// @param[out] out_ids receives min(k, len) ids (`len`: live vectors when
/// the search runs), so `k` elements are always enough; may be NULL when
/// `k` is 0.
/// @param[out] out_distances receives their distances, as `out_ids`.
/// @param[out] out_count receives how many results were written. Must not be
/// NULL.
/// @return
/// - VECSTORE_OK: the outputs are set (an empty store gives 0 results).
/// - VECSTORE_INVALID_ARGUMENT: `store`, `query` or `out_count` is NULL, an
///   output array is NULL with `k` > 0, `dimension` is 0, `metric` is not a
///   VECSTORE_METRIC_* value, or the query holds NaN or infinity.
/// - VECSTORE_DIMENSION_MISMATCH: `dimension` is not the store's.
/// - VECSTORE_CORRUPT, VECSTORE_IO, VECSTORE_INTERNAL: as for vecstore_get().
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the contract's signature
pub extern "C" fn vecstore_search(
    store: *const vecstore_t,
    query: *const f32,
    dimension: usize,
    k: usize,
    metric: vecstore_metric_code,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_count: *mut usize,
) -> vecstore_status {
    with_store("vecstore_search", store, |h| {
        let out = Outputs::new(1, k, out_ids, out_distances, out_count)?;
        let query = h.queries(query, 1, dimension)?;
        out.write(&h.store.search_batch(query, k, metric_from(metric)?)?)
    })
}

/// vecstore_search() for `query_count` queries at once: one pass over the
/// stored vectors serves every query, so a batch costs far less than as many
/// single searches.
///
/// A large batch sums in a different order than vecstore_search(): a
/// distance may differ from the single-query one by float rounding, and so
/// may the order of vectors whose distances tie to that precision.
///
/// @param[in] store the handle.
/// @param[in] queries `query_count * dimension` finite floats, row-major,
/// read during the call only.
/// @param[in] query_count queries, at least 1.
/// @param[in] dimension the store's dimension.
/// @param[in] k results wanted per query.
/// @param[in] metric the distance.
/// @param[out] out_ids row i (starting at element i * k) receives query i's
/// min(k, len) ids, so `query_count * k` elements are always enough.
/// @param[out] out_distances their distances, laid out as `out_ids`.
/// @param[out] out_counts `query_count` elements: element i receives query
/// i's result count.
/// @return As vecstore_search(); VECSTORE_INVALID_ARGUMENT also for a
/// `query_count` of 0 or one whose rows overflow size_t.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn vecstore_search_batch(
    store: *const vecstore_t,
    queries: *const f32,
    query_count: usize,
    dimension: usize,
    k: usize,
    metric: vecstore_metric_code,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_counts: *mut usize,
) -> vecstore_status {
    with_store("vecstore_search_batch", store, |h| {
        if query_count == 0 {
            return Err(Error::invalid("query_count is 0"));
        }
        let out = Outputs::new(query_count, k, out_ids, out_distances, out_counts)?;
        let queries = h.queries(queries, query_count, dimension)?;
        out.write(&h.store.search_batch(queries, k, metric_from(metric)?)?)
    })
}

/// vecstore_search() among the vectors whose id `filter` accepts: the k
/// nearest of those, closest first, ties broken by smaller id; min(k,
/// accepted) results. Costs about what vecstore_search() does, whatever
/// share the filter accepts: the filter is asked only about vectors close
/// enough to enter the results.
///
/// The filter is called from the search's threads (see
/// vecstore_set_search_threads()), several at once, and possibly more than
/// once for an id; it must be thread-safe, must not throw or longjmp, and
/// should be fast. It may read the store through other calls, but must not
/// close it.
///
/// @param[in] store the handle.
/// @param[in] query `dimension` finite floats, read during the call only.
/// @param[in] dimension the store's dimension.
/// @param[in] k results wanted; 0 returns none.
/// @param[in] metric the distance.
/// @param[in] filter returns true for an id that may be a result. Must not
/// be NULL.
/// @param[in] ctx passed to every call of `filter`; may be NULL.
/// @param[out] out_ids receives min(k, accepted) ids; may be NULL when `k`
/// is 0.
/// @param[out] out_distances receives their distances, as `out_ids`.
/// @param[out] out_count receives how many results were written. Must not be
/// NULL.
/// @return As vecstore_search(); VECSTORE_INVALID_ARGUMENT also for a NULL
/// `filter`.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the contract's signature
pub extern "C" fn vecstore_search_filter(
    store: *const vecstore_t,
    query: *const f32,
    dimension: usize,
    k: usize,
    metric: vecstore_metric_code,
    filter: vecstore_filter_fn,
    ctx: *mut c_void,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_count: *mut usize,
) -> vecstore_status {
    with_store("vecstore_search_filter", store, |h| {
        let filter = CFilter::new(filter, ctx)?;
        let out = Outputs::new(1, k, out_ids, out_distances, out_count)?;
        let query = h.queries(query, 1, dimension)?;
        let metric = metric_from(metric)?;
        let found = h
            .store
            .search_filter(query, k, metric, move |id| filter.accepts(id))?;
        out.write(&[found])
    })
}

/// vecstore_search() among the listed ids only: reads only their vectors,
/// so a short list costs far less than a search of the whole store. Absent
/// ids are skipped and a duplicate counts once: min(k, distinct present)
/// results, closest first, ties broken by smaller id.
///
/// @param[in] store the handle.
/// @param[in] query `dimension` finite floats, read during the call only.
/// @param[in] dimension the store's dimension.
/// @param[in] candidates `candidate_count` ids, read during the call only;
/// may be NULL when `candidate_count` is 0.
/// @param[in] candidate_count ids listed; 0 gives no results.
/// @param[in] k results wanted; 0 returns none.
/// @param[in] metric the distance.
/// @param[out] out_ids receives the ids; `k` elements (or `candidate_count`,
/// if smaller) are enough. May be NULL when `k` is 0.
/// @param[out] out_distances receives their distances, as `out_ids`.
/// @param[out] out_count receives how many results were written. Must not be
/// NULL.
/// @return As vecstore_search(); VECSTORE_INVALID_ARGUMENT also for a NULL
/// `candidates` with a non-zero `candidate_count`; VECSTORE_CORRUPT also
/// when a page of the index that locates a candidate fails its checksum.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the contract's signature
pub extern "C" fn vecstore_search_ids(
    store: *const vecstore_t,
    query: *const f32,
    dimension: usize,
    candidates: *const u64,
    candidate_count: usize,
    k: usize,
    metric: vecstore_metric_code,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_count: *mut usize,
) -> vecstore_status {
    with_store("vecstore_search_ids", store, |h| {
        let out = Outputs::new(1, k, out_ids, out_distances, out_count)?;
        let query = h.queries(query, 1, dimension)?;
        let candidates = slice(candidates, candidate_count, "candidates")?;
        let metric = metric_from(metric)?;
        out.write(&[h.store.search_ids(query, candidates, k, metric)?])
    })
}

/// "More like this": the k vectors nearest to the stored vector `id`, which
/// is itself left out (other vectors equal to it are not). The query vector
/// and the search see one state of the store. Closest first, ties broken by
/// smaller id; min(k, len - 1) results.
///
/// @param[in] store the handle.
/// @param[in] id the vector to search around.
/// @param[in] k results wanted; 0 returns none (but `id` must exist).
/// @param[in] metric the distance.
/// @param[out] out_ids receives the ids; `k` elements are enough. May be
/// NULL when `k` is 0.
/// @param[out] out_distances receives their distances, as `out_ids`.
/// @param[out] out_count receives how many results were written. Must not be
/// NULL.
/// @return
/// - VECSTORE_OK: the outputs are set.
/// - VECSTORE_NOT_FOUND: no vector `id`.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `out_count` is NULL, an output
///   array is NULL with `k` > 0, or `metric` is not a VECSTORE_METRIC_*
///   value.
/// - VECSTORE_CORRUPT: the bytes of vector `id`, or the index page that
///   locates it, fail their checksum.
/// - VECSTORE_IO, VECSTORE_INTERNAL: as for vecstore_get().
#[no_mangle]
pub extern "C" fn vecstore_search_by_id(
    store: *const vecstore_t,
    id: u64,
    k: usize,
    metric: vecstore_metric_code,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_count: *mut usize,
) -> vecstore_status {
    with_store("vecstore_search_by_id", store, |h| {
        let out = Outputs::new(1, k, out_ids, out_distances, out_count)?;
        let metric = metric_from(metric)?;
        out.write(&[h.store.search_by_id(id, k, metric)?])
    })
}

/// Sets how many threads a search on this handle may use, itself included:
/// 0 (the default) one per core, 1 the calling thread only; more than the
/// cores counts as one per core. Small searches always run on the calling
/// thread. Searches of every handle in the process share one pool of
/// threads, so searches from many threads at once do not oversubscribe the
/// cores; 1 suits a program that runs its own search threads.
///
/// @param[in] store the handle.
/// @param[in] threads the limit.
/// @return
/// - VECSTORE_OK: later searches on this handle use it.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL.
/// - VECSTORE_INTERNAL: a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_set_search_threads(
    store: *mut vecstore_t,
    threads: u32,
) -> vecstore_status {
    with_store("vecstore_set_search_threads", store, |h| {
        h.store.set_search_threads(threads as usize);
        Ok(())
    })
}

impl vecstore_store {
    /// `count` queries of the caller's `dimension`, checked.
    fn queries<'a>(
        &self,
        queries: *const f32,
        count: usize,
        dimension: usize,
    ) -> Result<&'a [f32], Error> {
        let dim = self.check_dimension(dimension)?;
        slice(queries, rows(count, dim)?, "query")
    }
}

/// The caller's output arrays of a search of `queries` queries, `k` results
/// each: row q starts at element q * k and receives only the results it
/// gets, so a caller may size its arrays by the store's length rather than
/// by k.
struct Outputs {
    queries: usize,
    k: usize,
    ids: *mut u64,
    distances: *mut f32,
    counts: *mut usize,
}

impl Outputs {
    /// Refuses NULL arrays before the search runs (even when the store
    /// turns out empty: the call is wrong).
    fn new(
        queries: usize,
        k: usize,
        ids: *mut u64,
        distances: *mut f32,
        counts: *mut usize,
    ) -> Result<Outputs, Error> {
        if counts.is_null() {
            return Err(Error::invalid("out_count is NULL"));
        }
        for (null, what) in [
            (ids.is_null(), "out_ids"),
            (distances.is_null(), "out_distances"),
        ] {
            if null && k > 0 {
                return Err(Error::invalid(format!("{what} is NULL")));
            }
        }
        // Row q starts at element q * k: refuse rows no array can hold
        // before the search runs, not after.
        let first_of_last = rows(queries - 1, k)?;
        if first_of_last > isize::MAX as usize / std::mem::size_of::<u64>() {
            return Err(Error::invalid(format!(
                "{queries} rows of {k} results are larger than any array"
            )));
        }
        Ok(Outputs {
            queries,
            k,
            ids,
            distances,
            counts,
        })
    }

    /// Writes each query's results to its row and its count.
    fn write(&self, results: &[Vec<Neighbor>]) -> Result<(), Error> {
        let (k, last) = (self.k, self.queries - 1);
        let written = (last * k)
            .checked_add(results[last].len())
            .ok_or_else(|| Error::invalid(format!("{} rows of {k} overflow", self.queries)))?;
        let ids = slice_mut(self.ids, written, "out_ids")?;
        let distances = slice_mut(self.distances, written, "out_distances")?;
        let counts = slice_mut(self.counts, self.queries, "out_count")?;
        for (q, hits) in results.iter().enumerate() {
            let row = q * k..q * k + hits.len();
            for ((id, distance), hit) in ids[row.clone()]
                .iter_mut()
                .zip(&mut distances[row])
                .zip(hits)
            {
                *id = hit.id;
                *distance = hit.distance;
            }
            counts[q] = hits.len();
        }
        Ok(())
    }
}
