//! Reads that copy: vectors, membership, counts.

use super::boundary::{rows, slice, slice_mut, with_store};
use super::types::*;

/// ==== Reads ====
///
/// Copies the vector `id`.
///
/// On a read-only handle, this call (as every read) first catches up with
/// the writer: it sees every write acknowledged before it started.
///
/// @param[in] store the handle.
/// @param[in] id the vector to read.
/// @param[out] out_vector receives `dimension` floats; written only on
/// VECSTORE_OK.
/// @param[in] dimension the store's dimension.
/// @return
/// - VECSTORE_OK: copied.
/// - VECSTORE_NOT_FOUND: no vector `id`.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `out_vector` is NULL, or
///   `dimension` is 0.
/// - VECSTORE_DIMENSION_MISMATCH: `dimension` is not the store's.
/// - VECSTORE_CORRUPT: the vector's bytes, or the index page that locates
///   it, fail their checksum.
/// - VECSTORE_IO: a read-only handle could not read the writer's changes.
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_get(
    store: *const vecstore_t,
    id: u64,
    out_vector: *mut f32,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_get", store, |h| {
        let dim = h.check_dimension(dimension)?;
        h.store.get(id, slice_mut(out_vector, dim, "out_vector")?)
    })
}

/// Copies the vectors of `count` ids, from one consistent state of the store.
/// Absent ids are not an error.
///
/// @param[in] store the handle.
/// @param[in] ids `count` ids, read during the call only.
/// @param[in] count ids listed; 0 does nothing (the arrays may be NULL).
/// @param[out] out_vectors `count * dimension` floats: row i receives
/// `ids[i]`'s vector if it exists, and is left untouched otherwise.
/// @param[in] dimension the store's dimension.
/// @param[out] out_found `count` bytes: 1 where `ids[i]` exists, else 0.
/// @return
/// - VECSTORE_OK: copied, also when some ids are absent.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL, an array is NULL with a
///   non-zero `count`, `dimension` is 0, or `count * dimension` overflows.
/// - VECSTORE_DIMENSION_MISMATCH, VECSTORE_CORRUPT, VECSTORE_IO,
///   VECSTORE_INTERNAL: as for vecstore_get(); nothing is written then.
#[no_mangle]
pub extern "C" fn vecstore_get_batch(
    store: *const vecstore_t,
    ids: *const u64,
    count: usize,
    out_vectors: *mut f32,
    dimension: usize,
    out_found: *mut u8,
) -> vecstore_status {
    with_store("vecstore_get_batch", store, |h| {
        let dim = h.check_dimension(dimension)?;
        let ids = slice(ids, count, "ids")?;
        let vectors = slice_mut(out_vectors, rows(count, dim)?, "out_vectors")?;
        let flags = slice_mut(out_found, count, "out_found")?;
        let mut found = vec![false; count];
        h.store.get_batch(ids, vectors, &mut found)?;
        for (flag, f) in flags.iter_mut().zip(found) {
            *flag = u8::from(f);
        }
        Ok(())
    })
}

/// Whether a vector `id` exists.
///
/// @param[in] store the handle.
/// @param[in] id the vector.
/// @return true if it exists. false also for a NULL or poisoned handle
/// (vecstore_last_error() says which), and for an id whose page of the
/// checkpoint's index fails its checksum (every other read reports that as
/// VECSTORE_CORRUPT). On a read-only handle that cannot read the writer's
/// latest changes (an I/O error), the answer of the last state it could read.
#[no_mangle]
pub extern "C" fn vecstore_contains(store: *const vecstore_t, id: u64) -> bool {
    let mut found = false;
    with_store("vecstore_contains", store, |h| {
        found = h.store.contains(id);
        Ok(())
    });
    found
}

/// The number of live vectors.
///
/// @param[in] store the handle.
/// @return the count; 0 for a NULL or poisoned handle. On a read-only handle
/// that cannot read the writer's latest changes, the count of the last state
/// it could read.
#[no_mangle]
pub extern "C" fn vecstore_len(store: *const vecstore_t) -> u64 {
    let mut len = 0;
    with_store("vecstore_len", store, |h| {
        len = h.store.len();
        Ok(())
    });
    len
}

/// The store's dimension.
///
/// @param[in] store the handle.
/// @return floats per vector; 0 for a NULL or poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_dimension(store: *const vecstore_t) -> usize {
    let mut dim = 0;
    with_store("vecstore_dimension", store, |h| {
        dim = h.store.dimension() as usize;
        Ok(())
    });
    dim
}
