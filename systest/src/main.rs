//! ABI check of vecstore: include/vecstore.h as the C compiler sees it
//! against the Rust definitions in `vecstore::ffi`. See build.rs.
//!
//! Run: `cargo run -p vecstore-systest` (from the repository root). Prints
//! "PASSED n tests" and exits 0, or prints each mismatch and panics.

#![allow(non_camel_case_types)]

mod consts;
mod mirror;
mod signatures;

#[allow(
    dead_code,
    non_snake_case,
    unused_imports,
    unused_unsafe,
    unknown_lints,
    function_casts_as_integer,
    clippy::all,
    clippy::pedantic
)]
mod generated {
    // What the generated code names: the real Rust types and functions (so
    // address checks compare the real functions), and the consts.
    pub use crate::consts::*;
    pub use ::vecstore::ffi::*;

    // The generated round-trip tests say `use libc::c_int;`.
    mod libc {
        pub use std::os::raw::c_int;
    }

    include!(concat!(env!("OUT_DIR"), "/all.rs"));

    /// The version checks ctest2 cannot express (it compares C constants with
    /// Rust constants, not with what the library returns at run time).
    /// Counted in ctest2's summary.
    pub fn library_version() {
        let number = vecstore_version_number();
        same(number, VECSTORE_VERSION_NUMBER, "vecstore_version_number()");
        // SAFETY: vecstore_version() returns a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(vecstore_version()) };
        same(
            s.to_str().unwrap_or("<not UTF-8>"),
            VECSTORE_VERSION_STRING,
            "vecstore_version()",
        );
    }

    pub fn run() {
        main();
    }
}

fn main() {
    signatures::check();
    generated::library_version();
    generated::run();
}
