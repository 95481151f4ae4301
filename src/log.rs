//! The write-ahead log: one append-only file of checksummed, numbered records,
//! and the group commit that makes appends durable with shared fdatasyncs.
//!
//! File: a header (magic, version, dimension, `salt: u64`, reserved, CRC), then
//! records, each padded with zeros to a multiple of 8 bytes (see
//! [`RecordHeader`] for the record header). A `PUTS` payload is `count` slot
//! references (u64) followed by `count` slot images, exactly the bytes the
//! segment slots receive; a `DELETES` payload is `count` ids (u64). One record
//! is one atomic operation: a batch is one record.
//!
//! Three properties make recovery exact and linear in the log's size:
//!
//! - **Salt.** Each log generation (creation, and every trim at a checkpoint)
//!   draws a random salt, written in the file header and at the start of
//!   every record, and both checksums are seeded with it, as SQLite's WAL
//!   does. Bytes of a vector, or records of an older generation left behind
//!   by a trim that a power cut undid, can therefore never pass for a record.
//! - **Separate header and payload checksums.** A record whose header is
//!   intact is skipped by its length, so the scan never looks for records
//!   inside a payload; only damage to a header makes it search, at 8-byte
//!   aligned offsets, comparing one u64 with the salt before any checksum.
//! - **Synced-through mark.** Each record states the file offset up to which
//!   the log was known to be on stable storage when it was sealed. Damage
//!   after the last durable byte is a torn tail (a crash or power cut during
//!   unsynced appends, which may persist any subset of their sectors): the
//!   log ends there, and intact records after it, never acknowledged as
//!   durable, are dropped with it. Damage that an intact later record says
//!   was already synced is real corruption: `Corrupt`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::{Condvar, Mutex};

use crate::codec::{checksum, u32_at, u64_at, FileHeader, HeaderError, PutLe};
use crate::error::{Error, Result};
use crate::files::map_read_only;
use crate::layout::log::record::{
    self as at, DELETES as KIND_DELETES, PAYLOAD_WORD, PUTS as KIND_PUTS,
};
use crate::layout::log::{body as header_body, HEADER_LEN, MAGIC, RECORD_ALIGN};

pub(crate) use crate::layout::log::FILE_NAME;

/// File header body: `salt: u64 | reserved: u32`.
const HEADER_BODY: usize = header_body::LEN;
/// Bytes of a record before its payload.
pub(crate) const RECORD_HEADER: usize = at::LEN;

/// The header of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RecordHeader {
    kind: u32,
    lsn: u64,
    payload_len: u64,
    count: u64,
    synced_through: u64,
    payload_crc: u32,
}

impl RecordHeader {
    /// Writes the header into the first `RECORD_HEADER` bytes of `out`.
    fn encode(&self, salt: u64, out: &mut [u8]) {
        out[at::SALT..at::HEADER_CRC].copy_from_slice(&salt.to_le_bytes());
        out[at::KIND..at::LSN].copy_from_slice(&self.kind.to_le_bytes());
        out[at::LSN..at::PAYLOAD_LEN].copy_from_slice(&self.lsn.to_le_bytes());
        out[at::PAYLOAD_LEN..at::COUNT].copy_from_slice(&self.payload_len.to_le_bytes());
        out[at::COUNT..at::SYNCED_THROUGH].copy_from_slice(&self.count.to_le_bytes());
        out[at::SYNCED_THROUGH..at::PAYLOAD_CRC]
            .copy_from_slice(&self.synced_through.to_le_bytes());
        out[at::PAYLOAD_CRC..at::RESERVED].copy_from_slice(&self.payload_crc.to_le_bytes());
        out[at::RESERVED..RECORD_HEADER].fill(0);
        let crc = header_checksum(&out[..RECORD_HEADER]);
        out[at::HEADER_CRC..at::KIND].copy_from_slice(&crc.to_le_bytes());
    }

