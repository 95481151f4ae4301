//! How a read-only handle keeps up with a writer in another process (or in
//! none): it reads the same files the writer's recovery would, and nothing
//! else but the writer's publications (`changes`), so a killed writer leaves
//! it nothing to repair and a new writer's recovery runs beside it.
//!
//! Its view is the checkpoint file it mapped plus the log records after it
//! that it has applied. Each call first compares the publication counter
//! with the value it saw last (one atomic load); on a difference it reads
//! the publication (a log generation and an end offset) and catches up:
//!
//! 1. applies the whole, intact records the log gained since, those ending
//!    within the publication, numbered one past its last (older ones are in
//!    its checkpoint); while no writer holds the store the page may be stale
//!    (it is never synced), so then every intact record counts, as for a
//!    writer's recovery;
//! 2. then checks that the checkpoint file is still the one it mapped.
//!
//! A checkpoint renames a new file into place *before* it trims the log, so
//! a trim the tail missed (it read nothing, or a new generation) always
//! shows up in step 2, and a record numbered past the next one (the tail
//! met a later generation) too: either way the handle reloads from the
//! current checkpoint and reads its log, and repeats until both agree. It
//! never goes back: a newer checkpoint includes every record of the log
//! generation before it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::changes::ChangeWatch;
use crate::checkpoint::{Checkpoint, FileIdentity};
use crate::error::{Error, ErrorKind, Result};
use crate::files::WriterProbe;
use crate::index::Index;
use crate::log::{LogTail, Record, TailPoll};
use crate::recovery::apply_record;
use crate::segment::{self, Segment};
use crate::shards::ShardedLock;

/// Times a reload retries a log whose header it caught being rewritten.
const HEADER_RETRIES: u32 = 100;

/// A read-only handle's link to the store's files.
pub(crate) struct Follower {
    dir: PathBuf,
    dimension: u32,
    /// The change counter, once a writer has made it.
    watch: OnceLock<ChangeWatch>,
    /// The publication counter when the view was last brought up to date.
    seen: AtomicU64,
    state: Mutex<View>,
    /// Whether a writer holds the store (and so whether its publications
    /// can be trusted).
    probe: Mutex<WriterProbe>,
}

/// Where the view stands in the files.
struct View {
    checkpoint: FileIdentity,
    tail: LogTail,
    /// Last log record applied (or included in the checkpoint).
    lsn: u64,
}

impl Follower {
    /// Opens the store in `dir` read-only: the current checkpoint and every
    /// record after it that may be shown. `dimension` 0 takes the store's.
    pub(crate) fn open(dir: &Path, dimension: u32) -> Result<(Follower, Index, u32)> {
        let watch = OnceLock::new();
        if let Some(w) = ChangeWatch::open(dir) {
            let _ = watch.set(w);
        }
        // The publication is read before the files: a later one makes the
        // next call catch up.
        let seen = watch.get().map_or(u64::MAX, ChangeWatch::counter);
        let (index, view, dimension) = load(dir, dimension, None)?;
        let follower = Follower {
            dir: dir.to_path_buf(),
            dimension,
            watch,
            seen: AtomicU64::new(seen),
            state: Mutex::new(view),
            probe: Mutex::new(WriterProbe::new(dir)),
        };
        let index = ShardedLock::new(index);
        follower.refresh(&index)?;
        Ok((follower, index.into_inner(), dimension))
    }

    /// Brings `index` up to date if the writer published a change since the
    /// view was last read. Costs one atomic load when nothing changed.
    pub(crate) fn catch_up(&self, index: &ShardedLock<Index>) -> Result<()> {
        let watch = match self.watch.get() {
            Some(watch) => watch,
            // No writer has made the page yet: look at the files each
            // time, and for the page.
            None => match ChangeWatch::open(&self.dir) {
                Some(watch) => self.watch.get_or_init(|| watch),
                None => return self.refresh(index),
            },
        };
        if watch.counter() == self.seen.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = watch.counter();
        self.refresh(index)?;
        self.seen.store(now, Ordering::Release);
        Ok(())
    }

