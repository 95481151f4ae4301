//! Directory-level file operations: the writer lock, atomic file replacement,
//! and directory syncs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use crate::error::{Error, ErrorKind, Result};
use crate::layout::lock as lock_file;

/// Name of the lock file inside a store directory.
pub(crate) use lock_file::FILE_NAME as LOCK_FILE;

/// The writer's exclusive flock on the store's lock file, held for the life
/// of a read-write handle. Read-only handles take no lock: they never block
/// the writer nor are blocked by it.
///
/// flock locks belong to an open file description, so a second writer of
/// the same directory conflicts with the first even inside one process.
pub(crate) struct DirLock {
    /// Holds the lock; closing it releases the lock.
    _file: File,
    path: PathBuf,
    /// Whether this handle made the `LOCK` file.
    created: bool,
}

impl DirLock {
    /// Takes the lock, failing with `Locked` instead of waiting, and
    /// `NotFound` when `LOCK` is missing and `create` is false (making it
    /// is allowed only when a store exists or is about to be created, so
    /// that a failed open of a directory without a store leaves it as it was).
    pub(crate) fn acquire(dir: &Path, create: bool) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        loop {
            let (file, created) = open_lock_file(dir, &path, create)?;
            // SAFETY: plain syscall on a descriptor that `file` keeps open.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!(
                            "{}: the store is open for writing by another handle",
                            dir.display()
                        ),
                    ));
                }
                return Err(Error::io("lock", &path, &err));
            }
            // A failed open that made `LOCK` removes it while holding the
            // lock; whoever locked that file in the meantime must see that
            // it is no longer the store's and try again.
            if still_named(&file, &path) {
                mark_writer(&file).map_err(|e| Error::io("lock", &path, &e))?;
                return Ok(DirLock {
                    _file: file,
                    path,
                    created,
                });
            }
        }
    }

    /// Whether this handle made the `LOCK` file.
    pub(crate) fn created_file(&self) -> bool {
        self.created
    }

    /// Removes the `LOCK` file while the lock is still held (a failed open
    /// undoing what it made; the lock is released when `self` is dropped).
    pub(crate) fn remove_file(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The byte of `LOCK` a writer holds an open-file-description lock on,
/// beside its `flock`: unlike a `flock`, it can be queried without taking it.
fn presence_lock(kind: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct for which all zeros is valid.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = lock_file::PRESENCE_START as libc::off_t;
    lock.l_len = lock_file::PRESENCE_LEN as libc::off_t;
    lock
}

/// Marks this process as the store's writer, for [`WriterProbe`].
fn mark_writer(file: &File) -> std::io::Result<()> {
    let lock = presence_lock(libc::F_WRLCK);
    // SAFETY: plain syscall on a descriptor `file` keeps open, with a valid
    // `flock` struct.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &lock) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Tells a reader whether a writer holds the store now, without taking any
/// lock (a query of the writer's presence lock on `LOCK`).
pub(crate) struct WriterProbe {
    path: PathBuf,
    file: Option<File>,
}

impl WriterProbe {
    pub(crate) fn new(dir: &Path) -> WriterProbe {
        WriterProbe {
            path: dir.join(LOCK_FILE),
            file: None,
        }
    }

    /// Whether a writer holds the store. No `LOCK` file, or a failed query:
    /// no writer.
    pub(crate) fn writer_alive(&mut self) -> bool {
        // A failed creation removes the LOCK it made, and a later writer
        // makes another: query the file the path names now.
        if !self
            .file
            .as_ref()
            .is_some_and(|f| still_named(f, &self.path))
        {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = &self.file else {
            return false;
        };
        let mut lock = presence_lock(libc::F_WRLCK);
        // SAFETY: plain syscall on a descriptor `file` keeps open, with a
        // valid `flock` struct it fills in.
        let queried = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut lock) };
        queried == 0 && lock.l_type != libc::F_UNLCK as libc::c_short
    }
}

/// Opens (or, if allowed and missing, creates) the lock file; reports
/// whether it was created.
fn open_lock_file(dir: &Path, path: &Path, create: bool) -> Result<(File, bool)> {
    let open = |create_new: bool| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create_new)
            .mode(0o644)
            .open(path)
    };
    match open(false) {
        Ok(file) => return Ok((file, false)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("open lock file", path, &e))
        }
        Err(_) => {}
    }
    if !create {
        return Err(Error::no_store(dir));
    }
    match open(true) {
        Ok(file) => Ok((file, true)),
        // Made by another opener meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => open(false)
            .map(|f| (f, false))
            .map_err(|e| Error::io("open lock file", path, &e)),
        Err(e) => Err(Error::io("create lock file", path, &e)),
    }
}

/// Whether `path` still names the file open as `file`.
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Creates `dir` and any missing parents; returns the directories it
/// created, outermost first. They become durable when a store is created in
/// them ([`sync_ancestors`]).
pub(crate) fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.as_os_str().is_empty() && !at.exists() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    missing.reverse();
    let mut created = Vec::new();
    for level in missing {
        match std::fs::create_dir(&level) {
            Ok(()) => created.push(level),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_dirs(&created);
                return Err(Error::io("create directory", &level, &e));
            }
        }
    }
    Ok(created)
}