    /// The header at the start of `bytes`, if one of this log generation is
    /// there intact.
    fn decode(bytes: &[u8], salt: u64) -> Option<RecordHeader> {
        if bytes.len() < RECORD_HEADER
            || u64_at(bytes, at::SALT) != salt
            || header_checksum(&bytes[..RECORD_HEADER]) != u32_at(bytes, at::HEADER_CRC)
        {
            return None;
        }
        Some(RecordHeader {
            kind: u32_at(bytes, at::KIND),
            lsn: u64_at(bytes, at::LSN),
            payload_len: u64_at(bytes, at::PAYLOAD_LEN),
            count: u64_at(bytes, at::COUNT),
            synced_through: u64_at(bytes, at::SYNCED_THROUGH),
            payload_crc: u32_at(bytes, at::PAYLOAD_CRC),
        })
    }

    /// Bytes the record takes in the file, padding included (`None` if it
    /// could not fit in any file).
    fn total_len(&self) -> Option<u64> {
        at::padded_len(self.payload_len)
    }
}

/// The header checksum: everything but the checksum field itself (the salt
/// included, so it seeds the CRC).
fn header_checksum(header: &[u8]) -> u32 {
    checksum(&[&header[..at::HEADER_CRC], &header[at::KIND..RECORD_HEADER]])
}

fn payload_checksum(salt: u64, payload: &[u8]) -> u32 {
    checksum(&[&salt.to_le_bytes(), payload])
}

/// A salt for a new log generation: unpredictable and different at each call.
fn fresh_salt() -> u64 {
    crate::codec::random_u64()
}

fn encode_file_header(dimension: u32, salt: u64) -> Vec<u8> {
    let mut body = Vec::with_capacity(HEADER_BODY);
    body.put_u64(salt);
    body.put_u32(0);
    FileHeader {
        magic: MAGIC,
        dimension,
    }
    .encode(&body)
}

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

impl Record<'_> {
    /// The record's sequence number.
    pub(crate) fn lsn(&self) -> u64 {
        match self {
            Record::Puts { lsn, .. } | Record::Deletes { lsn, .. } => *lsn,
        }
    }
}

/// Starts a record of `count` puts in `buf` (which must be empty); the caller
/// appends the payload, and [`Log::append`] seals it.
pub(crate) fn begin_puts(buf: &mut Vec<u8>, count: usize) {
    begin(buf, KIND_PUTS, count);
}

/// Starts a record of `count` deletions in `buf` (which must be empty).
pub(crate) fn begin_deletes(buf: &mut Vec<u8>, count: usize) {
    begin(buf, KIND_DELETES, count);
}

/// Reserves the header and notes kind and count in it until the record is sealed.
fn begin(buf: &mut Vec<u8>, kind: u32, count: usize) {
    debug_assert!(buf.is_empty());
    buf.resize(RECORD_HEADER, 0);
    buf[at::KIND..at::LSN].copy_from_slice(&kind.to_le_bytes());
    buf[at::COUNT..at::SYNCED_THROUGH].copy_from_slice(&(count as u64).to_le_bytes());
}

/// Where a writer appends to a log found by recovery or just created: after
/// `valid_len` bytes (a torn tail lies beyond), in the generation of `salt`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogState {
    pub valid_len: u64,
    pub salt: u64,
}

/// Creates an empty log file in `dir`; the caller makes the entry durable.
pub(crate) fn create(dir: &Path, dimension: u32) -> Result<LogState> {
    let path = dir.join(FILE_NAME);
    let salt = fresh_salt();
    let header = encode_file_header(dimension, salt);
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
    written.map_err(|e| Error::io("create log", &path, &e))?;
    Ok(LogState {
        valid_len: HEADER_LEN as u64,
        salt,
    })
}