    /// Reads what the files hold beyond the view, as far as the writer's
    /// publication allows while a writer holds the store (all that is whole and intact
    /// when none does), reloading from the checkpoint when the log moved to
    /// a generation the view cannot follow.
    fn refresh(&self, index: &ShardedLock<Index>) -> Result<()> {
        let mut view = self.state.lock();
        let slot_size = segment::slot_size(self.dimension);
        let mut reloaded = false;
        loop {
            // Asked at each pass, after any reload, and the page read after
            // the probe: a writer may have started meanwhile (its log
            // generation is then new to us, and its page is what counts).
            let writer_alive = self.probe.lock().writer_alive();
            let published = self.watch.get().and_then(|w| w.read().1);
            // A live writer has published what may be shown (the page may
            // hold anything after a power cut, but then no writer is alive
            // until one has opened and published afresh). Records of a
            // generation it has not published are not shown yet.
            let limit = match published {
                _ if !writer_alive => None,
                Some(p) if p.salt == view.tail.salt() => Some(p.end),
                _ => Some(0),
            };
            let mut gap = false;
            // The index lock is taken per record, never across the reads:
            // this process's readers wait for one record's publication at most.
            let polled = {
                let View { tail, lsn, .. } = &mut *view;
                tail.poll(slot_size, limit, |record| {
                    let n = record.lsn();
                    if n <= *lsn || gap {
                        return Ok(());
                    }
                    if n != *lsn + 1 {
                        gap = true;
                        return Ok(());
                    }
                    self.apply(&mut index.write(), record)?;
                    *lsn = n;
                    Ok(())
                })
            };
            // A record can name a segment that a compaction removed after
            // a later checkpoint: an error while the checkpoint is no
            // longer the view's is staleness, not damage.
            let current = FileIdentity::current(&self.dir);
            match polled {
                Ok(TailPoll::CaughtUp) if !gap && current == Some(view.checkpoint) => return Ok(()),
                Err(e) if current == Some(view.checkpoint) => return Err(e),
                // A gap right after loading this very checkpoint and its log
                // is not a race but missing records (a writer's open says
                // Corrupt too): reloading again would find the same.
                Ok(TailPoll::CaughtUp) if gap && reloaded && current == Some(view.checkpoint) => {
                    return Err(Error::corrupt(
                        &self.dir.join(crate::log::FILE_NAME),
                        format!(
                            "records are missing after sequence number {} (the checkpoint's or a later one)",
                            view.lsn
                        ),
                    ));
                }
                _ => {}
            }
            let (fresh, fresh_view, _) = load(&self.dir, self.dimension, Some(&index.read()))?;
            *index.write() = fresh;
            *view = fresh_view;
            reloaded = true;
        }
    }
}

impl Follower {
    /// Applies a record the writer published. Its slots already hold its
    /// images (the writer writes them first); if they do not, the writer
    /// died and the store awaits a recovery that rewrites them.
    fn apply(&self, index: &mut Index, record: Record<'_>) -> Result<()> {
        let slot_size = segment::slot_size(self.dimension);
        apply_record(&self.dir, self.dimension, index, record, |w| {
            let count = (w.images.len() / slot_size) as u64;
            if w.segment.slots(w.first, count) == w.images {
                return Ok(());
            }
            Err(Error::new(
                ErrorKind::ReadOnly,
                format!(
                    "{}: the store needs recovery that writes to its files; open it read-write once",
                    self.dir.display()
                ),
            ))
        })
        .map(|_| ())
    }
}

/// The current checkpoint of `dir` as an index (reusing the segments
/// `previous` has mapped) and a log tail at its start.
fn load(dir: &Path, dimension: u32, previous: Option<&Index>) -> Result<(Index, View, u32)> {
    // A checkpoint can name a segment that a compaction removed after a
    // later one: an error while the file is no longer current is staleness.
    let (index, identity, lsn, dimension) = loop {
        let cp = Checkpoint::read(dir)?.ok_or_else(|| Error::no_store(dir))?;
        cp.check_dimension(dimension)?;
        let (identity, lsn, dim) = (cp.identity(), cp.lsn, cp.dimension);
        let built = Index::from_checkpoint(Arc::new(cp), |id| {
            match previous.and_then(|p| p.segment(id)) {
                Some(s) => Ok(s.segment.clone()),
                None => Segment::open(dir, id, dim).map(Arc::new),
            }
        });
        match built {
            Ok(index) => break (index, identity, lsn, dim),
            Err(e) if FileIdentity::current(dir) == Some(identity) => return Err(e),
            Err(_) => continue,
        }
    };
    // The writer rewrites the log's header when it trims it: a read that
    // meets it half-written is tried again.
    let mut tries = 0;
    let tail = loop {
        match LogTail::open(dir, dimension) {
            Err(e) if e.kind() == ErrorKind::Corrupt && tries < HEADER_RETRIES => {
                tries += 1;
                std::thread::yield_now();
            }
            other => break other?,
        }
    };
    Ok((
        index,
        View {
            checkpoint: identity,
            tail,
            lsn,
        },
        dimension,
    ))
}
