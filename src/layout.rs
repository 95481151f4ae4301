//! Every byte offset and length of the store's files, each built from the
//! one before it (as redb's `header.rs` does), so that a field's place reads
//! as "after the previous field" and nothing is a copied number. The engine
//! encodes and decodes its files with these same constants. All integers
//! are little-endian. ARCHITECTURE.md ("Files in a store directory") tells
//! what each field means.
//!
//! Offsets in a header *body* ([`checkpoint::body`](crate::layout::checkpoint::body),
//! [`log::body`](crate::layout::log::body),
//! [`segment::body`](crate::layout::segment::body)) count from
//! [`header::BODY`](crate::layout::header::BODY), where the body starts in
//! the file; record, slot and bucket offsets count from the start of the
//! record, slot or bucket.

#![deny(missing_docs)]

/// Bytes of a `u32` field.
const U32: usize = 4;
/// Bytes of a `u64` field.
const U64: usize = 8;

/// The header every file but `LOCK` and `CHANGES` starts with: magic,
/// format version, dimension, a kind-specific body, then a CRC-32 of all of
/// it (see [`header::len`]).
pub mod header {
    use super::{U32, U64};

    /// Where the file kind's magic is (its bytes: [`checkpoint::MAGIC`],
    /// [`log::MAGIC`], [`segment::MAGIC`]).
    ///
    /// [`checkpoint::MAGIC`]: super::checkpoint::MAGIC
    /// [`log::MAGIC`]: super::log::MAGIC
    /// [`segment::MAGIC`]: super::segment::MAGIC
    pub const MAGIC: usize = 0;
    /// Bytes of the magic.
    pub const MAGIC_LEN: usize = U64;
    /// The format version, `u32`.
    pub const VERSION: usize = MAGIC + MAGIC_LEN;
    /// The store's dimension, `u32`.
    pub const DIMENSION: usize = VERSION + U32;
    /// Where the kind-specific body starts.
    pub const BODY: usize = DIMENSION + U32;
    /// Bytes of the CRC-32 that ends the header, covering every byte before it.
    pub const CRC_LEN: usize = U32;

    /// Where the CRC is in a header whose body has `body_len` bytes.
    pub const fn crc(body_len: usize) -> usize {
        BODY + body_len
    }

    /// Bytes of a header whose body has `body_len` bytes.
    pub const fn len(body_len: usize) -> usize {
        crc(body_len) + CRC_LEN
    }
}

/// `index.vsi`, the checkpoint: [`header`] with a [`body`](checkpoint::body),
/// the segment table ([`segment_entry`](checkpoint::segment_entry)), the live
/// bitmaps, one CRC per table page, zeros up to a
/// [`TABLE_PAGE`](checkpoint::TABLE_PAGE) boundary, then the hash table
/// ([`bucket`](checkpoint::bucket)s).
pub mod checkpoint {
    use super::{U32, U64};

    /// File name inside a store directory.
    pub const FILE_NAME: &str = "index.vsi";
    /// The file's magic.
    pub const MAGIC: [u8; 8] = *b"VECSIDX\0";

    /// Offsets inside the header body.
    pub mod body {
        use super::{U32, U64};

        /// Last log sequence number the checkpoint includes, `u64`.
        pub const LSN: usize = 0;
        /// Id the next new segment gets, `u32`.
        pub const NEXT_SEGMENT: usize = LSN + U64;
        /// Entries of the segment table, `u32`.
        pub const SEGMENTS: usize = NEXT_SEGMENT + U32;
        /// Ids in the hash table, `u64`.
        pub const ENTRIES: usize = SEGMENTS + U32;
        /// Buckets of the hash table (a power of two), `u64`.
        pub const BUCKETS: usize = ENTRIES + U64;
        /// Seed of the bucket hash, `u64`.
        pub const HASH_SEED: usize = BUCKETS + U64;
        /// CRC-32 of everything from the segment table to the end of the
        /// page checksums, `u32`.
        pub const META_CRC: usize = HASH_SEED + U64;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = META_CRC + U32;
        /// Bytes of the body.
        pub const LEN: usize = RESERVED + U32;
    }

