//! What every entry point does around its body: pointer checks, panic capture,
//! status mapping, and the thread's last-error message. Every `extern "C"`
//! function runs its body inside [`call`], [`with_store`] or [`value`], and
//! every dereference of a C pointer is here.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CStr};
use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use super::types::{vecstore_status, vecstore_store};
use crate::{Error, ErrorKind};

thread_local! {
    /// The thread's last message, NUL-terminated once an error happened (empty
    /// before). Reused: clearing writes a NUL at index 0, and a later error
    /// allocates only when it needs more room than an earlier one did.
    static MESSAGE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Whether `MESSAGE` holds a message. A successful call after another
    /// success reads only this flag (no destructor, so no lazy registration).
    static HAS_MESSAGE: Cell<bool> = const { Cell::new(false) };
}

/// The calling thread's last message; valid until its next vecstore call.
/// Never NULL: "" when there is none.
pub(crate) fn last_error() -> *const c_char {
    MESSAGE
        .try_with(|m| {
            let m = m.borrow();
            if m.is_empty() {
                c"".as_ptr()
            } else {
                m.as_ptr().cast()
            }
        })
        // During the thread's exit, after its message was destroyed.
        .unwrap_or(c"".as_ptr())
}

/// Empties the thread's message, without allocating; a no-op when it is
/// already empty.
fn clear_last_error() {
    if HAS_MESSAGE.get() {
        HAS_MESSAGE.set(false);
        let _ = MESSAGE.try_with(|m| {
            if let Some(first) = m.borrow_mut().first_mut() {
                *first = 0;
            }
        });
    }
}

/// Formats `message` into the thread's buffer (NUL bytes become spaces).
fn set_last_error(message: fmt::Arguments<'_>) {
    let _ = MESSAGE.try_with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        // Writing into a Vec cannot fail.
        let _ = m.write_fmt(message);
        for b in m.iter_mut().filter(|b| **b == 0) {
            *b = b' ';
        }
        m.push(0);
    });
    HAS_MESSAGE.set(true);
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
#[inline]
pub(crate) fn call(name: &str, body: impl FnOnce() -> Result<(), Error>) -> vecstore_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => vecstore_status::VECSTORE_OK,
        Ok(Err(e)) => failed(name, e),
        Err(payload) => panicked(name, payload),
    }
}

/// The status and message of an error (out of line: the success path stays short).
#[cold]
#[inline(never)]
fn failed(name: &str, e: Error) -> vecstore_status {
    set_last_error(format_args!("{name}: {e}"));
    status_of(e.kind())
}

/// The status and message of a caught panic.
#[cold]
#[inline(never)]
fn panicked(name: &str, payload: Box<dyn std::any::Any + Send>) -> vecstore_status {
    set_last_error(format_args!(
        "{name}: internal error: {}",
        panic_message(&*payload)
    ));
    vecstore_status::VECSTORE_INTERNAL
}

/// The status and message of a call on a poisoned store.
#[cold]
#[inline(never)]
fn refused_poisoned(name: &str) -> vecstore_status {
    set_last_error(format_args!(
        "{name}: the store is poisoned by an earlier internal error; close it"
    ));
    vecstore_status::VECSTORE_INTERNAL
}

/// Runs the body of an export that returns a value rather than a status
/// (getters, releases): a panic yields `fallback` and leaves its message as
/// the thread's last error; otherwise the last error is left alone.
#[inline]
pub(crate) fn value<T>(name: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            panicked(name, payload);
            fallback
        }
    }
}

