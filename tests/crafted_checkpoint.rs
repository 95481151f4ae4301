//! Crafted checkpoint files (format 3 `index.vsi`): each test builds a real
//! store through the public API, closes it, rewrites `index.vsi` with every
//! checksum recomputed (header, segment table and bitmaps, table pages), and
//! opens it again. A crafted file must be refused as Corrupt or served
//! without a panic, a hang or a wrong count. (Found by the review of issue
//! 13: each of these panicked, hung or lied before.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

mod common;
use common::crc32;

use vecstore::{Durability, ErrorKind, Options, Store};

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

use vecstore::layout::checkpoint::{self as layout, body, bucket, segment_entry as entry};
use vecstore::layout::checkpoint::{BITMAP_WORD_LEN, HEADER_LEN, TABLE_PAGE};
/// index.vsi format 3, decoded into its parts.
const BODY: usize = vecstore::layout::header::BODY;
struct Seg {
    id: u32,
    used: u64,
    live: u64,
    bits: Vec<u64>,
}
struct Cp {
    head: Vec<u8>, // magic, version, dimension and body; CRC recomputed
    entries: u64,
    buckets: u64,
    segs: Vec<Seg>,
    table: Vec<u8>,
}

fn parse(bytes: &[u8]) -> Cp {
    let nsegs = u32_at(bytes, BODY + body::SEGMENTS) as usize;
    let entries = u64_at(bytes, BODY + body::ENTRIES);
    let buckets = u64_at(bytes, BODY + body::BUCKETS);
    let mut segs = Vec::new();
    let mut bits_at = HEADER_LEN + nsegs * entry::LEN;
    for i in 0..nsegs {
        let e = HEADER_LEN + i * entry::LEN;
        let used = u64_at(bytes, e + entry::USED);
        let words = layout::bitmap_words(used) as usize;
        let bits = (0..words)
            .map(|w| u64_at(bytes, bits_at + w * BITMAP_WORD_LEN))
            .collect();
        bits_at += words * BITMAP_WORD_LEN;
        segs.push(Seg {
            id: u32_at(bytes, e + entry::ID),
            used,
            live: u64_at(bytes, e + entry::LIVE),
            bits,
        });
    }
    let table = bytes[bytes.len() - buckets as usize * bucket::LEN..].to_vec();
    Cp {
        head: bytes[..vecstore::layout::header::crc(body::LEN)].to_vec(),
        entries,
        buckets,
        segs,
        table,
    }
}

fn encode(cp: &Cp) -> Vec<u8> {
    let mut meta = Vec::new();
    for s in &cp.segs {
        meta.extend_from_slice(&s.id.to_le_bytes());
        meta.extend_from_slice(&0u32.to_le_bytes());
        meta.extend_from_slice(&s.used.to_le_bytes());
        meta.extend_from_slice(&s.live.to_le_bytes());
    }
    for s in &cp.segs {
        for w in &s.bits {
            meta.extend_from_slice(&w.to_le_bytes());
        }
    }
    for page in cp.table.chunks_exact(TABLE_PAGE) {
        meta.extend_from_slice(&crc32(&[page]).to_le_bytes());
    }
    let mut head = cp.head.clone();
    let field = |at: usize, next: usize| BODY + at..BODY + next;
    head[field(body::SEGMENTS, body::ENTRIES)]
        .copy_from_slice(&(cp.segs.len() as u32).to_le_bytes());
    head[field(body::ENTRIES, body::BUCKETS)].copy_from_slice(&cp.entries.to_le_bytes());
    head[field(body::BUCKETS, body::HASH_SEED)].copy_from_slice(&cp.buckets.to_le_bytes());
    head[field(body::META_CRC, body::RESERVED)].copy_from_slice(&crc32(&[&meta]).to_le_bytes());
    let crc = crc32(&[&head]);
    let mut out = head;
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&meta);
    out.resize(out.len().next_multiple_of(TABLE_PAGE), 0);
    out.extend_from_slice(&cp.table);
    out
}

