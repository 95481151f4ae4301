//! The store handle: the write path, reads, barriers and statistics; slot
//! allocation and segment growth in `growth`.
//!
//! Concurrency: one `Mutex<Writer>` serializes every change (log append, slot
//! allocation, segment growth, checkpoint, compaction); the index sits behind
//! an `RwLock` that the writer holds for writing only while it publishes a
//! change, so readers wait at most for one publication, never for I/O. Group
//! commit waits happen after the writer lock is released.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::changes::{ChangeCounter, Published};
use crate::checkpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::files::{self, sync_dir, DirLock};
use crate::follow::Follower;
use crate::guard::{corrupt_slot, Cursor, PinCount, VectorGuard};
use crate::index::{Index, SlotRef};
use crate::log::{self, Log, LogState};
use crate::options::{Durability, Options};
use crate::recovery::{recover, remove_new_store, segment_files, Recovered};
use crate::segment::{self, Segment};
use crate::shards::ShardedLock;
use growth::Growth;

mod growth;

/// Changes since the last checkpoint that never trigger one by themselves.
const DELTA_FLOOR: u64 = 1 << 20;
/// Default of `Options::auto_checkpoint_log_bytes`.
const DEFAULT_AUTO_CHECKPOINT_LOG_BYTES: u64 = 512 << 20;

/// Statistics of a store at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Live vectors.
    pub vectors: u64,
    /// Floats per vector.
    pub dimension: u32,
    /// Apparent size of the segment files.
    pub data_bytes: u64,
    /// Log bytes not yet checkpointed.
    pub log_bytes: u64,
    /// `vectors * dimension * 4`.
    pub live_bytes: u64,
    /// The share of slots that a compaction would reclaim: `1 - live_bytes /
    /// bytes of every slot but the active segment's free room` (dead slots,
    /// and room stranded in segments that no longer take writes); 0 when
    /// nothing is stored.
    pub fragmentation: f64,
    /// Guards and cursors not yet released.
    pub guards_outstanding: u64,
    /// Segments created to extend the data files.
    pub capacity_grows: u64,
    /// Median time to create a segment, in nanoseconds.
    pub grow_p50_ns: u64,
    /// 99th percentile time to create a segment, in nanoseconds.
    pub grow_p99_ns: u64,
}

/// An open vector store. `Send + Sync`: share it between threads by reference.
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) dimension: u32,
    read_only: bool,
    pub(crate) index: ShardedLock<Index>,
    pub(crate) writer: Mutex<Writer>,
    pins: PinCount,
    /// The writer's lock; readers take none.
    lock: Option<DirLock>,
    /// A reader's link to the writer's changes.
    follow: Option<Follower>,
    /// Threads a search may use (0: one per core); see `set_search_threads`.
    pub(crate) search_threads: AtomicUsize,
}

/// State owned by the single writer.
pub(crate) struct Writer {
    durability: Durability,
    /// `None` on a read-only store.
    log: Option<Log>,
    /// Sequence number of the last record written or replayed.
    lsn: u64,
    /// New segments' ids, sizes and creation times.
    growth: Growth,
    /// Segment that appends go to, if it has room.
    pub(crate) active: Option<u32>,
    /// Log size past which a write triggers a checkpoint.
    auto_checkpoint_log_bytes: u64,
    /// Segments written since the last checkpoint, to sync before the next one.
    pub(crate) unsynced: BTreeSet<u32>,
    /// Whether anything changed since the last checkpoint.
    pub(crate) dirty: bool,
    /// Where recovery found the log's valid prefix to end, until the log is opened.
    recovered_log: LogState,
    buf: Vec<u8>,
    /// A failed segment fdatasync: its dirty pages may be gone, so no later
    /// checkpoint could be trusted.
    sync_failure: Option<Error>,
    /// Tells readers in any process that the store changed.
    changes: Option<Arc<ChangeCounter>>,
    closed: bool,
}

