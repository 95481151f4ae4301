//! Writes the seed corpus of the `open_files` target: small stores built by
//! the current engine (so in the current file formats), each captured while
//! it is still open (what a killed process leaves: no closing checkpoint),
//! plus a few damaged and torn copies. Every seed is in the target's input
//! layout (see `split()` in `fuzz_targets/open_files.rs`): two little-endian
//! u16 lengths (checkpoint, log), then the checkpoint, the log and the one
//! segment `seg-0000000001.vec`.
//!
//! Run through `fuzz/seeds.sh`, which empties the corpus first. Log salts
//! are random, so the bytes differ from one run to the next; the set of
//! stores does not.
//!
//! Usage: `cargo run --release --example seeds -- OUT_DIR`

use std::path::Path;

use vecstore::layout::log::{record, RECORD_ALIGN};
use vecstore::{Durability, Options, Store};

const DIM: u32 = 4;
/// Room for every vector below in the first segment: the target writes
/// only `seg-0000000001.vec`.
const CAPACITY: u64 = 24;
const INDEX: &str = "index.vsi";
const LOG: &str = "wal.log";
/// The publication page a writer makes; the target does not write it.
const CHANGES: &str = vecstore::layout::changes::FILE_NAME;
const SEGMENT: &str = "seg-0000000001.vec";
/// Bytes of a log record before its payload.
const RECORD_HEADER: usize = record::LEN;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The three files of a store directory.
#[derive(Clone)]
struct Files {
    index: Vec<u8>,
    log: Vec<u8>,
    segment: Vec<u8>,
}

impl Files {
    /// Reads the files of the open store in `dir`, checking that it has only
    /// the one segment the target writes.
    fn capture(dir: &Path) -> Result<Files> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_>>()?;
        names.sort();
        let expected = [CHANGES, "LOCK", INDEX, SEGMENT, LOG];
        if names != expected {
            return Err(format!("store files {names:?}, expected {expected:?}").into());
        }
        Ok(Files {
            index: std::fs::read(dir.join(INDEX))?,
            log: std::fs::read(dir.join(LOG))?,
            segment: std::fs::read(dir.join(SEGMENT))?,
        })
    }

    /// The target's input: u16 lengths, checkpoint, log, segment.
    fn encode(&self) -> Result<Vec<u8>> {
        let len = |b: &[u8], what: &str| {
            u16::try_from(b.len()).map_err(|_| format!("{what} is {} bytes, over 65535", b.len()))
        };
        let mut out = Vec::new();
        out.extend_from_slice(&len(&self.index, "checkpoint")?.to_le_bytes());
        out.extend_from_slice(&len(&self.log, "log")?.to_le_bytes());
        out.extend_from_slice(&self.index);
        out.extend_from_slice(&self.log);
        out.extend_from_slice(&self.segment);
        Ok(out)
    }

    /// Offsets of the log's records, walking their lengths from `header_len`
    /// (the length of a log without records).
    fn records(&self, header_len: usize) -> Vec<usize> {
        let mut at = header_len;
        let mut offsets = Vec::new();
        while at + RECORD_HEADER <= self.log.len() {
            offsets.push(at);
            let len_at = at + record::PAYLOAD_LEN;
            let payload = u64::from_le_bytes(self.log[len_at..len_at + 8].try_into().unwrap());
            at += (RECORD_HEADER + payload as usize).next_multiple_of(RECORD_ALIGN);
        }
        offsets
    }
}

fn vector(id: u64, generation: u32) -> Vec<f32> {
    (0..DIM)
        .map(|i| id as f32 * 10.0 + generation as f32 + i as f32 / 8.0)
        .collect()
}

fn batch(ids: std::ops::Range<u64>, generation: u32) -> (Vec<u64>, Vec<f32>) {
    let flat = ids.clone().flat_map(|id| vector(id, generation)).collect();
    (ids.collect(), flat)
}

fn open(dir: &Path, durability: Durability) -> Result<Store> {
    let options = Options {
        durability,
        initial_capacity: CAPACITY,
        ..Options::default()
    };
    Ok(Store::open(dir, DIM, &options)?)
}

/// A checkpoint of a batch, then after it in the log: single puts, an
/// overwrite, a delete, a batch delete and a batch. Returns the files
/// captured right after the checkpoint and at the end.
fn history(durability: Durability) -> Result<(Files, Files)> {
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), durability)?;
    let (ids, flat) = batch(0..6, 1);
    store.put_batch(&ids, &flat)?;
    store.checkpoint()?;
    let checkpointed = Files::capture(dir.path())?;
    store.put(6, &vector(6, 1))?;
    store.put(1, &vector(1, 2))?;
    store.delete(2)?;
    store.delete_batch(&[3, 4])?;
    let (ids, flat) = batch(7..11, 1);
    store.put_batch(&ids, &flat)?;
    let end = Files::capture(dir.path())?;
    drop(store);
    Ok((checkpointed, end))
}

