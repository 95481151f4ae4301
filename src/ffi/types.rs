//! Types shared with C. Layouts are `repr(C)` and checked by the ABI test
//! (systest, whose parser reads this file: types only). Each enum's values
//! are written once, here; `values` derives everything else from them.

use std::sync::atomic::AtomicBool;

use crate::{Cursor, Store, VectorGuard};

/// Result of every fallible call. 0 is success.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecstore_status {
    /// Success.
    VECSTORE_OK = 0,
    /// No vector with that id, no store at that path, or the end of a cursor.
    VECSTORE_NOT_FOUND = 1,
    /// A NULL pointer where a value is required, a zero dimension, a
    /// non-finite value, an unknown enum value, or a path that is not a directory.
    VECSTORE_INVALID_ARGUMENT = 2,
    /// The dimension passed differs from the store's.
    VECSTORE_DIMENSION_MISMATCH = 3,
    /// An OS call failed; the message carries the OS error.
    VECSTORE_IO = 4,
    /// On-disk data failed validation; nothing was modified.
    VECSTORE_CORRUPT = 5,
    /// A read-write open while another read-write handle, in this or another
    /// process, has the store open (read-only handles never cause it).
    VECSTORE_LOCKED = 6,
    /// Write attempted on a store opened read-only.
    VECSTORE_READ_ONLY = 7,
    /// Disk full or file-size limit; the store stays usable.
    VECSTORE_NO_SPACE = 8,
    /// The files were written by an incompatible format version.
    VECSTORE_VERSION_MISMATCH = 9,
    /// A bug: a panic was caught at the boundary. The store handle is poisoned.
    VECSTORE_INTERNAL = 99,
}

/// Status as received from C: any integer, validated before use (a Rust enum
/// parameter could not soundly receive an out-of-range value). Spelled
/// `vecstore_status` in the header.
pub type vecstore_status_code = u32;

/// Durability as received from C, validated by `values::durability_from`. Spelled
/// `vecstore_durability` in the header.
pub type vecstore_durability_code = u32;

/// Metric as received from C, validated by `values::metric_from`. Spelled
/// `vecstore_metric` in the header.
pub type vecstore_metric_code = u32;

/// When a write is durable. Passed as a `vecstore_durability`, an
/// `int`-sized enum; values other than these are refused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecstore_durability {
    /// Default: a write is on stable storage when its call returns.
    VECSTORE_DURABILITY_FSYNC = 0,
    /// A write survives a crash of the process when its call returns, not a power loss.
    VECSTORE_DURABILITY_FLUSH = 1,
    /// Only vecstore_flush()/vecstore_checkpoint() make writes durable.
    VECSTORE_DURABILITY_NONE = 2,
}

/// Distance of a search. Values other than these are refused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecstore_metric {
    /// Squared Euclidean distance, smaller is closer.
    VECSTORE_METRIC_L2 = 0,
    /// Negative inner product, smaller is closer.
    VECSTORE_METRIC_DOT = 1,
    /// 1 - cosine similarity, smaller is closer.
    VECSTORE_METRIC_COSINE = 2,
}

/// A search filter: returns true for an id that may be a result. `ctx` is
/// the pointer given with it to vecstore_search_filter().
pub type vecstore_filter_fn = Option<extern "C" fn(id: u64, ctx: *mut std::ffi::c_void) -> bool>;

/// Options of vecstore_open(). Start from
/// `vecstore_options_init(&opts, sizeof opts)` (or vecstore_options_default()),
/// which sets `size` and the defaults; then change the fields you need.
///
/// Growing: later versions add fields only at the end. `size` tells the
/// library which fields the program knows: fields beyond it take their
/// defaults, and a program built against a newer header that sets fields
/// this library does not know gets VECSTORE_INVALID_ARGUMENT, never a
/// silently ignored option.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vecstore_options {
    /// sizeof(vecstore_options) as the program was compiled; set by
    /// vecstore_options_init().
    pub size: usize,
    /// One of VECSTORE_DURABILITY_*.
    pub durability: vecstore_durability_code,
    /// Open without writing anything (no file, no byte, no lock), beside one
    /// writer and any number of other readers in any processes; the handle
    /// sees every write acknowledged before each of its calls starts.
    pub read_only: bool,
    /// Create the directory and the store when missing (default true).
    pub create_if_missing: bool,
    /// Vectors to pre-allocate room for; 0 = library default.
    pub initial_capacity: u64,
}

/// Statistics filled by vecstore_stats_get(). Set `size` to
/// sizeof(vecstore_stats) before the call.
///
/// Growing: later versions add fields only at the end. The library writes
/// only the fields that fit in the caller's `size` and sets `size` to the
/// bytes it wrote, so a field is valid when `size` reaches past it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct vecstore_stats {
    /// In: sizeof(vecstore_stats) as the program was compiled. Out: the
    /// bytes the library wrote, this field included.
    pub size: usize,
    /// Live vectors.
    pub vectors: u64,
    /// Floats per vector.
    pub dimension: usize,
    /// Bytes of vector data files on disk (apparent size).
    pub data_bytes: u64,
    /// Bytes of write-ahead log not yet checkpointed.
    pub log_bytes: u64,
    /// vectors * dimension * 4.
    pub live_bytes: u64,
    /// 0.0 .. 1.0: the share of slot bytes vecstore_compact() would reclaim:
    /// 1 - live_bytes / bytes of every slot except the free room of the
    /// segment now taking writes (dead slots, and room stranded in segments
    /// that no longer take writes, count; room reserved ahead does not).
    pub fragmentation: f64,
    /// Guards and cursors not yet released.
    pub guards_outstanding: u64,
    /// Times the data files were extended.
    pub capacity_grows: u64,
    /// Median latency of extending the data files, in nanoseconds.
    pub grow_p50_ns: u64,
    /// 99th-percentile latency of extending the data files, in nanoseconds.
    pub grow_p99_ns: u64,
}

/// An open store. Opaque; safe to use from any number of threads at once.
/// (The tag is not `vecstore`, so that a C++ program may have a `namespace
/// vecstore`.)
pub struct vecstore_store {
    pub(crate) store: Store,
    /// Set when a panic was caught; every later call fails with VECSTORE_INTERNAL.
    pub(crate) poisoned: AtomicBool,
}

/// Handle of an open store, from vecstore_open().
pub type vecstore_t = vecstore_store;

/// A borrowed vector. Opaque; may be released from any thread.
pub struct vecstore_guard {
    pub(crate) guard: VectorGuard,
}

/// Handle of a borrowed vector, from vecstore_get_ref().
pub type vecstore_guard_t = vecstore_guard;

/// A scan of a snapshot. Opaque; used by one thread at a time, closable from any.
pub struct vecstore_cursor {
    pub(crate) cursor: Cursor,
}

/// Handle of a snapshot scan, from vecstore_cursor_open().
pub type vecstore_cursor_t = vecstore_cursor;
