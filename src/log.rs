//! The write-ahead log: one append-only file of checksummed, numbered records,
//! and the group commit that makes appends durable with shared fdatasyncs.
//!
//! File: a header (magic, version, dimension, CRC), then records:
//! `payload_len: u32 | crc: u32 | lsn: u64 | kind: u32 | count: u32 | payload`.
//! The CRC covers everything in the record after itself. A `PUTS` payload is
//! `count` slot references (u64) followed by `count` slot images, exactly the
//! bytes the segment slots receive; a `DELETES` payload is `count` ids (u64).
//! One record is one atomic operation: a batch is one record.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::{Condvar, Mutex};

use crate::codec::{checksum, u32_at, u64_at, FileHeader, HeaderError};
use crate::error::{Error, Result};
use crate::files::map_read_only;

/// Name of the log file inside a store directory.
pub(crate) const FILE_NAME: &str = "wal.log";
const MAGIC: [u8; 8] = *b"VECSWAL\0";
const HEADER_LEN: usize = FileHeader::encoded_len(0);
/// Bytes of a record before its payload.
pub(crate) const RECORD_HEADER: usize = 24;
const KIND_PUTS: u32 = 1;
const KIND_DELETES: u32 = 2;

/// One decoded record, borrowing the log's bytes.
pub(crate) enum Record<'a> {
    /// Vectors written: `slots[i]` (a packed slot reference) received `images[i]`.
    Puts {
        lsn: u64,
        slots: &'a [u8],
        images: &'a [u8],
    },
    /// Ids deleted.
    Deletes { lsn: u64, ids: &'a [u8] },
}

/// Starts a record in `buf` (which must be empty); the caller appends the payload.
pub(crate) fn begin_puts(buf: &mut Vec<u8>, count: usize) {
    begin(buf, KIND_PUTS, count);
}

/// Starts a deletion record in `buf` (which must be empty).
pub(crate) fn begin_deletes(buf: &mut Vec<u8>, count: usize) {
    begin(buf, KIND_DELETES, count);
}

fn begin(buf: &mut Vec<u8>, kind: u32, count: usize) {
    debug_assert!(buf.is_empty());
    buf.resize(RECORD_HEADER, 0);
    buf[16..20].copy_from_slice(&kind.to_le_bytes());
    buf[20..24].copy_from_slice(&(count as u32).to_le_bytes());
}

/// Seals the record in `buf` with its length, sequence number and checksum.
pub(crate) fn finish(buf: &mut [u8], lsn: u64) {
    let payload = (buf.len() - RECORD_HEADER) as u32;
    buf[0..4].copy_from_slice(&payload.to_le_bytes());
    buf[8..16].copy_from_slice(&lsn.to_le_bytes());
    let crc = checksum(&[&buf[8..]]);
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// Creates an empty log file in `dir`; the caller makes the entry durable.
pub(crate) fn create(dir: &Path, dimension: u32) -> Result<()> {
    let path = dir.join(FILE_NAME);
    let header = FileHeader {
        magic: MAGIC,
        dimension,
    }
    .encode(&[]);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&path)
        .and_then(|f| {
            f.write_all_at(&header, 0)?;
            f.sync_all()
        });
    written.map_err(|e| Error::io("create log", &path, &e))
}

/// The bytes of a log file as read at open.
pub(crate) struct LogContents {
    path: PathBuf,
    /// The log mapped read-only: a large log is scanned without copying it
    /// into freshly faulted anonymous memory.
    bytes: Mmap,
}

