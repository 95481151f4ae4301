//! The shared page through which the writer tells readers in any process
//! what they may see: which log generation, and how far into it.
//!
//! File `CHANGES`: one page, mapped shared — read-write by the writer,
//! read-only by readers. At [`layout::COUNTER`], alone on its cache line, a
//! `u64` publication counter; at [`layout::SLOTS`], two slots of `gen, salt,
//! end` ([`crate::layout::changes`] names every offset).
//! Publication `g` lives in slot `g % 2`: the writer fills the other slot,
//! then stores the counter (Release), as LMDB alternates two meta pages. A
//! reader loads the counter (Acquire) — one load per call when nothing
//! changed — and on a new value reads that slot, then re-loads the counter
//! and retries if it moved (the writer may have been refilling the slot). A
//! writer killed while filling a slot leaves the counter naming the other,
//! complete one.
//!
//! What a publication says: records of the log generation whose salt is
//! `salt` that end at or before file offset `end` may be shown. The writer
//! publishes a record once it may be acknowledged — in FLUSH mode when it is
//! appended, in FSYNC mode once the group commit made it durable — and a
//! new generation when a checkpoint trimmed the log or a writer opened.
//!
//! The page carries nothing durable and no open reads it for recovery: after
//! a power cut it may hold anything older. Readers therefore trust it only
//! while a writer holds the store (`files::writer_alive`); otherwise the
//! files alone say what is committed. It only ever counts up while processes
//! map it (a new writer continues from the value it finds), and it is never
//! truncated, so a mapping of it never faults.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{fence, AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut, MmapOptions};
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::files::allocate;
use crate::layout::changes::{self as layout, slot as in_slot, FILE_LEN, SLOT_COUNT};

pub(crate) use crate::layout::changes::FILE_NAME;

/// What readers may show: the log generation `salt`, up to file offset `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Published {
    pub salt: u64,
    pub end: u64,
}

/// The atomic `u64` at `offset` of a mapped page.
///
/// SAFETY (of every call): `offset` is 8-aligned and inside a page-aligned
/// mapping of FILE_LEN bytes that outlives the returned reference, and every
/// access to those bytes, in any process, is atomic.
unsafe fn word(base: *const u8, offset: usize) -> &'static AtomicU64 {
    &*(base.add(offset) as *const AtomicU64)
}

/// The writer's side.
pub(crate) struct ChangeCounter {
    map: MmapMut,
    /// The last publication, so that late ones never move it back.
    current: Mutex<Published>,
}

impl ChangeCounter {
    /// Opens the page of `dir`, creating the file (or growing a short one
    /// left by a crash) if needed. Nothing is synced: its content never
    /// matters after a crash.
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
        // Blocks reserved, not a hole: a store through the mapping that
        // found the disk full would kill the process with SIGBUS.
        allocate(&file, FILE_LEN).map_err(|e| Error::io("reserve space for", &path, &e))?;
        // SAFETY: a shared mapping of one page that stays at least that long
        // (the file is never truncated); other processes change it only
        // through atomics, and so does this type.
        let map = unsafe { MmapOptions::new().len(FILE_LEN as usize).map_mut(&file) }
            .map_err(|e| Error::io("map", &path, &e))?;
        Ok(ChangeCounter {
            map,
            current: Mutex::new(Published::default()),
        })
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: see `word`; the mapping lives as long as `self`.
        unsafe { word(self.map.as_ptr(), offset) }
    }

    /// Publishes a new log generation (or a writer's first state):
    /// replaces whatever was published.
    pub(crate) fn publish_generation(&self, published: Published) {
        let mut current = self.current.lock();
        *current = published;
        self.store(published);
    }

    /// Publishes the log of generation `salt` up to `end`, unless a newer
    /// generation or a later end was published meanwhile (a writer thread
    /// that waited for its fsync while another moved on).
    pub(crate) fn publish_end(&self, salt: u64, end: u64) {
        let mut current = self.current.lock();
        if current.salt != salt || current.end >= end {
            return;
        }
        current.end = end;
        self.store(*current);
    }

    /// Fills the slot the next publication uses, then names it.
    fn store(&self, published: Published) {
        let next = self
            .word(layout::COUNTER)
            .load(Ordering::Relaxed)
            .wrapping_add(1);
        let slot = layout::slot_at((next % SLOT_COUNT) as usize);
        // Readers of publication `next - 2`, which this slot held, re-check
        // the counter after reading and retry: the release fence orders the
        // counter's earlier value before these stores for them.
        fence(Ordering::Release);
        self.word(slot + in_slot::GEN)
            .store(next, Ordering::Relaxed);
        self.word(slot + in_slot::SALT)
            .store(published.salt, Ordering::Relaxed);
        self.word(slot + in_slot::END)
            .store(published.end, Ordering::Relaxed);
        self.word(layout::COUNTER).store(next, Ordering::Release);
    }
}

