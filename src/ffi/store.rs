//! Opening and closing a store, its options and its statistics.

use std::ffi::c_char;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::boundary::{
    call, declared_size, give, out, sized_in, struct_size, take, text, value, with_store,
    write_fields, zero,
};
use super::types::*;
use super::values::*;
use crate::{Error, Options, Store};

/// ==== Store ====
///
/// This library's default options, in this library's layout: `size` is
/// sizeof(vecstore_options) as the library was built. Right for a program
/// built against the header of the library it runs with; a program that
/// may run with a later library (which may have a larger struct) should use
/// vecstore_options_init(), which fills the program's own layout.
///
/// @return `size` = the library's sizeof(vecstore_options), `durability`
/// VECSTORE_DURABILITY_FSYNC, `read_only` false, `create_if_missing` true,
/// `initial_capacity` 0 (library default).
#[no_mangle]
pub extern "C" fn vecstore_options_default() -> vecstore_options {
    let defaults = vecstore_options {
        size: size_of::<vecstore_options>(),
        durability: vecstore_durability::VECSTORE_DURABILITY_FSYNC as u32,
        read_only: false,
        create_if_missing: true,
        initial_capacity: 0,
    };
    value("vecstore_options_default", defaults, || defaults)
}

/// Fills `*opts` with the default options in the program's layout: the
/// fields this library knows that fit in `size` get their defaults (as
/// vecstore_options_default() says), every other byte up to `size` is
/// zeroed (a field of a later header, unset), and `opts->size` = `size`.
/// The way to make options that works with any later library.
///
/// @param[out] opts the options to fill, `size` bytes. Must not be NULL.
/// @param[in] size sizeof(vecstore_options) as the program was compiled.
/// @return
/// - VECSTORE_OK: filled.
/// - VECSTORE_INVALID_ARGUMENT: `opts` is NULL, or `size` is below
///   sizeof(size_t) or above 4096.
/// - VECSTORE_INTERNAL: a bug (see the top of this header).
#[no_mangle]
pub extern "C" fn vecstore_options_init(
    opts: *mut vecstore_options,
    size: usize,
) -> vecstore_status {
    call("vecstore_options_init", || {
        let size = struct_size(size, "opts")?;
        let ptr = out(opts, "opts").map(|o| std::ptr::from_mut(o).cast::<usize>())?;
        zero(ptr, size, "opts")?;
        let defaults = vecstore_options_default();
        write_fields(
            ptr,
            size,
            "opts",
            &[
                (offset_of!(vecstore_options, size), &size.to_ne_bytes()),
                (
                    offset_of!(vecstore_options, durability),
                    &defaults.durability.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_options, read_only),
                    &[u8::from(defaults.read_only)],
                ),
                (
                    offset_of!(vecstore_options, create_if_missing),
                    &[u8::from(defaults.create_if_missing)],
                ),
                (
                    offset_of!(vecstore_options, initial_capacity),
                    &defaults.initial_capacity.to_ne_bytes(),
                ),
            ],
        )?;
        Ok(())
    })
}

/// The engine's options for the caller's `vecstore_options` (NULL: the
/// defaults), read as far as its `size` reaches; a `size` that ends inside
/// a field is refused.
fn options(opts: *const vecstore_options) -> Result<Options, Error> {
    let mut options = Options::default();
    if opts.is_null() {
        return Ok(options);
    }
    let bytes = sized_in(opts.cast(), size_of::<vecstore_options>(), "opts")?;
    let fields = [
        offset_of!(vecstore_options, durability)..offset_of!(vecstore_options, durability) + 4,
        offset_of!(vecstore_options, read_only)..offset_of!(vecstore_options, read_only) + 1,
        offset_of!(vecstore_options, create_if_missing)
            ..offset_of!(vecstore_options, create_if_missing) + 1,
        offset_of!(vecstore_options, initial_capacity)
            ..offset_of!(vecstore_options, initial_capacity) + 8,
    ];
    if let Some(cut) = fields
        .iter()
        .find(|f| f.start < bytes.len() && bytes.len() < f.end)
    {
        return Err(Error::invalid(format!(
            "opts->size is {}: it ends inside the field at bytes {cut:?}",
            bytes.len()
        )));
    }
    let field = |range: &std::ops::Range<usize>| bytes.get(range.clone());
    if let Some(b) = field(&fields[0]) {
        options.durability = durability_from(u32::from_ne_bytes(b.try_into().unwrap()))?;
    }
    // A C `bool` is one byte, 0 or 1; any non-zero byte reads as true.
    if let Some(b) = field(&fields[1]) {
        options.read_only = b[0] != 0;
    }
    if let Some(b) = field(&fields[2]) {
        options.create_if_missing = b[0] != 0;
    }
    if let Some(b) = field(&fields[3]) {
        options.initial_capacity = u64::from_ne_bytes(b.try_into().unwrap());
    }
    Ok(options)
}

