//! Online backup: a consistent copy of a store, made from a snapshot while
//! writers go on, into a new store of its own (as `mdb_copy` does for LMDB).
//!
//! The copy is a new store, not a copy of the files: it holds the live
//! vectors only (no dead slots, no log), written through the new store's own
//! writer without a log and made durable by one final checkpoint, which
//! syncs every segment, the checkpoint file and the directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files;
use crate::guard::corrupt_slot;
use crate::index::SlotRef;
use crate::options::{Durability, Options};
use crate::segment;
use crate::store::Store;

/// Bytes of slot images gathered before each write to the copy.
const BATCH_BYTES: usize = 8 << 20;
/// Changes since the copy's last checkpoint past which it checkpoints, so
/// that the heap holds a bounded delta however large the store (as a
/// writer's own trigger does).
const DELTA_FLOOR: u64 = 1 << 20;

impl Store {
    /// Writes a consistent copy of the store, as of this call, into `dest`:
    /// a directory that does not exist (it is created, with any missing
    /// parents) or is empty. Returns the number of vectors copied.
    ///
    /// The copy holds the live vectors of one instant (on a read-only
    /// handle, the last state it could read of the writer's), bit for bit,
    /// under their ids; it has no dead slots and an empty log, and is
    /// durable (every file, its directory and the directory's entry in its
    /// parent synced) and ready to open when this returns. Writers, in this
    /// process or another, go on meanwhile: the copy reads a snapshot and
    /// takes no lock of the source. Works on a read-only handle.
    ///
    /// Errors: `InvalidArgument` if `dest` exists and is not an empty
    /// directory, or is the source's directory or lies inside it; `Corrupt`
    /// if a vector of the source fails its checksum (the copy stops there:
    /// it never carries a damaged vector); `Io` or `NoSpace` if writing the
    /// copy fails. On any error nothing is left behind: the files the copy
    /// made are removed, and so are the directories it created. A copy cut
    /// short by a crash is not removed and may open as a valid but
    /// incomplete store: only a copy that returned `Ok` is a backup.
    pub fn copy_to(&self, dest: impl AsRef<Path>) -> Result<u64> {
        let dest = dest.as_ref();
        check_destination(&self.dir, dest)?;
        let created = files::create_dirs(dest)?;
        let options = Options {
            durability: Durability::None,
            read_only: false,
            create_if_missing: true,
            initial_capacity: 0,
            auto_checkpoint_log_bytes: 0,
        };
        let copy = match Store::open(dest, self.dimension, &options) {
            Ok(copy) => copy,
            Err(e) => {
                files::remove_dirs(&created);
                return Err(e);
            }
        };
        let written = self.write_copy(&copy).and_then(|n| {
            // The directory's entry in its parent: `Store::open` synced the
            // levels above a store it created; syncing again costs nothing
            // and covers an existing empty directory too.
            if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                files::sync_dir(parent)?;
            }
            Ok(n)
        });
        match written {
            // Checkpointed and synced: closing writes nothing more.
            Ok(n) => copy.close().map(|()| n),
            Err(e) => {
                // Removed while the copy still holds its lock, so no other
                // opener of `dest` sees a half-made store or loses its own.
                copy.discard();
                files::remove_dirs(&created);
                Err(e)
            }
        }
    }

    /// Writes the live vectors of a snapshot of `self` into `copy`, a new
    /// store without a log, and checkpoints it.
    fn write_copy(&self, copy: &Store) -> Result<u64> {
        // A read-only handle first catches up with the writer; the snapshot
        // is one acknowledged state (see `Store::cursor`).
        self.catch_up()?;
        let snapshot = self.index.read().snapshot();
        let live: u64 = snapshot
            .segments
            .iter()
            .map(|s| s.live_slots().count() as u64)
            .sum();
        let slot_size = segment::slot_size(self.dimension);
        // Room for everything at once where one segment can hold it, so a
        // full disk is found before anything is written.
        if live > 0 && segment::check_capacity(self.dimension, live).is_ok() {
            copy.reserve(live)?;
        }
        let per_batch = (BATCH_BYTES / slot_size).max(1);
        let mut images = Vec::with_capacity(per_batch * slot_size);
        let mut ids = Vec::with_capacity(per_batch);
        let mut copied = 0u64;
        for seg in &snapshot.segments {
            for slot in seg.live_slots() {
                // Images are copied as they are, checksum included, once
                // checked: the copy never carries a damaged vector.
                if !seg.segment.slot_is_intact(slot) {
                    return Err(corrupt_slot(&seg.segment, slot));
                }
                let image = seg.segment.slot(slot);
                ids.push(segment::slot_id(image));
                images.extend_from_slice(image);
                if ids.len() == per_batch {
                    copy.append_images(&ids, &images)?;
                    copied += ids.len() as u64;
                    ids.clear();
                    images.clear();
                }
            }
        }
        if !ids.is_empty() {
            copy.append_images(&ids, &images)?;
            copied += ids.len() as u64;
        }
        copy.checkpoint()?;
        Ok(copied)
    }

    /// Appends intact slot images of distinct ids to this store, which runs
    /// without a log: what `put_batch` does in `Durability::None`, without
    /// encoding the images again.
    fn append_images(&self, ids: &[u64], images: &[u8]) -> Result<()> {
        let mut w = self.writer_checked()?;
        let count = ids.len() as u64;
        let seg = self.allocate(&mut w, count)?;
        let first = self.index.read().segment(seg.id()).expect("active").used;
        seg.write_slots(first, images)?;
        w.unsynced.insert(seg.id());
        w.dirty = true;
        let delta_full = {
            let mut index = self.index.write();
            index.mark_used(seg.id(), first + count);
            for (i, &id) in ids.iter().enumerate() {
                index.insert(id, SlotRef::new(seg.id(), first + i as u64))?;
            }
            index.delta_len() > (index.len() / 8).max(DELTA_FLOOR)
        };
        if delta_full {
            self.checkpoint_locked(&mut w)?;
        }
        Ok(())
    }
}

