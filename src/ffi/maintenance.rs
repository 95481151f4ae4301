//! Barriers and maintenance: flush, checkpoint, durability, room, compaction,
//! online copy.

use std::ffi::c_char;
use std::path::Path;

use super::boundary::{set_optional, text, with_store};
use super::types::*;
use super::values::*;

/// ==== Barriers and maintenance ====
///
/// Barrier: every write acknowledged so far is durable on return (an
/// fdatasync of the log, or a checkpoint under VECSTORE_DURABILITY_NONE).
///
/// If an fsync or fdatasync fails (here or inside any write, checkpoint or
/// compaction), the kernel may have dropped the data, so the handle refuses
/// every later change with the same status until the store is closed and
/// reopened; reads keep working, and the reopen recovers from the files.
///
/// @param[in] store a read-write handle.
/// @return
/// - VECSTORE_OK: everything acknowledged is durable.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL.
/// - VECSTORE_READ_ONLY: the handle is read-only.
/// - VECSTORE_NO_SPACE, VECSTORE_IO: a sync or write failed (above).
/// - VECSTORE_CORRUPT: under VECSTORE_DURABILITY_NONE, the checkpoint met an
///   index page that fails its checksum.
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_flush(store: *mut vecstore_t) -> vecstore_status {
    with_store("vecstore_flush", store, |h| h.store.flush())
}

/// A flush that also persists the id index and trims the log, so the next
/// open replays nothing and takes constant time. Readers keep reading
/// meanwhile.
///
/// @param[in] store a read-write handle.
/// @return
/// - VECSTORE_OK: checkpointed.
/// - VECSTORE_INVALID_ARGUMENT, VECSTORE_READ_ONLY, VECSTORE_NO_SPACE,
///   VECSTORE_IO, VECSTORE_CORRUPT, VECSTORE_INTERNAL: as for
///   vecstore_flush(); a failed checkpoint leaves the previous one and the
///   log in force.
#[no_mangle]
pub extern "C" fn vecstore_checkpoint(store: *mut vecstore_t) -> vecstore_status {
    with_store("vecstore_checkpoint", store, |h| h.store.checkpoint())
}

/// Changes the durability mode of this handle's later writes. Leaving
/// VECSTORE_DURABILITY_NONE checkpoints first; leaving
/// VECSTORE_DURABILITY_FSYNC first syncs the writes still waiting for their
/// fsync.
///
/// @param[in] store a read-write handle.
/// @param[in] durability the new mode.
/// @return
/// - VECSTORE_OK: changed.
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL or `durability` is not a
///   VECSTORE_DURABILITY_* value.
/// - VECSTORE_READ_ONLY, VECSTORE_NO_SPACE, VECSTORE_IO, VECSTORE_CORRUPT,
///   VECSTORE_INTERNAL: as for vecstore_checkpoint(); the mode is then
///   unchanged.
#[no_mangle]
pub extern "C" fn vecstore_set_durability(
    store: *mut vecstore_t,
    durability: vecstore_durability_code,
) -> vecstore_status {
    with_store("vecstore_set_durability", store, |h| {
        h.store.set_durability(durability_from(durability)?)
    })
}

/// Pre-allocates room for `vector_count` more vectors, so that many writes
/// never wait for the files to grow. The room is one new data file when the
/// current one lacks it; what the current one had left then counts as
/// fragmentation until vecstore_compact().
///
/// @param[in] store a read-write handle.
/// @param[in] vector_count vectors to make room for, at most 2^32-1.
/// @return
/// - VECSTORE_OK: the room exists on disk (allocated, not sparse).
/// - VECSTORE_INVALID_ARGUMENT: `store` is NULL or `vector_count` is above
///   what one data file can hold (2^32-1 vectors, or a file beyond 2^63-1
///   bytes).
/// - VECSTORE_NO_SPACE: the disk cannot hold it; nothing was allocated.
/// - VECSTORE_READ_ONLY, VECSTORE_IO, VECSTORE_INTERNAL: as for
///   vecstore_flush().
#[no_mangle]
pub extern "C" fn vecstore_reserve(store: *mut vecstore_t, vector_count: u64) -> vecstore_status {
    with_store("vecstore_reserve", store, |h| h.store.reserve(vector_count))
}

