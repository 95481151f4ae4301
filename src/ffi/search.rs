//! Exact k-nearest-neighbour search.

use super::boundary::{rows, slice, slice_mut, with_store};
use super::types::*;
use super::values::*;
use crate::Error;

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
        search_into(
            h,
            query,
            1,
            dimension,
            k,
            metric,
            out_ids,
            out_distances,
            out_count,
        )
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
        search_into(
            h,
            queries,
            query_count,
            dimension,
            k,
            metric,
            out_ids,
            out_distances,
            out_counts,
        )
    })
}

/// The body of both search entry points.
#[allow(clippy::too_many_arguments)]
fn search_into(
    h: &vecstore_store,
    queries: *const f32,
    query_count: usize,
    dimension: usize,
    k: usize,
    metric: vecstore_metric_code,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_counts: *mut usize,
) -> Result<(), Error> {
    let dim = h.check_dimension(dimension)?;
    if query_count == 0 {
        return Err(Error::invalid("query_count is 0"));
    }
    let metric = metric_from(metric)?;
    let queries = slice(queries, rows(query_count, dim)?, "query")?;
    let counts = slice_mut(out_counts, query_count, "out_count")?;
    // Refused even when the store turns out empty: the call is wrong.
    for (null, what) in [
        (out_ids.is_null(), "out_ids"),
        (out_distances.is_null(), "out_distances"),
    ] {
        if null && k > 0 {
            return Err(Error::invalid(format!("{what} is NULL")));
        }
    }
    // Row q starts at element q * k and holds only the results it gets: a
    // caller may size its arrays by the store's length rather than by k.
    let last_row = rows(query_count - 1, k)?;
    let results = h.store.search_batch(queries, k, metric)?;
    let row = |q: usize| q * k..q * k + results[q].len();
    let written = last_row
        .checked_add(results[query_count - 1].len())
        .ok_or_else(|| Error::invalid(format!("{query_count} rows of {k} overflow")))?;
    let ids = slice_mut(out_ids, written, "out_ids")?;
    let distances = slice_mut(out_distances, written, "out_distances")?;
    for (q, hits) in results.iter().enumerate() {
        for ((id, distance), hit) in ids[row(q)].iter_mut().zip(&mut distances[row(q)]).zip(hits) {
            *id = hit.id;
            *distance = hit.distance;
        }
        counts[q] = hits.len();
    }
    Ok(())
}
