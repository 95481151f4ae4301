//! Random on-disk damage: small stores in every durability mode (closed
//! cleanly, or copied while open as a killed process would leave them) get one
//! of their files damaged at random (a flipped bit, a zeroed range, a
//! truncation, appended garbage, deletion), sometimes two files at once; then
//! the store is opened and read.
//!
//! What must hold after every damage:
//! - `Store::open` fails with an honest error (see [`allowed_open_error`]) or
//!   succeeds; it never panics, hangs or crashes the process;
//! - a failed open leaves every file byte-identical, and creates no file but
//!   `LOCK`;
//! - after a successful open, every vector `get`, `get_batch`, `get_ref` and the
//!   cursor return is bit-identical to a vector some put wrote for that id
//!   (the full history of writes per id is tracked); reads of damaged slots may
//!   fail with `Corrupt`, never return other bytes;
//! - a successful read-write open leaves a working store: a new put, close and
//!   a second open succeed, with the same guarantees.
//!
//! Every trial runs in one child process (this binary re-executed with
//! `--exact --ignored`) that prints each trial before it starts, so a crash
//! (SIGSEGV, SIGBUS, abort) is reported with its trial and seed; each open and
//! its reads run on a thread under a time bound, so a hang fails the test.
//!
//! `VECSTORE_CORRUPTION_TRIALS` (default 5000, 200000 with `VECSTORE_SOAK=1`),
//! `VECSTORE_CORRUPTION_SEED`, `VECSTORE_CORRUPTION_VERBOSE=1` (every trial).
//! Stores live in /dev/shm when it exists (`VECSTORE_TEST_TMPDIR` overrides):
//! the checks do not depend on fsync, and tmpfs makes them fast.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{
    bits, child, copy_dir, crc32, env_u64, mode_name, seed_from_env, soak, versioned_vector, Rng,
};

use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 8;
const CHILD_ENV: &str = "VECSTORE_CORRUPTION_CHILD";
/// Longest an open plus its reads may take before the trial counts as a hang.
const TIME_BOUND: Duration = Duration::from_secs(60);

/// Every vector (as bit patterns) ever passed to a put, per id.
type History = BTreeMap<u64, BTreeSet<Vec<u32>>>;

/// The vector written for `id` at `version`: distinct for every write.
fn vector(id: u64, version: u64) -> Vec<f32> {
    versioned_vector(id, version, DIM)
}

fn test_root() -> tempfile::TempDir {
    common::test_root("vecstore-corruption-")
}

// ---------------------------------------------------------------------------
// Building the stores to damage.

/// A store to damage: its files as left on disk, and every write it saw.
struct Template {
    name: String,
    dir: PathBuf,
    history: History,
}

/// Runs a workload with checkpointed data, several segments, overwrites,
/// deletes and a compaction, then more writes that only the log (or, in NONE
/// mode, only slots beyond the checkpoint) holds. `killed`: the directory is
/// copied while the store is open, which is what a SIGKILL leaves (every write
/// of these modes has reached the kernel when its call returns); otherwise the
/// store is closed.
fn build_template(root: &Path, mode: Durability, killed: bool, seed: u64) -> Template {
    let name = format!(
        "{}-{}",
        mode_name(mode),
        if killed { "killed" } else { "closed" }
    );
    let live_dir = root.join(format!("build-{name}"));
    let options = Options {
        durability: mode,
        initial_capacity: 16,
        ..Options::default()
    };
    let store = Store::open(&live_dir, DIM as u32, &options).unwrap();
    let mut rng = Rng(seed | 1);
    let mut history = History::new();
    let mut version = 0u64;
    let mut put = |store: &Store, ids: &[u64], history: &mut History| {
        version += 1;
        let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, version)).collect();
        for &id in ids {
            history
                .entry(id)
                .or_default()
                .insert(bits(&vector(id, version)));
        }
        store.put_batch(ids, &data).unwrap();
    };
    let batch = |rng: &mut Rng, n: u64, range: u64| -> Vec<u64> {
        let mut ids: Vec<u64> = (0..n).map(|_| rng.below(range)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    // Phase 1: fill several segments, overwrite, delete, compact, checkpoint.
    put(&store, &(0..20).collect::<Vec<_>>(), &mut history);
    for _ in 0..30 {
        let id = rng.below(60);
        put(&store, &[id], &mut history);
    }
    put(&store, &batch(&mut rng, 25, 80), &mut history);
    for _ in 0..12 {
        let _ = store.delete(rng.below(80));
    }
    store.delete_batch(&batch(&mut rng, 6, 80)).unwrap();
    store.compact().unwrap();
    put(&store, &batch(&mut rng, 10, 80), &mut history);
    store.checkpoint().unwrap();
    // Phase 2: writes after the last checkpoint.
    for _ in 0..15 {
        let id = rng.below(90);
        put(&store, &[id], &mut history);
    }
    put(&store, &batch(&mut rng, 12, 90), &mut history);
    for _ in 0..5 {
        let _ = store.delete(rng.below(90));
    }
    store.delete_batch(&batch(&mut rng, 4, 90)).unwrap();
    put(&store, &batch(&mut rng, 30, 120), &mut history); // needs a new segment
    let dir = root.join(format!("template-{name}"));
    if killed {
        copy_dir(&live_dir, &dir);
        drop(store);
    } else {
        store.close().unwrap();
        copy_dir(&live_dir, &dir);
    }
    Template { name, dir, history }
}

/// Every file of a directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Damage.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Damage {
    Flip,
    Zero,
    Truncate,
    Append,
    Delete,
}
const DAMAGES: [Damage; 5] = [
    Damage::Flip,
    Damage::Zero,
    Damage::Truncate,
    Damage::Append,
    Damage::Delete,
];