impl LogContents {
    /// Maps the whole log of `dir` and checks its header against `dimension`.
    pub(crate) fn read(dir: &Path, dimension: u32) -> Result<LogContents> {
        let path = dir.join(FILE_NAME);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::corrupt(&path, "log file is missing"),
            _ => Error::io("open log", &path, &e),
        })?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, &e))?
            .len();
        if len < HEADER_LEN as u64 {
            return Err(Error::corrupt(
                &path,
                format!("log is {len} bytes, shorter than its header"),
            ));
        }
        let bytes = map_read_only(&file, &path)?;
        match FileHeader::decode(&MAGIC, &bytes, 0) {
            Ok((dim, _)) if dim == dimension => Ok(LogContents { path, bytes }),
            Ok((dim, _)) => Err(Error::corrupt(
                &path,
                format!("log is for dimension {dim}, the store has {dimension}"),
            )),
            Err(HeaderError::Corrupt(why)) => Err(Error::corrupt(&path, why)),
            Err(HeaderError::Version(v)) => Err(crate::segment::version_error(&path, v)),
        }
    }

    /// Calls `apply` on every intact record in order and returns the length of
    /// the valid prefix of the file. `checkpoint_lsn` is the last record the
    /// checkpoint includes: the log may still hold records up to it (a crash
    /// before the log was trimmed), and the first record after it must be
    /// `checkpoint_lsn + 1`. A torn tail (an incomplete or damaged end, with no
    /// intact record newer than the last good one after it) ends the scan;
    /// damage followed by a newer intact record is `Corrupt`.
    pub(crate) fn scan<'a>(
        &'a self,
        slot_size: usize,
        checkpoint_lsn: u64,
        mut apply: impl FnMut(Record<'a>) -> Result<()>,
    ) -> Result<u64> {
        let bytes = &self.bytes;
        let mut pos = HEADER_LEN;
        let mut prev_lsn: Option<u64> = None;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let intact = rest.len() >= RECORD_HEADER && {
                let total = RECORD_HEADER as u64 + u64::from(u32_at(rest, 0));
                total <= rest.len() as u64
                    && checksum(&[&rest[8..total as usize]]) == u32_at(rest, 4)
            };
            if !intact {
                let newest = prev_lsn.unwrap_or(0).max(checkpoint_lsn);
                if let Some(at) = newer_record_after(bytes, pos + 1, newest) {
                    return Err(Error::corrupt(
                        &self.path,
                        format!(
                            "damaged record at offset {pos} is followed by an intact newer record at offset {at}"
                        ),
                    ));
                }
                break;
            }
            let total = RECORD_HEADER + u32_at(rest, 0) as usize;
            let lsn = u64_at(rest, 8);
            let in_order = match prev_lsn {
                Some(prev) => lsn == prev + 1,
                None => lsn <= checkpoint_lsn + 1,
            };
            if !in_order {
                return Err(Error::corrupt(
                    &self.path,
                    format!(
                        "record at offset {pos} has sequence {lsn} after {} (checkpoint at {checkpoint_lsn}): records are missing",
                        prev_lsn.map_or("none".to_string(), |p| p.to_string())
                    ),
                ));
            }
            let (kind, count) = (u32_at(rest, 16), u32_at(rest, 20) as usize);
            let payload = &rest[RECORD_HEADER..total];
            let record = match kind {
                KIND_PUTS if payload.len() == count * (8 + slot_size) => Record::Puts {
                    lsn,
                    slots: &payload[..count * 8],
                    images: &payload[count * 8..],
                },
                KIND_DELETES if payload.len() == count * 8 => Record::Deletes { lsn, ids: payload },
                _ => {
                    return Err(Error::corrupt(
                        &self.path,
                        format!("record at offset {pos} has kind {kind} and a bad length"),
                    ))
                }
            };
            apply(record)?;
            prev_lsn = Some(lsn);
            pos += total;
        }
        Ok(pos as u64)
    }

    /// Whether the file holds any record at all (valid or not).
    pub(crate) fn has_records(&self) -> bool {
        self.bytes.len() > HEADER_LEN
    }
}

/// The offset of an intact record numbered above `newest` at or after
/// `from`, if any: proof that damage before it is not a torn tail. Only
/// offsets whose sequence number is plausible pay for a checksum.
fn newer_record_after(bytes: &[u8], from: usize, newest: u64) -> Option<usize> {
    (from..bytes.len().saturating_sub(RECORD_HEADER - 1)).find(|&at| {
        let lsn = u64_at(bytes, at + 8);
        let total = RECORD_HEADER as u64 + u64::from(u32_at(bytes, at));
        lsn > newest
            && lsn - newest <= (bytes.len() / RECORD_HEADER) as u64
            && at as u64 + total <= bytes.len() as u64
            && checksum(&[&bytes[at + 8..at + total as usize]]) == u32_at(bytes, at + 4)
    })
}

/// The open log, appended to by the single writer.
pub(crate) struct Log {
    path: PathBuf,
    file: Arc<File>,
    /// File length: where the next record goes.
    end: u64,
    /// Logical position of file offset `HEADER_LEN`; grows by the bytes trimmed
    /// at each reset so positions given to the group commit never go backwards.
    base: u64,
    commit: Arc<GroupCommit>,
    /// Set when a failed append could not be cut off again: appending after
    /// it would put valid records behind garbage.
    broken: Option<Error>,
}