    /// Bytes of the file header: the segment table starts here.
    pub const HEADER_LEN: usize = super::header::len(body::LEN);

    /// Offsets in one entry of the segment table.
    pub mod segment_entry {
        use super::{U32, U64};

        /// The segment's id, `u32`.
        pub const ID: usize = 0;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = ID + U32;
        /// Slots used (written or reserved), `u64`.
        pub const USED: usize = RESERVED + U32;
        /// Slots live, `u64`.
        pub const LIVE: usize = USED + U64;
        /// Bytes of an entry.
        pub const LEN: usize = LIVE + U64;
    }

    /// Bytes of one word of a live bitmap (bit `s` of word `s / 64` is slot `s`).
    pub const BITMAP_WORD_LEN: usize = U64;
    /// Slots one bitmap word covers.
    pub const BITMAP_WORD_BITS: u64 = 8 * BITMAP_WORD_LEN as u64;

    /// Words of the live bitmap of a segment with `used` slots.
    pub const fn bitmap_words(used: u64) -> u64 {
        used.div_ceil(BITMAP_WORD_BITS)
    }

    /// Bytes of the checksum of one table page, `u32`.
    pub const PAGE_CRC_LEN: usize = U32;
    /// The hash table starts at a multiple of this, and each page of this
    /// many bytes has a checksum.
    pub const TABLE_PAGE: usize = 4096;

    /// Offsets in one bucket of the hash table.
    pub mod bucket {
        use super::U64;

        /// The id, `u64`.
        pub const ID: usize = 0;
        /// Its slot reference (segment id in the high 32 bits, slot in the
        /// low 32), `u64`; [`EMPTY`](super::EMPTY) in a free bucket.
        pub const SLOT: usize = ID + U64;
        /// Bytes of a bucket.
        pub const LEN: usize = SLOT + U64;
    }

    /// Buckets in one table page.
    pub const BUCKETS_PER_PAGE: u64 = (TABLE_PAGE / bucket::LEN) as u64;
    /// The slot reference of a free bucket (segment id `u32::MAX` is never made).
    pub const EMPTY: u64 = u64::MAX;
}

/// `wal.log`, the log: [`header`] with a [`body`](log::body), then
/// [`record`](log::record)s.
pub mod log {
    use super::{U32, U64};

    /// File name inside a store directory.
    pub const FILE_NAME: &str = "wal.log";
    /// The file's magic.
    pub const MAGIC: [u8; 8] = *b"VECSWAL\0";

    /// Offsets inside the header body.
    pub mod body {
        use super::{U32, U64};

        /// The log generation's salt, `u64`.
        pub const SALT: usize = 0;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = SALT + U64;
        /// Bytes of the body.
        pub const LEN: usize = RESERVED + U32;
    }

    /// Where the salt is in the file.
    pub const SALT: usize = super::header::BODY + body::SALT;
    /// Bytes of the file header: the first record starts here (a multiple
    /// of [`RECORD_ALIGN`]).
    pub const HEADER_LEN: usize = super::header::len(body::LEN);
    /// Every record is padded with zeros to a multiple of this.
    pub const RECORD_ALIGN: usize = U64;

    /// Offsets in a record header; the payload follows it.
    pub mod record {
        use super::{U32, U64};

        /// The log generation's salt, `u64`: the cheap test of a candidate record.
        pub const SALT: usize = 0;
        /// CRC-32 of the salt and of the bytes from [`KIND`] to [`LEN`],
        /// `u32`.
        pub const HEADER_CRC: usize = SALT + U64;
        /// [`PUTS`] or [`DELETES`], `u32`.
        pub const KIND: usize = HEADER_CRC + U32;
        /// The record's sequence number, `u64`.
        pub const LSN: usize = KIND + U32;
        /// Payload bytes, without the padding, `u64`.
        pub const PAYLOAD_LEN: usize = LSN + U64;
        /// Vectors put or ids deleted, `u64`.
        pub const COUNT: usize = PAYLOAD_LEN + U64;
        /// Log bytes known durable when the record was sealed, `u64`.
        pub const SYNCED_THROUGH: usize = COUNT + U64;
        /// CRC-32 of the salt and the payload, `u32`.
        pub const PAYLOAD_CRC: usize = SYNCED_THROUGH + U64;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = PAYLOAD_CRC + U32;
        /// Bytes of a record header: the payload starts here.
        pub const LEN: usize = RESERVED + U32;

