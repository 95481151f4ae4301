//! The checkpoint file `index.vsi`: the id index as of one log sequence
//! number, written once, replaced atomically by rename, and mapped read-only
//! by every process that opens the store. Opening a store therefore costs
//! the same at any size: the hash table is probed in place, through the page
//! cache that all processes share; only the segment table and the live-slot
//! bitmaps (one bit per slot) are read and checked at open.
//!
//! Layout (little-endian; [`crate::layout::checkpoint`] names every offset):
//!
//! | part | bytes |
//! |---|---|
//! | file header | magic, version, dimension, then [`CheckpointHeader`], CRC |
//! | segment table | per segment: `id: u32, reserved: u32, used: u64, live: u64` |
//! | live bitmaps | per segment, `used.div_ceil(64)` words: bit `s` set = slot `s` live |
//! | page checksums | one `u32` per 4096-byte page of the hash table |
//! | padding | zeros up to a multiple of 4096 |
//! | hash table | `buckets` (a power of two) of `id: u64, slot: u64` |
//!
//! The table uses linear probing from `bucket_of(id)`; a bucket whose slot
//! reference is [`EMPTY`] is free, so every u64 is a valid id. `lsn` is the
//! last log record the checkpoint includes; recovery replays only later ones.
//! `meta_crc` covers the segment table, bitmaps and page checksums (checked
//! at open); each page of the table is checked against its checksum the
//! first time a process probes it, so no byte of the file is trusted
//! unchecked and open still reads only the small part before the table.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

use crate::codec::{checksum, u32_at, u64_at, FileHeader, HeaderError, PutLe};
use crate::error::{Error, ErrorKind, Result};
use crate::files::map_read_only;
use crate::index::{Index, SlotRef};
use crate::layout::checkpoint::{
    bitmap_words, body as at, bucket as in_bucket, segment_entry as entry, BITMAP_WORD_LEN,
    BUCKETS_PER_PAGE, HEADER_LEN, MAGIC, PAGE_CRC_LEN, TABLE_PAGE,
};
use crate::segment::version_error;

pub(crate) use crate::layout::checkpoint::{EMPTY, FILE_NAME};

/// The header body of format 2 (a heap-loaded index), told apart from damage.
const FORMAT_2_BODY_LEN: usize = 32;

/// The header body of a checkpoint file.
struct CheckpointHeader {
    lsn: u64,
    next_segment: u32,
    segments: u32,
    entries: u64,
    buckets: u64,
    hash_seed: u64,
    meta_crc: u32,
}

impl CheckpointHeader {
    fn encode(&self, dimension: u32) -> Vec<u8> {
        let mut body = Vec::with_capacity(at::LEN);
        body.put_u64(self.lsn);
        body.put_u32(self.next_segment);
        body.put_u32(self.segments);
        body.put_u64(self.entries);
        body.put_u64(self.buckets);
        body.put_u64(self.hash_seed);
        body.put_u32(self.meta_crc);
        body.put_u32(0); // at::RESERVED
        debug_assert_eq!(body.len(), at::LEN);
        FileHeader {
            magic: MAGIC,
            dimension,
        }
        .encode(&body)
    }

    fn decode(body: &[u8]) -> CheckpointHeader {
        CheckpointHeader {
            lsn: u64_at(body, at::LSN),
            next_segment: u32_at(body, at::NEXT_SEGMENT),
            segments: u32_at(body, at::SEGMENTS),
            entries: u64_at(body, at::ENTRIES),
            buckets: u64_at(body, at::BUCKETS),
            hash_seed: u64_at(body, at::HASH_SEED),
            meta_crc: u32_at(body, at::META_CRC),
        }
    }
}

/// The home bucket of `id`: a seeded 64-bit finalizer (murmur3's), so that
/// clustered or sequential ids spread over the table.
fn bucket_of(id: u64, seed: u64, mask: u64) -> u64 {
    let mut x = id ^ seed;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x & mask
}

/// Buckets for `entries` ids: a power of two, at most 70% full, at least a page.
fn bucket_count(entries: u64) -> u64 {
    (entries.saturating_mul(10) / 7 + 1)
        .next_power_of_two()
        .max(BUCKETS_PER_PAGE)
}