fn file_kind(name: &str) -> &'static str {
    match name {
        "index.vsi" => "index.vsi",
        "wal.log" => "wal.log",
        "LOCK" => "LOCK",
        n if n.starts_with("seg-") => "seg-*.vec",
        _ => "other",
    }
}

/// What a damage did to one file.
#[derive(Debug, Clone)]
struct Applied {
    file: String,
    damage: Damage,
    /// Byte range `[first, last]` whose contents changed (flip, zero), or the
    /// new length (truncate), or the old length (append).
    at: u64,
    len: u64,
    changed: bool,
}

/// An offset biased towards the bytes that matter: headers, and for a
/// segment its slots (most of its header page is padding).
fn pick_offset(rng: &mut Rng, name: &str, len: u64) -> u64 {
    match rng.below(3) {
        0 => rng.below(len.min(64)),
        1 if name.starts_with("seg-") && len > HEADER_BYTES => {
            HEADER_BYTES + rng.below(len - HEADER_BYTES)
        }
        _ => rng.below(len),
    }
}

fn apply_damage(rng: &mut Rng, dir: &Path, name: &str, damage: Damage) -> Applied {
    let path = dir.join(name);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len() as u64;
    let mut applied = Applied {
        file: name.to_string(),
        damage,
        at: 0,
        len: 0,
        changed: true,
    };
    match damage {
        Damage::Flip => {
            let at = pick_offset(rng, name, len);
            bytes[at as usize] ^= 1 << rng.below(8);
            applied.at = at;
            applied.len = 1;
            std::fs::write(&path, &bytes).unwrap();
        }
        Damage::Zero => {
            let at = pick_offset(rng, name, len);
            let max = match rng.below(3) {
                0 => 8,
                1 => 128,
                _ => 4096,
            };
            let n = (1 + rng.below(max)).min(len - at);
            let before = bytes.clone();
            bytes[at as usize..(at + n) as usize].fill(0);
            applied.changed = before != bytes;
            applied.at = at;
            applied.len = n;
            std::fs::write(&path, &bytes).unwrap();
        }
        Damage::Truncate => {
            let at = match rng.below(3) {
                0 => {
                    let back = 1 + rng.below(64.min(len));
                    len.saturating_sub(back)
                }
                _ => rng.below(len),
            };
            applied.at = at;
            applied.len = len - at;
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(at)
                .unwrap();
        }
        Damage::Append => {
            let max = if rng.below(2) == 0 { 64 } else { 5000 };
            let n = 1 + rng.below(max);
            let garbage: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            applied.at = len;
            applied.len = n;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(&garbage).unwrap();
        }
        Damage::Delete => {
            std::fs::remove_file(&path).unwrap();
        }
    }
    applied
}

// ---------------------------------------------------------------------------
// Opening and reading a damaged store.

#[derive(Debug, Clone, Copy)]
struct OpenSpec {
    dimension: u32,
    read_only: bool,
    create_if_missing: bool,
    durability: Durability,
}

impl OpenSpec {
    fn options(&self) -> Options {
        Options {
            durability: self.durability,
            read_only: self.read_only,
            create_if_missing: self.create_if_missing,
            ..Options::default()
        }
    }
}

/// What one trial saw.
#[derive(Debug, Default)]
struct Seen {
    /// `None`: opened; `Some(kind)`: the open failed.
    open_error: Option<ErrorKind>,
    open_message: String,
    /// Reads answered `Corrupt`.
    corrupt_reads: u64,
    /// Vectors returned and checked against the history.
    vectors_checked: u64,
}