fn seeds() -> Result<Vec<(String, Files)>> {
    let mut out = Vec::new();
    for (name, durability) in [("fsync", Durability::Fsync), ("flush", Durability::Flush)] {
        let (checkpointed, end) = history(durability)?;
        // Right after a checkpoint the log is only its header.
        let header_len = checkpointed.log.len();
        out.push((format!("{name}-checkpoint-only"), checkpointed.clone()));
        out.push((format!("{name}-checkpoint-then-log"), end.clone()));
        // The checkpoint and segment of before the log records: replay must
        // write the slot images (a read-only open refuses).
        out.push((
            format!("{name}-segment-behind-log"),
            Files {
                log: end.log.clone(),
                ..checkpointed
            },
        ));
        let records = end.records(header_len);
        let (&first, &last) = (records.first().unwrap(), records.last().unwrap());
        let mut cut = end.clone();
        cut.log.truncate(last + (cut.log.len() - last) / 2);
        out.push((format!("{name}-torn-cut-mid-record"), cut));
        let mut headless = end.clone();
        headless.log[last..last + RECORD_HEADER].fill(0);
        out.push((format!("{name}-torn-header-zeroed"), headless));
        let mut payload = end.clone();
        payload.log[last + RECORD_HEADER + 4] ^= 0x40;
        out.push((format!("{name}-torn-payload-flipped"), payload));
        // Damage before intact records: a torn tail in FLUSH mode (nothing
        // said synced), corruption in FSYNC mode (later records say it was).
        let mut early = end.clone();
        early.log[first + RECORD_HEADER] ^= 0x01;
        out.push((format!("{name}-damaged-first-record"), early));
        let mut early_header = end.clone();
        early_header.log[first + record::LSN] ^= 0x01;
        out.push((format!("{name}-damaged-first-header"), early_header));
    }

    // NONE: a checkpoint, then unlogged writes beyond its `used` marks.
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), Durability::None)?;
    let (ids, flat) = batch(0..5, 1);
    store.put_batch(&ids, &flat)?;
    store.flush()?;
    store.put(1, &vector(1, 2))?;
    store.delete(3)?;
    let (ids, flat) = batch(5..9, 1);
    store.put_batch(&ids, &flat)?;
    out.push((
        "none-unlogged-after-checkpoint".into(),
        Files::capture(dir.path())?,
    ));
    drop(store);

    // Log only: the creation checkpoint (empty), records after it.
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), Durability::Flush)?;
    out.push(("flush-empty".into(), Files::capture(dir.path())?));
    let (ids, flat) = batch(0..3, 1);
    store.put_batch(&ids, &flat)?;
    store.delete(0)?;
    out.push(("flush-log-only".into(), Files::capture(dir.path())?));
    drop(store);

    // A closed store: the last checkpoint holds everything, the log is empty.
    let dir = tempfile::tempdir()?;
    let store = open(dir.path(), Durability::Fsync)?;
    let (ids, flat) = batch(0..8, 1);
    store.put_batch(&ids, &flat)?;
    store.delete_batch(&[2, 5])?;
    store.close()?;
    std::fs::write(dir.path().join("LOCK"), b"")?;
    out.push(("fsync-closed".into(), Files::capture(dir.path())?));
    Ok(out)
}

/// Opens `input` the way the target does; describes the outcome.
fn outcome(input: &[u8]) -> Result<String> {
    let files = Files {
        index: input[4..][..usize::from(u16::from_le_bytes([input[0], input[1]]))].to_vec(),
        log: Vec::new(),
        segment: Vec::new(),
    };
    let log_len = usize::from(u16::from_le_bytes([input[2], input[3]]));
    let rest = &input[4 + files.index.len()..];
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join(INDEX), &files.index)?;
    std::fs::write(dir.path().join(LOG), &rest[..log_len])?;
    std::fs::write(dir.path().join(SEGMENT), &rest[log_len..])?;
    std::fs::write(dir.path().join("LOCK"), b"")?;
    let mut parts = Vec::new();
    for read_only in [true, false] {
        let options = Options {
            read_only,
            create_if_missing: false,
            ..Options::default()
        };
        let what = if read_only { "read-only" } else { "read-write" };
        match Store::open(dir.path(), 0, &options) {
            Ok(store) => {
                let problems = store.verify().problems.len();
                let verified = if problems == 0 {
                    "verified"
                } else {
                    "VERIFY FAILED"
                };
                parts.push(format!("{what}: {} vectors, {verified}", store.len()));
            }
            Err(e) => parts.push(format!("{what}: {:?}", e.kind())),
        }
    }
    Ok(parts.join("; "))
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: seeds OUT_DIR (fuzz/seeds.sh runs it)")?;
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    for (name, files) in seeds()? {
        let input = files.encode()?;
        std::fs::write(out.join(&name), &input)?;
        println!("{name:32} {:5} bytes  {}", input.len(), outcome(&input)?);
    }
    Ok(())
}