impl Store {
    /// Opens the store in directory `path`, creating it if missing and allowed.
    ///
    /// `dimension` 0 opens an existing store with whatever dimension it has
    /// (`NotFound` if there is none); a non-zero dimension that differs from an
    /// existing store's is `DimensionMismatch`. An open that fails leaves the
    /// directory as it found it, except for repairs recovery made (a torn log
    /// tail cut, orphan segments removed, a checkpoint of what was replayed).
    pub fn open(path: impl AsRef<Path>, dimension: u32, options: &Options) -> Result<Store> {
        let dir = path.as_ref().to_path_buf();
        segment::check_capacity(dimension, options.initial_capacity)
            .map_err(|e| Error::invalid(format!("initial_capacity: {}", e.message())))?;
        if options.read_only {
            return Store::open_reader(dir, dimension, options);
        }
        let may_create = options.create_if_missing && dimension != 0;
        let created_dirs = match directory_exists(&dir)? {
            true => Vec::new(),
            false if may_create => files::create_dirs(&dir)?,
            false => return Err(Error::no_store(&dir)),
        };
        let store_exists = dir.join(checkpoint::FILE_NAME).exists();
        let undo = |lock: Option<&DirLock>, err: Error| {
            if let Some(lock) = lock.filter(|l| l.created_file()) {
                lock.remove_file();
            }
            files::remove_dirs(&created_dirs);
            err
        };
        let lock = DirLock::acquire(&dir, store_exists || may_create).map_err(|e| undo(None, e))?;
        let rec = match recover(&dir, dimension, may_create, &created_dirs) {
            Ok(rec) => rec,
            Err(e) => {
                let err = undo(Some(&lock), e);
                drop(lock);
                return Err(err);
            }
        };
        let created_store = rec.created;
        let store = Store::new(dir, options, rec, Some(lock), None);
        match store.finish_open(options, created_store) {
            Ok(()) => Ok(store),
            Err(e) => {
                // Undone while the lock is held, so no other opener sees a
                // half-made store.
                store.writer.lock().closed = true;
                if created_store {
                    remove_new_store(&store.dir);
                }
                let err = undo(store.lock.as_ref(), e);
                drop(store);
                Err(err)
            }
        }
    }

    /// A read-only handle: no lock, no writes; its view follows the
    /// writer's changes (see `follow`).
    fn open_reader(dir: PathBuf, dimension: u32, options: &Options) -> Result<Store> {
        if !directory_exists(&dir)? {
            return Err(Error::no_store(&dir));
        }
        let (follow, index, dimension) = Follower::open(&dir, dimension)?;
        let rec = Recovered {
            dimension,
            index,
            lsn: 0,
            next_segment: 0,
            log: LogState {
                valid_len: 0,
                salt: 0,
            },
            needs_checkpoint: false,
            created: false,
            touched: BTreeSet::new(),
        };
        Ok(Store::new(dir, options, rec, None, Some(follow)))
    }

    fn new(
        dir: PathBuf,
        options: &Options,
        rec: Recovered,
        lock: Option<DirLock>,
        follow: Option<Follower>,
    ) -> Store {
        let active = rec
            .index
            .segments()
            .last()
            .filter(|s| s.room() > 0)
            .map(|s| s.segment.id());
        Store {
            dimension: rec.dimension,
            read_only: options.read_only,
            index: ShardedLock::new(rec.index),
            writer: Mutex::new(Writer {
                durability: options.durability,
                log: None,
                lsn: rec.lsn,
                growth: Growth::new(rec.next_segment, options.initial_capacity),
                active,
                auto_checkpoint_log_bytes: match options.auto_checkpoint_log_bytes {
                    0 => DEFAULT_AUTO_CHECKPOINT_LOG_BYTES,
                    n => n,
                },
                unsynced: rec.touched,
                dirty: rec.needs_checkpoint,
                recovered_log: rec.log,
                buf: Vec::new(),
                sync_failure: None,
                changes: None,
                closed: false,
            }),
            pins: PinCount::default(),
            search_threads: AtomicUsize::new(0),
            lock,
            follow,
            dir,
        }
    }