fn rewrite(dir: &Path, f: impl FnOnce(&mut Cp)) {
    let path = dir.join("index.vsi");
    let mut cp = parse(&std::fs::read(&path).unwrap());
    // Sanity: re-encoding the untouched parse gives the same file.
    assert_eq!(encode(&cp), std::fs::read(&path).unwrap());
    f(&mut cp);
    std::fs::write(&path, encode(&cp)).unwrap();
}

fn opts(read_only: bool, initial_capacity: u64) -> Options {
    Options {
        durability: Durability::Flush,
        read_only,
        initial_capacity,
        ..Options::default()
    }
}

fn make_store(dir: &Path, n: u64, initial_capacity: u64) {
    let s = Store::open(dir, 2, &opts(false, initial_capacity)).unwrap();
    for id in 0..n {
        s.put(id, &[id as f32, 1.0]).unwrap();
    }
    s.close().unwrap();
}

fn corrupt_or_open(dir: &Path, read_only: bool) -> Option<Store> {
    match Store::open(dir, 0, &opts(read_only, 0)) {
        Ok(store) => Some(store),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            None
        }
    }
}

/// A table smaller than one page (a power of two) has no page checksum:
/// the first probe indexed past the page bitmap and panicked.
#[test]
fn a_table_smaller_than_a_page_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_store(dir.path(), 3, 0);
    rewrite(dir.path(), |cp| {
        cp.buckets = 16;
        cp.entries = 0;
        cp.table = [0u8; 8]
            .iter()
            .chain(&u64::MAX.to_le_bytes())
            .copied()
            .cycle()
            .take(16 * bucket::LEN)
            .collect();
    });
    for read_only in [true, false] {
        let opened = catch_unwind(AssertUnwindSafe(|| {
            corrupt_or_open(dir.path(), read_only).map(|s| s.contains(1))
        }));
        assert_eq!(
            opened.ok(),
            Some(None),
            "read_only {read_only}: accepted or panicked"
        );
    }
}

/// An understated entry count was trusted as the store's length: len() lied,
/// verify saw nothing, a delete underflowed the count, and the next
/// checkpoint sized its table from the lie and probed a full table forever.
#[test]
fn an_understated_entry_count_is_reported_and_healed_by_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    make_store(dir.path(), 300, 0);
    rewrite(dir.path(), |cp| {
        assert_eq!((cp.entries, cp.buckets), (300, 512));
        cp.entries = 0;
    });
    {
        let reader = Store::open(dir.path(), 0, &opts(true, 0)).unwrap();
        let problems = reader.verify().problems;
        assert!(
            problems
                .iter()
                .any(|p| p.contains("counts 0 vectors but holds 300")),
            "{problems:?}"
        );
    }
    let (tx, rx) = mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let run = || -> vecstore::Result<u64> {
            let w = Store::open(&path, 0, &opts(false, 0))?;
            w.delete(7)?;
            w.put(1000, &[1.0, 1.0])?;
            w.checkpoint()?;
            Ok(w.len())
        };
        let _ = tx.send(catch_unwind(AssertUnwindSafe(run)).map_err(|_| "panicked"));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the checkpoint never returned");
    assert_eq!(
        got.expect("no panic").unwrap(),
        300,
        "300 - 1 deleted + 1 put"
    );
    let w = Store::open(dir.path(), 0, &opts(false, 0)).unwrap();
    assert!(w.verify().problems.is_empty());
}

/// A live bit past a segment's `used` mark (the bits still matching the live
/// count) made a cursor or search read past the segment's used slots: a
/// panic, or a phantom vector.
#[test]
fn a_live_bit_past_used_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_store(dir.path(), 100, 100);
    rewrite(dir.path(), |cp| {
        let s = &mut cp.segs[0];
        assert_eq!((s.used, s.live, s.bits.len()), (100, 100, 2));
        s.bits[1] |= 1 << 63; // slot 127
        s.live += 1;
    });
    for read_only in [true, false] {
        let opened = catch_unwind(AssertUnwindSafe(|| {
            corrupt_or_open(dir.path(), read_only).map(|s| s.cursor().next().is_ok())
        }));
        assert_eq!(
            opened.ok(),
            Some(None),
            "read_only {read_only}: accepted or panicked"
        );
    }
}