impl Log {
    /// Opens the log for appending after its valid prefix of `valid_len` bytes,
    /// cutting off any torn tail.
    pub(crate) fn open(dir: &Path, valid_len: u64) -> Result<Log> {
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open log", &path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, &e))?
            .len();
        if len != valid_len {
            file.set_len(valid_len)
                .and_then(|_| file.sync_all())
                .map_err(|e| Error::io("cut torn tail of", &path, &e))?;
        }
        let file = Arc::new(file);
        let commit = Arc::new(GroupCommit::new(file.clone(), path.clone(), valid_len));
        Ok(Log {
            path,
            file,
            end: valid_len,
            base: 0,
            commit,
            broken: None,
        })
    }

    /// Appends one sealed record; returns the logical position the group
    /// commit must reach for it to be durable. A failed append leaves no
    /// partial record behind.
    pub(crate) fn append(&mut self, record: &[u8]) -> Result<u64> {
        if let Some(err) = self.failure() {
            return Err(err);
        }
        if let Err(e) = self.file.write_all_at(record, self.end) {
            if let Err(e2) = self.file.set_len(self.end) {
                let broken = Error::io("cut a failed append from", &self.path, &e2);
                self.broken = Some(broken.clone());
                return Err(broken);
            }
            return Err(Error::io("append to log", &self.path, &e));
        }
        self.end += record.len() as u64;
        let pos = self.logical_end();
        self.commit.note_written(pos);
        Ok(pos)
    }

    fn logical_end(&self) -> u64 {
        self.base + self.end
    }

    /// Bytes of records not yet trimmed by a checkpoint.
    pub(crate) fn record_bytes(&self) -> u64 {
        self.end - HEADER_LEN as u64
    }

    /// The group commit of this log.
    pub(crate) fn commit(&self) -> &Arc<GroupCommit> {
        &self.commit
    }

    /// Drops every record (a checkpoint has made them redundant) and releases
    /// anyone waiting for them to become durable. If the truncation cannot be
    /// made durable, the log refuses further appends: a record written after
    /// a truncation that might be undone by a crash could land behind old
    /// bytes, where recovery would not find it.
    pub(crate) fn reset(&mut self) -> Result<()> {
        if self.record_bytes() == 0 {
            return Ok(());
        }
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        // A failed ftruncate leaves the file as it was: the records stay
        // (recovery skips them by sequence number) and appends go after them.
        self.file
            .set_len(HEADER_LEN as u64)
            .map_err(|e| Error::io("trim log", &self.path, &e))?;
        self.base += self.record_bytes();
        self.end = HEADER_LEN as u64;
        if let Err(e) = self.file.sync_all() {
            let err = Error::io("sync trimmed log", &self.path, &e);
            self.broken = Some(err.clone());
            return Err(err);
        }
        self.commit.mark_durable(self.logical_end());
        Ok(())
    }

    /// Why the log refuses appends, if it does: an append or trim that could
    /// not be undone, or a failed fdatasync (after which the kernel may have
    /// dropped acknowledged-looking bytes).
    pub(crate) fn failure(&self) -> Option<Error> {
        self.broken.clone().or_else(|| self.commit.failure())
    }
}

/// Group commit: writers that appended wait until one fdatasync covers their
/// record; one of them (the leader) issues it for everyone written so far.
pub(crate) struct GroupCommit {
    file: Arc<File>,
    path: PathBuf,
    written: AtomicU64,
    state: Mutex<SyncState>,
    synced: Condvar,
}

struct SyncState {
    durable: u64,
    syncing: bool,
    failure: Option<Error>,
}

impl GroupCommit {
    fn new(file: Arc<File>, path: PathBuf, end: u64) -> GroupCommit {
        GroupCommit {
            file,
            path,
            written: AtomicU64::new(end),
            state: Mutex::new(SyncState {
                durable: end,
                syncing: false,
                failure: None,
            }),
            synced: Condvar::new(),
        }
    }

    fn note_written(&self, pos: u64) {
        self.written.fetch_max(pos, Ordering::Release);
    }

    fn mark_durable(&self, pos: u64) {
        self.note_written(pos);
        let mut state = self.state.lock();
        state.durable = state.durable.max(pos);
        self.synced.notify_all();
    }