/// Reads everything a store shows and checks it against the history. Returns
/// a description of the first violation.
fn check_reads(
    store: &Store,
    history: &History,
    extra: &[u64],
    seen: &mut Seen,
) -> Result<(), String> {
    let check = |id: u64, v: &[f32], how: &str| -> Result<(), String> {
        let b = bits(v);
        if history.get(&id).is_some_and(|h| h.contains(&b)) {
            Ok(())
        } else {
            Err(format!(
                "{how} returned for id {id} a vector no put wrote for it: {v:?}"
            ))
        }
    };
    let ids: Vec<u64> = history
        .keys()
        .copied()
        .chain(extra.iter().copied())
        .collect();
    let mut out = vec![0f32; DIM];
    for &id in &ids {
        match store.get(id, &mut out) {
            Ok(()) => {
                check(id, &out, "get")?;
                seen.vectors_checked += 1;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() == ErrorKind::Corrupt => seen.corrupt_reads += 1,
            Err(e) => return Err(format!("get {id}: unexpected error {:?}: {e}", e.kind())),
        }
        match store.get_ref(id) {
            Ok(guard) => {
                if guard.id() != id {
                    return Err(format!("get_ref {id} gave a guard for id {}", guard.id()));
                }
                check(id, guard.data(), "get_ref")?;
                seen.vectors_checked += 1;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() == ErrorKind::Corrupt => seen.corrupt_reads += 1,
            Err(e) => {
                return Err(format!(
                    "get_ref {id}: unexpected error {:?}: {e}",
                    e.kind()
                ))
            }
        }
    }
    let mut batch_out = vec![0f32; ids.len() * DIM];
    let mut found = vec![false; ids.len()];
    match store.get_batch(&ids, &mut batch_out, &mut found) {
        Ok(()) => {
            for (i, &id) in ids.iter().enumerate() {
                if found[i] {
                    check(id, &batch_out[i * DIM..(i + 1) * DIM], "get_batch")?;
                    seen.vectors_checked += 1;
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::Corrupt => seen.corrupt_reads += 1,
        Err(e) => return Err(format!("get_batch: unexpected error {:?}: {e}", e.kind())),
    }
    let len = store.len();
    let mut cursor = store.cursor();
    let mut ids_seen = BTreeSet::new();
    let mut steps = 0u64;
    loop {
        steps += 1;
        if steps > len + 1000 {
            return Err(format!(
                "cursor did not end after {steps} steps (len {len})"
            ));
        }
        match cursor.next() {
            Ok(Some((id, v))) => {
                check(id, v, "cursor")?;
                seen.vectors_checked += 1;
                if !ids_seen.insert(id) {
                    return Err(format!("cursor returned id {id} twice"));
                }
            }
            Ok(None) => break,
            Err(e) if e.kind() == ErrorKind::Corrupt => seen.corrupt_reads += 1,
            Err(e) => return Err(format!("cursor: unexpected error {:?}: {e}", e.kind())),
        }
    }
    Ok(())
}

/// Opens the damaged store and reads it; for a successful read-write open,
/// also writes, closes and reopens it.
fn open_and_read(
    dir: &Path,
    spec: OpenSpec,
    history: &History,
    new_id: u64,
) -> Result<Seen, String> {
    let mut seen = Seen::default();
    let store = match Store::open(dir, spec.dimension, &spec.options()) {
        Ok(store) => store,
        Err(e) => {
            seen.open_error = Some(e.kind());
            seen.open_message = e.to_string();
            return Ok(seen);
        }
    };
    if spec.dimension == 0 && store.dimension() != DIM as u32 {
        return Err(format!("opened with dimension {}", store.dimension()));
    }
    check_reads(&store, history, &[new_id, u64::MAX], &mut seen)?;
    if spec.read_only {
        return Ok(seen);
    }
    // The recovered store must keep working: write, close, reopen.
    // Open checks the checkpoint's hash table page by page as lookups reach
    // it (so that it costs the same at any size): a damaged page may first
    // show up here, as Corrupt, and then the store refuses to go on.
    let table_damage = |e: &vecstore::Error| {
        e.kind() == ErrorKind::Corrupt && e.to_string().contains("checkpoint's hash table")
    };
    let fresh = vector(new_id, 1);
    match store.put(new_id, &fresh) {
        Err(e) if table_damage(&e) => return Ok(seen),
        other => other.map_err(|e| format!("put after a successful open failed: {e}"))?,
    }
    match store.close() {
        Err(e) if table_damage(&e) => return Ok(seen),
        other => other.map_err(|e| format!("close after a successful open failed: {e}"))?,
    }
    let store = Store::open(dir, 0, &Options::default()).map_err(|e| {
        format!(
            "second open after a successful open failed: {:?}: {e}",
            e.kind()
        )
    })?;
    let mut history = history.clone();
    history.entry(new_id).or_default().insert(bits(&fresh));
    check_reads(&store, &history, &[], &mut seen)?;
    let mut out = vec![0f32; DIM];
    store
        .get(new_id, &mut out)
        .map_err(|e| format!("the vector written after recovery is unreadable: {e}"))?;
    if bits(&out) != bits(&fresh) {
        return Err("the vector written after recovery came back different".into());
    }
    store.close().map_err(|e| format!("second close: {e}"))?;
    Ok(seen)
}

/// Runs `f` on a thread; `Err` if it panics or exceeds the time bound.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let r = f();
        let _ = tx.send(());
        r
    });
    match rx.recv_timeout(TIME_BOUND) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => handle.join().map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("panicked: {msg}")
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("no answer within {TIME_BOUND:?} (hang)"))
        }
    }
}

