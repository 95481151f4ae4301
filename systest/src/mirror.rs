//! The C functions as an `extern "C"` block, for ctest2.
//!
//! ctest2 reads function signatures only from `extern` blocks in Rust source;
//! the real entry points are `#[no_mangle] pub extern "C" fn` definitions in
//! the modules of `src/ffi/`, which it cannot see. This block restates them, and
//! cannot drift from them:
//! - `signatures.rs` makes rustc prove each declaration here has exactly the
//!   type of the function of the same name in `vecstore::ffi`;
//! - `build.rs` fails unless the names here, the `extern "C" fn`s of
//!   `src/ffi/` and the functions declared in `include/vecstore.h` are the
//!   same set.
//!
//! ctest2 then has the C compiler check each header declaration against the
//! C signature derived from these types, and compares the address the C side
//! links against with the Rust function's.
//!
//! One declaration per line or parameter list in the form `pub fn NAME(`; the
//! build script reads the names textually.

use std::ffi::{c_char, c_void};

use vecstore::ffi::{
    vecstore_cursor_t, vecstore_durability_code, vecstore_filter_fn, vecstore_guard_t,
    vecstore_metric_code, vecstore_options, vecstore_stats, vecstore_status, vecstore_status_code,
    vecstore_t,
};

#[allow(improper_ctypes)]
extern "C" {
    pub fn vecstore_version() -> *const c_char;
    pub fn vecstore_version_number() -> u32;
    // `vecstore_status_code` is `u32` in Rust and `vecstore_status` in the
    // header (see types.rs); the type name map in build.rs spells it
    // `vecstore_status` for C, so this parameter is checked as the header has it.
    pub fn vecstore_status_str(s: vecstore_status_code) -> *const c_char;
    pub fn vecstore_last_error() -> *const c_char;
    pub fn vecstore_options_default() -> vecstore_options;
    pub fn vecstore_options_init(opts: *mut vecstore_options, size: usize) -> vecstore_status;
    pub fn vecstore_open(
        path: *const c_char,
        dimension: usize,
        opts: *const vecstore_options,
        out_store: *mut *mut vecstore_t,
    ) -> vecstore_status;
    pub fn vecstore_close(store: *mut vecstore_t) -> vecstore_status;
    pub fn vecstore_put(
        store: *mut vecstore_t,
        id: u64,
        vector: *const f32,
        dimension: usize,
    ) -> vecstore_status;
    pub fn vecstore_put_batch(
        store: *mut vecstore_t,
        ids: *const u64,
        vectors: *const f32,
        count: usize,
        dimension: usize,
    ) -> vecstore_status;
    pub fn vecstore_delete(store: *mut vecstore_t, id: u64) -> vecstore_status;
    pub fn vecstore_delete_batch(
        store: *mut vecstore_t,
        ids: *const u64,
        count: usize,
        out_deleted: *mut u64,
    ) -> vecstore_status;
    pub fn vecstore_get(
        store: *const vecstore_t,
        id: u64,
        out_vector: *mut f32,
        dimension: usize,
    ) -> vecstore_status;
    pub fn vecstore_get_batch(
        store: *const vecstore_t,
        ids: *const u64,
        count: usize,
        out_vectors: *mut f32,
        dimension: usize,
        out_found: *mut u8,
    ) -> vecstore_status;
    pub fn vecstore_contains(store: *const vecstore_t, id: u64) -> bool;
    pub fn vecstore_len(store: *const vecstore_t) -> u64;
    pub fn vecstore_dimension(store: *const vecstore_t) -> usize;
    pub fn vecstore_get_ref(
        store: *const vecstore_t,
        id: u64,
        out_guard: *mut *mut vecstore_guard_t,
        out_data: *mut *const f32,
    ) -> vecstore_status;
    pub fn vecstore_guard_data(guard: *const vecstore_guard_t) -> *const f32;
    pub fn vecstore_guard_len(guard: *const vecstore_guard_t) -> usize;
    pub fn vecstore_guard_id(guard: *const vecstore_guard_t) -> u64;
    pub fn vecstore_guard_release(guard: *mut vecstore_guard_t);
    pub fn vecstore_cursor_open(
        store: *const vecstore_t,
        out_cursor: *mut *mut vecstore_cursor_t,
    ) -> vecstore_status;
    pub fn vecstore_cursor_next(
        cursor: *mut vecstore_cursor_t,
        out_id: *mut u64,
        out_data: *mut *const f32,
    ) -> vecstore_status;
    pub fn vecstore_cursor_close(cursor: *mut vecstore_cursor_t);
    pub fn vecstore_flush(store: *mut vecstore_t) -> vecstore_status;
    pub fn vecstore_checkpoint(store: *mut vecstore_t) -> vecstore_status;
    pub fn vecstore_set_durability(
        store: *mut vecstore_t,
        durability: vecstore_durability_code,
    ) -> vecstore_status;
    pub fn vecstore_reserve(store: *mut vecstore_t, vector_count: u64) -> vecstore_status;
    pub fn vecstore_compact(
        store: *mut vecstore_t,
        out_bytes_reclaimed: *mut u64,
    ) -> vecstore_status;
    pub fn vecstore_copy(store: *const vecstore_t, dest_path: *const c_char) -> vecstore_status;
    pub fn vecstore_stats_get(
        store: *const vecstore_t,
        out_stats: *mut vecstore_stats,
    ) -> vecstore_status;
    pub fn vecstore_search(
        store: *const vecstore_t,
        query: *const f32,
        dimension: usize,
        k: usize,
        metric: vecstore_metric_code,
        out_ids: *mut u64,
        out_distances: *mut f32,
        out_count: *mut usize,
    ) -> vecstore_status;
    pub fn vecstore_search_batch(
        store: *const vecstore_t,
        queries: *const f32,
        query_count: usize,
        dimension: usize,
        k: usize,
        metric: vecstore_metric_code,
        out_ids: *mut u64,
        out_distances: *mut f32,
        out_counts: *mut usize,
    ) -> vecstore_status;
    pub fn vecstore_search_filter(
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
    ) -> vecstore_status;
    pub fn vecstore_search_ids(
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
    ) -> vecstore_status;
    pub fn vecstore_search_by_id(
        store: *const vecstore_t,
        id: u64,
        k: usize,
        metric: vecstore_metric_code,
        out_ids: *mut u64,
        out_distances: *mut f32,
        out_count: *mut usize,
    ) -> vecstore_status;
    pub fn vecstore_set_search_threads(store: *mut vecstore_t, threads: u32) -> vecstore_status;
}
