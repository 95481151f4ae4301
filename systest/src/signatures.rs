//! Compile-time proof that `mirror.rs` restates the Rust entry points exactly.
//!
//! For each function, the declaration in `mirror` and the definition in
//! `vecstore::ffi` are both coerced to an `unsafe extern "C" fn` pointer whose
//! parameter and return types are left to inference (`_`), then put in one
//! array: that compiles only if both have the same arity, parameter types and
//! return type. Nothing is restated here but the arity, and a wrong arity
//! fails too. Which names must appear is checked by build.rs.

use crate::mirror;

macro_rules! same_signature {
    ($($name:ident($($arg:tt),*);)*) => {
        $({
            let mirror: unsafe extern "C" fn($($arg),*) -> _ = mirror::$name;
            let real: unsafe extern "C" fn($($arg),*) -> _ = vecstore::ffi::$name;
            let _same_type = [mirror, real];
        })*
    };
}

/// Never needs to run: it type-checks or the crate does not build.
pub fn check() {
    same_signature! {
        vecstore_version();
        vecstore_version_number();
        vecstore_status_str(_);
        vecstore_last_error();
        vecstore_options_default();
        vecstore_options_init(_, _);
        vecstore_open(_, _, _, _);
        vecstore_close(_);
        vecstore_put(_, _, _, _);
        vecstore_put_batch(_, _, _, _, _);
        vecstore_delete(_, _);
        vecstore_delete_batch(_, _, _, _);
        vecstore_get(_, _, _, _);
        vecstore_get_batch(_, _, _, _, _, _);
        vecstore_contains(_, _);
        vecstore_len(_);
        vecstore_dimension(_);
        vecstore_get_ref(_, _, _, _);
        vecstore_guard_data(_);
        vecstore_guard_len(_);
        vecstore_guard_id(_);
        vecstore_guard_release(_);
        vecstore_cursor_open(_, _);
        vecstore_cursor_next(_, _, _);
        vecstore_cursor_close(_);
        vecstore_flush(_);
        vecstore_checkpoint(_);
        vecstore_set_durability(_, _);
        vecstore_reserve(_, _);
        vecstore_compact(_, _);
        vecstore_copy(_, _);
        vecstore_stats_get(_, _);
        vecstore_search(_, _, _, _, _, _, _, _);
        vecstore_search_batch(_, _, _, _, _, _, _, _, _);
        vecstore_search_filter(_, _, _, _, _, _, _, _, _, _);
        vecstore_search_ids(_, _, _, _, _, _, _, _, _, _);
        vecstore_search_by_id(_, _, _, _, _, _, _);
        vecstore_set_search_threads(_, _);
    }
}