/// One segment as the checkpoint records it.
pub(crate) struct SegmentEntry {
    pub id: u32,
    pub used: u64,
    pub live: u64,
    pub live_bits: Vec<u64>,
}

/// A checkpoint file, mapped. Its hash table is probed in place.
pub(crate) struct Checkpoint {
    pub dimension: u32,
    pub lsn: u64,
    pub next_segment: u32,
    pub entries: u64,
    map: Mmap,
    segments: usize,
    mask: u64,
    seed: u64,
    /// Where the page checksums and the table start in the file.
    page_crcs_at: usize,
    table_at: usize,
    /// One bit per table page: checked against its checksum by this process.
    checked: Box<[AtomicU64]>,
    path: PathBuf,
    /// The file it was read from, to tell whether a newer one replaced it.
    identity: FileIdentity,
}

/// Device and inode of a file: a renamed-in replacement has another inode,
/// and the one a process still maps cannot be reused meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The identity of the checkpoint file of `dir` now, if there is one.
    pub(crate) fn current(dir: &Path) -> Option<FileIdentity> {
        std::fs::metadata(dir.join(FILE_NAME))
            .ok()
            .map(|m| FileIdentity::of(&m))
    }
}

impl Checkpoint {
    /// Maps and validates the checkpoint of `dir`; `Ok(None)` if there is none.
    pub(crate) fn read(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = dir.join(FILE_NAME);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open checkpoint", &path, &e)),
        };
        Checkpoint::from_file(&file, &path).map(Some)
    }

    fn from_file(file: &File, path: &Path) -> Result<Checkpoint> {
        let meta = file.metadata().map_err(|e| Error::io("stat", path, &e))?;
        let map = map_read_only(file, path)?;
        let (dimension, body) = match FileHeader::decode(&MAGIC, &map, at::LEN) {
            Ok(decoded) => decoded,
            Err(HeaderError::Corrupt(why)) => {
                return Err(
                    match FileHeader::intact_version(&MAGIC, &map, FORMAT_2_BODY_LEN) {
                        Some(v) => version_error(path, v),
                        None => Error::corrupt(path, why),
                    },
                )
            }
            Err(HeaderError::Version(v)) => return Err(version_error(path, v)),
        };
        let h = CheckpointHeader::decode(body);
        // Sequence numbers grow by one per record: one this high can only
        // be damage or forgery, and the next record's number would overflow.
        if h.lsn >= 1 << 63 {
            return Err(Error::corrupt(
                path,
                format!("checkpoint names log sequence number {}", h.lsn),
            ));
        }
        let bad = |why: String| Err(Error::corrupt(path, why));
        // A table is a power of two of at least one page (the writer never
        // makes a smaller one), and at most 70% full.
        let full = u128::from(h.entries) * 10 > u128::from(h.buckets) * 7;
        if dimension == 0 || !h.buckets.is_power_of_two() || h.buckets < BUCKETS_PER_PAGE || full {
            return bad(format!(
                "checkpoint header describes {} entries in {} buckets",
                h.entries, h.buckets
            ));
        }
        // The segment table, then each segment's bitmap: walk it with
        // checked arithmetic before trusting any length.
        let segments = h.segments as usize;
        let mut meta_end = Some(HEADER_LEN + segments * entry::LEN);
        for i in 0..segments {
            let e = HEADER_LEN + i * entry::LEN;
            if meta_end.is_none_or(|end| end > map.len()) || e + entry::LEN > map.len() {
                return bad("checkpoint segment table runs past the file".into());
            }
            let words = bitmap_words(u64_at(&map, e + entry::USED));
            meta_end = usize::try_from(words)
                .ok()
                .and_then(|w| w.checked_mul(BITMAP_WORD_LEN))
                .and_then(|b| meta_end?.checked_add(b));
        }
        let pages = h.buckets / BUCKETS_PER_PAGE;
        let page_crcs_at = meta_end;
        let meta_end = usize::try_from(pages)
            .ok()
            .and_then(|p| p.checked_mul(PAGE_CRC_LEN))
            .zip(meta_end)
            .and_then(|(b, end)| end.checked_add(b));
        let table_at = meta_end.map(|end| end.next_multiple_of(TABLE_PAGE));
        let file_len = table_at
            .zip(usize::try_from(h.buckets).ok())
            .and_then(|(at, b)| b.checked_mul(in_bucket::LEN)?.checked_add(at));
        let (Some(page_crcs_at), Some(meta_end), Some(table_at)) =
            (page_crcs_at, meta_end, table_at)
        else {
            return bad("checkpoint segment table describes impossible sizes".into());
        };
        if file_len != Some(map.len()) || map.len() as u64 != meta.len() {
            return bad(format!(
                "checkpoint is {} bytes, its header describes {segments} segments and {} buckets",
                map.len(),
                h.buckets
            ));
        }
        if checksum(&[&map[HEADER_LEN..meta_end]]) != h.meta_crc {
            return bad("checkpoint segment table checksum mismatch".into());
        }
        Ok(Checkpoint {
            dimension,
            lsn: h.lsn,
            next_segment: h.next_segment,
            entries: h.entries,
            segments,
            mask: h.buckets - 1,
            seed: h.hash_seed,
            page_crcs_at,
            table_at,
            checked: (0..pages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            path: path.to_path_buf(),
            identity: FileIdentity::of(&meta),
            map,
        })
    }

    /// `DimensionMismatch` unless `asked` is 0 (any) or the store's dimension.
    pub(crate) fn check_dimension(&self, asked: u32) -> Result<()> {
        if asked == 0 || asked == self.dimension {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(&self.path);
        Err(Error::new(
            ErrorKind::DimensionMismatch,
            format!(
                "{}: the store has dimension {}, the open asked for {asked}",
                dir.display(),
                self.dimension
            ),
        ))
    }

    /// Every segment the checkpoint knows, with its live-slot bitmap.
    pub(crate) fn segments(&self) -> Vec<SegmentEntry> {
        let mut bits_at = HEADER_LEN + self.segments * entry::LEN;
        (0..self.segments)
            .map(|i| {
                let e = HEADER_LEN + i * entry::LEN;
                let used = u64_at(&self.map, e + entry::USED);
                let words = bitmap_words(used) as usize;
                let live_bits = (0..words)
                    .map(|w| u64_at(&self.map, bits_at + w * BITMAP_WORD_LEN))
                    .collect();
                bits_at += words * BITMAP_WORD_LEN;
                SegmentEntry {
                    id: u32_at(&self.map, e + entry::ID),
                    used,
                    live: u64_at(&self.map, e + entry::LIVE),
                    live_bits,
                }
            })
            .collect()
    }

    /// The slot of `id`, probing the mapped table; `Corrupt` if a page it
    /// probes fails its checksum.
    pub(crate) fn lookup(&self, id: u64) -> Result<Option<SlotRef>> {
        let mut bucket = bucket_of(id, self.seed, self.mask);
        self.check_page(bucket / BUCKETS_PER_PAGE)?;
        // A table written by us always has a free bucket; a crafted one may not.
        for _ in 0..=self.mask {
            let e = self.table_at + bucket as usize * in_bucket::LEN;
            let slot = u64_at(&self.map, e + in_bucket::SLOT);
            if slot == EMPTY {
                return Ok(None);
            }
            if u64_at(&self.map, e + in_bucket::ID) == id {
                return Ok(Some(SlotRef(slot)));
            }
            bucket = (bucket + 1) & self.mask;
            if bucket.is_multiple_of(BUCKETS_PER_PAGE) {
                self.check_page(bucket / BUCKETS_PER_PAGE)?;
            }
        }
        Err(Error::corrupt(
            &self.path,
            "the checkpoint's hash table has no free bucket",
        ))
    }

    /// Checks table page `page` against its checksum, once per process.
    fn check_page(&self, page: u64) -> Result<()> {
        let (word, bit) = ((page / 64) as usize, 1u64 << (page % 64));
        if self.checked[word].load(Ordering::Relaxed) & bit != 0 {
            return Ok(());
        }
        let start = self.table_at + page as usize * TABLE_PAGE;
        let stored = u32_at(&self.map, self.page_crcs_at + page as usize * PAGE_CRC_LEN);
        if checksum(&[&self.map[start..start + TABLE_PAGE]]) != stored {
            return Err(Error::corrupt(
                &self.path,
                format!("page {page} of the checkpoint's hash table fails its checksum"),
            ));
        }
        self.checked[word].fetch_or(bit, Ordering::Relaxed);
        Ok(())
    }

    /// Checks every page of the table (a full read of it).
    pub(crate) fn check_table(&self) -> Result<()> {
        (0..=self.mask / BUCKETS_PER_PAGE).try_for_each(|page| self.check_page(page))
    }

    /// `(id, slot)` of every entry, in table order; call [`Self::check_table`] first.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, SlotRef)> + '_ {
        self.map[self.table_at..]
            .chunks_exact(in_bucket::LEN)
            .map(|b| (u64_at(b, in_bucket::ID), u64_at(b, in_bucket::SLOT)))
            .filter(|&(_, slot)| slot != EMPTY)
            .map(|(id, slot)| (id, SlotRef(slot)))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn identity(&self) -> FileIdentity {
        self.identity
    }
}

/// Encodes `index` as a checkpoint covering log records up to `lsn`: the
/// file's bytes, the table built in place (it is most of the file, and is
/// never copied).
pub(crate) fn encode(dimension: u32, lsn: u64, next_segment: u32, index: &Index) -> Vec<u8> {
    let segments: Vec<_> = index.segments().collect();
    let mut meta = Vec::new();
    for s in &segments {
        meta.put_u32(s.segment.id());
        meta.put_u32(0); // entry::RESERVED
        meta.put_u64(s.used);
        meta.put_u64(s.live);
    }
    debug_assert_eq!(meta.len(), segments.len() * entry::LEN);
    for s in &segments {
        for &word in &s.live_bits[..bitmap_words(s.used) as usize] {
            meta.put_u64(word);
        }
    }
    // Counted, not taken from `index.len()`: the table must have room for
    // every entry it receives, whatever a damaged count said.
    let entries = index.entries().count() as u64;
    let buckets = bucket_count(entries);
    let pages = (buckets / BUCKETS_PER_PAGE) as usize;
    let table_at = (HEADER_LEN + meta.len() + PAGE_CRC_LEN * pages).next_multiple_of(TABLE_PAGE);
    let mut out = vec![0u8; table_at + buckets as usize * in_bucket::LEN];
    let table = &mut out[table_at..];
    for b in table.chunks_exact_mut(in_bucket::LEN) {
        b[in_bucket::SLOT..].copy_from_slice(&EMPTY.to_le_bytes());
    }
    let seed = crate::codec::random_u64();
    let mask = buckets - 1;
    for (id, at) in index.entries() {
        let mut b = bucket_of(id, seed, mask) as usize;
        while u64_at(table, b * in_bucket::LEN + in_bucket::SLOT) != EMPTY {
            b = (b + 1) & mask as usize;
        }
        let e = b * in_bucket::LEN;
        table[e + in_bucket::ID..e + in_bucket::SLOT].copy_from_slice(&id.to_le_bytes());
        table[e + in_bucket::SLOT..e + in_bucket::LEN].copy_from_slice(&at.0.to_le_bytes());
    }
    for page in table.chunks_exact(TABLE_PAGE) {
        meta.put_u32(checksum(&[page]));
    }
    let header = CheckpointHeader {
        lsn,
        next_segment,
        segments: segments.len() as u32,
        entries,
        buckets,
        hash_seed: seed,
        meta_crc: checksum(&[&meta]),
    }
    .encode(dimension);
    out[..HEADER_LEN].copy_from_slice(&header);
    out[HEADER_LEN..HEADER_LEN + meta.len()].copy_from_slice(&meta);
    out
}

/// Durably replaces the checkpoint of `dir` and returns it, mapped.
pub(crate) fn write(dir: &Path, bytes: &[u8]) -> Result<Checkpoint> {
    let file = crate::files::replace_file(dir, FILE_NAME, bytes)?;
    Checkpoint::from_file(&file, &dir.join(FILE_NAME))
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
        index.insert(100, SlotRef::new(4, 0)).unwrap();
        index.insert(200, SlotRef::new(4, 2)).unwrap();
        write(dir.path(), &encode(2, 17, 5, &index)).unwrap();
        let cp = Checkpoint::read(dir.path()).unwrap().unwrap();
        assert_eq!((cp.dimension, cp.lsn, cp.next_segment), (2, 17, 5));
        let segs = cp.segments();
        assert_eq!((segs[0].id, segs[0].used, segs[0].live), (4, 3, 2));
        assert_eq!(segs[0].live_bits, vec![0b101]);
        let mut entries: Vec<_> = cp.entries().collect();
        entries.sort_by_key(|e| e.0);
        assert_eq!(
            entries,
            vec![(100, SlotRef::new(4, 0)), (200, SlotRef::new(4, 2))]
        );
        assert_eq!(cp.lookup(200).unwrap(), Some(SlotRef::new(4, 2)));
        assert_eq!(cp.lookup(300).unwrap(), None);
        cp.check_table().unwrap();
        drop(cp);

        // Every byte before the table is checked at open (padding aside);
        // a flip in the table is found by the first probe of its page.
        let path = dir.path().join(FILE_NAME);
        let clean = std::fs::read(&path).unwrap();
        let table_at = clean.len() - TABLE_PAGE;
        let meta_end = HEADER_LEN + entry::LEN + BITMAP_WORD_LEN + PAGE_CRC_LEN;
        for i in (0..clean.len()).filter(|&i| i < meta_end || i >= table_at) {
            let mut bad = clean.clone();
            bad[i] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            match Checkpoint::read(dir.path()) {
                Err(_) => assert!(i < table_at, "flip at {i} refused at open"),
                Ok(cp) => {
                    let cp = cp.unwrap();
                    assert!(i >= table_at, "flip at {i} accepted");
                    assert!(cp.lookup(100).is_err() && cp.check_table().is_err());
                }
            }
        }
        std::fs::write(&path, &clean[..clean.len() - 1]).unwrap();
        assert!(Checkpoint::read(dir.path()).is_err());
    }

    #[test]
    fn any_id_and_many_collisions_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path(), 1, 1, 5000).unwrap());
        let mut index = Index::default();
        index.add_segment(seg, 0);
        index.mark_used(1, 5000);
        let ids: Vec<u64> = (0..4998).chain([u64::MAX, 1 << 63]).collect();
        for (slot, &id) in ids.iter().enumerate() {
            index.insert(id, SlotRef::new(1, slot as u64)).unwrap();
        }
        write(dir.path(), &encode(1, 0, 2, &index)).unwrap();
        let cp = Checkpoint::read(dir.path()).unwrap().unwrap();
        for (slot, &id) in ids.iter().enumerate() {
            assert_eq!(
                cp.lookup(id).unwrap(),
                Some(SlotRef::new(1, slot as u64)),
                "{id}"
            );
        }
        assert_eq!(cp.lookup(5000).unwrap(), None);
        assert_eq!(cp.entries().count(), ids.len());
    }

    #[test]
    fn a_format_2_checkpoint_is_another_version_not_damage() {
        // Format 2 had a 32-byte header body (and the whole index after it).
        let dir = tempfile::tempdir().unwrap();
        let mut old = FileHeader {
            magic: MAGIC,
            dimension: 4,
        }
        .encode(&[0; FORMAT_2_BODY_LEN]);
        use crate::layout::header;
        old[header::VERSION..header::DIMENSION].copy_from_slice(&2u32.to_le_bytes());
        let crc_at = header::crc(FORMAT_2_BODY_LEN);
        let crc = checksum(&[&old[..crc_at]]);
        old[crc_at..].copy_from_slice(&crc.to_le_bytes());
        old.extend_from_slice(&[0; 64]);
        std::fs::write(dir.path().join(FILE_NAME), &old).unwrap();
        let err = Checkpoint::read(dir.path()).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::VersionMismatch, "{err}");
    }

    #[test]
    fn an_impossible_sequence_number_is_corrupt() {
        // A valid checkpoint naming lsn 2^64-1: the writer's next record
        // number would overflow (in release builds, wrap to 0 and be skipped
        // as already checkpointed: a silent loss).
        let dir = tempfile::tempdir().unwrap();
        assert!(write(dir.path(), &encode(2, u64::MAX, 1, &Index::default())).is_err());
        let err = Checkpoint::read(dir.path()).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{err}");
    }
}
