//! Opening a store for writing: find or create its files, load the
//! checkpoint, replay the log records after it. Replay is idempotent (records
//! carry whole slot images and land on the slots they name), so a crash during
//! recovery only means recovery runs again. Read-only handles open through
//! `follow` and share `apply_record` with it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::{self, Checkpoint};
use crate::codec::u64_at;
use crate::error::{Error, Result};
use crate::files::{sync_ancestors, sync_dir};
use crate::index::{Index, SlotRef};
use crate::log::{self, LogContents, LogState, Record};
use crate::segment::{self, slot_id, slot_is_intact, Segment};

/// What recovery found, ready to become a live store.
pub(crate) struct Recovered {
    pub dimension: u32,
    pub index: Index,
    /// Last log sequence number applied.
    pub lsn: u64,
    pub next_segment: u32,
    /// Where the log's valid prefix ends (a torn tail lies beyond it).
    pub log: LogState,
    /// Whether the store's durable state lags what recovery rebuilt: records
    /// replayed or a torn tail dropped.
    pub needs_checkpoint: bool,
    /// Whether this open created the store.
    pub created: bool,
    /// Segments named by replayed records, to sync at the next checkpoint.
    pub touched: BTreeSet<u32>,
}

/// Loads (or, with a non-zero `dimension` and `create`, creates) the store in `dir`.
pub(crate) fn recover(
    dir: &Path,
    dimension: u32,
    create: bool,
    created_dirs: &[PathBuf],
) -> Result<Recovered> {
    let Some(cp) = Checkpoint::read(dir)? else {
        return create_store(dir, dimension, create, created_dirs);
    };
    cp.check_dimension(dimension)?;
    let dimension = cp.dimension;
    let (cp_lsn, cp_next_segment) = (cp.lsn, cp.next_segment);
    let mut index = Index::from_checkpoint(Arc::new(cp), |id| {
        Segment::open(dir, id, dimension).map(Arc::new)
    })?;

    let contents = LogContents::read(dir, dimension)?;
    let mut replay = Replay {
        dir,
        dimension,
        index: &mut index,
        lsn: cp_lsn,
        slot_writes: Vec::new(),
        applied: false,
    };
    let log = contents.scan(segment::slot_size(dimension), cp_lsn, |r| replay.apply(r))?;
    let (lsn, applied) = (replay.lsn, replay.applied);
    let needs_checkpoint = applied || contents.has_records();
    // The checkpoint that ends this recovery reads every page of the index:
    // check them now, so that a damaged one is Corrupt before anything
    // (a slot, the log's torn tail) changes.
    if needs_checkpoint {
        replay.index.check_base()?;
    }
    // Only now that the whole log has been validated may files change: a
    // recovery that ends in Corrupt modifies nothing.
    let touched = replay.write_slots()?;
    retire_written_slots(&mut index);
    let next_segment = segment_files(dir)?
        .last()
        .map_or(cp_next_segment, |&last| cp_next_segment.max(last + 1));
    Ok(Recovered {
        dimension,
        index,
        lsn,
        next_segment,
        log,
        needs_checkpoint,
        created: false,
        touched,
    })
}

/// Slots past a segment's recovered `used` mark that hold intact images were
/// handed out by an earlier handle whose changes never became durable (a
/// failed checkpoint, NONE mode, a compaction cut short, a crash); a guard or
/// cursor of that handle in this process may still map them, and its bytes
/// must not change. So they are never handed out again: `used` moves past
/// them and they count as dead until a compaction reclaims them.
fn retire_written_slots(index: &mut Index) {
    let marks: Vec<(u32, u64)> = index
        .segments()
        .filter_map(|s| {
            let seg = &s.segment;
            let end = (s.used..seg.capacity())
                .find(|&slot| !seg.slot_is_intact(slot))
                .unwrap_or(seg.capacity());
            (end > s.used).then_some((seg.id(), end))
        })
        .collect();
    for (segment, end) in marks {
        index.mark_used(segment, end);
    }
}

