//! Errors and versions: calls that need no store.

use std::ffi::c_char;

use super::boundary::{last_error, value};
use super::types::{vecstore_status, vecstore_status_code};

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

/// ==== Errors and versions ====
///
/// After a call returned a status other than VECSTORE_OK, a human-readable
/// message for the calling thread: the function, what failed, on which path
/// or id, and the OS error text where there is one.
///
/// @return Never NULL: an empty string when the thread's last call
/// succeeded. Owned by the library and thread-local: valid until the next
/// vecstore call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn vecstore_last_error() -> *const c_char {
    value("vecstore_last_error", c"".as_ptr(), last_error)
}

/// The name of a status, for messages.
///
/// @param[in] s any value; need not be a status.
/// @return "VECSTORE_NOT_FOUND" and so on, or "VECSTORE_UNKNOWN_STATUS" for
/// a value that is not a status. Static, thread-safe, never NULL.
#[no_mangle]
pub extern "C" fn vecstore_status_str(s: vecstore_status_code) -> *const c_char {
    value("vecstore_status_str", c"".as_ptr(), || {
        vecstore_status::name_of(s).as_ptr()
    })
}

/// The library's version.
///
/// @return "MAJOR.MINOR.PATCH". Static; never NULL.
#[no_mangle]
pub extern "C" fn vecstore_version() -> *const c_char {
    value("vecstore_version", c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// The library's version as a number, to compare with the
/// VECSTORE_VERSION_NUMBER the program was compiled with: while the major
/// version is 0, a library whose MAJOR and MINOR differ from the header's
/// is not compatible (its SONAME differs too).
///
/// @return MAJOR*1000000 + MINOR*1000 + PATCH.
#[no_mangle]
pub extern "C" fn vecstore_version_number() -> u32 {
    value("vecstore_version_number", 0, || VERSION_NUMBER)
}
