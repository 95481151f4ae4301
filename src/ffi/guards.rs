//! Zero-copy reads: guards that pin one vector, cursors that pin a snapshot.

use super::boundary::{call, give, optional, out, set_optional, take, value, with_store};
use super::types::*;
use crate::{Error, ErrorKind};

/// ==== Guards and cursors ====
///
/// Borrows the vector `id` without copying.
///
/// The bytes stay valid and unchanged until vecstore_guard_release(),
/// whatever happens meanwhile: put or delete of the same id, compaction,
/// growth of the files, close of the store, and, for a read-only handle,
/// anything the writer in another process does (a SIGKILL and a new
/// writer's recovery included). Holding any number of guards never blocks
/// or deadlocks another call, on any thread. A guard keeps the data files it
/// points into: disk space a compaction frees returns once its guards are
/// released. The memory is mapped read-only: writing through the pointer
/// faults.
///
/// @param[in] store the handle.
/// @param[in] id the vector to borrow.
/// @param[out] out_guard receives the guard, owned by the caller until
/// vecstore_guard_release(); it may outlive the store handle. Must not be
/// NULL.
/// @param[out] out_data receives a pointer to the vector's `dimension`
/// floats, valid until the guard is released; may be NULL.
/// @return
/// - VECSTORE_OK: `*out_guard` (and `*out_data`) are set.
/// - VECSTORE_NOT_FOUND: no vector `id`.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `out_guard` is NULL.
/// - VECSTORE_CORRUPT, VECSTORE_IO, VECSTORE_INTERNAL: as for vecstore_get().
#[no_mangle]
pub extern "C" fn vecstore_get_ref(
    store: *const vecstore_t,
    id: u64,
    out_guard: *mut *mut vecstore_guard_t,
    out_data: *mut *const f32,
) -> vecstore_status {
    with_store("vecstore_get_ref", store, |h| {
        let out_guard = out(out_guard, "out_guard")?;
        let guard = h.store.get_ref(id)?;
        set_optional(out_data, guard.data().as_ptr());
        *out_guard = give(vecstore_guard { guard });
        Ok(())
    })
}

/// The guard's floats.
///
/// @param[in] guard a guard not yet released, or NULL.
/// @return the pointer vecstore_get_ref() gave, valid until the guard is
/// released; NULL for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_data(guard: *const vecstore_guard_t) -> *const f32 {
    value("vecstore_guard_data", std::ptr::null(), || {
        optional(guard).map_or(std::ptr::null(), |g| g.guard.data().as_ptr())
    })
}

/// Floats in the guard's vector.
///
/// @param[in] guard a guard not yet released, or NULL.
/// @return the store's dimension; 0 for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_len(guard: *const vecstore_guard_t) -> usize {
    value("vecstore_guard_len", 0, || {
        optional(guard).map_or(0, |g| g.guard.data().len())
    })
}

/// The id the guard was taken for.
///
/// @param[in] guard a guard not yet released, or NULL.
/// @return the id; 0 for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_id(guard: *const vecstore_guard_t) -> u64 {
    value("vecstore_guard_id", 0, || {
        optional(guard).map_or(0, |g| g.guard.id())
    })
}

/// Releases a guard; its data pointer is invalid afterwards. May be called
/// from any thread, also after the store was closed.
///
/// @param[in] guard the guard, released once; NULL is a no-op.
#[no_mangle]
pub extern "C" fn vecstore_guard_release(guard: *mut vecstore_guard_t) {
    value("vecstore_guard_release", (), || drop(take(guard)))
}

/// Opens a scan of a consistent snapshot of the live vectors, taken now, in
/// unspecified order. Writes after this call are not seen. The snapshot
/// pins its vectors as guards do, until vecstore_cursor_close().
///
/// @param[in] store the handle.
/// @param[out] out_cursor receives the cursor, owned by the caller until
/// vecstore_cursor_close(); it may outlive the store handle. Used by one
/// thread at a time. Must not be NULL.
/// @return
/// - VECSTORE_OK: `*out_cursor` is set.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `out_cursor` is NULL.
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_cursor_open(
    store: *const vecstore_t,
    out_cursor: *mut *mut vecstore_cursor_t,
) -> vecstore_status {
    with_store("vecstore_cursor_open", store, |h| {
        let out_cursor = out(out_cursor, "out_cursor")?;
        *out_cursor = give(vecstore_cursor {
            cursor: h.store.cursor(),
        });
        Ok(())
    })
}

/// Advances the cursor to the next vector of its snapshot.
///
/// @param[in] cursor the cursor.
/// @param[out] out_id receives the vector's id; may be NULL.
/// @param[out] out_data receives a pointer to its `dimension` floats, valid
/// until the next vecstore_cursor_next() or vecstore_cursor_close() on this
/// cursor; may be NULL.
/// @return
/// - VECSTORE_OK: the outputs are set.
/// - VECSTORE_NOT_FOUND: the end of the snapshot (and every later call).
/// - VECSTORE_CORRUPT: this vector's bytes fail their checksum; the next
///   call goes on past it.
/// - VECSTORE_INVALID_ARGUMENT: `cursor` is NULL.
/// - VECSTORE_INTERNAL: a bug.
#[no_mangle]
pub extern "C" fn vecstore_cursor_next(
    cursor: *mut vecstore_cursor_t,
    out_id: *mut u64,
    out_data: *mut *const f32,
) -> vecstore_status {
    call("vecstore_cursor_next", || {
        let c = out(cursor, "cursor")?;
        match c.cursor.next()? {
            Some((id, data)) => {
                set_optional(out_id, id);
                set_optional(out_data, data.as_ptr());
                Ok(())
            }
            None => Err(Error::new(ErrorKind::NotFound, "end of cursor")),
        }
    })
}

/// Releases a cursor and everything it pinned. May be called from any
/// thread, also after the store was closed.
///
/// @param[in] cursor the cursor, released once; NULL is a no-op.
#[no_mangle]
pub extern "C" fn vecstore_cursor_close(cursor: *mut vecstore_cursor_t) {
    value("vecstore_cursor_close", (), || drop(take(cursor)))
}