/// Applies log records newer than the checkpoint to the index, collecting
/// the slot images to write once the whole log is known to be sound.
struct Replay<'a, 'log> {
    dir: &'a Path,
    dimension: u32,
    index: &'a mut Index,
    lsn: u64,
    /// `(segment, first slot, images)` of every put record replayed.
    slot_writes: Vec<SlotWrite<'log>>,
    applied: bool,
}

impl<'log> Replay<'_, 'log> {
    fn apply(&mut self, record: Record<'log>) -> Result<()> {
        if record.lsn() <= self.lsn {
            return Ok(()); // already in the checkpoint
        }
        self.lsn = record.lsn();
        if let Some(write) = apply_record(self.dir, self.dimension, self.index, record, |_| Ok(()))?
        {
            self.slot_writes.push(write);
        }
        self.applied = true;
        Ok(())
    }
}

/// Slot images a put record carries, for the slots they belong in.
pub(crate) struct SlotWrite<'r> {
    pub segment: Arc<Segment>,
    pub first: u64,
    pub images: &'r [u8],
}

/// Applies one log record to `index`, opening a segment it names for the
/// first time. For a put record, returns the segment, the first slot and
/// the images, which the slots hold (or, in recovery, must receive). A put
/// record names consecutive slots of one segment (the writer allocates
/// batches that way), inside it, with intact images; anything else is
/// damage, reported before `index` changes, as is whatever `check` (called
/// with the slots and images before any change) reports.
pub(crate) fn apply_record<'r>(
    dir: &Path,
    dimension: u32,
    index: &mut Index,
    record: Record<'r>,
    check: impl FnOnce(&SlotWrite<'r>) -> Result<()>,
) -> Result<Option<SlotWrite<'r>>> {
    let (slots, images) = match record {
        Record::Deletes { ids, .. } => {
            for id in ids.chunks_exact(8) {
                index.contains(u64_at(id, 0))?;
            }
            for id in ids.chunks_exact(8) {
                index.remove(u64_at(id, 0))?;
            }
            return Ok(None);
        }
        Record::Puts { slots, images, .. } => (slots, images),
    };
    let count = slots.len() / 8;
    if count == 0 {
        return Ok(None);
    }
    let first = SlotRef(u64_at(slots, 0));
    let log_path = dir.join(log::FILE_NAME);
    let consecutive = (0..count)
        .all(|i| u64_at(slots, i * 8) == SlotRef::new(first.segment(), first.slot() + i as u64).0);
    if !consecutive {
        return Err(Error::corrupt(
            &log_path,
            "put record names scattered slots",
        ));
    }
    let seg = match index.segment(first.segment()) {
        Some(s) => s.segment.clone(),
        None => Arc::new(Segment::open(dir, first.segment(), dimension)?),
    };
    let end = first.slot() + count as u64;
    if end > seg.capacity() {
        return Err(Error::corrupt(
            &log_path,
            "put record names slots past the segment's end",
        ));
    }
    let slot_size = images.len() / count;
    if !images.chunks_exact(slot_size).all(slot_is_intact) {
        return Err(Error::corrupt(
            &log_path,
            "slot image in a put record fails its checksum",
        ));
    }
    for image in images.chunks_exact(slot_size) {
        index.contains(slot_id(image))?;
    }
    let write = SlotWrite {
        segment: seg.clone(),
        first: first.slot(),
        images,
    };
    check(&write)?;
    if index.segment(seg.id()).is_none() {
        index.add_segment(seg.clone(), 0);
    }
    index.mark_used(seg.id(), end);
    for (i, image) in images.chunks_exact(slot_size).enumerate() {
        index.insert(
            slot_id(image),
            SlotRef::new(seg.id(), first.slot() + i as u64),
        )?;
    }
    Ok(Some(write))
}

