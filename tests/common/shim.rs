//! `LD_PRELOAD` shims (C sources under `tests/`), compiled at run time with
//! `cc` (or `$CC`) and loaded only into child processes.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A shim's source and what to call it in messages.
pub struct Shim {
    /// Relative to the package root.
    source: &'static str,
    /// The library's file name.
    lib: &'static str,
    /// For messages: "building the {what} failed".
    what: &'static str,
}

/// Fails chosen calls (`tests/faults.rs`, `tests/lifecycle.rs`).
pub const FAULTINJECT: Shim = Shim {
    source: "tests/faultinject/faultinject.c",
    lib: "libfaultinject.so",
    what: "fault-injection shim",
};

/// Records every write-side file system call (`tests/powercut.rs`).
pub const RECORDER: Shim = Shim {
    source: "tests/powercut/recorder.c",
    lib: "librecorder.so",
    what: "recorder shim",
};

/// Makes `posix_fallocate` sleep 3 s, then fail with ENOSPC (`tests/follow.rs`).
pub const SLOW_FALLOCATE_FAILS: Shim = Shim {
    source: "tests/follow/slow_fallocate_fails.c",
    lib: "libslow_fallocate_fails.so",
    what: "slow failing fallocate shim",
};

/// Slows a directory fsync and fails the log header's rewrite, once armed
/// (`tests/follow.rs`).
pub const FAILING_LOG_HEADER: Shim = Shim {
    source: "tests/follow/failing_log_header.c",
    lib: "libfailing_log_header.so",
    what: "failing log header shim",
};

/// Slows the first read of a log record (`tests/publication.rs`).
pub const SLOW_LOG_PREAD: Shim = Shim {
    source: "tests/publication/slow_log_pread.c",
    lib: "libslow_log_pread.so",
    what: "slow log pread shim",
};

/// Makes a chosen fdatasync slow and then fail (`tests/publication.rs`).
pub const SLOW_FAILING_FDATASYNC: Shim = Shim {
    source: "tests/publication/slow_failing_fdatasync.c",
    lib: "libslow_failing_fdatasync.so",
    what: "slow failing fdatasync shim",
};

impl Shim {
    /// Compiles the shim into `dir`. `Err` only when `cc` cannot be run at
    /// all (the caller skips, saying so); a failed compilation panics.
    pub fn build(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(self.source);
        let lib = dir.join(self.lib);
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&lib)
            .arg(&src)
            .arg("-ldl")
            .status()?;
        assert!(
            status.success(),
            "building the {} failed: {status}",
            self.what
        );
        Ok(lib)
    }
}

/// The address of `name` in this process (null when absent), for a child to
/// reach the functions its preloaded shim exports.
pub fn symbol(name: &CStr) -> *mut c_void {
    // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches every
    // loaded object, a preloaded shim included.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}