/// Opens the store in a directory, creating the directory and the store if
/// missing and allowed.
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
/// new writer's once that one has opened.
///
/// A new store and the directories made for it are durable on return. An
/// open that fails leaves the directory as it found it (no `LOCK` file, no
/// half-made store), apart from the repairs of a recovery that got that far.
///
/// @param[in] path the store's directory, a NUL-terminated UTF-8 string;
/// read during the call only.
/// @param[in] dimension floats per vector, 1 to 2^32-1; 0 opens an existing
/// store with whatever dimension it has.
/// @param[in] opts options from vecstore_options_default(), read during the
/// call only; NULL for the defaults.
/// @param[out] out_store receives the handle, owned by the caller until
/// vecstore_close(). Must not be NULL.
/// @return
/// - VECSTORE_OK: `*out_store` is set.
/// - VECSTORE_INVALID_ARGUMENT: `path` or `out_store` is NULL, `path` is not
///   UTF-8 or names something that is not a directory, `dimension` is above
///   2^32-1, or `opts` is bad: an unknown durability, an `initial_capacity`
///   above 2^32-1 vectors, a `size` below sizeof(size_t) or above 4096, or
///   non-zero fields that this library does not know (a newer header).
/// - VECSTORE_NOT_FOUND: no store there and `create_if_missing` is false,
///   or `dimension` is 0 and there is no store to take it from.
/// - VECSTORE_DIMENSION_MISMATCH: the store exists with another dimension.
/// - VECSTORE_LOCKED: a read-write open while another read-write handle, in
///   this process or another, has the store.
/// - VECSTORE_READ_ONLY: a read-only open of a store whose writer died
///   before a power cut and that needs a recovery that writes: open it
///   read-write once.
/// - VECSTORE_CORRUPT: a file fails validation; nothing was changed.
/// - VECSTORE_VERSION_MISMATCH: the files were written by another format
///   version.
/// - VECSTORE_NO_SPACE: the disk is full while creating or recovering.
/// - VECSTORE_IO: another OS error (permissions, for one).
/// - VECSTORE_INTERNAL: a bug (see the top of this header).
#[no_mangle]
pub extern "C" fn vecstore_open(
    path: *const c_char,
    dimension: usize,
    opts: *const vecstore_options,
    out_store: *mut *mut vecstore_t,
) -> vecstore_status {
    call("vecstore_open", || {
        let out_store = out(out_store, "out_store")?;
        let path = text(path, "path")?;
        let dimension = u32::try_from(dimension)
            .map_err(|_| Error::invalid(format!("dimension {dimension} is above 2^32-1")))?;
        let store = Store::open(Path::new(path), dimension, &options(opts)?)?;
        *out_store = give(vecstore_store {
            store,
            poisoned: AtomicBool::new(false),
        });
        Ok(())
    })
}

/// Makes every acknowledged write durable (a checkpoint, so the next open is
/// instant) and releases the handle.
///
/// Outstanding guards and cursors stay valid and unchanged until they are
/// released, also across a later open of the same store in this process.
/// The handle is released whatever the status: under
/// VECSTORE_DURABILITY_FSYNC and _FLUSH, writes whose final checkpoint failed
/// stay in the log and are recovered at the next open; under
/// VECSTORE_DURABILITY_NONE there is no log, and every write since the last
/// barrier (vecstore_flush(), vecstore_checkpoint(), vecstore_compact()) is
/// lost. Call vecstore_flush() first to learn of such a failure while the
/// handle can still retry. A poisoned handle (after VECSTORE_INTERNAL) is
/// released without a checkpoint; the next open recovers from the log.
///
/// @param[in] store the handle, or NULL (a no-op). No other thread may use it
/// during or after this call.
/// @return
/// - VECSTORE_OK: released; everything acknowledged is durable.
/// - VECSTORE_NO_SPACE, VECSTORE_IO: released, but the final checkpoint
///   failed (above), or the handle had refused changes since a failed fsync.
/// - VECSTORE_INTERNAL: released; a bug (see the top of this header).
#[no_mangle]
pub extern "C" fn vecstore_close(store: *mut vecstore_t) -> vecstore_status {
    call("vecstore_close", || {
        let Some(handle) = take(store) else {
            return Ok(());
        };
        let vecstore_store { store, poisoned } = *handle;
        if poisoned.into_inner() {
            // After a panic the in-memory state is suspect: keep the files as
            // they are and let the next open recover from the log.
            store.abandon();
            return Ok(());
        }
        store.close()
    })
}

/// Fills a vecstore_stats with the store's statistics as of now.
///
/// @param[in] store the handle.
/// @param[in,out] out_stats in: `size` = sizeof(vecstore_stats); out: the
/// fields that fit in that size, and `size` = the bytes written. Must not
/// be NULL.
/// @return
/// - VECSTORE_OK: `*out_stats` is filled.
/// - VECSTORE_INVALID_ARGUMENT: `store` or `out_stats` is NULL, or
///   `out_stats->size` is below sizeof(size_t) or above 4096 (not set?).
/// - VECSTORE_INTERNAL: a bug, or a poisoned handle.
#[no_mangle]
pub extern "C" fn vecstore_stats_get(
    store: *const vecstore_t,
    out_stats: *mut vecstore_stats,
) -> vecstore_status {
    with_store("vecstore_stats_get", store, |h| {
        let s = h.store.stats();
        let ptr = out_stats.cast::<usize>();
        let size = declared_size(ptr, "out_stats")?.min(size_of::<vecstore_stats>());
        let dimension = s.dimension as usize;
        let end = write_fields(
            ptr,
            size,
            "out_stats",
            &[
                (
                    offset_of!(vecstore_stats, vectors),
                    &s.vectors.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, dimension),
                    &dimension.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, data_bytes),
                    &s.data_bytes.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, log_bytes),
                    &s.log_bytes.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, live_bytes),
                    &s.live_bytes.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, fragmentation),
                    &s.fragmentation.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, guards_outstanding),
                    &s.guards_outstanding.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, capacity_grows),
                    &s.capacity_grows.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, grow_p50_ns),
                    &s.grow_p50_ns.to_ne_bytes(),
                ),
                (
                    offset_of!(vecstore_stats, grow_p99_ns),
                    &s.grow_p99_ns.to_ne_bytes(),
                ),
            ],
        )?;
        let written = end.max(size_of::<usize>());
        write_fields(ptr, size, "out_stats", &[(0, &written.to_ne_bytes())])?;
        Ok(())
    })
}