/// The bytes of a log file as read at open.
pub(crate) struct LogContents {
    path: PathBuf,
    salt: u64,
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
        match FileHeader::decode(&MAGIC, &bytes, HEADER_BODY) {
            Ok((dim, body)) if dim == dimension => Ok(LogContents {
                salt: u64_at(body, header_body::SALT),
                path,
                bytes,
            }),
            Ok((dim, _)) => Err(Error::corrupt(
                &path,
                format!("log is for dimension {dim}, the store has {dimension}"),
            )),
            Err(HeaderError::Corrupt(why)) => Err(Error::corrupt(&path, why)),
            Err(HeaderError::Version(v)) => Err(crate::segment::version_error(&path, v)),
        }
    }

    /// Calls `apply` on every intact record in order and returns where a
    /// writer appends: after the valid prefix of the file. `checkpoint_lsn` is the last record the
    /// checkpoint includes: the log may still hold records up to it (a crash
    /// before the log was trimmed), and the first record after it must be
    /// `checkpoint_lsn + 1`. The first damaged record ends the log if it lies
    /// past the last synced byte (a torn tail); if an intact later record says
    /// it had been synced, the log is `Corrupt`. Time is linear in the size
    /// of the file.
    pub(crate) fn scan<'a>(
        &'a self,
        slot_size: usize,
        checkpoint_lsn: u64,
        mut apply: impl FnMut(Record<'a>) -> Result<()>,
    ) -> Result<LogState> {
        let bytes = &self.bytes[..];
        let mut pos = HEADER_LEN;
        let mut prev_lsn: Option<u64> = None;
        while pos < bytes.len() {
            let Some((header, payload)) = self.intact_record(pos) else {
                self.check_torn_tail(pos)?;
                break;
            };
            let lsn = header.lsn;
            let in_order = match prev_lsn {
                Some(prev) => prev.checked_add(1) == Some(lsn),
                None => lsn <= checkpoint_lsn.saturating_add(1),
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
            let Some(record) = decode_record(&header, payload, slot_size) else {
                return Err(Error::corrupt(
                    &self.path,
                    format!(
                        "record at offset {pos} has kind {} and a bad length",
                        header.kind
                    ),
                ));
            };
            apply(record)?;
            prev_lsn = Some(lsn);
            pos += header.total_len().expect("checked by intact_record") as usize;
        }
        Ok(LogState {
            valid_len: pos as u64,
            salt: self.salt,
        })
    }

    /// The record at `pos` and its payload, if both are intact and whole.
    fn intact_record(&self, pos: usize) -> Option<(RecordHeader, &[u8])> {
        intact_record(&self.bytes, pos, self.salt)
    }

    /// Decides whether the damage at `damage` (the end of the intact prefix)
    /// is a torn tail. It is not if a later intact record header says the log
    /// had been synced past it: then bytes that were on stable storage
    /// changed. Headers are followed by their lengths, so payloads are never
    /// searched; only after a damaged header does the search step through
    /// 8-byte aligned offsets, comparing the salt first.
    fn check_torn_tail(&self, damage: usize) -> Result<()> {
        let bytes = &self.bytes[..];
        let mut pos = damage;
        loop {
            match RecordHeader::decode(&bytes[pos..], self.salt) {
                Some(header) => {
                    if header.synced_through > damage as u64 {
                        return Err(Error::corrupt(
                            &self.path,
                            format!(
                                "damaged record at offset {damage}, which the intact record at offset {pos} says was already synced"
                            ),
                        ));
                    }
                    match header
                        .total_len()
                        .and_then(|len| (pos as u64).checked_add(len))
                    {
                        Some(next) if next < bytes.len() as u64 => pos = next as usize,
                        _ => return Ok(()),
                    }
                }
                None => match self.next_candidate(pos + RECORD_ALIGN) {
                    Some(next) => pos = next,
                    None => return Ok(()),
                },
            }
        }
    }

    /// The first 8-byte aligned offset at or after `from` whose first word is
    /// the salt and that has room for a record header.
    fn next_candidate(&self, from: usize) -> Option<usize> {
        let bytes = &self.bytes[..];
        let last = bytes.len().checked_sub(RECORD_HEADER)?;
        let mut candidate = from.next_multiple_of(RECORD_ALIGN);
        let salt = self.salt.to_le_bytes();
        while candidate <= last {
            let word = candidate + at::SALT;
            if bytes[word..word + salt.len()] == salt {
                return Some(candidate);
            }
            candidate += RECORD_ALIGN;
        }
        None
    }

    /// Whether the file holds any record at all (valid or not).
    pub(crate) fn has_records(&self) -> bool {
        self.bytes.len() > HEADER_LEN
    }
}

/// The record at `pos` of `bytes` and its payload, if both are intact and
/// whole, in the generation of `salt`.
fn intact_record(bytes: &[u8], pos: usize, salt: u64) -> Option<(RecordHeader, &[u8])> {
    let header = RecordHeader::decode(&bytes[pos..], salt)?;
    let whole = header
        .total_len()
        .and_then(|len| (pos as u64).checked_add(len))
        .is_some_and(|end| end <= bytes.len() as u64);
    if !whole {
        return None;
    }
    let start = pos + RECORD_HEADER;
    let payload = &bytes[start..start + header.payload_len as usize];
    (payload_checksum(salt, payload) == header.payload_crc).then_some((header, payload))
}

