//! The `extern "C"` entry points, in the order of the C API contract.

use std::ffi::{c_char, CStr};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::boundary::{
    arg, call, last_error, out, rows, set_optional, slice, slice_mut, status_name, with_store,
};
use super::types::*;
use crate::{Durability, Error, ErrorKind, Metric, Options, Store};

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

const fn parse(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() {
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

const VERSION_NUMBER: u32 = parse(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
    + parse(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
    + parse(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version as "MAJOR.MINOR.PATCH". Static; never NULL.
#[no_mangle]
pub extern "C" fn vecstore_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The library's version as MAJOR*1000000 + MINOR*1000 + PATCH. Compare it
/// with VECSTORE_VERSION_NUMBER to detect a header/library mismatch.
#[no_mangle]
pub extern "C" fn vecstore_version_number() -> u32 {
    VERSION_NUMBER
}

/// The name of status `s` ("VECSTORE_NOT_FOUND" etc.), or
/// "VECSTORE_UNKNOWN_STATUS" for a value that is not a status. Static,
/// thread-safe, never NULL.
#[no_mangle]
pub extern "C" fn vecstore_status_str(s: vecstore_status_code) -> *const c_char {
    status_name(s).as_ptr().cast()
}

/// After a call returned a status other than VECSTORE_OK, a human-readable
/// message for the calling thread: what failed, on which path or id, and the
/// OS error text where there is one. Never NULL: an empty string when the last
/// call succeeded. The pointer stays valid until the next vecstore call on the
/// same thread; do not free it.
#[no_mangle]
pub extern "C" fn vecstore_last_error() -> *const c_char {
    last_error()
}

/// Default options: durability VECSTORE_DURABILITY_FSYNC, read_only false,
/// create_if_missing true, initial_capacity 0 (library default).
#[no_mangle]
pub extern "C" fn vecstore_options_default() -> vecstore_options {
    vecstore_options {
        durability: vecstore_durability::VECSTORE_DURABILITY_FSYNC as u32,
        read_only: false,
        create_if_missing: true,
        initial_capacity: 0,
    }
}

fn durability(value: u32) -> Result<Durability, Error> {
    match value {
        0 => Ok(Durability::Fsync),
        1 => Ok(Durability::Flush),
        2 => Ok(Durability::None),
        _ => Err(Error::invalid(format!(
            "unknown durability {value} (expected 0 FSYNC, 1 FLUSH or 2 NONE)"
        ))),
    }
}

fn metric(value: u32) -> Result<Metric, Error> {
    match value {
        0 => Ok(Metric::L2),
        1 => Ok(Metric::Dot),
        2 => Ok(Metric::Cosine),
        _ => Err(Error::invalid(format!(
            "unknown metric {value} (expected 0 L2, 1 DOT or 2 COSINE)"
        ))),
    }
}

/// The caller's dimension, checked: 0 is invalid, anything else must be the store's.
fn check_dimension(h: &vecstore, dimension: usize) -> Result<usize, Error> {
    if dimension == 0 {
        return Err(Error::invalid("dimension is 0"));
    }
    let own = h.store.dimension();
    if dimension != own as usize {
        return Err(Error::new(
            ErrorKind::DimensionMismatch,
            format!("dimension mismatch: the store has dimension {own}, the call gave {dimension}"),
        ));
    }
    Ok(dimension)
}

/// Opens the store in directory `path` (NUL-terminated), creating the
/// directory and the store if missing and `opts->create_if_missing` allows.
///
/// `dimension` 0 opens an existing store with whatever dimension it has
/// (VECSTORE_NOT_FOUND if there is none); a non-zero dimension that differs
/// from an existing store's gives VECSTORE_DIMENSION_MISMATCH. `opts` may be
/// NULL for vecstore_options_default(). On VECSTORE_OK, `*out_store` receives
/// a handle to release with vecstore_close().
///
/// Opening recovers from a crash or a power cut: log records after the last
/// checkpoint are replayed and a torn tail (records that were never synced)
/// is dropped; a read-write open makes what it recovered durable before it
/// returns. After a checkpoint (every clean close makes one) an open takes
/// time independent of the number of vectors: the id index is mapped from
/// the checkpoint file, shared through the page cache by every process.
///
/// Readers: one read-write handle and any number of read-only handles
/// (`opts->read_only`), in any processes, may have the store open at once,
/// opened in either order. A read-only handle takes no lock and writes
/// nothing; each of its calls sees every write the writer acknowledged before
/// the call started (a batch whole or not at all, never an older state than
/// the handle's previous call saw). FSYNC writes are seen once durable, never
/// before; NONE-mode writes are seen once the writer reaches a
/// barrier (vecstore_flush, vecstore_checkpoint, vecstore_compact, close).
/// If the writer is killed, readers keep reading its last state and see a
/// new writer's once that one has opened. A read-only open of a store whose
/// writer died before a power cut and that needs a recovery that writes gives
/// VECSTORE_READ_ONLY (open it read-write once).
/// A new store and the directories made for it are durable on return. An
/// open that fails leaves the directory as it found it (no `LOCK` file, no
/// half-made store), apart from the repairs of a recovery that got that far.
/// Errors: VECSTORE_INVALID_ARGUMENT (NULL path or out_store, bad options
/// such as an `initial_capacity` above 2^32-1 vectors, path is not a
/// directory), VECSTORE_NOT_FOUND,
/// VECSTORE_DIMENSION_MISMATCH, VECSTORE_LOCKED (a read-write open while
/// another read-write handle, in this process or another, has the store),
/// VECSTORE_CORRUPT, VECSTORE_VERSION_MISMATCH, VECSTORE_READ_ONLY (above),
/// VECSTORE_IO, VECSTORE_NO_SPACE.
#[no_mangle]
pub extern "C" fn vecstore_open(
    path: *const c_char,
    dimension: u32,
    opts: *const vecstore_options,
    out_store: *mut *mut vecstore_t,
) -> vecstore_status {
    call("vecstore_open", || {
        let out_store = out(out_store, "out_store")?;
        // SAFETY: a non-NULL `path` is a NUL-terminated string (the contract).
        let path = unsafe { arg(path, "path").map(|p| CStr::from_ptr(p))? };
        let path = path
            .to_str()
            .map_err(|_| Error::invalid("path is not valid UTF-8"))?;
        let opts = if opts.is_null() {
            vecstore_options_default()
        } else {
            *arg(opts, "opts")?
        };
        let options = Options {
            durability: durability(opts.durability)?,
            read_only: opts.read_only,
            create_if_missing: opts.create_if_missing,
            initial_capacity: opts.initial_capacity,
            ..Options::default()
        };
        let store = Store::open(Path::new(path), dimension, &options)?;
        *out_store = Box::into_raw(Box::new(vecstore {
            store,
            poisoned: AtomicBool::new(false),
        }));
        Ok(())
    })
}

/// Makes every acknowledged write durable (a checkpoint, so the next open is
/// instant) and releases the handle. Outstanding guards and cursors stay valid
/// and unchanged until they are released, also across a later open of the
/// same store in this process. The handle is released even when the final
/// checkpoint fails, and the status says so: under VECSTORE_DURABILITY_FSYNC
/// and _FLUSH the writes stay in the log and are recovered at the next open;
/// under VECSTORE_DURABILITY_NONE there is no log, and every write since the
/// last barrier (vecstore_flush(), vecstore_checkpoint(), vecstore_compact())
/// is lost. Call vecstore_flush() first to learn of such a failure while the
/// handle can still retry. NULL is a no-op. No other thread may use the
/// handle during or after this call.
#[no_mangle]
pub extern "C" fn vecstore_close(store: *mut vecstore_t) -> vecstore_status {
    if store.is_null() {
        return vecstore_status::VECSTORE_OK;
    }
    // SAFETY: a non-NULL handle came from vecstore_open and is released once.
    let handle = unsafe { Box::from_raw(store) };
    call("vecstore_close", move || {
        let vecstore { store, poisoned } = *handle;
        if poisoned.into_inner() {
            // After a panic the in-memory state is suspect: keep the files as
            // they are and let the next open recover from the log.
            store.abandon();
            return Ok(());
        }
        store.close()
    })
}

/// Stores `vector` (`dimension` floats) under `id`, replacing any vector with
/// that id. Durable on return as the store's durability mode says.
/// Any status but VECSTORE_OK means nothing was stored, with one exception: a
/// failed fsync of the log (VECSTORE_IO or VECSTORE_NO_SPACE from a write
/// under VECSTORE_DURABILITY_FSYNC whose record was appended) leaves the
/// write's fate unknown, as for any store, and the handle then refuses every
/// change (see vecstore_flush()). A write that passes the log size of an
/// automatic checkpoint returns the status of the write itself; a failed
/// automatic checkpoint is retried by the next write, except one that failed
/// to sync a file, after which every change is refused as after any failed
/// fsync.
/// Errors: VECSTORE_INVALID_ARGUMENT (NULL, non-finite value),
/// VECSTORE_DIMENSION_MISMATCH, VECSTORE_READ_ONLY, VECSTORE_NO_SPACE, VECSTORE_IO.
#[no_mangle]
pub extern "C" fn vecstore_put(
    store: *mut vecstore_t,
    id: u64,
    vector: *const f32,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_put", store, |h| {
        let dim = check_dimension(h, dimension)?;
        h.store.put(id, slice(vector, dim, "vector")?)
    })
}

/// Stores `count` vectors (row-major, `count * dimension` floats) under `ids`,
/// atomically: after any crash either every vector of the batch is there or
/// none is. One bad vector (non-finite value) stores nothing. A later
/// duplicate id in the batch wins. Errors as vecstore_put().
#[no_mangle]
pub extern "C" fn vecstore_put_batch(
    store: *mut vecstore_t,
    ids: *const u64,
    vectors: *const f32,
    count: usize,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_put_batch", store, |h| {
        let dim = check_dimension(h, dimension)?;
        let ids = slice(ids, count, "ids")?;
        h.store
            .put_batch(ids, slice(vectors, rows(count, dim)?, "vectors")?)
    })
}

/// Deletes the vector `id`. VECSTORE_NOT_FOUND if absent.
#[no_mangle]
pub extern "C" fn vecstore_delete(store: *mut vecstore_t, id: u64) -> vecstore_status {
    with_store("vecstore_delete", store, |h| h.store.delete(id))
}

/// Deletes every listed id that exists, atomically; `*out_deleted` (may be
/// NULL) receives how many existed. Absent ids are not an error.
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

/// Copies the vector `id` into `out_vector` (`dimension` floats).
/// Errors: VECSTORE_NOT_FOUND, VECSTORE_DIMENSION_MISMATCH,
/// VECSTORE_INVALID_ARGUMENT, VECSTORE_CORRUPT (its bytes fail their checksum).
#[no_mangle]
pub extern "C" fn vecstore_get(
    store: *const vecstore_t,
    id: u64,
    out_vector: *mut f32,
    dimension: usize,
) -> vecstore_status {
    with_store("vecstore_get", store, |h| {
        let dim = check_dimension(h, dimension)?;
        h.store.get(id, slice_mut(out_vector, dim, "out_vector")?)
    })
}

/// Copies up to `count` vectors: `out_found[i]` = 1 if `ids[i]` exists (row i
/// of `out_vectors` written), else 0 (row i left untouched). Returns
/// VECSTORE_OK even when some ids are absent.
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
        let dim = check_dimension(h, dimension)?;
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

/// Whether a vector `id` exists. false for a NULL or poisoned store, and for
/// an id whose page of the checkpoint's index fails its checksum (every other
/// read reports that as VECSTORE_CORRUPT). On a read-only handle that cannot
/// read the writer's latest changes (an I/O error), the answer of the last
/// state it could read.
#[no_mangle]
pub extern "C" fn vecstore_contains(store: *const vecstore_t, id: u64) -> bool {
    let mut found = false;
    with_store("vecstore_contains", store, |h| {
        found = h.store.contains(id);
        Ok(())
    });
    found
}

/// Live vectors. 0 for a NULL or poisoned store. On a read-only handle that
/// cannot read the writer's latest changes, the count of the last state it
/// could read.
#[no_mangle]
pub extern "C" fn vecstore_len(store: *const vecstore_t) -> u64 {
    let mut len = 0;
    with_store("vecstore_len", store, |h| {
        len = h.store.len();
        Ok(())
    });
    len
}

/// The store's dimension. 0 for a NULL or poisoned store.
#[no_mangle]
pub extern "C" fn vecstore_dimension(store: *const vecstore_t) -> u32 {
    let mut dim = 0;
    with_store("vecstore_dimension", store, |h| {
        dim = h.store.dimension();
        Ok(())
    });
    dim
}

/// Borrows the vector `id` without copying. On VECSTORE_OK, `*out_guard`
/// receives a guard and `*out_data` (if `out_data` is not NULL) a pointer to
/// its `dimension` floats. The bytes stay valid and unchanged until
/// vecstore_guard_release(), whatever happens meanwhile: put or delete of the
/// same id, compaction, growth of the files, close of the store, and, for a
/// read-only handle, anything the writer in another process does (a SIGKILL
/// and a new writer's recovery included). Holding any
/// number of guards never blocks or deadlocks another call, on any thread.
/// The memory is mapped read-only: writing through the pointer faults.
/// Errors: VECSTORE_NOT_FOUND, VECSTORE_INVALID_ARGUMENT, VECSTORE_CORRUPT.
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
        *out_guard = Box::into_raw(Box::new(vecstore_guard { guard }));
        Ok(())
    })
}

