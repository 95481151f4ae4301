//! Segment files: fixed-capacity arrays of write-once vector slots.
//!
//! A segment is created at its full size (space reserved with `posix_fallocate`,
//! so a full disk shows up when a segment is created, not halfway through a write)
//! and mapped once, read-only, for its whole life. A mapping needs no open
//! descriptor: a segment holds one only while it is being written (opened on
//! the first write, closed by [`Segment::release_file`]), so a store of any
//! number of segments needs a handful of descriptors. Slots are written with `pwrite`
//! and never rewritten while any index entry, guard or cursor can see them, so a
//! pointer into the mapping stays valid and unchanged for as long as the
//! `Arc<Segment>` that owns the mapping lives, even after the file is unlinked.
//!
//! Layout ([`crate::layout::segment`]): a 4096-byte header page, then
//! `capacity` slots of `16 + 4 * dimension` bytes:
//! `crc: u32 | reserved: u32 | id: u64 | vector`.
//! The CRC covers the id and the vector bytes (contiguous, so one pass of the
//! hardware CRC). Each segment remembers which slots it has seen intact —
//! written from memory by this process, or checked once on a read — so a slot
//! from disk costs one checksum pass, on its first read only.
//!
//! This module (the `f32` view of mapped bytes, `posix_fallocate`) and `files`
//! (mapping, `flock`) hold the engine's `unsafe` code (see `SAFETY:` notes).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;
use parking_lot::Mutex;

use crate::codec::{checksum, u32_at, u64_at, FileHeader, HeaderError, PutLe};
use crate::error::{Error, ErrorKind, Result};
use crate::files::{allocate, map_read_only};
use crate::layout::segment::{body as in_body, slot as in_slot, FLOAT_LEN, MAGIC};

pub(crate) use crate::layout::segment::{file_name, HEADER_BYTES};

/// Bytes of a slot before its vector: crc, reserved, id.
pub(crate) const SLOT_HEADER_BYTES: usize = in_slot::VECTOR;
const HEADER_BODY: usize = in_body::LEN;

/// Bytes one slot takes for vectors of `dimension` floats.
pub(crate) fn slot_size(dimension: u32) -> usize {
    crate::layout::segment::slot_len(dimension)
}

/// Bytes of a segment of `capacity` slots, if a file can be that large.
fn file_len(dimension: u32, capacity: u64) -> Option<u64> {
    capacity
        .checked_mul(slot_size(dimension) as u64)
        .and_then(|b| b.checked_add(HEADER_BYTES))
        .filter(|&len| i64::try_from(len).is_ok())
}

/// Refuses a capacity no segment can have: more slots than a slot reference
/// addresses, or a file larger than the system's file offsets. With
/// `dimension` 0 (not known yet) only the slot count is checked.
pub(crate) fn check_capacity(dimension: u32, capacity: u64) -> Result<()> {
    let fits = capacity <= u64::from(u32::MAX)
        && (dimension == 0 || file_len(dimension, capacity).is_some());
    if fits {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "{capacity} vectors exceed what one segment can hold ({} vectors in a file of at most {} bytes)",
        u32::MAX,
        i64::MAX
    )))
}

/// Appends the slot image of `(id, vector)` to `out`.
pub(crate) fn encode_slot(id: u64, vector: &[f32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + SLOT_HEADER_BYTES + FLOAT_LEN * vector.len(), 0);
    let image = &mut out[start..];
    image[in_slot::ID..in_slot::VECTOR].copy_from_slice(&id.to_le_bytes());
    for (bytes, v) in image[in_slot::VECTOR..]
        .chunks_exact_mut(FLOAT_LEN)
        .zip(vector)
    {
        bytes.copy_from_slice(&v.to_le_bytes());
    }
    let crc = checksum(&[&image[in_slot::ID..]]);
    image[in_slot::CRC..in_slot::RESERVED].copy_from_slice(&crc.to_le_bytes());
}