/// The record an intact header and payload make, if its kind and length agree.
fn decode_record<'a>(
    header: &RecordHeader,
    payload: &'a [u8],
    slot_size: usize,
) -> Option<Record<'a>> {
    let count = usize::try_from(header.count).ok();
    let lsn = header.lsn;
    match header.kind {
        KIND_PUTS
            if count.and_then(|c| c.checked_mul(PAYLOAD_WORD + slot_size))
                == Some(payload.len()) =>
        {
            let refs = payload.len() / (PAYLOAD_WORD + slot_size) * PAYLOAD_WORD;
            Some(Record::Puts {
                lsn,
                slots: &payload[..refs],
                images: &payload[refs..],
            })
        }
        KIND_DELETES if count.and_then(|c| c.checked_mul(PAYLOAD_WORD)) == Some(payload.len()) => {
            Some(Record::Deletes { lsn, ids: payload })
        }
        _ => None,
    }
}

/// A read-only handle's view of the log another process appends to: reads
/// with `pread` only (the writer truncates the log at each checkpoint, so
/// a mapping of it could fault), and only whole, intact records.
pub(crate) struct LogTail {
    file: File,
    path: PathBuf,
    dimension: u32,
    salt: u64,
    /// File offset of the next record to read.
    pos: u64,
    buf: Vec<u8>,
}

/// What [`LogTail::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailPoll {
    /// Every whole record appended so far was read.
    CaughtUp,
    /// The log started a new generation (a checkpoint trimmed it) since the
    /// tail was opened: what follows must be read from the new checkpoint.
    NewGeneration,
}

impl LogTail {
    /// Opens the log of `dir` at its first record.
    pub(crate) fn open(dir: &Path, dimension: u32) -> Result<LogTail> {
        let path = dir.join(FILE_NAME);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::corrupt(&path, "log file is missing"),
            _ => Error::io("open log", &path, &e),
        })?;
        let mut tail = LogTail {
            file,
            path,
            dimension,
            salt: 0,
            pos: HEADER_LEN as u64,
            buf: Vec::new(),
        };
        tail.salt = tail.header_salt()?;
        Ok(tail)
    }

    /// The salt the file's header names now.
    fn header_salt(&self) -> Result<u64> {
        let mut header = [0u8; HEADER_LEN];
        let got = read_at_most(&self.file, &mut header, 0)
            .map_err(|e| Error::io("read", &self.path, &e))?;
        match FileHeader::decode(&MAGIC, &header[..got], HEADER_BODY) {
            Ok((dim, body)) if dim == self.dimension => Ok(u64_at(body, header_body::SALT)),
            Ok((dim, _)) => Err(Error::corrupt(
                &self.path,
                format!(
                    "log is for dimension {dim}, the store has {}",
                    self.dimension
                ),
            )),
            Err(HeaderError::Corrupt(why)) => Err(Error::corrupt(&self.path, why)),
            Err(HeaderError::Version(v)) => Err(crate::segment::version_error(&self.path, v)),
        }
    }

    /// This tail's generation.
    pub(crate) fn salt(&self) -> u64 {
        self.salt
    }

    /// Calls `apply` on each whole, intact record appended since the last
    /// call that ends at or before file offset `limit` (all of them if
    /// `None`), in order. Stops at the first record that is not (one being
    /// appended right now, or a torn tail that the next writer will cut).
    pub(crate) fn poll(
        &mut self,
        slot_size: usize,
        limit: Option<u64>,
        mut apply: impl FnMut(Record<'_>) -> Result<()>,
    ) -> Result<TailPoll> {
        // A header that no longer names our salt, or a file shorter than
        // what we read, is a trim: our records are in the new checkpoint.
        if self.header_salt().ok() != Some(self.salt) {
            return Ok(TailPoll::NewGeneration);
        }
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io("stat", &self.path, &e))?
            .len();
        if len < self.pos {
            return Ok(TailPoll::NewGeneration);
        }
        let len = limit.map_or(len, |limit| len.min(limit.max(self.pos)));
        // In chunks, so that a long log costs no more memory than one
        // chunk (or one record, if a batch is larger).
        let mut need = TAIL_CHUNK;
        while self.pos < len {
            let want = (len - self.pos).min(need as u64) as usize;
            self.buf.resize(want, 0);
            let got = read_at_most(&self.file, &mut self.buf, self.pos)
                .map_err(|e| Error::io("read", &self.path, &e))?;
            let bytes = &self.buf[..got];
            let mut at = 0;
            while let Some((header, payload)) = (at < got)
                .then(|| intact_record(bytes, at, self.salt))
                .flatten()
            {
                let Some(record) = decode_record(&header, payload, slot_size) else {
                    return Err(Error::corrupt(
                        &self.path,
                        format!(
                            "record at offset {} has kind {} and a bad length",
                            self.pos + at as u64,
                            header.kind
                        ),
                    ));
                };
                apply(record)?;
                at += header.total_len().expect("checked by intact_record") as usize;
            }
            self.pos += at as u64;
            if at > 0 {
                need = TAIL_CHUNK;
                continue;
            }
            // Nothing whole in the chunk: a record larger than it (read it
            // whole next), or the end of what is intact.
            match RecordHeader::decode(bytes, self.salt).and_then(|h| h.total_len()) {
                Some(total)
                    if total > got as u64
                        && self.pos.checked_add(total).is_some_and(|end| end <= len) =>
                {
                    need = total as usize;
                }
                _ => break,
            }
        }
        if self.buf.capacity() > 4 * TAIL_CHUNK {
            self.buf = Vec::new();
        }
        Ok(TailPoll::CaughtUp)
    }
}

