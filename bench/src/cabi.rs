//! vecstore through its C ABI: the `pub extern "C"` functions of
//! `vecstore::ffi`, called directly from Rust (the harness links the library
//! statically, not the cdylib: the calls cross the same boundary code, status
//! mapping and last-error bookkeeping a C program's calls do).

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use vecstore::ffi::{
    vecstore_close, vecstore_durability, vecstore_get_ref, vecstore_guard_release,
    vecstore_last_error, vecstore_open, vecstore_options_default, vecstore_status, vecstore_t,
};

use crate::engines::Result;

/// A handle from `vecstore_open`, closed with `vecstore_close` on drop.
pub struct CStore(*mut vecstore_t);

// SAFETY: the header documents a store handle as "safe to use from any number
// of threads at once"; only `Drop` (vecstore_close) needs exclusive use, and
// it has it.
unsafe impl Send for CStore {}
// SAFETY: as above.
unsafe impl Sync for CStore {}

impl CStore {
    /// `vecstore_open` of an existing store: FLUSH durability, or read-only.
    pub fn open(dir: &Path, dim: usize, read_only: bool) -> Result<CStore> {
        let path = CString::new(dir.as_os_str().as_bytes())?;
        let mut opts = vecstore_options_default();
        opts.durability = vecstore_durability::VECSTORE_DURABILITY_FLUSH as u32;
        opts.read_only = read_only;
        opts.create_if_missing = false;
        let mut handle = std::ptr::null_mut();
        match vecstore_open(path.as_ptr(), dim, &opts, &mut handle) {
            vecstore_status::VECSTORE_OK => Ok(CStore(handle)),
            status => Err(format!("vecstore_open: {status:?}: {}", last_error()).into()),
        }
    }

    /// `vecstore_close`, with its status.
    pub fn close(self) -> Result<()> {
        let handle = self.0;
        std::mem::forget(self);
        match vecstore_close(handle) {
            vecstore_status::VECSTORE_OK => Ok(()),
            status => Err(format!("vecstore_close: {status:?}: {}", last_error()).into()),
        }
    }

    /// `vecstore_get_ref` of `id`, the first float, `vecstore_guard_release`.
    #[inline]
    pub fn first_float(&self, id: u64) -> Result<f32> {
        let mut guard = std::ptr::null_mut();
        let mut data = std::ptr::null();
        match vecstore_get_ref(self.0, id, &mut guard, &mut data) {
            vecstore_status::VECSTORE_OK => {
                // SAFETY: on OK, `data` points at the guard's `dim` floats,
                // valid until the release below.
                let first = unsafe { *data };
                vecstore_guard_release(guard);
                Ok(first)
            }
            status => Err(format!("vecstore_get_ref({id}): {status:?}: {}", last_error()).into()),
        }
    }
}

impl Drop for CStore {
    fn drop(&mut self) {
        vecstore_close(self.0);
    }
}

/// The calling thread's message for its last failed call.
fn last_error() -> String {
    // SAFETY: vecstore_last_error returns a NUL-terminated string owned by
    // this thread, valid until its next vecstore call.
    unsafe { CStr::from_ptr(vecstore_last_error()) }
        .to_string_lossy()
        .into_owned()
}