/// The id stored in a slot image.
pub(crate) fn slot_id(image: &[u8]) -> u64 {
    u64_at(image, in_slot::ID)
}

/// Whether a slot image's checksum matches its id and vector bytes.
pub(crate) fn slot_is_intact(image: &[u8]) -> bool {
    checksum(&[&image[in_slot::ID..]]) == u32_at(image, in_slot::CRC)
}

/// The segment id of a file name made by [`file_name`].
pub(crate) fn parse_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".vec")?;
    if digits.len() != 10 {
        return None;
    }
    digits.parse().ok()
}

/// One mapped segment file.
pub(crate) struct Segment {
    id: u32,
    path: PathBuf,
    /// The descriptor writes go through, while the segment is being written.
    file: Mutex<Option<File>>,
    map: Mmap,
    capacity: u64,
    slot_size: usize,
    /// One bit per slot: known to hold its checksummed bytes.
    intact: Box<[AtomicU64]>,
}

fn bitmap(capacity: u64) -> Box<[AtomicU64]> {
    (0..capacity.div_ceil(64))
        .map(|_| AtomicU64::new(0))
        .collect()
}

impl Segment {
    /// Creates segment `id` in `dir` with room for `capacity` slots.
    /// The caller makes the directory entry durable.
    pub(crate) fn create(dir: &Path, id: u32, dimension: u32, capacity: u64) -> Result<Segment> {
        let path = dir.join(file_name(id));
        let slot_size = slot_size(dimension);
        check_capacity(dimension, capacity)?;
        let len = file_len(dimension, capacity).expect("checked above");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(|e| Error::io("create segment", &path, &e))?;
        let made = (|| {
            allocate(&file, len).map_err(|e| Error::io("reserve space for segment", &path, &e))?;
            let mut body = Vec::with_capacity(HEADER_BODY);
            body.put_u32(id);
            body.put_u32(0); // in_body::RESERVED
            body.put_u64(capacity);
            debug_assert_eq!(body.len(), HEADER_BODY);
            let header = FileHeader {
                magic: MAGIC,
                dimension,
            }
            .encode(&body);
            file.write_all_at(&header, 0)
                .map_err(|e| Error::io("write segment header", &path, &e))?;
            file.sync_all()
                .map_err(|e| Error::io("sync segment", &path, &e))?;
            map_read_only(&file, &path)
        })();
        match made {
            Ok(map) => Ok(Segment {
                id,
                path,
                file: Mutex::new(Some(file)),
                map,
                capacity,
                slot_size,
                intact: bitmap(capacity),
            }),
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Opens and validates segment `id` of a store of `dimension`.
    pub(crate) fn open(dir: &Path, id: u32, dimension: u32) -> Result<Segment> {
        let path = dir.join(file_name(id));
        let file = OpenOptions::new()
            .read(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    Error::corrupt(&path, "segment file referenced by the store is missing")
                }
                _ => Error::io("open segment", &path, &e),
            })?;
        let mut header = [0u8; FileHeader::encoded_len(HEADER_BODY)];
        let got = read_prefix(&file, &mut header).map_err(|e| Error::io("read", &path, &e))?;
        let (file_dim, body) = match FileHeader::decode(&MAGIC, &header[..got], HEADER_BODY) {
            Ok(decoded) => decoded,
            Err(HeaderError::Corrupt(why)) => return Err(Error::corrupt(&path, why)),
            Err(HeaderError::Version(v)) => return Err(version_error(&path, v)),
        };
        if file_dim != dimension || u32_at(body, in_body::ID) != id {
            return Err(Error::corrupt(
                &path,
                format!(
                    "segment header says id {} dimension {file_dim}, expected id {id} dimension {dimension}",
                    u32_at(body, in_body::ID)
                ),
            ));
        }
        let capacity = u64_at(body, in_body::CAPACITY);
        check_capacity(dimension, capacity).map_err(|e| Error::corrupt(&path, e.message()))?;
        let slot_size = slot_size(dimension);
        let expected = capacity
            .checked_mul(slot_size as u64)
            .and_then(|b| b.checked_add(HEADER_BYTES));
        let actual = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, &e))?
            .len();
        if expected != Some(actual) {
            return Err(Error::corrupt(
                &path,
                format!("segment is {actual} bytes, its header promises {capacity} slots"),
            ));
        }
        let map = map_read_only(&file, &path)?;
        Ok(Segment {
            id,
            path,
            file: Mutex::new(None),
            map,
            capacity,
            slot_size,
            intact: bitmap(capacity),
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Apparent size of the file in bytes.
    pub(crate) fn file_bytes(&self) -> u64 {
        HEADER_BYTES + self.capacity * self.slot_size as u64
    }

    fn offset(&self, slot: u64) -> usize {
        debug_assert!(slot < self.capacity);
        HEADER_BYTES as usize + slot as usize * self.slot_size
    }

    /// The whole image (header and vector) of `slot`.
    pub(crate) fn slot(&self, slot: u64) -> &[u8] {
        let at = self.offset(slot);
        &self.map[at..at + self.slot_size]
    }

    /// The images of `count` consecutive slots from `first`.
    pub(crate) fn slots(&self, first: u64, count: u64) -> &[u8] {
        let at = self.offset(first);
        &self.map[at..at + count as usize * self.slot_size]
    }

    /// The vector stored in `slot`, straight from the read-only mapping.
    pub(crate) fn vector(&self, slot: u64) -> &[f32] {
        let bytes = &self.slot(slot)[SLOT_HEADER_BYTES..];
        // SAFETY: the mapping starts page-aligned and every slot offset is a
        // multiple of 4 (header page, 16-byte slot header, 4-byte floats), so
        // the pointer is aligned for f32; `bytes.len()` is a multiple of 4 and
        // any bit pattern is a valid f32. The bytes live as long as `self.map`,
        // which the returned borrow cannot outlive, and the slot is write-once:
        // nothing writes it while it is visible.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
    }

    /// Whether `slot` holds the bytes its checksum describes. Checked once per
    /// slot and remembered: slots are write-once.
    pub(crate) fn slot_is_intact(&self, slot: u64) -> bool {
        let (word, bit) = (&self.intact[(slot / 64) as usize], 1u64 << (slot % 64));
        if word.load(Ordering::Relaxed) & bit != 0 {
            return true;
        }
        let intact = slot_is_intact(self.slot(slot));
        if intact {
            word.fetch_or(bit, Ordering::Relaxed);
        }
        intact
    }

    /// Writes the images of consecutive slots starting at `first`. The caller
    /// guarantees no reader can see these slots yet, and that the images are
    /// intact (made by `encode_slot`, or checked).
    pub(crate) fn write_slots(&self, first: u64, images: &[u8]) -> Result<()> {
        debug_assert!(images.len().is_multiple_of(self.slot_size));
        let count = (images.len() / self.slot_size) as u64;
        debug_assert!(first + count <= self.capacity);
        let mut file = self.file.lock();
        self.open_file_locked(&mut file)?
            .write_all_at(images, self.offset(first) as u64)
            .map_err(|e| Error::io("write segment", &self.path, &e))?;
        for slot in first..first + count {
            self.intact[(slot / 64) as usize].fetch_or(1 << (slot % 64), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Opens the write descriptor if the segment holds none. A sync goes
    /// through it: fsync reaches every dirty page of the file, whichever
    /// descriptor (or killed process) wrote it. Failing here loses nothing,
    /// unlike a failed sync, so callers open first and may retry.
    pub(crate) fn open_file(&self) -> Result<()> {
        self.open_file_locked(&mut self.file.lock()).map(drop)
    }

    fn open_file_locked<'a>(&self, file: &'a mut Option<File>) -> Result<&'a File> {
        if file.is_none() {
            let opened = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| Error::io("open segment for writing", &self.path, &e))?;
            *file = Some(opened);
        }
        Ok(file.as_ref().expect("opened above"))
    }

    /// Makes every slot written so far durable (opening the write descriptor
    /// if needed; see [`Segment::open_file`]).
    pub(crate) fn sync(&self) -> Result<()> {
        let mut file = self.file.lock();
        self.open_file_locked(&mut file)?
            .sync_data()
            .map_err(|e| Error::io("sync segment", &self.path, &e))
    }

    /// Gives back the write descriptor: the segment takes no more writes for
    /// now (a later write opens it again). Unsynced pages stay dirty in the
    /// page cache until a [`Segment::sync`].
    pub(crate) fn release_file(&self) {
        *self.file.lock() = None;
    }
}

pub(crate) fn version_error(path: &Path, version: u32) -> Error {
    Error::new(
        ErrorKind::VersionMismatch,
        format!(
            "{}: written by format version {version}, this library reads version {}",
            path.display(),
            crate::codec::FORMAT_VERSION
        ),
    )
}

/// Reads as much of `buf` as the file has from offset 0.
fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn file_names_round_trip() {
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name("seg-42.vec"), None);
        assert_eq!(parse_file_name("wal.log"), None);
    }

    #[test]
    fn slot_checksum_covers_id_and_vector() {
        let mut image = Vec::new();
        encode_slot(9, &[1.0, -2.5], &mut image);
        assert_eq!(image.len(), slot_size(2));
        assert!(slot_is_intact(&image));
        assert_eq!(slot_id(&image), 9);
        for byte in (0..4).chain(8..image.len()) {
            let mut bad = image.clone();
            bad[byte] ^= 1;
            assert!(!slot_is_intact(&bad), "flip at {byte} went unnoticed");
        }
    }

    #[test]
    fn written_slots_read_back_through_the_mapping() {
        let dir = tmp();
        let seg = Segment::create(dir.path(), 3, 4, 10).unwrap();
        let mut images = Vec::new();
        encode_slot(1, &[1.0, 2.0, 3.0, 4.0], &mut images);
        encode_slot(2, &[5.0, 6.0, 7.0, 8.0], &mut images);
        seg.write_slots(4, &images).unwrap();
        assert_eq!(seg.vector(5), &[5.0, 6.0, 7.0, 8.0]);
        assert_eq!(slot_id(seg.slot(4)), 1);
        drop(seg);
        let seg = Segment::open(dir.path(), 3, 4).unwrap();
        assert_eq!(seg.capacity(), 10);
        assert_eq!(seg.vector(4), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn open_rejects_wrong_size_and_garbage() {
        let dir = tmp();
        drop(Segment::create(dir.path(), 1, 4, 10).unwrap());
        let path = dir.path().join(file_name(1));
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(100).unwrap();
        let err = Segment::open(dir.path(), 1, 4).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        std::fs::write(&path, b"garbage").unwrap();
        let err = Segment::open(dir.path(), 1, 4).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(
            Segment::open(dir.path(), 2, 4).err().unwrap().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn open_rejects_a_capacity_no_slot_reference_can_address() {
        // A header claiming 2^32 slots, with a (sparse) file of that size:
        // slot numbers past 2^32-1 would spill into the segment bits of a
        // slot reference.
        let dir = tmp();
        drop(Segment::create(dir.path(), 1, 4, 10).unwrap());
        let path = dir.path().join(file_name(1));
        let capacity = 1u64 << 32;
        let mut body = Vec::new();
        body.put_u32(1);
        body.put_u32(0);
        body.put_u64(capacity);
        let header = FileHeader {
            magic: MAGIC,
            dimension: 4,
        }
        .encode(&body);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&header, 0).unwrap();
        file.set_len(HEADER_BYTES + capacity * slot_size(4) as u64)
            .unwrap();
        let err = Segment::open(dir.path(), 1, 4).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    }
}