        /// Kind of a record of puts: `count` slot references (`u64`), then
        /// `count` slot images.
        pub const PUTS: u32 = 1;
        /// Kind of a record of deletions: `count` ids (`u64`).
        pub const DELETES: u32 = 2;
        /// Bytes of one slot reference or id in a payload.
        pub const PAYLOAD_WORD: usize = U64;

        /// Bytes a record with `payload_len` payload bytes takes in the
        /// file, padding included (`None` on overflow).
        pub const fn padded_len(payload_len: u64) -> Option<u64> {
            let align = super::RECORD_ALIGN as u64;
            match payload_len.checked_add(LEN as u64 + align - 1) {
                Some(n) => Some(n & !(align - 1)),
                None => None,
            }
        }
    }
}

/// `seg-NNNNNNNNNN.vec`, a segment: [`header`] with a [`body`](segment::body),
/// zeros up to [`HEADER_BYTES`](segment::HEADER_BYTES), then `capacity`
/// [`slot`](segment::slot)s of [`slot_len`](segment::slot_len) bytes.
pub mod segment {
    use super::{U32, U64};

    /// The file's magic.
    pub const MAGIC: [u8; 8] = *b"VECSSEG\0";

    /// Offsets inside the header body.
    pub mod body {
        use super::{U32, U64};

        /// The segment's id, `u32`.
        pub const ID: usize = 0;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = ID + U32;
        /// Slots in the file, `u64`.
        pub const CAPACITY: usize = RESERVED + U32;
        /// Bytes of the body.
        pub const LEN: usize = CAPACITY + U64;
    }

    /// Bytes of the header: [`HEADER_BYTES`] holds it, zero-padded.
    pub const HEADER_LEN: usize = super::header::len(body::LEN);
    /// Bytes before the first slot: one page, so slots start page-aligned.
    pub const HEADER_BYTES: u64 = 4096;

    /// Offsets in a slot.
    pub mod slot {
        use super::{U32, U64};

        /// CRC-32 of the bytes from [`ID`] to the slot's end, `u32`.
        pub const CRC: usize = 0;
        /// Reserved, zero, `u32`.
        pub const RESERVED: usize = CRC + U32;
        /// The vector's id, `u64`.
        pub const ID: usize = RESERVED + U32;
        /// The vector: `dimension` native `f32`s.
        pub const VECTOR: usize = ID + U64;
    }

    /// Bytes of one vector component.
    pub const FLOAT_LEN: usize = U32;

    /// Bytes of a slot for vectors of `dimension` floats.
    pub const fn slot_len(dimension: u32) -> usize {
        slot::VECTOR + FLOAT_LEN * dimension as usize
    }

    /// File name of segment `id`.
    pub fn file_name(id: u32) -> String {
        format!("seg-{id:010}.vec")
    }
}

/// `CHANGES`, the publication page: a counter, then two slots, each on a
/// cache line of its own; publication `g` is in slot `g % 2`.
pub mod changes {
    use super::U64;

    /// File name inside a store directory.
    pub const FILE_NAME: &str = "CHANGES";
    /// Bytes of the file: one page.
    pub const FILE_LEN: u64 = 4096;
    /// Each field group is alone on a line of this many bytes.
    pub const CACHE_LINE: usize = 64;
    /// The publication counter, `u64`, on the second cache line (the first
    /// is unused).
    pub const COUNTER: usize = CACHE_LINE;
    /// The first of the two slots, on the line after the counter's.
    pub const SLOTS: usize = COUNTER + CACHE_LINE;
    /// Bytes from one slot to the next.
    pub const SLOT_LEN: usize = CACHE_LINE;
    /// Slots the publications alternate between.
    pub const SLOT_COUNT: u64 = 2;