/// Refuses a destination that exists and is not an empty directory, or that
/// is the source directory or lies inside it.
fn check_destination(source: &Path, dest: &Path) -> Result<()> {
    let source = std::fs::canonicalize(source).map_err(|e| Error::io("resolve", source, &e))?;
    if resolve(dest)?.starts_with(&source) {
        return Err(Error::invalid(format!(
            "{}: the copy's destination is the source store's directory or lies inside it",
            dest.display()
        )));
    }
    match std::fs::metadata(dest) {
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::invalid(format!(
                "{}: the copy's destination exists and is not a directory",
                dest.display()
            )))
        }
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dest).map_err(|e| Error::io("read directory", dest, &e))?;
            if entries.next().is_some() {
                return Err(Error::invalid(format!(
                    "{}: the copy's destination is not empty",
                    dest.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("stat", dest, &e)),
    }
    Ok(())
}

/// `path` made absolute with symbolic links resolved, for the part of it
/// that exists (the rest appended as it is).
fn resolve(path: &Path) -> Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("resolve", path, &e))?
            .join(path)
    };
    let mut missing = Vec::new();
    let mut at = absolute.as_path();
    loop {
        match std::fs::canonicalize(at) {
            Ok(found) => {
                let mut out = found;
                for part in missing.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (at.parent(), at.file_name()) else {
                    return Err(Error::io("resolve", path, &e));
                };
                missing.push(name.to_os_string());
                at = parent;
            }
            Err(e) => return Err(Error::io("resolve", path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_destination_inside_the_source_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("src");
        std::fs::create_dir(&src).unwrap();
        for dest in [src.clone(), src.join("a/b"), src.join("../src/c")] {
            let err = check_destination(&src, &dest).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dest:?}");
        }
        check_destination(&src, &root.path().join("srcx")).unwrap();
        check_destination(&src, &root.path().join("x/y")).unwrap();
    }
}
