//! The checkpoint file: a durable copy of the id index, replaced atomically.
//!
//! Layout: a header (magic, version, dimension, then `lsn: u64`,
//! `next_segment: u32`, `segments: u32`, `entries: u64`, `payload_crc: u32`,
//! `reserved: u32`, and the header CRC), then the payload: per segment
//! `id: u32 | reserved: u32 | used: u64`, then per entry `id: u64 | slot: u64`.
//! `lsn` is the last log record the checkpoint includes; recovery replays only
//! later ones.

use std::path::Path;

use crate::codec::{checksum, u32_at, u64_at, FileHeader, HeaderError, PutLe};
use crate::error::{Error, Result};
use crate::index::{Index, SlotRef};
use crate::segment::version_error;

/// Name of the checkpoint file inside a store directory.
pub(crate) const FILE_NAME: &str = "index.vsi";
const MAGIC: [u8; 8] = *b"VECSIDX\0";
const BODY: usize = 32;
const HEADER_LEN: usize = FileHeader::encoded_len(BODY);
const SEGMENT_BYTES: usize = 16;
const ENTRY_BYTES: usize = 16;

/// A decoded checkpoint, borrowing the file's bytes.
pub(crate) struct Checkpoint {
    pub dimension: u32,
    pub lsn: u64,
    pub next_segment: u32,
    bytes: Vec<u8>,
    segments: usize,
    entries: usize,
}

impl Checkpoint {
    /// Reads and validates the checkpoint of `dir`; `Ok(None)` if there is none.
    pub(crate) fn read(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = dir.join(FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read checkpoint", &path, &e)),
        };
        let (dimension, body) = match FileHeader::decode(&MAGIC, &bytes, BODY) {
            Ok(decoded) => decoded,
            Err(HeaderError::Corrupt(why)) => return Err(Error::corrupt(&path, why)),
            Err(HeaderError::Version(v)) => return Err(version_error(&path, v)),
        };
        let lsn = u64_at(body, 0);
        let next_segment = u32_at(body, 8);
        let segments = u32_at(body, 12) as usize;
        let entries = u64_at(body, 16);
        let payload_crc = u32_at(body, 24);
        let expected = usize::try_from(entries)
            .ok()
            .and_then(|e| e.checked_mul(ENTRY_BYTES))
            .and_then(|e| e.checked_add(segments * SEGMENT_BYTES + HEADER_LEN));
        // Sequence numbers grow by one per record: one this high can only
        // be damage or forgery, and the next record's number would overflow.
        if lsn >= 1 << 63 {
            return Err(Error::corrupt(
                &path,
                format!("checkpoint names log sequence number {lsn}"),
            ));
        }
        if dimension == 0 || expected != Some(bytes.len()) {
            return Err(Error::corrupt(
                &path,
                format!(
                    "checkpoint is {} bytes, its header describes {segments} segments and {entries} entries",
                    bytes.len()
                ),
            ));
        }
        if checksum(&[&bytes[HEADER_LEN..]]) != payload_crc {
            return Err(Error::corrupt(
                &path,
                "checkpoint payload checksum mismatch",
            ));
        }
        Ok(Some(Checkpoint {
            dimension,
            lsn,
            next_segment,
            bytes,
            segments,
            entries: entries as usize,
        }))
    }

    /// `(segment id, slots used)` of every segment the checkpoint knows.
    pub(crate) fn segments(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let at = HEADER_LEN;
        (0..self.segments).map(move |i| {
            let e = at + i * SEGMENT_BYTES;
            (u32_at(&self.bytes, e), u64_at(&self.bytes, e + 8))
        })
    }

    pub(crate) fn entry_count(&self) -> usize {
        self.entries
    }

    /// `(id, slot)` of every live vector.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, SlotRef)> + '_ {
        let at = HEADER_LEN + self.segments * SEGMENT_BYTES;
        self.bytes[at..]
            .chunks_exact(ENTRY_BYTES)
            .map(|e| (u64_at(e, 0), SlotRef(u64_at(e, 8))))
    }
}

/// Encodes `index` as a checkpoint covering log records up to `lsn`.
pub(crate) fn encode(dimension: u32, lsn: u64, next_segment: u32, index: &Index) -> Vec<u8> {
    let segments = index.segments().count();
    let mut payload =
        Vec::with_capacity(segments * SEGMENT_BYTES + index.len() as usize * ENTRY_BYTES);
    for s in index.segments() {
        payload.put_u32(s.segment.id());
        payload.put_u32(0);
        payload.put_u64(s.used);
    }
    for (id, at) in index.entries() {
        payload.put_u64(id);
        payload.put_u64(at.0);
    }
    let mut body = Vec::with_capacity(BODY);
    body.put_u64(lsn);
    body.put_u32(next_segment);
    body.put_u32(segments as u32);
    body.put_u64(index.len());
    body.put_u32(checksum(&[&payload]));
    body.put_u32(0);
    let mut out = FileHeader {
        magic: MAGIC,
        dimension,
    }
    .encode(&body);
    out.extend_from_slice(&payload);
    out
}

/// Durably replaces the checkpoint of `dir`.
pub(crate) fn write(dir: &Path, bytes: &[u8]) -> Result<()> {
    crate::files::replace_file(dir, FILE_NAME, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Segment;
    use std::sync::Arc;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path(), 4, 2, 8).unwrap());
        let mut index = Index::default();
        index.add_segment(seg, 0);
        index.mark_used(4, 3);
        index.insert(100, SlotRef::new(4, 0));
        index.insert(200, SlotRef::new(4, 2));
        write(dir.path(), &encode(2, 17, 5, &index)).unwrap();
        let cp = Checkpoint::read(dir.path()).unwrap().unwrap();
        assert_eq!((cp.dimension, cp.lsn, cp.next_segment), (2, 17, 5));
        assert_eq!(cp.segments().collect::<Vec<_>>(), vec![(4, 3)]);
        let mut entries: Vec<_> = cp.entries().collect();
        entries.sort_by_key(|e| e.0);
        assert_eq!(
            entries,
            vec![(100, SlotRef::new(4, 0)), (200, SlotRef::new(4, 2))]
        );

        let path = dir.path().join(FILE_NAME);
        let clean = std::fs::read(&path).unwrap();
        for i in 0..clean.len() {
            let mut bad = clean.clone();
            bad[i] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            assert!(
                Checkpoint::read(dir.path()).is_err(),
                "flip at {i} accepted"
            );
        }
        std::fs::write(&path, &clean[..clean.len() - 1]).unwrap();
        assert!(Checkpoint::read(dir.path()).is_err());
    }

    #[test]
    fn an_impossible_sequence_number_is_corrupt() {
        // A valid checkpoint naming lsn 2^64-1: the writer's next record
        // number would overflow (in release builds, wrap to 0 and be skipped
        // as already checkpointed: a silent loss).
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &encode(2, u64::MAX, 1, &Index::default())).unwrap();
        let err = Checkpoint::read(dir.path()).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{err}");
    }
}
