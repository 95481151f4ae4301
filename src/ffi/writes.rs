//! Writes: put and delete, one at a time or as atomic batches.

use super::boundary::{rows, set_optional, slice, with_store};
use super::types::*;

/// ==== Writes ====
///
/// Stores one vector under `id`, replacing any vector with that id. Durable
/// on return as the store's durability mode says.
///
/// Any status but VECSTORE_OK means nothing was stored, with one exception:
/// a failed fsync of the log (VECSTORE_IO or VECSTORE_NO_SPACE from a write
/// under VECSTORE_DURABILITY_FSYNC whose record was appended) leaves the
/// write's fate unknown, as for any store, and the handle then refuses every
/// change (see vecstore_flush()). A write that passes the log size of an
/// automatic checkpoint returns the status of the write itself; a failed
/// automatic checkpoint is retried by the next write, except one that
/// failed to sync a file, after which every change is refused as after any
/// failed fsync.
///
/// @param[in] store a read-write handle.
/// @param[in] id any value.
/// @param[in] vector `dimension` finite floats, read during the call only.
/// @param[in] dimension the store's dimension.
/// @return
/// - VECSTORE_OK: stored (and durable as the mode says).
/// - VECSTORE_INVALID_ARGUMENT: `store` or `vector` is NULL, `dimension` is
///   0, or a value is NaN or infinite.
/// - VECSTORE_DIMENSION_MISMATCH: `dimension` is not the store's.
/// - VECSTORE_READ_ONLY: the handle is read-only.
/// - VECSTORE_NO_SPACE: the disk is full or a file-size limit was hit; the
///   store stays usable and earlier writes intact.
/// - VECSTORE_IO: an OS call failed, or the handle refuses changes since a
///   failed fsync (the status repeats that failure's).
/// - VECSTORE_CORRUPT: the index page that holds `id` fails its checksum.
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_put(
    store: *mut vecstore_t,
    id: u64,
    vector: *const f32,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_put", store, |h| {
        let dim = h.check_dimension(dimension)?;
        h.store.put(id, slice(vector, dim, "vector")?)
    })
}

/// Stores `count` vectors under `ids`, atomically: after any crash either
/// every vector of the batch is there or none is. One bad vector stores
/// nothing. A later duplicate id in the batch wins. Readers see the batch
/// whole or not at all.
///
/// @param[in] store a read-write handle.
/// @param[in] ids `count` ids, read during the call only.
/// @param[in] vectors `count * dimension` finite floats, row-major (row i is
/// `ids[i]`'s), read during the call only.
/// @param[in] count vectors in the batch, at most 2^32-1; 0 stores nothing
/// (`ids` and `vectors` may then be NULL).
/// @param[in] dimension the store's dimension.
/// @return As vecstore_put(); VECSTORE_INVALID_ARGUMENT also for a `count`
/// above 2^32-1 or one whose rows overflow size_t.
#[no_mangle]
pub extern "C" fn vecstore_put_batch(
    store: *mut vecstore_t,
    ids: *const u64,
    vectors: *const f32,
    count: usize,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_put_batch", store, |h| {
        let dim = h.check_dimension(dimension)?;
        let ids = slice(ids, count, "ids")?;
        h.store
            .put_batch(ids, slice(vectors, rows(count, dim)?, "vectors")?)
    })
}

/// Deletes the vector `id`. Durable on return as the store's durability mode
/// says; the same rule for a failed fsync as vecstore_put().
///
/// @param[in] store a read-write handle.
/// @param[in] id the vector to delete.
/// @return
/// - VECSTORE_OK: deleted.
/// - VECSTORE_NOT_FOUND: no vector `id`; nothing changed.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL.
/// - VECSTORE_READ_ONLY, VECSTORE_NO_SPACE, VECSTORE_IO, VECSTORE_CORRUPT,
///   VECSTORE_INTERNAL: as for vecstore_put().
#[no_mangle]
pub extern "C" fn vecstore_delete(store: *mut vecstore_t, id: u64) -> vecstore_status {
    with_store("vecstore_delete", store, |h| h.store.delete(id))
}

/// Deletes every listed id that exists, atomically (as vecstore_put_batch()).
/// Absent and duplicate ids are not an error.
///
/// @param[in] store a read-write handle.
/// @param[in] ids `count` ids, read during the call only; may be NULL when
/// `count` is 0.
/// @param[in] count ids listed.
/// @param[out] out_deleted receives how many of the ids existed; may be
/// NULL.
/// @return
/// - VECSTORE_OK: deleted.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL, or `ids` is NULL with a
///   non-zero `count`.
/// - VECSTORE_READ_ONLY, VECSTORE_NO_SPACE, VECSTORE_IO, VECSTORE_CORRUPT,
///   VECSTORE_INTERNAL: as for vecstore_put().
#[no_mangle]
pub extern "C" fn vecstore_delete_batch(
    store: *mut vecstore_t,
    ids: *const u64,
    count: usize,
    out_deleted: *mut u64,
) -> vecstore_status {
    with_store("vecstore_delete_batch", store, |h| {
        let deleted = h.store.delete_batch(slice(ids, count, "ids")?)?;
        set_optional(out_deleted, deleted);
        Ok(())
    })
}