/// Bytes a [`LogTail`] reads at a time.
const TAIL_CHUNK: usize = 1 << 20;

/// Reads into `buf` from `offset` until it is full or the file ends.
fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The open log, appended to by the single writer.
pub(crate) struct Log {
    path: PathBuf,
    file: Arc<File>,
    dimension: u32,
    /// This generation's salt (see the module comment).
    salt: u64,
    /// File length: where the next record goes.
    end: u64,
    /// Logical position of file offset 0; grows by the bytes trimmed at each
    /// reset so positions given to the group commit never go backwards.
    base: u64,
    commit: Arc<GroupCommit>,
    /// Set when a failed append or trim could not be undone: appending after
    /// it could put valid records behind garbage.
    broken: Option<Error>,
}

impl Log {
    /// Opens the log for appending after its valid prefix (`state`), cutting
    /// off any torn tail, and syncs it: records sealed from now on say that
    /// everything before them is durable, and that must be true even for
    /// records a killed process left unsynced in the page cache.
    pub(crate) fn open(dir: &Path, dimension: u32, state: LogState) -> Result<Log> {
        let valid_len = state.valid_len;
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
                .map_err(|e| Error::io("cut torn tail of", &path, &e))?;
        }
        // Even a log without records: the disk may still hold the previous
        // generation under its old header (a writer killed inside a trim).
        file.sync_all()
            .map_err(|e| Error::io("sync log", &path, &e))?;
        let file = Arc::new(file);
        let commit = Arc::new(GroupCommit::new(file.clone(), path.clone(), valid_len));
        Ok(Log {
            path,
            file,
            dimension,
            salt: state.salt,
            end: valid_len,
            base: 0,
            commit,
            broken: None,
        })
    }

    /// Seals the record in `record` (begun with [`begin_puts`] or
    /// [`begin_deletes`]) as number `lsn` and appends it; returns the logical
    /// position the group commit must reach for it to be durable. A failed
    /// append leaves no partial record behind.
    pub(crate) fn append(&mut self, record: &mut Vec<u8>, lsn: u64) -> Result<u64> {
        if let Some(err) = self.failure() {
            return Err(err);
        }
        let payload_len = (record.len() - RECORD_HEADER) as u64;
        record.resize(record.len().next_multiple_of(RECORD_ALIGN), 0);
        let synced_through = self
            .commit
            .durable()
            .saturating_sub(self.base)
            .clamp(HEADER_LEN as u64, self.end);
        let (head, payload) = record.split_at_mut(RECORD_HEADER);
        RecordHeader {
            kind: u32_at(head, at::KIND),
            lsn,
            payload_len,
            count: u64_at(head, at::COUNT),
            synced_through,
            payload_crc: payload_checksum(self.salt, &payload[..payload_len as usize]),
        }
        .encode(self.salt, head);
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

    /// This generation's salt.
    pub(crate) fn salt(&self) -> u64 {
        self.salt
    }

    /// The file offset where the next record goes.
    pub(crate) fn file_end(&self) -> u64 {
        self.end
    }

    /// Bytes of records not yet trimmed by a checkpoint.
    pub(crate) fn record_bytes(&self) -> u64 {
        self.end - HEADER_LEN as u64
    }

    /// The group commit of this log.
    pub(crate) fn commit(&self) -> &Arc<GroupCommit> {
        &self.commit
    }

    /// Drops every record (a checkpoint has made them redundant), starts a new
    /// generation with a fresh salt, and releases anyone waiting for the old
    /// records to become durable. If the new state cannot be made durable, the
    /// log refuses further appends: a record written after a trim that a
    /// crash might undo could land among old bytes.
    pub(crate) fn reset(&mut self) -> Result<()> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        // Every checkpoint starts a new generation, even of an empty log:
        // readers tell generations apart by salt alone, and a checkpoint
        // whose log kept its salt would let a reader apply the next record
        // on the checkpoint before it.
        //
        // The header first: until it changes nothing has, and a failure
        // leaves the log as it was (its records, numbered at or below the
        // checkpoint, are skipped by recovery and by readers; appends go
        // after them in the same generation).
        let salt = fresh_salt();
        let renewed = self
            .file
            .write_all_at(&encode_file_header(self.dimension, salt), 0)
            .map_err(|e| Error::io("start a new log generation in", &self.path, &e));
        match self.header_salt() {
            Some(on_disk) if on_disk == self.salt => return renewed,
            Some(on_disk) if on_disk == salt => {}
            _ => {
                let err = renewed.err().unwrap_or_else(|| {
                    Error::corrupt(&self.path, "log header unreadable after rewriting it")
                });
                self.broken = Some(err.clone());
                return Err(err);
            }
        }
        self.salt = salt;
        // The old records now fail the new salt: cut them. If that fails
        // they stay behind the header as bytes no record of this generation
        // can be taken for, and appends overwrite them from the header on
        // (recovery and readers stop at the first one left, a torn tail).
        let trimmed = self
            .file
            .set_len(HEADER_LEN as u64)
            .map_err(|e| Error::io("trim log", &self.path, &e));
        self.base += self.end;
        self.end = HEADER_LEN as u64;
        if let Err(e) = self.file.sync_all() {
            let err = Error::io("sync trimmed log", &self.path, &e);
            self.broken = Some(err.clone());
            return Err(err);
        }
        self.commit.mark_durable(self.logical_end());
        trimmed
    }

    /// The salt in the file's header as it is now, if the header is valid.
    fn header_salt(&self) -> Option<u64> {
        let mut header = [0u8; HEADER_LEN];
        self.file.read_exact_at(&mut header, 0).ok()?;
        let (_, body) = FileHeader::decode(&MAGIC, &header, HEADER_BODY).ok()?;
        Some(u64_at(body, header_body::SALT))
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

    /// Logical position up to which the log is known to be on stable storage.
    fn durable(&self) -> u64 {
        self.state.lock().durable
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
            // Durable first: a write a checkpoint made durable succeeded,
            // whatever failed after it.
            if state.durable >= target {
                return Ok(());
            }
            if let Some(err) = &state.failure {
                return Err(err.clone());
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

    const DIM: u32 = 3;
    const SLOT: usize = 8; // slot images of 8 bytes for these tests

    /// A puts record of `n` slots, begun but not sealed; `fill` is every payload byte.
    fn puts(n: usize, fill: u8) -> Vec<u8> {
        let mut buf = Vec::new();
        begin_puts(&mut buf, n);
        buf.extend(std::iter::repeat_n(fill, n * (8 + SLOT)));
        buf
    }

    fn lsns(dir: &Path) -> Result<(Vec<u64>, u64)> {
        let contents = LogContents::read(dir, DIM)?;
        let mut seen = Vec::new();
        let end = contents.scan(SLOT, 0, |r| {
            seen.push(match r {
                Record::Puts { lsn, .. } | Record::Deletes { lsn, .. } => lsn,
            });
            Ok(())
        })?;
        Ok((seen, end.valid_len))
    }

    /// A new log in `dir` with `records` appended as numbers 1, 2, ...; after
    /// each record listed in `sync_after` the log is synced. Returns the log
    /// and each record's offset.
    fn write_log(dir: &Path, records: Vec<Vec<u8>>, sync_after: &[u64]) -> (Log, Vec<u64>) {
        let mut log = Log::open(dir, DIM, create(dir, DIM).unwrap()).unwrap();
        let mut offsets = Vec::new();
        for (i, mut r) in records.into_iter().enumerate() {
            let lsn = i as u64 + 1;
            offsets.push(log.end);
            log.append(&mut r, lsn).unwrap();
            if sync_after.contains(&lsn) {
                log.commit().sync_all_written().unwrap();
            }
        }
        (log, offsets)
    }

    fn path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join(FILE_NAME)
    }

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut del = Vec::new();
        begin_deletes(&mut del, 1);
        del.extend_from_slice(&7u64.to_le_bytes());
        let (log, _) = write_log(dir.path(), vec![puts(2, 1), puts(1, 2), del], &[]);
        assert_eq!(lsns(dir.path()).unwrap(), (vec![1, 2, 3], log.end));
        assert_eq!(log.end % 8, 0, "records are padded to 8 bytes");
    }

    #[test]
    fn torn_tail_is_dropped_at_every_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (log, offsets) = write_log(dir.path(), vec![puts(2, 1), puts(3, 2)], &[1, 2]);
        let bytes = std::fs::read(path(&dir)).unwrap();
        for cut in offsets[1]..log.end {
            std::fs::write(path(&dir), &bytes[..cut as usize]).unwrap();
            assert_eq!(
                lsns(dir.path()).unwrap(),
                (vec![1], offsets[1]),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn damage_to_synced_bytes_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let records = vec![puts(2, 1), puts(2, 2), puts(2, 3)];
        let (_, offsets) = write_log(dir.path(), records, &[1, 2]);
        let clean = std::fs::read(path(&dir)).unwrap();
        let second = offsets[1] as usize;
        // The salt, the header checksum, the length, the payload: record 3
        // says record 2 was synced, so none of these is a torn tail.
        let fields = [
            at::SALT,
            at::HEADER_CRC + 1,
            at::PAYLOAD_LEN + 1,
            RECORD_HEADER + 3,
        ];
        for offset in fields.map(|field| second + field) {
            let mut bytes = clean.clone();
            bytes[offset] ^= 0x40;
            std::fs::write(path(&dir), &bytes).unwrap();
            let err = lsns(dir.path()).expect_err("corruption must be reported");
            assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "offset {offset}");
        }
    }

    #[test]
    fn damage_past_the_last_sync_is_a_torn_tail_whatever_follows() {
        // A power cut during unsynced appends may keep any subset of their
        // sectors: record 2 lost, record 3 intact. Nothing after the last
        // sync was acknowledged as durable, so the log ends at record 2.
        let dir = tempfile::tempdir().unwrap();
        let records = vec![puts(2, 1), puts(2, 2), puts(2, 3), puts(2, 4)];
        let (_, offsets) = write_log(dir.path(), records, &[1]);
        let clean = std::fs::read(path(&dir)).unwrap();
        for offset in [offsets[1] as usize, offsets[1] as usize + RECORD_HEADER] {
            let mut bytes = clean.clone();
            bytes[offset..offset + 16].fill(0);
            std::fs::write(path(&dir), &bytes).unwrap();
            assert_eq!(
                lsns(dir.path()).unwrap(),
                (vec![1], offsets[1]),
                "zeroed at {offset}"
            );
        }
    }

    #[test]
    fn vector_bytes_never_pass_for_records() {
        // Finding 3: a batch whose payload spells a whole valid record (the
        // next number, a synced-through mark past everything, a right
        // checksum), then torn. Made with another log's salt, as a user who
        // cannot read the file would have to, it is never taken for a record,
        // even when the batch's own header is damaged and the scan searches.
        // Made with this log's own salt, it is still never looked at while the
        // batch's header is intact: the scan skips a payload by its length.
        for same_salt in [false, true] {
            for damage_header in [false, true] {
                if same_salt && damage_header {
                    continue; // knowing the salt defeats a search by design
                }
                let dir = tempfile::tempdir().unwrap();
                let mut log = Log::open(dir.path(), DIM, create(dir.path(), DIM).unwrap()).unwrap();
                let mut first = puts(1, 1);
                log.append(&mut first, 1).unwrap();
                log.commit().sync_all_written().unwrap();
                let mut forged = puts(1, 9);
                let salt = if same_salt { log.salt } else { fresh_salt() };
                let payload_len = (forged.len() - RECORD_HEADER) as u64;
                let (head, payload) = forged.split_at_mut(RECORD_HEADER);
                RecordHeader {
                    kind: KIND_PUTS,
                    lsn: 3,
                    payload_len,
                    count: 1,
                    synced_through: u64::MAX,
                    payload_crc: payload_checksum(salt, payload),
                }
                .encode(salt, head);
                let mut batch = Vec::new();
                begin_puts(&mut batch, 64);
                batch.resize(RECORD_HEADER + 64 * (8 + SLOT), 0);
                for at in (RECORD_HEADER..batch.len() - forged.len()).step_by(136) {
                    batch[at..at + forged.len()].copy_from_slice(&forged);
                }
                let batch_at = log.end as usize;
                log.append(&mut batch, 2).unwrap();
                let mut bytes = std::fs::read(path(&dir)).unwrap();
                bytes.truncate(bytes.len() - 8); // torn
                if damage_header {
                    bytes[batch_at] ^= 1;
                }
                std::fs::write(path(&dir), &bytes).unwrap();
                assert_eq!(
                    lsns(dir.path()).unwrap(),
                    (vec![1], batch_at as u64),
                    "same salt {same_salt}, damaged header {damage_header}"
                );
            }
        }
    }

    #[test]
    fn records_of_an_older_generation_are_ignored() {
        // A trim that a power cut undid leaves old records behind the new
        // ones; their salt differs, so they are neither replayed nor taken
        // for evidence of damage, whatever their synced-through marks say.
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = write_log(
            dir.path(),
            vec![puts(3, 1), puts(3, 2), puts(3, 3)],
            &[1, 2, 3],
        );
        let old = std::fs::read(path(&dir)).unwrap();
        log.reset().unwrap();
        log.append(&mut puts(1, 4), 4).unwrap();
        let mut bytes = std::fs::read(path(&dir)).unwrap();
        let new_end = bytes.len();
        bytes.extend_from_slice(&old[new_end..]);
        std::fs::write(path(&dir), &bytes).unwrap();
        let contents = LogContents::read(dir.path(), DIM).unwrap();
        let mut seen = Vec::new();
        let end = contents
            .scan(SLOT, 3, |r| {
                if let Record::Puts { lsn, .. } = r {
                    seen.push(lsn);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!((seen, end.valid_len), (vec![4], new_end as u64));
    }

    #[test]
    fn payload_lengths_beyond_four_gib_round_trip() {
        // Finding 9: the length was a u32, so a record over 4 GiB stored a
        // wrong one.
        let header = RecordHeader {
            kind: KIND_PUTS,
            lsn: 7,
            payload_len: (5 << 30) + 3,
            count: 1 << 33,
            synced_through: 1 << 40,
            payload_crc: 0xdead_beef,
        };
        let mut bytes = [0u8; RECORD_HEADER];
        header.encode(42, &mut bytes);
        assert_eq!(RecordHeader::decode(&bytes, 42), Some(header));
        assert_eq!(RecordHeader::decode(&bytes, 43), None);
        assert_eq!(
            header.total_len(),
            Some((5 << 30) + 3 + RECORD_HEADER as u64 + 5)
        );
        for i in 0..RECORD_HEADER {
            let mut bad = bytes;
            bad[i] ^= 1;
            assert_eq!(RecordHeader::decode(&bad, 42), None, "flip at {i}");
        }
    }

    #[test]
    fn group_commit_reaches_every_target() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), DIM, create(dir.path(), DIM).unwrap()).unwrap();
        let pos = log.append(&mut puts(1, 1), 1).unwrap();
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
        let pos2 = log.append(&mut puts(1, 2), 2).unwrap();
        assert!(pos2 > pos);
        commit.wait_durable(pos2).unwrap();
    }
}