/// The guard's floats (the pointer vecstore_get_ref() gave). NULL for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_data(guard: *const vecstore_guard_t) -> *const f32 {
    // SAFETY: a non-NULL guard came from vecstore_get_ref and is not released.
    unsafe { guard.as_ref() }.map_or(std::ptr::null(), |g| g.guard.data().as_ptr())
}

/// Floats in the guard's vector (the store's dimension). 0 for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_len(guard: *const vecstore_guard_t) -> usize {
    // SAFETY: as for vecstore_guard_data.
    unsafe { guard.as_ref() }.map_or(0, |g| g.guard.data().len())
}

/// The id the guard was taken for. 0 for NULL.
#[no_mangle]
pub extern "C" fn vecstore_guard_id(guard: *const vecstore_guard_t) -> u64 {
    // SAFETY: as for vecstore_guard_data.
    unsafe { guard.as_ref() }.map_or(0, |g| g.guard.id())
}

/// Releases a guard; its data pointer is invalid afterwards. May be called
/// from any thread, also after the store was closed. NULL is a no-op.
#[no_mangle]
pub extern "C" fn vecstore_guard_release(guard: *mut vecstore_guard_t) {
    if !guard.is_null() {
        // SAFETY: a non-NULL guard came from vecstore_get_ref, released once.
        drop(unsafe { Box::from_raw(guard) });
    }
}