    /// The writer's part of opening: orphans removed, the log opened past its
    /// torn tail, a checkpoint of anything replayed, the first segment, a log
    /// generation of this writer's own, the publication page.
    fn finish_open(&self, options: &Options, created: bool) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let mut w = self.writer.lock();
        // A killed writer may have renamed a checkpoint into place without
        // syncing the directory: what this handle serves must not go back.
        sync_dir(&self.dir)?;
        remove_orphans(&self.dir, &self.index.read())?;
        w.log = Some(Log::open(&self.dir, self.dimension, w.recovered_log)?);
        let checkpointed = w.dirty;
        if checkpointed {
            self.checkpoint_locked(&mut w)?;
        }
        if options.initial_capacity > 0 && w.active.is_none() {
            self.grow(&mut w, options.initial_capacity)?;
        }
        // Every writer starts a log generation of its own (a checkpoint
        // above started one; a new store's log is this writer's): a reader
        // that decided no writer was alive, or read a page an earlier writer
        // left, never takes this writer's records for the ones it was
        // reading. Last, so that an open failing before leaves the log as
        // it found it.
        if !checkpointed && !created {
            w.log_mut().reset()?;
        }
        // The publication page last, once nothing else can fail: a failed
        // creation never leaves a page behind that a reader could have
        // mapped (it would never change again).
        w.changes = Some(Arc::new(ChangeCounter::open(&self.dir)?));
        w.publish_generation();
        Ok(())
    }

    /// On a read-only handle, brings the view up to date with the writer's
    /// changes (one atomic load when there are none).
    pub(crate) fn catch_up(&self) -> Result<()> {
        match &self.follow {
            Some(follow) => follow.catch_up(&self.index),
            None => Ok(()),
        }
    }

    /// Floats per vector.
    pub fn dimension(&self) -> u32 {
        self.dimension
    }

    /// Live vectors. On a read-only handle that cannot read the writer's
    /// latest changes, the count of the last state it could read.
    pub fn len(&self) -> u64 {
        let _ = self.catch_up();
        self.index.read().len()
    }

    /// Whether the store holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a vector with `id` exists. A damaged index page that would
    /// answer reads as absent here; every other read reports it as `Corrupt`.
    pub fn contains(&self, id: u64) -> bool {
        let _ = self.catch_up();
        self.index.read().contains(id).unwrap_or(false)
    }

    /// Stores `vector` under `id`, replacing any vector with that id.
    pub fn put(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.put_batch(&[id], vector)
    }

    /// Stores `vectors` (row-major, `ids.len()` rows) atomically: after any
    /// crash either all of them are there or none. A later duplicate id wins.
    pub fn put_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        let dim = self.dimension as usize;
        if vectors.len() != ids.len() * dim {
            return Err(Error::new(
                ErrorKind::DimensionMismatch,
                format!(
                    "{} floats for {} ids; the store has dimension {dim}",
                    vectors.len(),
                    ids.len()
                ),
            ));
        }
        if let Some(bad) = vectors.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "vector for id {} has a non-finite value ({}) at index {}; nothing was stored",
                ids[bad / dim],
                vectors[bad],
                bad % dim
            )));
        }
        if ids.is_empty() {
            return self.writer_checked().map(|_| ());
        }
        let mut w = self.writer_checked()?;
        // Every index page these ids need is checked before anything is
        // written, so that applying the batch to the index cannot fail.
        {
            let index = self.index.read();
            for &id in ids {
                index.contains(id)?;
            }
        }
        let count = ids.len() as u64;
        let seg = self.allocate(&mut w, count)?;
        let first = self.index.read().segment(seg.id()).expect("active").used;
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        let logged = w.durability.logged();
        if logged {
            log::begin_puts(&mut buf, ids.len());
            for i in 0..count {
                buf.extend_from_slice(&SlotRef::new(seg.id(), first + i).0.to_le_bytes());
            }
        }
        let images_at = buf.len();
        for (i, &id) in ids.iter().enumerate() {
            segment::encode_slot(id, &vectors[i * dim..(i + 1) * dim], &mut buf);
        }
        let written = seg.write_slots(first, &buf[images_at..]).and_then(|()| {
            if logged {
                let lsn = w.lsn + 1;
                w.log_mut().append(&mut buf, lsn).map(Some)
            } else {
                Ok(None)
            }
        });
        w.buf = buf;
        let durable_at = written?;
        if logged {
            w.lsn += 1;
        }
        w.unsynced.insert(seg.id());
        w.dirty = true;
        {
            let mut index = self.index.write();
            index.mark_used(seg.id(), first + count);
            for (i, &id) in ids.iter().enumerate() {
                index.insert(id, SlotRef::new(seg.id(), first + i as u64))?;
            }
        }
        self.commit(w, durable_at)
    }

    /// Deletes `id`; `NotFound` if it does not exist.
    pub fn delete(&self, id: u64) -> Result<()> {
        match self.delete_batch(&[id])? {
            0 => Err(Error::new(
                ErrorKind::NotFound,
                format!("no vector with id {id}"),
            )),
            _ => Ok(()),
        }
    }

    /// Deletes every listed id that exists, atomically; returns how many existed.
    pub fn delete_batch(&self, ids: &[u64]) -> Result<u64> {
        let mut w = self.writer_checked()?;
        let present: Vec<u64> = {
            let index = self.index.read();
            let mut seen = BTreeSet::new();
            let mut present = Vec::new();
            for &id in ids {
                if index.contains(id)? && seen.insert(id) {
                    present.push(id);
                }
            }
            present
        };
        if present.is_empty() {
            return Ok(0);
        }
        let mut durable_at = None;
        if w.durability.logged() {
            let mut buf = std::mem::take(&mut w.buf);
            buf.clear();
            log::begin_deletes(&mut buf, present.len());
            for id in &present {
                buf.extend_from_slice(&id.to_le_bytes());
            }
            let lsn = w.lsn + 1;
            let appended = w.log_mut().append(&mut buf, lsn);
            w.buf = buf;
            durable_at = Some(appended?);
            w.lsn += 1;
        }
        w.dirty = true;
        {
            let mut index = self.index.write();
            for &id in &present {
                index.remove(id)?;
            }
        }
        self.commit(w, durable_at)?;
        Ok(present.len() as u64)
    }

    /// Copies the vector of `id` into `out`, which must hold `dimension` floats.
    pub fn get(&self, id: u64, out: &mut [f32]) -> Result<()> {
        self.check_len(out.len())?;
        self.catch_up()?;
        self.copy_vector(&self.index.read(), id, out)
    }

    /// Copies the vector of `id` in `index` into `out` (`dimension` floats),
    /// checking its bytes.
    pub(crate) fn copy_vector(&self, index: &Index, id: u64, out: &mut [f32]) -> Result<()> {
        let (slots, slot) = index.locate(id)?.ok_or_else(|| not_found(id))?;
        check_slot(&slots.segment, slot, id)?;
        out.copy_from_slice(slots.segment.vector(slot));
        Ok(())
    }

    /// Copies the vectors of `ids` into consecutive rows of `out`; `found[i]`
    /// tells whether `ids[i]` exists (its row is left untouched if not).
    pub fn get_batch(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<()> {
        let dim = self.dimension as usize;
        if out.len() != ids.len() * dim || found.len() != ids.len() {
            return Err(Error::new(
                ErrorKind::DimensionMismatch,
                format!(
                    "output of {} floats and {} flags for {} ids of dimension {dim}",
                    out.len(),
                    found.len(),
                    ids.len()
                ),
            ));
        }
        self.catch_up()?;
        let index = self.index.read();
        // Check every slot before writing anything: on error, `out` and
        // `found` are left untouched.
        let located: Vec<Option<(&Arc<Segment>, u64)>> = ids
            .iter()
            .map(|&id| Ok(index.locate(id)?.map(|(s, slot)| (&s.segment, slot))))
            .collect::<Result<_>>()?;
        for (&id, at) in ids.iter().zip(&located) {
            if let Some((seg, slot)) = at {
                check_slot(seg, *slot, id)?;
            }
        }
        for (i, at) in located.into_iter().enumerate() {
            found[i] = at.is_some();
            if let Some((seg, slot)) = at {
                out[i * dim..(i + 1) * dim].copy_from_slice(seg.vector(slot));
            }
        }
        Ok(())
    }

    /// Borrows the vector of `id` without copying; see [`VectorGuard`].
    pub fn get_ref(&self, id: u64) -> Result<VectorGuard> {
        self.catch_up()?;
        let index = self.index.read();
        let (slots, slot) = index.locate(id)?.ok_or_else(|| not_found(id))?;
        check_slot(&slots.segment, slot, id)?;
        Ok(VectorGuard::new(&slots.handles, slot, id, &self.pins))
    }

    /// A cursor over the live vectors as of now (on a read-only handle that
    /// cannot read the writer's latest changes, as of the last state it could).
    pub fn cursor(&self) -> Cursor {
        let _ = self.catch_up();
        Cursor::new(self.index.read().snapshot(), &self.pins)
    }

    /// Makes every acknowledged write durable: syncs the log, or checkpoints
    /// when the store runs without one.
    pub fn flush(&self) -> Result<()> {
        let mut w = self.writer_checked()?;
        if !w.durability.logged() {
            return self.checkpoint_locked(&mut w);
        }
        let commit = w.log_mut().commit().clone();
        drop(w);
        commit.sync_all_written()
    }

    /// Makes everything durable, writes the id index, and trims the log.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = self.writer_checked()?;
        self.checkpoint_locked(&mut w)
    }

    /// Changes the durability mode. Leaving `None` checkpoints first, so that
    /// the log always extends a durable state.
    pub fn set_durability(&self, durability: Durability) -> Result<()> {
        let mut w = self.writer_checked()?;
        if !w.durability.logged() && durability.logged() {
            self.checkpoint_locked(&mut w)?;
        }
        // Leaving FSYNC: writes still waiting for their group commit are
        // made durable first, or a FLUSH write published after them would
        // show them to readers before they are durable (or when they fail).
        if w.durability == Durability::Fsync && durability != Durability::Fsync {
            w.log_mut().commit().sync_all_written()?;
        }
        w.durability = durability;
        Ok(())
    }

    /// Makes room for `additional` more vectors without growing the files later.
    pub fn reserve(&self, additional: u64) -> Result<()> {
        let mut w = self.writer_checked()?;
        self.allocate(&mut w, additional).map(|_| ())
    }

    /// Statistics as of now.
    pub fn stats(&self) -> Stats {
        let _ = self.catch_up();
        let w = self.writer.lock();
        let index = self.index.read();
        let vectors = index.len();
        let slot_bytes = 4 * u64::from(self.dimension);
        // Slots that can never take a new vector without a compaction: all
        // but the active segment's free room.
        let held: u64 = index
            .segments()
            .map(|s| {
                if w.active == Some(s.segment.id()) {
                    s.used
                } else {
                    s.segment.capacity()
                }
            })
            .sum();
        let live_bytes = vectors * slot_bytes;
        Stats {
            vectors,
            dimension: self.dimension,
            data_bytes: index.segments().map(|s| s.segment.file_bytes()).sum(),
            log_bytes: w.log.as_ref().map_or(0, |l| l.record_bytes()),
            live_bytes,
            fragmentation: if held == 0 {
                0.0
            } else {
                1.0 - live_bytes as f64 / (held * slot_bytes) as f64
            },
            guards_outstanding: self.pins.outstanding(),
            ..w.growth.stats()
        }
    }

    /// Makes every acknowledged write durable and releases the store. Guards
    /// and cursors stay valid until dropped.
    pub fn close(self) -> Result<()> {
        self.finish()
    }

    /// Removes the store this handle created (a failed copy): its files, and
    /// its `LOCK` file while the lock is still held, so that no other opener
    /// sees a half-made store or has its own removed.
    pub(crate) fn discard(self) {
        self.writer.lock().closed = true;
        remove_new_store(&self.dir);
        if let Some(lock) = &self.lock {
            lock.remove_file();
        }
        let _ = files::sync_dir(&self.dir);
    }

    /// Releases the store without a final checkpoint, leaving recovery of
    /// anything not yet checkpointed to the next open.
    pub(crate) fn abandon(self) {
        self.writer.lock().closed = true;
    }

    fn finish(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed || self.read_only {
            return Ok(());
        }
        w.closed = true;
        if let Some(err) = w.failure() {
            return Err(err);
        }
        if w.dirty {
            self.checkpoint_locked(&mut w)?;
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len != self.dimension as usize {
            return Err(Error::dimension(self.dimension, len));
        }
        Ok(())
    }

    /// The writer, if this handle may write.
    pub(crate) fn writer_checked(&self) -> Result<MutexGuard<'_, Writer>> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                format!("{}: the store is open read-only", self.dir.display()),
            ));
        }
        let w = self.writer.lock();
        if let Some(err) = w.failure() {
            return Err(err.context(format!(
                "the store refuses writes after an earlier failure ({err}); reopen it to recover"
            )));
        }
        Ok(w)
    }

    /// Releases the writer, waits for the group commit when the mode asks,
    /// and publishes the write's record to readers once it may be
    /// acknowledged: in FLUSH mode now, in FSYNC mode once it is durable.
    fn commit(&self, mut w: MutexGuard<'_, Writer>, durable_at: Option<u64>) -> Result<()> {
        let record_end = durable_at.map(|_| {
            let log = w.log_mut();
            (log.salt(), log.file_end())
        });
        let commit = match (w.durability, durable_at) {
            (Durability::Fsync, Some(pos)) => {
                Some((w.log_mut().commit().clone(), pos, w.changes.clone()))
            }
            _ => None,
        };
        if let (None, Some(changes), Some((salt, end))) = (&commit, &w.changes, record_end) {
            changes.publish_end(salt, end);
        }
        let limit = w.auto_checkpoint_log_bytes;
        if w.log.as_ref().is_some_and(|l| l.record_bytes() > limit) || self.delta_is_full() {
            // The write is applied and logged: its status must not say
            // otherwise. A failed checkpoint leaves the log as it was (a
            // failed sync inside it makes later changes refuse), and the
            // next write tries again.
            let _ = self.checkpoint_locked(&mut w);
        }
        drop(w);
        if let Some((commit, pos, changes)) = commit {
            commit.wait_durable(pos)?;
            if let (Some(changes), Some((salt, end))) = (changes, record_end) {
                changes.publish_end(salt, end);
            }
        }
        Ok(())
    }

    /// Whether the changes since the last checkpoint, held in the heap of
    /// every process, have grown past an eighth of the store (and a floor
    /// that keeps small stores from checkpointing often).
    fn delta_is_full(&self) -> bool {
        let index = self.index.read();
        index.delta_len() > (index.len() / 8).max(DELTA_FLOOR)
    }

    /// Checkpoint with the writer held: sync written segments, replace the
    /// checkpoint file, then trim the log (only once the checkpoint is durable).
    pub(crate) fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        self.index.read().check_base()?;
        let to_sync: Vec<Arc<Segment>> = {
            let index = self.index.read();
            w.unsynced
                .iter()
                .filter_map(|id| index.segment(*id).map(|s| s.segment.clone()))
                .collect()
        };
        // One segment at a time, so a checkpoint needs one spare descriptor
        // whatever it syncs. A segment that gave back its descriptor needs a
        // new one; failing to open it (out of descriptors) loses nothing and
        // is not a failed sync, so it may be retried.
        for seg in to_sync {
            seg.open_file()?;
            let synced = seg.sync();
            if Some(seg.id()) != w.active {
                seg.release_file();
            }
            if let Err(err) = synced {
                w.sync_failure = Some(err.clone());
                return Err(err);
            }
        }
        let bytes = checkpoint::encode(
            self.dimension,
            w.lsn,
            w.growth.next_segment(),
            &self.index.read(),
        );
        let cp = checkpoint::write(&self.dir, &bytes)?;
        drop(bytes);
        self.index.write().rebase(Arc::new(cp));
        w.unsynced.clear();
        w.dirty = false;
        // Readers see the new checkpoint once the log is trimmed, or with
        // the log as it was if the trim fails.
        let trimmed = w.log.as_mut().map_or(Ok(()), Log::reset);
        w.publish_generation();
        trimmed
    }
}

