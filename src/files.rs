//! Directory-level file operations: the writer lock, atomic file replacement,
//! and directory syncs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use crate::error::{Error, ErrorKind, Result};

/// Name of the lock file inside a store directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// An flock held on the store's lock file for the life of a handle.
///
/// flock locks belong to an open file description, so a second open of the
/// same directory conflicts with the first even inside one process.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock: exclusive for a writer, shared for a read-only handle.
    /// Fails with `Locked` instead of waiting.
    pub(crate) fn acquire(dir: &Path, exclusive: bool) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let file = if exclusive {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(&path)
        } else {
            File::open(&path)
        }
        .map_err(|e| match e.kind() {
            // A reader found no lock file: there is no store to read.
            std::io::ErrorKind::NotFound => Error::new(
                ErrorKind::NotFound,
                format!("{}: no vecstore store here", dir.display()),
            ),
            _ => Error::io("open lock file", &path, &e),
        })?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: plain syscall on a descriptor that `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "{}: the store is open for writing by another handle{}",
                        dir.display(),
                        if exclusive { " or reader" } else { "" }
                    ),
                ));
            }
            return Err(Error::io("lock", &path, &err));
        }
        Ok(DirLock { _file: file })
    }
}

/// Maps a store file read-only (PROT_READ, MAP_SHARED), whole.
pub(crate) fn map_read_only(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: the mapping is read-only. A store's files change only through
    // its single writer (the directory lock keeps other writers out), which
    // writes segment slots no reader can see yet and never touches the log
    // while recovery reads it. Bytes a caller sees therefore never change
    // under it, and nothing maps a region past the end of the file.
    unsafe { MmapOptions::new().map(file) }.map_err(|e| Error::io("map", path, &e))
}

/// Makes renames, creations and deletions inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, &e))
}

/// Replaces `dir/name` with `bytes` atomically and durably: write a temporary
/// file, fsync it, rename it over the target, fsync the directory.
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp: PathBuf = dir.join(format!("{name}.tmp"));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, &e));
    }
    let target = dir.join(name);
    std::fs::rename(&tmp, &target).map_err(|e| Error::io("rename into", &target, &e))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_exclusive_lock_in_process_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), true).unwrap();
        let err = DirLock::acquire(dir.path(), true).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert_eq!(
            DirLock::acquire(dir.path(), false).err().unwrap().kind(),
            ErrorKind::Locked
        );
        drop(first);
        let _a = DirLock::acquire(dir.path(), false).unwrap();
        let _b = DirLock::acquire(dir.path(), false).unwrap();
        assert_eq!(
            DirLock::acquire(dir.path(), true).err().unwrap().kind(),
            ErrorKind::Locked
        );
    }

    #[test]
    fn replace_file_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        replace_file(dir.path(), "x", b"one").unwrap();
        replace_file(dir.path(), "x", b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"two");
        assert!(!dir.path().join("x.tmp").exists());
    }
}