/// Whether an open error is an honest answer to `damage`.
///
/// - `Corrupt` always: something failed validation.
/// - `NotFound` only when `index.vsi` is gone and the open may not create a
///   store (dimension 0, read-only, or `create_if_missing` off): without its
///   checkpoint the directory holds no store the library can name (a
///   read-write open with a dimension and `create_if_missing` gets `Corrupt`
///   when segment files remain); or for a read-only open of a directory whose
///   `LOCK` was deleted: a reader takes a shared lock on the existing file and
///   may not create it, and the engine reports a directory without `LOCK` as
///   "no store here" (noted in RELIABILITY.md).
/// - `ReadOnly` only for a read-only open: recovery would have to rewrite a
///   slot from the log (the damaged segment lacks bytes the log has).
/// - `VersionMismatch` never here: random damage cannot produce a header with
///   a valid checksum and another version (the header CRC is checked first);
///   `version_bump_is_version_mismatch` covers that answer.
fn allowed_open_error(kind: ErrorKind, damage: &[Applied], spec: OpenSpec) -> bool {
    let deleted = |name: &str| {
        damage
            .iter()
            .any(|d| d.file == name && d.damage == Damage::Delete)
    };
    match kind {
        ErrorKind::Corrupt => true,
        ErrorKind::NotFound => {
            deleted("index.vsi")
                && (spec.dimension == 0 || spec.read_only || !spec.create_if_missing)
                || spec.read_only && deleted("LOCK")
        }
        ErrorKind::ReadOnly => spec.read_only,
        _ => false,
    }
}

use vecstore::layout::segment::{self, slot, HEADER_BYTES};
use vecstore::layout::{header, log::record, log::RECORD_ALIGN};
/// Bytes before the first record of `wal.log`.
const LOG_HEADER: usize = vecstore::layout::log::HEADER_LEN;

/// A record of an undamaged `wal.log`.
struct LogRecord {
    at: u64,
    len: u64,
    /// Log bytes that were durable when the record was sealed.
    synced_through: u64,
}

/// Records of an undamaged `wal.log` (a header of `record::LEN` bytes,
/// then the payload; records padded to `RECORD_ALIGN` bytes).
fn log_records(bytes: &[u8]) -> Vec<LogRecord> {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = LOG_HEADER;
    while pos + record::LEN <= bytes.len() {
        let len = (record::LEN + u64_at(pos + record::PAYLOAD_LEN) as usize)
            .next_multiple_of(RECORD_ALIGN);
        if pos + len > bytes.len() {
            break;
        }
        out.push(LogRecord {
            at: pos as u64,
            len: len as u64,
            synced_through: u64_at(pos + record::SYNCED_THROUGH),
        });
        pos += len;
    }
    out
}

/// Whether damage to the log hit a record that an intact later record says
/// was already synced (I2: then the open must be `Corrupt`; damage past the
/// last synced byte is a torn tail, whatever follows it).
fn log_damage_to_synced_record(original: &[u8], d: &Applied) -> bool {
    if d.file != "wal.log" || !d.changed {
        return false;
    }
    let (first, end) = match d.damage {
        Damage::Flip | Damage::Zero => (d.at, d.at + d.len),
        _ => return false,
    };
    if first < LOG_HEADER as u64 {
        return false; // header damage: the whole log is refused
    }
    let records = log_records(original);
    let Some(damaged) = records.iter().find(|r| r.at < end && first < r.at + r.len) else {
        return false;
    };
    records
        .iter()
        .any(|r| r.at >= end && r.synced_through > damaged.at)
}

// ---------------------------------------------------------------------------
// The child: every trial.

#[derive(Default)]
struct Tally {
    /// (file kind, damage) → trials.
    damaged: BTreeMap<(String, String), u64>,
    /// (file kind, damage) → outcome → trials.
    outcomes: BTreeMap<(String, String), BTreeMap<String, u64>>,
    outcome_totals: BTreeMap<String, u64>,
    corrupt_reads: u64,
    vectors_checked: u64,
    failed_opens_checked: u64,
    no_change: u64,
    files_damaged: u64,
    repaired_then_refused: Vec<String>,
    log_i2: Vec<String>,
}

fn outcome_name(seen: &Seen) -> String {
    match seen.open_error {
        None if seen.corrupt_reads > 0 => "opened, some reads Corrupt".into(),
        None => "opened, all reads intact".into(),
        Some(kind) => format!("open {kind:?}"),
    }
}

