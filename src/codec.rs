//! Little-endian encoding helpers and checksums shared by every on-disk format.

use crate::layout::header;

/// Checksum used by every file: CRC-32 (IEEE), hardware-accelerated by crc32fast.
pub(crate) fn checksum(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

/// A random u64, different at each call: std's `RandomState` keys come from
/// the OS's random source; the time, process and a counter make each draw new.
pub(crate) fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((
        nanos,
        std::process::id(),
        DRAWS.fetch_add(1, Ordering::Relaxed),
    ))
}

/// Appends little-endian integers to a byte buffer.
pub(crate) trait PutLe {
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
}

impl PutLe for Vec<u8> {
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads a little-endian u32 at `at`; the caller has checked the bounds.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads a little-endian u64 at `at`; the caller has checked the bounds.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The fixed header every vecstore file starts with: magic, format version,
/// dimension, then a kind-specific body, all covered by a CRC stored last
/// (offsets in [`crate::layout::header`]).
pub(crate) struct FileHeader {
    pub magic: [u8; header::MAGIC_LEN],
    pub dimension: u32,
}

/// On-disk format version this library writes and reads (every file header carries it).
pub const FORMAT_VERSION: u32 = 3;

/// Outcome of checking a header against what the reader expects.
pub(crate) enum HeaderError {
    /// Wrong magic, bad checksum, or too short: not a file of ours, or damaged.
    Corrupt(String),
    /// A valid header of another format version.
    Version(u32),
}

impl FileHeader {
    /// Encodes magic, version, dimension and `body`, followed by a CRC of all of it.
    pub(crate) fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(body.len()));
        out.extend_from_slice(&self.magic);
        out.put_u32(FORMAT_VERSION);
        out.put_u32(self.dimension);
        out.extend_from_slice(body);
        debug_assert_eq!(out.len(), header::crc(body.len()));
        let crc = checksum(&[&out]);
        out.put_u32(crc);
        out
    }

    /// Length of an encoded header with a body of `body_len` bytes.
    pub(crate) const fn encoded_len(body_len: usize) -> usize {
        header::len(body_len)
    }

    /// The version in a header that is intact for a body of `body_len`
    /// bytes: how a file whose header changed size between versions is
    /// recognized as another version rather than as damage.
    pub(crate) fn intact_version(
        magic: &[u8; header::MAGIC_LEN],
        bytes: &[u8],
        body_len: usize,
    ) -> Option<u32> {
        let (len, crc) = (Self::encoded_len(body_len), header::crc(body_len));
        (bytes.len() >= len
            && &bytes[header::MAGIC..header::VERSION] == magic
            && checksum(&[&bytes[..crc]]) == u32_at(bytes, crc))
        .then(|| u32_at(bytes, header::VERSION))
    }

    /// Checks magic, checksum and version; returns the dimension and the body.
    pub(crate) fn decode<'a>(
        magic: &[u8; header::MAGIC_LEN],
        bytes: &'a [u8],
        body_len: usize,
    ) -> Result<(u32, &'a [u8]), HeaderError> {
        let (len, crc) = (Self::encoded_len(body_len), header::crc(body_len));
        if bytes.len() < len {
            return Err(HeaderError::Corrupt(format!(
                "header truncated ({} of {len} bytes)",
                bytes.len()
            )));
        }
        if &bytes[header::MAGIC..header::VERSION] != magic {
            return Err(HeaderError::Corrupt(
                "bad magic: not a vecstore file".into(),
            ));
        }
        if checksum(&[&bytes[..crc]]) != u32_at(bytes, crc) {
            return Err(HeaderError::Corrupt("header checksum mismatch".into()));
        }
        let version = u32_at(bytes, header::VERSION);
        if version != FORMAT_VERSION {
            return Err(HeaderError::Version(version));
        }
        Ok((
            u32_at(bytes, header::DIMENSION),
            &bytes[header::BODY..header::crc(body_len)],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: [u8; 8] = *b"TESTHDR\0";

    #[test]
    fn header_round_trip() {
        let bytes = FileHeader {
            magic: MAGIC,
            dimension: 7,
        }
        .encode(&[1, 2, 3, 4]);
        assert_eq!(bytes.len(), FileHeader::encoded_len(4));
        let (dim, body) = FileHeader::decode(&MAGIC, &bytes, 4).ok().unwrap();
        assert_eq!((dim, body), (7, &[1u8, 2, 3, 4][..]));
    }

    #[test]
    fn header_rejects_damage() {
        let bytes = FileHeader {
            magic: MAGIC,
            dimension: 7,
        }
        .encode(&[0; 8]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(FileHeader::decode(&MAGIC, &bad, 8).is_err(), "flip at {i}");
        }
        assert!(matches!(
            FileHeader::decode(&MAGIC, &bytes[..10], 8),
            Err(HeaderError::Corrupt(_))
        ));
    }

    #[test]
    fn header_reports_other_version() {
        let mut bytes = FileHeader {
            magic: MAGIC,
            dimension: 7,
        }
        .encode(&[]);
        bytes[header::VERSION..header::DIMENSION].copy_from_slice(&9u32.to_le_bytes());
        let crc = checksum(&[&bytes[..header::crc(0)]]);
        bytes[header::crc(0)..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            FileHeader::decode(&MAGIC, &bytes, 0),
            Err(HeaderError::Version(9))
        ));
    }
}