/// Opens a scan of a consistent snapshot of the live vectors, taken now, in
/// unspecified order. Writes after this call are not seen. The snapshot pins
/// its vectors as guards do. Release with vecstore_cursor_close().
#[no_mangle]
pub extern "C" fn vecstore_cursor_open(
    store: *const vecstore_t,
    out_cursor: *mut *mut vecstore_cursor_t,
) -> vecstore_status {
    with_store("vecstore_cursor_open", store, |h| {
        let out_cursor = out(out_cursor, "out_cursor")?;
        *out_cursor = Box::into_raw(Box::new(vecstore_cursor {
            cursor: h.store.cursor(),
        }));
        Ok(())
    })
}

/// Advances the cursor: `*out_id` and `*out_data` (either may be NULL) receive
/// the next vector. VECSTORE_NOT_FOUND at the end. `*out_data` is valid until
/// the next vecstore_cursor_next() or vecstore_cursor_close() on this cursor.
/// VECSTORE_CORRUPT for a vector whose bytes fail their checksum (the scan
/// can continue past it).
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

/// Releases a cursor and everything it pinned. NULL is a no-op.
#[no_mangle]
pub extern "C" fn vecstore_cursor_close(cursor: *mut vecstore_cursor_t) {
    if !cursor.is_null() {
        // SAFETY: a non-NULL cursor came from vecstore_cursor_open, closed once.
        drop(unsafe { Box::from_raw(cursor) });
    }
}