impl Replay<'_, '_> {
    /// Writes the replayed images into slots that do not already hold them
    /// (after a process crash they usually do); returns every segment a
    /// replayed record names, written now or not. Equal bytes may be only in
    /// the page cache, written by a process that died before syncing them:
    /// the checkpoint that ends recovery must sync them before it trims the
    /// log records that are their only durable copy.
    fn write_slots(self) -> Result<BTreeSet<u32>> {
        let mut named = BTreeSet::new();
        for SlotWrite {
            segment: seg,
            first,
            images,
        } in self.slot_writes
        {
            named.insert(seg.id());
            let count = (images.len() / segment::slot_size(self.dimension)) as u64;
            if seg.slots(first, count) == images {
                continue;
            }
            seg.write_slots(first, images)?;
            // The end-of-open checkpoint syncs it through a new descriptor:
            // a replay over many segments holds none of them open.
            seg.release_file();
        }
        Ok(named)
    }
}

/// Ids of the segment files in `dir`, ascending.
pub(crate) fn segment_files(dir: &Path) -> Result<Vec<u32>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, &e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, &e))?;
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(segment::parse_file_name)
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// A directory without a checkpoint: a new store, if allowed and nothing of an
/// older store is there. `created_dirs`: the directories this open made for it.
fn create_store(
    dir: &Path,
    dimension: u32,
    allowed: bool,
    created_dirs: &[PathBuf],
) -> Result<Recovered> {
    if dimension == 0 || !allowed {
        return Err(Error::no_store(dir));
    }
    if !segment_files(dir)?.is_empty() {
        return Err(Error::corrupt(
            &dir.join(checkpoint::FILE_NAME),
            "checkpoint file is missing but segment files exist",
        ));
    }
    // The log first, then the checkpoint: the checkpoint's appearance is what
    // makes the store exist, so a crash before it leaves a directory that
    // opens as "no store" and is created afresh. First the directories
    // above are made durable: a complete store must never stand on a path a
    // power cut can take away (a writer killed later would leave it so, and
    // later opens sync nothing above an existing store). The directory is
    // synced after the log: the checkpoint's rename must not become durable
    // before the entries of the log and the lock file do.
    sync_ancestors(dir, created_dirs)?;
    let index = Index::default();
    let made = log::create(dir, dimension).and_then(|log| {
        sync_dir(dir)?;
        let cp = checkpoint::write(dir, &checkpoint::encode(dimension, 0, 1, &index))?;
        Ok((log, cp))
    });
    let (log, cp) = match made {
        Ok(made) => made,
        Err(e) => {
            remove_new_store(dir);
            return Err(e);
        }
    };
    let mut index = index;
    index.rebase(Arc::new(cp));
    Ok(Recovered {
        dimension,
        index,
        lsn: 0,
        next_segment: 1,
        log,
        needs_checkpoint: false,
        created: true,
        touched: BTreeSet::new(),
    })
}

/// Removes a store that this open created and could not finish, leaving
/// nothing behind but what it found (`create_store` refused a directory that
/// held segments, so every segment here is this open's). Each step is made
/// durable before the next, so that a kill or power cut in between leaves a
/// directory that opens: segments, then the checkpoint (the store ceases to
/// exist), then the log.
pub(crate) fn remove_new_store(dir: &Path) {
    // Segments first: the new checkpoint lists none, so until they are gone
    // they are orphans the next open removes; left without a checkpoint
    // they would make the directory Corrupt.
    for id in segment_files(dir).unwrap_or_default() {
        let _ = std::fs::remove_file(dir.join(segment::file_name(id)));
    }
    if sync_dir(dir).is_err() {
        return;
    }
    let _ = std::fs::remove_file(dir.join(checkpoint::FILE_NAME));
    // A log left behind is harmless (the next creation truncates it); a
    // checkpoint without its log is not.
    if sync_dir(dir).is_ok() {
        let _ = std::fs::remove_file(dir.join(log::FILE_NAME));
        let _ = std::fs::remove_file(dir.join(crate::changes::FILE_NAME));
        let _ = sync_dir(dir);
    }
}