/// Gives back disk space: rewrites the live vectors of data files holding
/// deleted or overwritten ones, or room that no write will use any more
/// (files that stopped taking writes before they were full, as
/// vecstore_reserve() can leave), and deletes those files. Ends with a
/// checkpoint, so it is also a barrier. Readers, guards and cursors are not
/// disturbed (a file they pin is deleted once they release it); writers wait
/// until it ends. Crash-safe at every step.
///
/// @param[in] store a read-write handle.
/// @param[out] out_bytes_reclaimed receives the bytes of disk given back;
/// may be NULL.
/// @return
/// - VECSTORE_OK: compacted.
/// - VECSTORE_CORRUPT: a page of the checkpoint's index fails its checksum;
///   nothing was changed. (Vectors are moved with their checksums: a
///   damaged one stays detectable, and is reported when read.)
/// - VECSTORE_INVALID_ARGUMENT, VECSTORE_READ_ONLY, VECSTORE_NO_SPACE,
///   VECSTORE_IO, VECSTORE_INTERNAL: as for vecstore_checkpoint().
#[no_mangle]
pub extern "C" fn vecstore_compact(
    store: *mut vecstore_t,
    out_bytes_reclaimed: *mut u64,
) -> vecstore_status {
    with_store("vecstore_compact", store, |h| {
        let reclaimed = h.store.compact()?;
        set_optional(out_bytes_reclaimed, reclaimed);
        Ok(())
    })
}

/// Writes a consistent copy of the store as of this call into `dest_path`
/// (online backup, like mdb_copy): the live vectors of one instant, bit for
/// bit under their ids, in a new store with no dead slots and an empty log,
/// checkpointed and fsynced (every file, the directory, and its entry in its
/// parent), ready to open when the call returns. Writers, in this process
/// or others, go on meanwhile: the copy reads a snapshot and takes no lock.
/// On a read-only handle (which needs no lock at all, so it can copy a store
/// that another process is writing), the copy is the last state the handle
/// could read of the writer's: every write acknowledged before the call
/// started, a batch whole or not at all.
///
/// A failed copy leaves nothing behind: the files it made are removed, and
/// so are the directories it created (an existing empty directory is left
/// empty). The source is never changed. A copy cut short by a crash or a
/// power cut is not removed and may open as a valid but incomplete store:
/// only a copy whose call returned VECSTORE_OK is a backup.
///
/// @param[in] store a handle, read-write or read-only.
/// @param[in] dest_path the copy's directory, a NUL-terminated UTF-8 string
/// read during the call only: a directory that does not exist (it is
/// created, with any missing parents) or is empty; not the store's own
/// directory nor inside it.
/// @return
/// - VECSTORE_OK: the copy is complete and durable.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `dest_path` is NULL,
///   `dest_path` is not UTF-8, exists and is not an empty directory, or is
///   the store's directory or lies inside it; nothing was made.
/// - VECSTORE_CORRUPT: a vector of the store fails its checksum (the copy
///   never carries a damaged vector; vecstore verify lists them); or a page
///   of the checkpoint's index does. Nothing is left at `dest_path`.
/// - VECSTORE_LOCKED: another handle holds a store created at `dest_path`
///   meanwhile (a race with another copy or open).
/// - VECSTORE_NO_SPACE: the disk cannot hold the copy; nothing is left.
/// - VECSTORE_IO: creating, writing or syncing the copy failed (permission
///   denied, a failed fsync, ...); nothing is left.
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_copy(
    store: *const vecstore_t,
    dest_path: *const c_char,
) -> vecstore_status {
    with_store("vecstore_copy", store, |h| {
        let dest = text(dest_path, "dest_path")?;
        h.store.copy_to(Path::new(dest)).map(drop)
    })
}