/// Barrier: every write acknowledged so far is durable on return (an
/// fdatasync of the log, or a checkpoint under VECSTORE_DURABILITY_NONE).
/// If an fsync or fdatasync fails (here or inside any write, checkpoint or
/// compaction), the kernel may have dropped the data, so the handle refuses
/// every later change with the same status until the store is closed and
/// reopened; reads keep working, and the reopen recovers from the files.
#[no_mangle]
pub extern "C" fn vecstore_flush(store: *mut vecstore_t) -> vecstore_status {
    with_store("vecstore_flush", store, |h| h.store.flush())
}

/// Flush, persist the id index, and trim the log, so the next open replays
/// nothing.
#[no_mangle]
pub extern "C" fn vecstore_checkpoint(store: *mut vecstore_t) -> vecstore_status {
    with_store("vecstore_checkpoint", store, |h| h.store.checkpoint())
}

/// Changes the durability mode (a VECSTORE_DURABILITY_* value). Leaving
/// VECSTORE_DURABILITY_NONE checkpoints first.
#[no_mangle]
pub extern "C" fn vecstore_set_durability(
    store: *mut vecstore_t,
    durability: u32,
) -> vecstore_status {
    with_store("vecstore_set_durability", store, |h| {
        h.store.set_durability(self::durability(durability)?)
    })
}