/// A reader's side.
pub(crate) struct ChangeWatch {
    map: Mmap,
}

impl ChangeWatch {
    /// Maps the page of `dir`, if a writer has made it.
    pub(crate) fn open(dir: &Path) -> Option<ChangeWatch> {
        let file = File::open(dir.join(FILE_NAME)).ok()?;
        if file.metadata().ok()?.len() < FILE_LEN {
            return None;
        }
        // SAFETY: as for `ChangeCounter::open`, read-only.
        let map = unsafe { MmapOptions::new().len(FILE_LEN as usize).map(&file) }.ok()?;
        Some(ChangeWatch { map })
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: see `word`; the mapping lives as long as `self`.
        unsafe { word(self.map.as_ptr(), offset) }
    }

    /// The publication counter now: one load.
    pub(crate) fn counter(&self) -> u64 {
        self.word(layout::COUNTER).load(Ordering::Acquire)
    }

    /// The counter and the publication it names, read consistently. `None`
    /// if the slot does not hold that publication (a page no writer of
    /// this format filled since it was last zeroed).
    pub(crate) fn read(&self) -> (u64, Option<Published>) {
        loop {
            let counter = self.counter();
            let slot = layout::slot_at((counter % SLOT_COUNT) as usize);
            let gen = self.word(slot + in_slot::GEN).load(Ordering::Relaxed);
            let published = Published {
                salt: self.word(slot + in_slot::SALT).load(Ordering::Relaxed),
                end: self.word(slot + in_slot::END).load(Ordering::Relaxed),
            };
            fence(Ordering::Acquire);
            if self.word(layout::COUNTER).load(Ordering::Relaxed) == counter {
                // Publication numbers start at 1: 0 is a page never filled.
                return (
                    counter,
                    (gen == counter && counter != 0).then_some(published),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_each_publication_and_a_new_writer_counts_on() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ChangeWatch::open(dir.path()).is_none());
        let writer = ChangeCounter::open(dir.path()).unwrap();
        let watch = ChangeWatch::open(dir.path()).unwrap();
        assert_eq!(watch.read(), (0, None), "a zeroed page names nothing");
        writer.publish_generation(Published { salt: 7, end: 32 });
        writer.publish_end(7, 100);
        assert_eq!(watch.read(), (2, Some(Published { salt: 7, end: 100 })));
        // Late or stale publications never move it back.
        writer.publish_end(7, 64);
        writer.publish_end(6, 500);
        assert_eq!(watch.counter(), 2);
        drop(writer);
        let next = ChangeCounter::open(dir.path()).unwrap();
        next.publish_generation(Published { salt: 9, end: 32 });
        assert_eq!(watch.read(), (3, Some(Published { salt: 9, end: 32 })));
    }

    #[test]
    fn a_reader_racing_the_writer_never_sees_a_torn_slot() {
        let dir = tempfile::tempdir().unwrap();
        let writer = ChangeCounter::open(dir.path()).unwrap();
        writer.publish_generation(Published { salt: 1, end: 1 });
        let watch = ChangeWatch::open(dir.path()).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 2..200_000u64 {
                    writer.publish_generation(Published { salt: i, end: i });
                }
            });
            let mut last = 0;
            while last < 199_999 {
                let (counter, published) = watch.read();
                let p = published.expect("a filled slot");
                assert_eq!(p.salt, p.end, "torn slot at publication {counter}");
                assert!(p.salt >= last, "went back from {last} to {}", p.salt);
                last = p.salt;
            }
        });
    }
}