/// Runs `body` on the store behind `handle`: checks it, refuses a poisoned
/// one, and poisons it if `body` panics.
#[inline]
pub(crate) fn with_store(
    name: &str,
    handle: *const vecstore_store,
    body: impl FnOnce(&vecstore_store) -> Result<(), Error>,
) -> vecstore_status {
    let h = match arg(handle, "store") {
        Ok(h) => h,
        Err(e) => return failed(name, e),
    };
    if h.poisoned.load(Ordering::Acquire) {
        return refused_poisoned(name);
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

/// An optional pointer argument (NULL: `None`).
pub(crate) fn optional<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: as for `arg`.
    unsafe { ptr.as_ref() }
}

/// A required NUL-terminated UTF-8 string argument.
pub(crate) fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    let ptr = arg(ptr, what)?;
    // SAFETY: the caller promises a non-NULL string is NUL-terminated and
    // stays valid for the duration of the call.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// Takes back ownership of a handle the library gave out with
/// `Box::into_raw` (NULL: `None`).
pub(crate) fn take<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: a non-NULL handle came from `Box::into_raw` in this library and
    // the caller promises to release it once and use it no more.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}

/// Hands a value to C as a handle to release with [`take`].
pub(crate) fn give<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// The largest `size` an extensible struct may claim: far above any layout,
/// small enough to catch a `size` that was never set.
const MAX_STRUCT_SIZE: usize = 4096;

/// A `size` of a caller's extensible struct, checked.
pub(crate) fn struct_size(size: usize, what: &str) -> Result<usize, Error> {
    if !(std::mem::size_of::<usize>()..=MAX_STRUCT_SIZE).contains(&size) {
        return Err(Error::invalid(format!(
            "{what}->size is {size}: set it to the struct's sizeof"
        )));
    }
    Ok(size)
}

/// The leading `size_t` of a caller's extensible struct, checked.
pub(crate) fn declared_size(ptr: *const usize, what: &str) -> Result<usize, Error> {
    struct_size(*arg(ptr, what)?, what)
}

/// The bytes of a caller's extensible input struct, as far as both its
/// `size` and this library's layout (`known` bytes) reach. Bytes past
/// `known` are fields of a newer layout: they must be zero (unset).
pub(crate) fn sized_in<'a>(ptr: *const usize, known: usize, what: &str) -> Result<&'a [u8], Error> {
    let size = declared_size(ptr, what)?;
    let bytes = slice(ptr.cast::<u8>(), size, what)?;
    if bytes.len() > known && bytes[known..].iter().any(|&b| b != 0) {
        return Err(Error::invalid(format!(
            "{what} sets fields unknown to this library (its size is {size}, the library's {known}): \
             link the library the header belongs to"
        )));
    }
    Ok(&bytes[..size.min(known)])
}

/// Writes `fields` (each field's offset and bytes) into the caller's struct
/// of `size` bytes at `ptr`, each field that fits whole; returns where the
/// last field written ends.
pub(crate) fn write_fields(
    ptr: *mut usize,
    size: usize,
    what: &str,
    fields: &[(usize, &[u8])],
) -> Result<usize, Error> {
    let bytes = slice_mut(ptr.cast::<u8>(), size, what)?;
    let mut end = 0;
    for &(offset, field) in fields {
        if let Some(to) = bytes.get_mut(offset..offset + field.len()) {
            to.copy_from_slice(field);
            end = end.max(offset + field.len());
        }
    }
    Ok(end)
}

/// Zeroes the caller's `size` bytes at `ptr`.
pub(crate) fn zero(ptr: *mut usize, size: usize, what: &str) -> Result<(), Error> {
    slice_mut(ptr.cast::<u8>(), size, what)?.fill(0);
    Ok(())
}

/// A caller's search filter and its context, callable from any thread.
pub(crate) struct CFilter {
    filter: extern "C" fn(u64, *mut std::ffi::c_void) -> bool,
    ctx: *mut std::ffi::c_void,
}

// SAFETY: the contract of vecstore_search_filter makes the filter callable
// from several threads at once with this `ctx`; the library never
// dereferences `ctx` itself.
unsafe impl Send for CFilter {}
// SAFETY: as above.
unsafe impl Sync for CFilter {}

impl CFilter {
    /// The filter, which must not be NULL.
    pub(crate) fn new(
        filter: super::types::vecstore_filter_fn,
        ctx: *mut std::ffi::c_void,
    ) -> Result<CFilter, Error> {
        let filter = filter.ok_or_else(|| Error::invalid("filter is NULL"))?;
        Ok(CFilter { filter, ctx })
    }

    /// Whether the filter accepts `id`.
    pub(crate) fn accepts(&self, id: u64) -> bool {
        (self.filter)(id, self.ctx)
    }
}

/// A required output pointer.
pub(crate) fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: as for `arg`, for writes.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Writes `value` through an optional output pointer (NULL: not wanted).
pub(crate) fn set_optional<T>(ptr: *mut T, value: T) {
    // SAFETY: as for `out`; NULL is skipped.
    if let Some(slot) = unsafe { ptr.as_mut() } {
        *slot = value;
    }
}

/// A C array of `len` elements; NULL is allowed only when `len` is 0.
pub(crate) fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    check_array_size::<T>(len, what)?;
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
    check_array_size::<T>(len, what)?;
    // SAFETY: the caller promises `ptr` points at `len` writable elements that
    // nothing else accesses during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Refuses a length no array can have (more than `isize::MAX` bytes): Rust
/// cannot even describe such a slice.
fn check_array_size<T>(len: usize, what: &str) -> Result<(), Error> {
    match len.checked_mul(std::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Error::invalid(format!(
            "{what}: {len} elements is larger than any array"
        ))),
    }
}

/// The number of elements in `count` rows of `dimension`, refusing overflow.
pub(crate) fn rows(count: usize, dimension: usize) -> Result<usize, Error> {
    count
        .checked_mul(dimension)
        .ok_or_else(|| Error::invalid(format!("{count} rows of {dimension} overflow")))
}