/// Pre-allocates room for `vector_count` more vectors, so that many writes
/// never wait for the files to grow. The room is one new data file when the
/// current one lacks it; what the current one had left then counts as
/// fragmentation until vecstore_compact().
#[no_mangle]
pub extern "C" fn vecstore_reserve(store: *mut vecstore_t, vector_count: u64) -> vecstore_status {
    with_store("vecstore_reserve", store, |h| h.store.reserve(vector_count))
}

/// Rewrites the live vectors of files holding deleted or overwritten ones, or
/// room that no write will use any more (files that stopped taking writes
/// before they were full, as vecstore_reserve() can leave), and deletes
/// those files; `*out_bytes_reclaimed` (may be NULL) receives the
/// bytes of disk given back. Ends with a checkpoint (so it is also a barrier,
/// like vecstore_checkpoint()). Readers, guards and cursors are not disturbed;
/// writers wait until it ends. Crash-safe at every step.
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

/// Fills `*out_stats` with the store's statistics as of now.
#[no_mangle]
pub extern "C" fn vecstore_stats_get(
    store: *const vecstore_t,
    out_stats: *mut vecstore_stats,
) -> vecstore_status {
    with_store("vecstore_stats_get", store, |h| {
        let out_stats = out(out_stats, "out_stats")?;
        let s = h.store.stats();
        *out_stats = vecstore_stats {
            vectors: s.vectors,
            dimension: s.dimension,
            data_bytes: s.data_bytes,
            log_bytes: s.log_bytes,
            live_bytes: s.live_bytes,
            fragmentation: s.fragmentation,
            guards_outstanding: s.guards_outstanding,
            capacity_grows: s.capacity_grows,
            grow_p50_ns: s.grow_p50_ns,
            grow_p99_ns: s.grow_p99_ns,
        };
        Ok(())
    })
}

/// Exact k-nearest-neighbour search over all live vectors (a consistent
/// snapshot; concurrent writers neither block nor tear it). Writes min(k, len)
/// results to `out_ids` and `out_distances`, closest first, ties broken by
/// smaller id; `*out_count` = how many. `len` is the number of live vectors
/// when the search runs: arrays of `k` elements are always enough, and
/// arrays of vecstore_len() elements with `k` = SIZE_MAX (every vector) are
/// enough when no other thread adds vectors meanwhile. Distances are computed
/// in float; one that overflows float (or a cosine norm that does) is
/// recomputed in double, so no finite input yields NaN, and a distance
/// beyond the float range is reported as +/-infinity. `metric` is a
/// VECSTORE_METRIC_* value. Safe to call from many threads at once.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the contract's signature
pub extern "C" fn vecstore_search(
    store: *const vecstore_t,
    query: *const f32,
    dimension: usize,
    k: usize,
    metric: u32,
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

/// vecstore_search() for `query_count` queries at once (row-major,
/// `query_count * dimension` floats): one pass over the stored vectors serves
/// every query, so a batch costs far less than as many single searches.
/// Query i's results go to row i of `out_ids` and `out_distances` (row i
/// starts at element i * k and receives min(k, len) results, so
/// `query_count * k` elements are always enough), and its result count to
/// `out_counts[i]` (`query_count` elements). A large batch sums in a
/// different order than vecstore_search(): a distance may differ from the
/// single-query one by float rounding, and so may the order of vectors whose
/// distances tie to that precision.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn vecstore_search_batch(
    store: *const vecstore_t,
    queries: *const f32,
    query_count: usize,
    dimension: usize,
    k: usize,
    metric: u32,
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
    h: &vecstore,
    queries: *const f32,
    query_count: usize,
    dimension: usize,
    k: usize,
    metric: u32,
    out_ids: *mut u64,
    out_distances: *mut f32,
    out_counts: *mut usize,
) -> Result<(), Error> {
    let dim = check_dimension(h, dimension)?;
    if query_count == 0 {
        return Err(Error::invalid("query_count is 0"));
    }
    let metric = self::metric(metric)?;
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
