//! What every entry point does around its body: pointer checks, panic capture,
//! status mapping, and the thread's last-error message.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use super::types::{vecstore, vecstore_status};
use crate::{Error, ErrorKind};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// The calling thread's last message; valid until its next vecstore call.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

fn status_of(kind: ErrorKind) -> vecstore_status {
    match kind {
        ErrorKind::NotFound => vecstore_status::VECSTORE_NOT_FOUND,
        ErrorKind::InvalidArgument => vecstore_status::VECSTORE_INVALID_ARGUMENT,
        ErrorKind::DimensionMismatch => vecstore_status::VECSTORE_DIMENSION_MISMATCH,
        ErrorKind::Io => vecstore_status::VECSTORE_IO,
        ErrorKind::Corrupt => vecstore_status::VECSTORE_CORRUPT,
        ErrorKind::Locked => vecstore_status::VECSTORE_LOCKED,
        ErrorKind::ReadOnly => vecstore_status::VECSTORE_READ_ONLY,
        ErrorKind::NoSpace => vecstore_status::VECSTORE_NO_SPACE,
        ErrorKind::VersionMismatch => vecstore_status::VECSTORE_VERSION_MISMATCH,
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs `body` for a call that has no store handle.
pub(crate) fn call(name: &str, body: impl FnOnce() -> Result<(), Error>) -> vecstore_status {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => vecstore_status::VECSTORE_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {e}"));
            status_of(e.kind())
        }
        Err(payload) => {
            set_last_error(&format!(
                "{name}: internal error: {}",
                panic_message(&*payload)
            ));
            vecstore_status::VECSTORE_INTERNAL
        }
    }
}

/// Runs `body` on the store behind `handle`: checks it, refuses a poisoned
/// one, and poisons it if `body` panics.
pub(crate) fn with_store(
    name: &str,
    handle: *const vecstore,
    body: impl FnOnce(&vecstore) -> Result<(), Error>,
) -> vecstore_status {
    let h = match arg(handle, "store") {
        Ok(h) => h,
        Err(e) => return call(name, || Err(e)),
    };
    if h.poisoned.load(Ordering::Acquire) {
        set_last_error(&format!(
            "{name}: the store is poisoned by an earlier internal error; close it"
        ));
        return vecstore_status::VECSTORE_INTERNAL;
    }
    let status = call(name, || body(h));
    if status == vecstore_status::VECSTORE_INTERNAL {
        h.poisoned.store(true, Ordering::Release);
    }
    status
}

/// A required pointer argument as a reference.
pub(crate) fn arg<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: the C caller promises a non-NULL pointer is valid for reads of
    // a `T` for the duration of the call (the documented contract).
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// A required output pointer.
pub(crate) fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: as for `arg`, for writes.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// A C array of `len` elements; NULL is allowed only when `len` is 0.
pub(crate) fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises `ptr` points at `len` initialized elements
    // that stay valid and unmodified for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A writable C array of `len` elements; NULL is allowed only when `len` is 0.
pub(crate) fn slice_mut<'a, T>(ptr: *mut T, len: usize, what: &str) -> Result<&'a mut [T], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises `ptr` points at `len` writable elements that
    // nothing else accesses during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The number of elements in `count` rows of `dimension`, refusing overflow.
pub(crate) fn rows(count: usize, dimension: usize) -> Result<usize, Error> {
    count
        .checked_mul(dimension)
        .ok_or_else(|| Error::invalid(format!("{count} rows of {dimension} overflow")))
}

/// The NUL-terminated name of a status code.
pub(crate) fn status_name(code: u32) -> &'static [u8] {
    match code {
        0 => b"VECSTORE_OK\0",
        1 => b"VECSTORE_NOT_FOUND\0",
        2 => b"VECSTORE_INVALID_ARGUMENT\0",
        3 => b"VECSTORE_DIMENSION_MISMATCH\0",
        4 => b"VECSTORE_IO\0",
        5 => b"VECSTORE_CORRUPT\0",
        6 => b"VECSTORE_LOCKED\0",
        7 => b"VECSTORE_READ_ONLY\0",
        8 => b"VECSTORE_NO_SPACE\0",
        9 => b"VECSTORE_VERSION_MISMATCH\0",
        99 => b"VECSTORE_INTERNAL\0",
        _ => b"VECSTORE_UNKNOWN_STATUS\0",
    }
}