    /// Where slot `n` (below [`SLOT_COUNT`]) starts.
    pub const fn slot_at(n: usize) -> usize {
        SLOTS + n * SLOT_LEN
    }

    /// Offsets in a slot.
    pub mod slot {
        use super::U64;

        /// The publication number it holds, `u64`.
        pub const GEN: usize = 0;
        /// The log generation's salt, `u64`.
        pub const SALT: usize = GEN + U64;
        /// The log offset readers may show up to, `u64`.
        pub const END: usize = SALT + U64;
    }
}

/// `LOCK`: empty; the writer holds a `flock` on it, and beside it an
/// open-file-description lock on the byte range below, which a reader can
/// query without taking it.
pub mod lock {
    /// File name inside a store directory.
    pub const FILE_NAME: &str = "LOCK";
    /// First byte of the writer's presence lock.
    pub const PRESENCE_START: u64 = 0;
    /// Bytes of the writer's presence lock.
    pub const PRESENCE_LEN: u64 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one place the numbers are written out: format 3 as it has been
    /// on disk since before the offsets had names.
    #[test]
    fn offsets_are_those_of_format_3() {
        assert_eq!(
            (header::VERSION, header::DIMENSION, header::BODY),
            (8, 12, 16)
        );
        assert_eq!(header::len(0), 20);
        use checkpoint::{body as cb, bucket, segment_entry as se};
        assert_eq!(
            [
                cb::LSN,
                cb::NEXT_SEGMENT,
                cb::SEGMENTS,
                cb::ENTRIES,
                cb::BUCKETS
            ],
            [0, 8, 12, 16, 24]
        );
        assert_eq!(
            [cb::HASH_SEED, cb::META_CRC, cb::RESERVED, cb::LEN],
            [32, 40, 44, 48]
        );
        assert_eq!(checkpoint::HEADER_LEN, 68);
        assert_eq!(
            [se::ID, se::RESERVED, se::USED, se::LIVE, se::LEN],
            [0, 4, 8, 16, 24]
        );
        assert_eq!([bucket::ID, bucket::SLOT, bucket::LEN], [0, 8, 16]);
        assert_eq!(checkpoint::BUCKETS_PER_PAGE, 256);
        assert_eq!(checkpoint::bitmap_words(65), 2);
        use log::record as r;
        assert_eq!((log::SALT, log::body::LEN, log::HEADER_LEN), (16, 12, 32));
        assert_eq!(
            [
                r::SALT,
                r::HEADER_CRC,
                r::KIND,
                r::LSN,
                r::PAYLOAD_LEN,
                r::COUNT
            ],
            [0, 8, 12, 16, 24, 32]
        );
        assert_eq!(
            [r::SYNCED_THROUGH, r::PAYLOAD_CRC, r::RESERVED, r::LEN],
            [40, 48, 52, 56]
        );
        assert_eq!(
            (r::padded_len(0), r::padded_len(1), r::padded_len(8)),
            (Some(56), Some(64), Some(64))
        );
        assert_eq!(r::padded_len(u64::MAX - 62), None);
        use segment::{body as sb, slot};
        assert_eq!([sb::ID, sb::RESERVED, sb::CAPACITY, sb::LEN], [0, 4, 8, 16]);
        assert_eq!(segment::HEADER_LEN, 36);
        assert_eq!(
            [slot::CRC, slot::RESERVED, slot::ID, slot::VECTOR],
            [0, 4, 8, 16]
        );
        assert_eq!(segment::slot_len(3), 28);
        assert_eq!(segment::file_name(42), "seg-0000000042.vec");
        use changes::slot as cs;
        assert_eq!(
            (changes::COUNTER, changes::slot_at(0), changes::slot_at(1)),
            (64, 128, 192)
        );
        assert_eq!([cs::GEN, cs::SALT, cs::END], [0, 8, 16]);
    }
}