#[cfg(test)]
mod tests {
    //! The pointer handling of the boundary, without files, so Miri can run it:
    //! `cargo +nightly miri test --lib ffi::` (scripts/miri.sh).
    use super::super::*;
    use super::{call, rows, slice, slice_mut};
    use std::ffi::{c_char, CStr};
    use std::ptr;

    fn text(p: *const c_char) -> String {
        // SAFETY: the library returns NUL-terminated strings that live until
        // the next call on this thread.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn null_arguments_are_refused_with_a_message() {
        let v = [1.0f32; 4];
        let status = vecstore_put(ptr::null_mut(), 1, v.as_ptr(), 4);
        assert_eq!(status, vecstore_status::VECSTORE_INVALID_ARGUMENT);
        assert!(text(vecstore_last_error()).contains("store is NULL"));
        let status = vecstore_open(ptr::null(), 4, ptr::null(), ptr::null_mut());
        assert_eq!(status, vecstore_status::VECSTORE_INVALID_ARGUMENT);
        let mut out: *mut vecstore_t = ptr::null_mut();
        let status = vecstore_open(ptr::null(), 4, ptr::null(), &mut out);
        assert_eq!(status, vecstore_status::VECSTORE_INVALID_ARGUMENT);
        assert!(out.is_null(), "outputs are written only on success");
        assert_eq!(vecstore_len(ptr::null()), 0);
        assert!(!vecstore_contains(ptr::null(), 1));
        assert_eq!(
            vecstore_close(ptr::null_mut()),
            vecstore_status::VECSTORE_OK
        );
        vecstore_guard_release(ptr::null_mut());
        vecstore_cursor_close(ptr::null_mut());
        assert!(vecstore_guard_data(ptr::null()).is_null());
        assert_eq!(vecstore_guard_len(ptr::null()), 0);
    }

    #[test]
    fn last_error_is_cleared_by_the_next_call_and_never_null() {
        assert_eq!(
            vecstore_delete(ptr::null_mut(), 3),
            vecstore_status::VECSTORE_INVALID_ARGUMENT
        );
        assert!(!text(vecstore_last_error()).is_empty());
        let _ = vecstore_options_default();
        assert_eq!(vecstore_status_str(0), vecstore_status_str(0));
        // A successful boundary call clears it.
        assert_eq!(call("test", || Ok(())), vecstore_status::VECSTORE_OK);
        assert_eq!(text(vecstore_last_error()), "");
    }

    #[test]
    fn the_message_buffer_is_reused() {
        let fail = || call("test", || Err(crate::Error::invalid("bad\0 value")));
        assert_eq!(fail(), vecstore_status::VECSTORE_INVALID_ARGUMENT);
        let first = vecstore_last_error();
        assert_eq!(text(first), "test: bad  value", "NUL bytes become spaces");
        // A success clears the message in place: same buffer, now "".
        assert_eq!(call("test", || Ok(())), vecstore_status::VECSTORE_OK);
        assert_eq!(vecstore_last_error(), first);
        assert_eq!(text(vecstore_last_error()), "");
        // An error that fits the buffer is written into it again.
        assert_eq!(fail(), vecstore_status::VECSTORE_INVALID_ARGUMENT);
        assert_eq!(vecstore_last_error(), first);
        assert_eq!(text(vecstore_last_error()), "test: bad  value");
    }

    #[test]
    fn every_status_has_a_static_name() {
        for (code, name) in [
            (0, "VECSTORE_OK"),
            (5, "VECSTORE_CORRUPT"),
            (99, "VECSTORE_INTERNAL"),
        ] {
            assert_eq!(text(vecstore_status_str(code)), name);
        }
        assert_eq!(text(vecstore_status_str(12345)), "VECSTORE_UNKNOWN_STATUS");
        assert_eq!(text(vecstore_version()), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn panics_become_internal_and_are_contained() {
        let status = call("test", || panic!("boom"));
        assert_eq!(status, vecstore_status::VECSTORE_INTERNAL);
        assert!(text(vecstore_last_error()).contains("boom"));
    }

    #[test]
    fn slices_accept_null_only_when_empty() {
        assert!(slice::<u64>(ptr::null(), 0, "x").unwrap().is_empty());
        assert!(slice::<u64>(ptr::null(), 1, "x").is_err());
        let data = [1u64, 2, 3];
        assert_eq!(slice(data.as_ptr(), 3, "x").unwrap(), &data);
        let mut buf = [0u8; 2];
        slice_mut(buf.as_mut_ptr(), 2, "x").unwrap()[1] = 7;
        assert_eq!(buf, [0, 7]);
        assert!(rows(usize::MAX, 2).is_err());
    }
}