    /// Returns once everything up to logical position `target` is on stable
    /// storage. A failed fdatasync fails this and every later wait: after it,
    /// the kernel may have dropped the dirty pages, so nothing can be promised.
    pub(crate) fn wait_durable(&self, target: u64) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            if let Some(err) = &state.failure {
                return Err(err.clone());
            }
            if state.durable >= target {
                return Ok(());
            }
            if state.syncing {
                self.synced.wait(&mut state);
                continue;
            }
            state.syncing = true;
            let goal = self.written.load(Ordering::Acquire);
            drop(state);
            let result = self.file.sync_data();
            state = self.state.lock();
            state.syncing = false;
            match result {
                Ok(()) => state.durable = state.durable.max(goal),
                Err(e) => state.failure = Some(Error::io("sync log", &self.path, &e)),
            }
            self.synced.notify_all();
        }
    }

    /// The error of a failed fdatasync, if one failed.
    fn failure(&self) -> Option<Error> {
        self.state.lock().failure.clone()
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync_all_written(&self) -> Result<()> {
        self.wait_durable(self.written.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: usize = 8; // slot images of 8 bytes for these tests

    fn puts_record(lsn: u64, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        begin_puts(&mut buf, n);
        for i in 0..n {
            buf.extend_from_slice(&(i as u64).to_le_bytes());
        }
        buf.extend(std::iter::repeat_n(lsn as u8, n * SLOT));
        finish(&mut buf, lsn);
        buf
    }

    fn lsns(dir: &Path) -> Result<(Vec<u64>, u64)> {
        let contents = LogContents::read(dir, 3)?;
        let mut seen = Vec::new();
        let end = contents.scan(SLOT, 0, |r| {
            seen.push(match r {
                Record::Puts { lsn, .. } | Record::Deletes { lsn, .. } => lsn,
            });
            Ok(())
        })?;
        Ok((seen, end))
    }

    fn write_log(dir: &Path, records: &[Vec<u8>]) -> u64 {
        create(dir, 3).unwrap();
        let mut log = Log::open(dir, HEADER_LEN as u64).unwrap();
        for r in records {
            log.append(r).unwrap();
        }
        log.end
    }

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut del = Vec::new();
        begin_deletes(&mut del, 1);
        del.extend_from_slice(&7u64.to_le_bytes());
        finish(&mut del, 3);
        let end = write_log(dir.path(), &[puts_record(1, 2), puts_record(2, 1), del]);
        assert_eq!(lsns(dir.path()).unwrap(), (vec![1, 2, 3], end));
    }

    #[test]
    fn torn_tail_is_dropped_at_every_cut() {
        let dir = tempfile::tempdir().unwrap();
        let records = [puts_record(1, 2), puts_record(2, 3)];
        let full = write_log(dir.path(), &records);
        let first_end = full - records[1].len() as u64;
        let path = dir.path().join(FILE_NAME);
        let bytes = std::fs::read(&path).unwrap();
        for cut in first_end..full {
            std::fs::write(&path, &bytes[..cut as usize]).unwrap();
            assert_eq!(lsns(dir.path()).unwrap(), (vec![1], first_end), "cut {cut}");
        }
    }

    #[test]
    fn damage_before_valid_records_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let records = [puts_record(1, 2), puts_record(2, 2), puts_record(3, 2)];
        write_log(dir.path(), &records);
        let path = dir.path().join(FILE_NAME);
        let clean = std::fs::read(&path).unwrap();
        let second = HEADER_LEN + records[0].len();
        for offset in [second, second + 2, second + 9, second + 30] {
            let mut bytes = clean.clone();
            bytes[offset] ^= 0x40;
            std::fs::write(&path, &bytes).unwrap();
            let err = lsns(dir.path()).expect_err("corruption must be reported");
            assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "offset {offset}");
        }
    }

    #[test]
    fn group_commit_reaches_every_target() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), 3).unwrap();
        let mut log = Log::open(dir.path(), HEADER_LEN as u64).unwrap();
        let pos = log.append(&puts_record(1, 1)).unwrap();
        let commit = log.commit().clone();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let c = commit.clone();
                std::thread::spawn(move || c.wait_durable(pos))
            })
            .collect();
        for w in waiters {
            w.join().unwrap().unwrap();
        }
        log.reset().unwrap();
        assert_eq!(log.record_bytes(), 0);
        let pos2 = log.append(&puts_record(2, 1)).unwrap();
        assert!(pos2 > pos);
        commit.wait_durable(pos2).unwrap();
    }
}