impl Writer {
    /// Tells readers to show the log's current generation, all of it (a
    /// checkpoint just trimmed it, or an open made it durable).
    fn publish_generation(&self) {
        if let (Some(changes), Some(log)) = (&self.changes, &self.log) {
            changes.publish_generation(Published {
                salt: log.salt(),
                end: log.file_end(),
            });
        }
    }

    /// Why writes are refused, if they are (see `Log::failure`).
    fn failure(&self) -> Option<Error> {
        self.sync_failure
            .clone()
            .or_else(|| self.log.as_ref()?.failure())
    }

    fn log_mut(&mut self) -> &mut Log {
        self.log.as_mut().expect("a writable store has a log")
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Whether `dir` exists; `InvalidArgument` if it is not a directory.
fn directory_exists(dir: &Path) -> Result<bool> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(Error::invalid(format!(
            "{}: not a directory",
            dir.display()
        ))),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("stat", dir, &e)),
    }
}

fn not_found(id: u64) -> Error {
    Error::new(ErrorKind::NotFound, format!("no vector with id {id}"))
}

/// Checks that `slot` is intact and holds `id` (defence against an index
/// entry pointing at the wrong slot).
fn check_slot(seg: &Segment, slot: u64, id: u64) -> Result<()> {
    if !seg.slot_is_intact(slot) || segment::slot_id(seg.slot(slot)) != id {
        return Err(corrupt_slot(seg, slot));
    }
    Ok(())
}

/// Deletes segment files that neither the checkpoint nor the log references:
/// leftovers of a crash after a compaction's checkpoint or before any record
/// used a new segment.
fn remove_orphans(dir: &Path, index: &Index) -> Result<()> {
    let mut removed = false;
    for id in segment_files(dir)? {
        if index.segment(id).is_none() {
            let path = dir.join(segment::file_name(id));
            std::fs::remove_file(&path)
                .map_err(|e| Error::io("remove orphan segment", &path, &e))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}