fn run_trials(trials: u64, seed: u64) -> Tally {
    let root = test_root();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let templates: Vec<Template> = [Durability::Fsync, Durability::Flush, Durability::None]
        .into_iter()
        .flat_map(|m| [(m, false), (m, true)])
        .map(|(m, killed)| build_template(root.path(), m, killed, rng.next()))
        .collect();
    let mut tally = Tally::default();
    let verbose = std::env::var_os("VECSTORE_CORRUPTION_VERBOSE").is_some();
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    for trial in 0..trials {
        let t = &templates[(trial % templates.len() as u64) as usize];
        let work = root.path().join(format!("trial-{trial}"));
        copy_dir(&t.dir, &work);
        let original = snapshot(&work);
        let names: Vec<String> = original.keys().cloned().collect();
        // Round-robin over files and damages so each gets its share; one trial
        // in eight damages a second file too.
        let first = &names[((trial / templates.len() as u64) as usize) % names.len()];
        let mut targets = vec![first.clone()];
        if rng.below(8) == 0 && names.len() > 1 {
            let other = &names[rng.below(names.len() as u64) as usize];
            if other != first {
                targets.push(other.clone());
            }
        }
        let mut applied = Vec::new();
        for name in &targets {
            let empty = original[name].is_empty();
            let damage = if empty {
                // Nothing to flip, zero or cut in an empty file.
                [Damage::Append, Damage::Delete][rng.below(2) as usize]
            } else {
                DAMAGES[rng.below(5) as usize]
            };
            applied.push(apply_damage(&mut rng, &work, name, damage));
        }
        let spec = match rng.below(4) {
            0 => OpenSpec {
                dimension: 0,
                read_only: true,
                create_if_missing: false,
                durability: Durability::Fsync,
            },
            1 => OpenSpec {
                dimension: DIM as u32,
                read_only: false,
                create_if_missing: true,
                durability: Durability::Flush,
            },
            2 => OpenSpec {
                dimension: DIM as u32,
                read_only: false,
                create_if_missing: false,
                durability: Durability::None,
            },
            _ => OpenSpec {
                dimension: 0,
                read_only: false,
                create_if_missing: true,
                durability: Durability::Fsync,
            },
        };
        let desc = format!(
            "trial {trial}: store {}, damage {}, open {spec:?}",
            t.name,
            applied
                .iter()
                .map(|a| format!("{:?} {} at {} len {}", a.damage, a.file, a.at, a.len))
                .collect::<Vec<_>>()
                .join(" + ")
        );
        writeln!(out, "T {desc}").unwrap();
        out.flush().unwrap();
        let damaged = snapshot(&work);
        let history = t.history.clone();
        let dir = work.clone();
        let new_id = 1_000_000 + trial;
        let seen = match bounded(move || open_and_read(&dir, spec, &history, new_id)) {
            Ok(Ok(seen)) => seen,
            Ok(Err(violation)) | Err(violation) => {
                panic!("{desc}: {violation} (replay with VECSTORE_CORRUPTION_SEED={seed})")
            }
        };
        if let Some(kind) = seen.open_error {
            assert!(
                allowed_open_error(kind, &applied, spec),
                "{desc}: open failed with {kind:?}, not an honest answer to this damage: {} \
                 (replay with VECSTORE_CORRUPTION_SEED={seed})",
                seen.open_message
            );
            // A failed open modifies nothing (a missing LOCK may be created).
            let after = snapshot(&work);
            for (name, bytes) in &damaged {
                if after.get(name) != Some(bytes)
                    && kind == ErrorKind::Corrupt
                    && name.starts_with("seg-")
                    && after.get(name) == original.get(name)
                {
                    // Replay rewrote a damaged slot from the log (restoring
                    // the exact original bytes) before it found the damage
                    // that refuses the open: see
                    // failed_open_modifies_nothing_even_after_replay_repairs.
                    tally.repaired_then_refused.push(desc.clone());
                    continue;
                }
                assert!(
                    after.get(name) == Some(bytes),
                    "{desc}: the failed open ({kind:?}) changed or removed {name} \
                     (replay with VECSTORE_CORRUPTION_SEED={seed})"
                );
            }
            for name in after.keys() {
                assert!(
                    damaged.contains_key(name) || name == "LOCK",
                    "{desc}: the failed open ({kind:?}) created {name} \
                     (replay with VECSTORE_CORRUPTION_SEED={seed})"
                );
            }
            if tally.repaired_then_refused.last() != Some(&desc) {
                tally.failed_opens_checked += 1;
            }
        } else {
            // A damaged LOCK is no reason to refuse a store; any other
            // successful open after damage to synced log records breaks I2
            // (recorded, see log_damage_followed_by_valid_records_is_corrupt).
            for a in &applied {
                if log_damage_to_synced_record(&original["wal.log"], a) {
                    tally.log_i2.push(desc.clone());
                }
            }
        }
        if applied.iter().all(|a| a.file == "LOCK") && !spec.read_only {
            assert!(
                seen.open_error.is_none(),
                "{desc}: a damaged LOCK file refused the store: {}",
                seen.open_message
            );
        }
        let outcome = outcome_name(&seen);
        if verbose {
            eprintln!("{desc}: {outcome} {}", seen.open_message);
        }
        // Two-file trials are tallied apart: their outcome belongs to neither.
        let key = match &applied[..] {
            [a] => (
                file_kind(&a.file).to_string(),
                format!("{:?}", a.damage).to_lowercase(),
            ),
            _ => ("2 files".to_string(), "mixed".to_string()),
        };
        *tally.damaged.entry(key.clone()).or_default() += 1;
        *tally
            .outcomes
            .entry(key)
            .or_default()
            .entry(outcome.clone())
            .or_default() += 1;
        tally.files_damaged += applied.len() as u64;
        tally.no_change += applied.iter().filter(|a| !a.changed).count() as u64;
        *tally.outcome_totals.entry(outcome).or_default() += 1;
        tally.corrupt_reads += seen.corrupt_reads;
        tally.vectors_checked += seen.vectors_checked;
        std::fs::remove_dir_all(&work).unwrap();
    }
    tally
}

