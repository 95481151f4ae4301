//! The change counter: how read-only handles in any process learn, with one
//! atomic load per call, that the writer changed the store.
//!
//! File `CHANGES`: one page, mapped shared — read-write by the writer,
//! read-only by readers — holding a `u64` counter alone on its cache line
//! (offset [`COUNTER_AT`]). The writer adds one after each change readers
//! must see (a logged write applied, a checkpoint, a recovery), before the
//! call that made it returns. A reader that finds a value it has not seen
//! reads the files to catch up (see `follow`); one that finds the value it
//! saw last knows that nothing it must see has happened since.
//!
//! The counter carries no data and is never trusted for durability: after a
//! crash or power cut it may hold anything, and recovery never reads it. It
//! only ever counts up while processes have it mapped: a new writer adds to
//! whatever value it finds. The file is never truncated or removed, so a
//! mapping of it never faults.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut, MmapOptions};

use crate::error::{Error, Result};

/// Name of the change counter file inside a store directory.
pub(crate) const FILE_NAME: &str = "CHANGES";
/// Bytes of the file: one page.
const FILE_LEN: u64 = 4096;
/// Offset of the counter: its own cache line, away from anything else.
const COUNTER_AT: usize = 64;

/// The writer's side: bumps the counter.
pub(crate) struct ChangeCounter {
    map: MmapMut,
}

impl ChangeCounter {
    /// Opens the counter of `dir`, creating the file (or growing a short one
    /// left by a crash) if needed. Nothing is synced: its value never matters
    /// after a crash.
    pub(crate) fn open(dir: &Path) -> Result<ChangeCounter> {
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|e| Error::io("open change counter", &path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, &e))?
            .len();
        if len < FILE_LEN {
            // Only ever grown, never cut: a reader's mapping stays whole.
            file.set_len(FILE_LEN)
                .map_err(|e| Error::io("size change counter", &path, &e))?;
        }
        // SAFETY: a shared mapping of one page that stays at least that long
        // (the file is never truncated). Other processes change it only
        // through the atomic counter, which this type reads and writes only
        // as an `AtomicU64`.
        let map = unsafe { MmapOptions::new().len(FILE_LEN as usize).map_mut(&file) }
            .map_err(|e| Error::io("map", &path, &e))?;
        Ok(ChangeCounter { map })
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: COUNTER_AT is 8-aligned inside a page-aligned mapping of
        // FILE_LEN bytes that lives as long as `self`; every access to those
        // bytes, in any process, is atomic.
        unsafe { &*(self.map.as_ptr().add(COUNTER_AT) as *const AtomicU64) }
    }

    /// Tells readers that the store changed. Release: whatever the writer
    /// did before is visible to a reader that sees the new value.
    pub(crate) fn bump(&self) {
        self.counter().fetch_add(1, Ordering::Release);
    }
}

/// A reader's side: watches the counter.
pub(crate) struct ChangeWatch {
    map: Mmap,
}

impl ChangeWatch {
    /// Maps the counter of `dir`, if a writer has made it.
    pub(crate) fn open(dir: &Path) -> Option<ChangeWatch> {
        let file = File::open(dir.join(FILE_NAME)).ok()?;
        if file.metadata().ok()?.len() < FILE_LEN {
            return None;
        }
        // SAFETY: as for `ChangeCounter::open`, read-only: the file is at
        // least FILE_LEN bytes and is never truncated.
        let map = unsafe { MmapOptions::new().len(FILE_LEN as usize).map(&file) }.ok()?;
        Some(ChangeWatch { map })
    }

    /// The counter now. Acquire: pairs with [`ChangeCounter::bump`].
    pub(crate) fn load(&self) -> u64 {
        // SAFETY: as for `ChangeCounter::counter`.
        let counter = unsafe { &*(self.map.as_ptr().add(COUNTER_AT) as *const AtomicU64) };
        counter.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_each_bump_and_a_new_writer_counts_on() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ChangeWatch::open(dir.path()).is_none());
        let writer = ChangeCounter::open(dir.path()).unwrap();
        let watch = ChangeWatch::open(dir.path()).unwrap();
        let start = watch.load();
        writer.bump();
        assert_eq!(watch.load(), start + 1);
        drop(writer);
        let next = ChangeCounter::open(dir.path()).unwrap();
        next.bump();
        assert_eq!(watch.load(), start + 2);
        // A short file left by a crash is grown, never cut.
        std::fs::write(dir.path().join(FILE_NAME), b"").unwrap();
        assert!(ChangeWatch::open(dir.path()).is_none());
        ChangeCounter::open(dir.path()).unwrap().bump();
        assert_eq!(ChangeWatch::open(dir.path()).unwrap().load(), 1);
    }
}