/// Makes the path to `dir` durable: syncs every directory above it, so that
/// a power cut cannot take away a level made by this open (`created`, from
/// [`create_dirs`]), by an earlier open killed before syncing, or by a racing
/// one. A failed fsync always fails; a directory this user may not open is
/// left to whoever made it, unless it holds `dir` or one of `created`
/// (which need not be a chain: a racing open may have made a middle level).
pub(crate) fn sync_ancestors(dir: &Path, created: &[PathBuf]) -> Result<()> {
    let canonical = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io("resolve", p, &e));
    let dir = canonical(dir)?;
    let mut holders = vec![dir.parent().map(Path::to_path_buf)];
    for level in created {
        holders.push(canonical(level)?.parent().map(Path::to_path_buf));
    }
    for ancestor in dir.ancestors().skip(1) {
        let must = holders.iter().any(|h| h.as_deref() == Some(ancestor));
        match File::open(ancestor) {
            Err(_) if !must => {}
            Err(e) => return Err(Error::io("open directory", ancestor, &e)),
            Ok(d) => d
                .sync_all()
                .map_err(|e| Error::io("sync directory", ancestor, &e))?,
        }
    }
    Ok(())
}

/// Removes directories made by [`create_dirs`], innermost first
/// (best effort: undoing a failed open).
pub(crate) fn remove_dirs(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Maps a store file read-only (PROT_READ, MAP_SHARED), whole.
pub(crate) fn map_read_only(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: the mapping is read-only. A store's files change only through
    // its single writer (the directory lock keeps other writers out). The
    // files mapped are never truncated or rewritten in place while any
    // process may map them: segment slots are written once, before anything
    // names them; a checkpoint file is replaced whole by rename; the log
    // (which a checkpoint truncates) is mapped only by a writer's recovery,
    // before it trims anything, and read by readers with pread. Bytes a
    // caller sees therefore never change under it, and nothing maps a
    // region past the end of the file.
    unsafe { MmapOptions::new().map(file) }.map_err(|e| Error::io("map", path, &e))
}

/// Reserves `len` bytes of disk for `file`, so later writes cannot hit ENOSPC.
pub(crate) fn allocate(file: &File, len: u64) -> std::io::Result<()> {
    let len =
        libc::off_t::try_from(len).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: plain syscall wrapper on a valid open descriptor; no memory is passed.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        err => Err(std::io::Error::from_raw_os_error(err)),
    }
}

/// Makes renames, creations and deletions inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, &e))
}

/// Replaces `dir/name` with `bytes` atomically and durably: write a temporary
/// file, fsync it, rename it over the target, fsync the directory. Returns
/// the new file, open for reading. The file a reader may have mapped is
/// never written or truncated: it is replaced whole.
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<File> {
    let tmp: PathBuf = dir.join(format!("{name}.tmp"));
    let written = (|| {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(file)
    })();
    let file = match written {
        Ok(file) => file,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io("write", &tmp, &e));
        }
    };
    let target = dir.join(name);
    if let Err(e) = std::fs::rename(&tmp, &target) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("rename into", &target, &e));
    }
    sync_dir(dir)?;
    Ok(file)
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
        drop(first);
        let _again = DirLock::acquire(dir.path(), false).unwrap();
    }

    #[test]
    fn a_reader_can_tell_whether_a_writer_holds_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut probe = WriterProbe::new(dir.path());
        assert!(!probe.writer_alive(), "no LOCK file");
        let lock = DirLock::acquire(dir.path(), true).unwrap();
        assert!(probe.writer_alive());
        drop(lock);
        assert!(!probe.writer_alive());
        let _again = DirLock::acquire(dir.path(), false).unwrap();
        assert!(WriterProbe::new(dir.path()).writer_alive());
    }

    #[test]
    fn lock_file_is_made_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let err = DirLock::acquire(dir.path(), false).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let lock = DirLock::acquire(dir.path(), true).unwrap();
        assert!(lock.created_file());
        lock.remove_file();
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
    }

    #[test]
    fn a_removed_lock_file_is_not_locked_again() {
        // A second opener holding a descriptor of a LOCK file that the first
        // removed (undoing a failed open) must not take it for the store's.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let stale = File::create(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!still_named(&stale, &path));
        let lock = DirLock::acquire(dir.path(), true).unwrap();
        assert!(lock.created_file());
    }

    #[test]
    fn new_directories_are_created_and_reported() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        let made = create_dirs(&deep).unwrap();
        assert_eq!(
            made,
            vec![root.path().join("a"), root.path().join("a/b"), deep.clone()]
        );
        assert!(create_dirs(&deep).unwrap().is_empty());
        sync_ancestors(&deep, &made).unwrap();
        remove_dirs(&made);
        assert!(!root.path().join("a").exists());
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