#[test]
#[ignore = "child process of random_damage_never_yields_wrong_vectors; runs only when spawned"]
fn corruption_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (trials, seed) = spec.split_once(' ').unwrap();
    let (trials, seed): (u64, u64) = (trials.parse().unwrap(), seed.parse().unwrap());
    let started = Instant::now();
    let tally = run_trials(trials, seed);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "R per damaged file kind and damage (trials: outcomes); two-file trials apart:"
    )
    .unwrap();
    for (key, n) in &tally.damaged {
        let outcomes = tally.outcomes[key]
            .iter()
            .map(|(o, c)| format!("{o} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(out, "R   {:<10} {:<9} {n:>5}: {outcomes}", key.0, key.1).unwrap();
    }
    if !tally.repaired_then_refused.is_empty() {
        writeln!(
            out,
            "R {} failed opens (Corrupt) had first rewritten a damaged segment slot from the log, e.g.: {}",
            tally.repaired_then_refused.len(),
            tally.repaired_then_refused[0]
        )
        .unwrap();
    }
    if !tally.log_i2.is_empty() {
        writeln!(
            out,
            "R {} opens succeeded although the log damage was followed by intact records (I2), e.g.: {}",
            tally.log_i2.len(),
            tally.log_i2[0]
        )
        .unwrap();
    }
    writeln!(
        out,
        "R corruption test: {trials} trials, VECSTORE_CORRUPTION_SEED={seed}: {} file damages \
         ({} left the bytes unchanged); outcomes: {}; {} failed opens left every file byte-identical; \
         {} vectors checked bit-identical to a written one, {} reads answered Corrupt; \
         0 panics, 0 hangs, 0 wrong vectors; {:.1} s",
        tally.files_damaged,
        tally.no_change,
        tally
            .outcome_totals
            .iter()
            .map(|(o, c)| format!("{o} {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        tally.failed_opens_checked,
        tally.vectors_checked,
        tally.corrupt_reads,
        started.elapsed().as_secs_f64()
    )
    .unwrap();
}

#[test]
fn random_damage_never_yields_wrong_vectors() {
    let soak = soak();
    let trials: u64 =
        env_u64("VECSTORE_CORRUPTION_TRIALS").unwrap_or(if soak { 200_000 } else { 5_000 });
    let seed: u64 = seed_from_env("VECSTORE_CORRUPTION_SEED");
    eprintln!("corruption test: {trials} trials, VECSTORE_CORRUPTION_SEED={seed}");
    let out = child::command("corruption_child_process")
        .env(CHILD_ENV, format!("{trials} {seed}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let last = stdout
            .lines()
            .rfind(|l| l.starts_with("T "))
            .unwrap_or("(before the first trial)");
        panic!(
            "the corruption child failed ({}) during {last}\nreplay with VECSTORE_CORRUPTION_SEED={seed}\n\
             child stderr:\n{stderr}",
            out.status
        );
    }
    let report: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("R "))
        .collect();
    assert!(
        report.iter().any(|l| l.starts_with("corruption test:")),
        "the child ran no trials:\n{stdout}\n{stderr}"
    );
    for line in report {
        eprintln!("{line}");
    }
}

// ---------------------------------------------------------------------------
// Targeted cases.

/// A valid header of another format version is `VersionMismatch`, not
/// `Corrupt`, for each kind of file; and the open changes nothing.
#[test]
fn version_bump_is_version_mismatch() {
    let root = test_root();
    let t = build_template(root.path(), Durability::Flush, true, 7);
    // (file, header length).
    let mut cases = vec![
        (
            "index.vsi".to_string(),
            vecstore::layout::checkpoint::HEADER_LEN,
        ),
        ("wal.log".to_string(), LOG_HEADER),
    ];
    for name in snapshot(&t.dir).keys().filter(|n| n.starts_with("seg-")) {
        cases.push((name.clone(), segment::HEADER_LEN));
    }
    for (name, header_len) in cases {
        let dir = root.path().join(format!("bump-{name}"));
        copy_dir(&t.dir, &dir);
        let path = dir.join(&name);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[header::VERSION..header::DIMENSION]
            .copy_from_slice(&(vecstore::FORMAT_VERSION + 1).to_le_bytes());
        let crc_at = header_len - header::CRC_LEN;
        let crc = crc32(&[&bytes[..crc_at]]);
        bytes[crc_at..header_len].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let before = snapshot(&dir);
        for read_only in [false, true] {
            let options = Options {
                read_only,
                ..Options::default()
            };
            let err = Store::open(&dir, 0, &options)
                .err()
                .unwrap_or_else(|| panic!("{name}: opened"));
            assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{name}: {err}");
            assert_eq!(
                snapshot(&dir),
                before,
                "{name}: the failed open changed files"
            );
        }
    }
}

/// Builds a store whose log holds `records` single-put records after its
/// checkpoint, as a killed process leaves it; returns the directory, the
/// log's records and the history.
fn store_with_log(
    root: &Path,
    mode: Durability,
    records: u64,
) -> (PathBuf, Vec<LogRecord>, History) {
    let live = root.join("live");
    let options = Options {
        durability: mode,
        ..Options::default()
    };
    let store = Store::open(&live, DIM as u32, &options).unwrap();
    let mut history = History::new();
    for id in 0..records {
        store.put(id, &vector(id, 1)).unwrap();
        history.entry(id).or_default().insert(bits(&vector(id, 1)));
    }
    let dir = root.join("killed");
    copy_dir(&live, &dir);
    drop(store);
    let records = log_records(&std::fs::read(dir.join("wal.log")).unwrap());
    (dir, records, history)
}

/// I2: damage to synced records followed by valid records is `Corrupt`.
/// Zeroing one record in the middle of an FSYNC log is caught; zeroing two
/// or three consecutive ones (a lost 4 KiB page spans dozens of small
/// records) must be too.
#[test]
fn log_damage_followed_by_valid_records_is_corrupt() {
    for zeroed in 1..=3usize {
        let root = test_root();
        let (dir, records, _) = store_with_log(root.path(), Durability::Fsync, 8);
        assert_eq!(records.len(), 8);
        let path = dir.join("wal.log");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = &records[2 + zeroed - 1];
        bytes[records[2].at as usize..(last.at + last.len) as usize].fill(0);
        std::fs::write(&path, &bytes).unwrap();
        let before = snapshot(&dir);
        let result = Store::open(&dir, 0, &Options::default());
        match result {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corrupt, "{zeroed} records zeroed: {e}");
                assert_eq!(snapshot(&dir), before);
            }
            Ok(store) => panic!(
                "{zeroed} whole records zeroed in the middle of the log, {} intact records after \
                 them: the open succeeded with {} vectors instead of failing with Corrupt",
                8 - 2 - zeroed,
                store.len()
            ),
        }
    }
}

/// The same damage in a FLUSH log that was never synced is what a power cut
/// during unsynced appends can leave (any subset of their sectors): a torn
/// tail, not corruption. The store opens with the records before it.
#[test]
fn unsynced_log_damage_followed_by_valid_records_is_a_torn_tail() {
    let root = test_root();
    let (dir, records, history) = store_with_log(root.path(), Durability::Flush, 8);
    let path = dir.join("wal.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[records[2].at as usize..(records[2].at + records[2].len) as usize].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(&dir, 0, &Options::default()).unwrap();
    assert_eq!(store.len(), 2);
    let mut seen = Seen::default();
    check_reads(&store, &history, &[], &mut seen).unwrap();
    assert_eq!(seen.corrupt_reads, 0);
}

/// I2 again: one damaged record, the first after a checkpoint, followed by
/// intact records that say it was synced. Recovery once guessed the damaged
/// record's number as 1 instead of the checkpoint's lsn + 1, and missed the
/// intact records after it.
#[test]
fn damaged_first_record_after_checkpoint_is_corrupt() {
    let root = test_root();
    let live = root.path().join("live");
    let store = Store::open(&live, DIM as u32, &Options::default()).unwrap();
    for id in 0..5 {
        store.put(id, &vector(id, 1)).unwrap();
    }
    store.checkpoint().unwrap();
    for id in 5..10 {
        store.put(id, &vector(id, 1)).unwrap();
    }
    let dir = root.path().join("killed");
    copy_dir(&live, &dir);
    drop(store);
    let path = dir.join("wal.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let records = log_records(&bytes);
    assert_eq!(records.len(), 5);
    bytes[records[0].at as usize + record::LEN + 4] ^= 0x01; // inside the first record's payload
    std::fs::write(&path, &bytes).unwrap();
    match Store::open(&dir, 0, &Options::default()) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}"),
        Ok(store) => panic!(
            "the first record after the checkpoint is damaged and 4 intact ones follow: \
             the open succeeded with {} vectors instead of failing with Corrupt",
            store.len()
        ),
    }
}

/// The same damage at the very end of the log is a torn tail: the open
/// succeeds with the records before it.
#[test]
fn zeroed_log_tail_is_a_torn_tail() {
    let root = test_root();
    let (dir, records, history) = store_with_log(root.path(), Durability::Fsync, 8);
    let path = dir.join("wal.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let end = bytes.len();
    bytes[records[5].at as usize..end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(&dir, 0, &Options::default()).unwrap();
    assert_eq!(store.len(), 5);
    let mut seen = Seen::default();
    check_reads(&store, &history, &[], &mut seen).unwrap();
    assert_eq!(seen.corrupt_reads, 0);
}

/// A failed open changes nothing (the header: `VECSTORE_CORRUPT` "nothing was
/// modified"). Minimal case: a killed FLUSH store whose log names slots in
/// segments 1 and 2; one slot of segment 1 is damaged and segment 2 is
/// deleted. Replay rewrites the damaged slot of segment 1 from the log, then
/// finds segment 2 missing and fails with `Corrupt`, leaving segment 1
/// modified.
#[test]
fn failed_open_modifies_nothing_even_after_replay_repairs() {
    let root = test_root();
    let live = root.path().join("live");
    let options = Options {
        durability: Durability::Flush,
        initial_capacity: 4,
        ..Options::default()
    };
    let store = Store::open(&live, DIM as u32, &options).unwrap();
    for id in 0..8 {
        store.put(id, &vector(id, 1)).unwrap(); // slots 0..4 of seg 1, then seg 2
    }
    let dir = root.path().join("killed");
    copy_dir(&live, &dir);
    drop(store);
    let seg1 = dir.join("seg-0000000001.vec");
    let mut bytes = std::fs::read(&seg1).unwrap();
    // The second float of slot 0.
    bytes[HEADER_BYTES as usize + slot::VECTOR + segment::FLOAT_LEN] ^= 0x01;
    std::fs::write(&seg1, &bytes).unwrap();
    std::fs::remove_file(dir.join("seg-0000000002.vec")).unwrap();
    let before = snapshot(&dir);
    let err = Store::open(&dir, 0, &Options::default())
        .err()
        .expect("segment 2 is missing");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    let after = snapshot(&dir);
    for (name, bytes) in &before {
        assert!(
            after.get(name) == Some(bytes),
            "the failed open ({err}) modified {name}"
        );
    }
}

/// Finding 3 of the outside review, end to end: a batch whose floats spell a
/// whole valid log record (this log's own salt, read from the file as only
/// someone with access to the store's files could; the next sequence number;
/// a synced-through mark past everything; right checksums), torn by a kill
/// during its `pwrite`. The torn batch must be dropped as a torn tail, not
/// make the store unopenable: a record whose header is intact is skipped by
/// its length, so vector bytes are never read as log structure.
#[test]
fn vector_bytes_spelling_a_record_never_make_a_store_unopenable() {
    // One vector = one record header + an 8-byte payload.
    const D: usize = (record::LEN + record::PAYLOAD_WORD) / segment::FLOAT_LEN;
    let root = test_root();
    let live = root.path().join("live");
    let store = Store::open(&live, D as u32, &Options::default()).unwrap();
    let base: Vec<f32> = (0..D).map(|i| i as f32).collect();
    store.put(1, &base).unwrap();
    // The salt's words must be finite floats to be stored; a checkpoint
    // starts a new log generation with a new salt.
    let salt = loop {
        let log = std::fs::read(live.join("wal.log")).unwrap();
        let salt_at = vecstore::layout::log::SALT;
        let salt = u64::from_le_bytes(log[salt_at..salt_at + 8].try_into().unwrap());
        let finite = |w: u64| f32::from_bits(w as u32).is_finite();
        if finite(salt) && finite(salt >> 32) {
            break salt;
        }
        store.checkpoint().unwrap();
    };
    let next_lsn = 3u64; // put 1 is record 1, the batch record 2
                         // The forged record deletes one id; which one is varied until both its
                         // checksums, too, are finite floats.
    let forged = (0u64..)
        .find_map(|id| {
            let payload = id.to_le_bytes();
            let mut salted = salt.to_le_bytes().to_vec();
            salted.extend_from_slice(&payload);
            let payload_crc = crc32(&[&salted]);
            use record::*;
            let mut h = vec![0u8; LEN];
            h[SALT..HEADER_CRC].copy_from_slice(&salt.to_le_bytes());
            h[KIND..LSN].copy_from_slice(&DELETES.to_le_bytes());
            h[LSN..PAYLOAD_LEN].copy_from_slice(&next_lsn.to_le_bytes());
            h[PAYLOAD_LEN..COUNT].copy_from_slice(&(payload.len() as u64).to_le_bytes());
            h[COUNT..SYNCED_THROUGH].copy_from_slice(&1u64.to_le_bytes());
            h[SYNCED_THROUGH..PAYLOAD_CRC].copy_from_slice(&(1u64 << 40).to_le_bytes());
            h[PAYLOAD_CRC..RESERVED].copy_from_slice(&payload_crc.to_le_bytes());
            let header_crc = crc32(&[&h[..HEADER_CRC], &h[KIND..]]);
            h[HEADER_CRC..KIND].copy_from_slice(&header_crc.to_le_bytes());
            h.extend_from_slice(&payload);
            let floats: Vec<f32> = h
                .chunks_exact(4)
                .map(|w| f32::from_bits(u32::from_le_bytes(w.try_into().unwrap())))
                .collect();
            floats.iter().all(|f| f.is_finite()).then_some(floats)
        })
        .unwrap();
    let ids = [10u64, 11, 12, 13];
    let mut batch = Vec::new();
    for (i, _) in ids.iter().enumerate() {
        batch.extend(if i == 1 { forged.clone() } else { base.clone() });
    }
    store.put_batch(&ids, &batch).unwrap();
    let dir = root.path().join("killed");
    copy_dir(&live, &dir);
    drop(store);
    // A kill during the batch's pwrite: the log ends inside the record,
    // after the forged bytes.
    let path = dir.join("wal.log");
    let log = std::fs::read(&path).unwrap();
    let batch_at = log_records(&log).last().unwrap().at as usize;
    let forged_at = (batch_at..log.len())
        .step_by(RECORD_ALIGN)
        .find(|&at| log[at..at + 8] == salt.to_le_bytes() && at != batch_at)
        .expect("the forged record is in the log");
    let forged_len = record::LEN + record::PAYLOAD_WORD;
    std::fs::write(&path, &log[..forged_at + forged_len + 8]).unwrap();
    let store = Store::open(&dir, 0, &Options::default()).unwrap_or_else(|e| {
        panic!("a torn batch with forged bytes made the store unopenable: {e}")
    });
    assert!(store.contains(1));
    assert!(
        ids.iter().all(|&id| !store.contains(id)),
        "the torn batch was applied"
    );
}
