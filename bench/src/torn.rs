//! Open after a torn batch. The issue asks for "open after a torn 512 MiB
//! batch within 2x the time of reading the log once".
//!
//! A child process builds a store in FLUSH mode: a checkpoint, then log
//! records after it (puts, overwrites, deletes), then one `put_batch` whose
//! log record is about 512 MiB (`--quick`: 16 MiB). The child exits without
//! closing the store, so its files are what a kill right after the batch's
//! `pwrite` returned leaves (FLUSH writes are in the kernel on return). The
//! variants are derived from those files, as a kill or power cut during the
//! `pwrite` would leave them:
//!
//! - `whole`: the record intact (the reference: the open replays the batch);
//! - `cut`: the log cut in the middle of the record (a kill during the
//!   `pwrite`: the kernel had copied a prefix of the buffer);
//! - `holes`: the log at full length with 16 sectors of 4 KiB zeroed inside the
//!   payload (a power cut: some sectors never reached the disk);
//! - `nohdr`: the record's 56-byte header zeroed, so the scan searches the
//!   whole payload, 8 bytes at a time, for a later record.
//!
//! For each variant: the median time of `std::fs::read` of its log (warm
//! cache), and the median time of `Store::open` (read-write, the real
//! recovery: it cuts the tail, deletes the orphan segment the batch had
//! grown, and checkpoints), of `vecstore_open` (the C ABI entry point,
//! called directly from Rust: the harness links the library statically, not
//! the cdylib), and of a read-only `Store::open` (the scan alone, nothing
//! written). Each read-write open gets a fresh copy of the log (the other
//! files are hard links: the open replaces `index.vsi` by rename and only
//! unlinks the orphan segment, so the shared inodes stay as they were), then
//! `sync`, then the timed open. After every open the contents are checked:
//! a torn batch must be absent and everything before it present.

use std::ffi::CString;
use std::hint::black_box;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use vecstore::{Durability, Options, Store};

use crate::data::Rng;
use crate::engines::vecstore::{vector_log_bytes, Vecstore, RECORD_HEADER};
use crate::engines::{Engine, Result};
use crate::report::{ratio, SizeReport, Target};
use crate::results::{metric, Results, LIMIT};
use crate::util::{child_output, sync_all, timed, TempDir};

/// The flag that makes the binary run [`child_main`].
pub const CHILD_FLAG: &str = "--torn-child";

const LOG: &str = Vecstore::LOG_FILE.unwrap();
/// Sector size of the damage in `holes`.
const SECTOR: u64 = 4096;
/// Sectors zeroed in `holes`.
const HOLE_SECTORS: u64 = 16;

// The store before the batch (ids and the generation of their vectors):
/// Ids `0..CHECKPOINTED`, generation 1, then a checkpoint.
const CHECKPOINTED: u64 = 4000;
/// Ids `CHECKPOINTED..LOGGED`, generation 1, in the log only.
const LOGGED: u64 = 5000;
/// Ids `0..OVERWRITTEN` overwritten with generation 2, in the log only.
const OVERWRITTEN: u64 = 100;
/// Ids `OVERWRITTEN..DELETED` deleted, in the log only.
const DELETED: u64 = 200;
/// Vectors before the batch.
const BEFORE: u64 = LOGGED - (DELETED - OVERWRITTEN);
/// The batch (generation 3): ids `0..50` (overwrites), `100..150` (deleted
/// before, so back), and the rest new, from `NEW_IDS` on.
const NEW_IDS: u64 = 1 << 32;

/// The batch's ids.
fn batch_ids(n: usize) -> Vec<u64> {
    let old = (0..OVERWRITTEN / 2).chain(OVERWRITTEN..OVERWRITTEN + (DELETED - OVERWRITTEN) / 2);
    let old: Vec<u64> = old.collect();
    let new = (n - old.len()) as u64;
    old.into_iter().chain(NEW_IDS..NEW_IDS + new).collect()
}

/// Vectors after the batch, if it is whole.
fn after(n: usize) -> u64 {
    // The batch re-adds 50 deleted ids and adds n - 100 new ones.
    BEFORE + (DELETED - OVERWRITTEN) / 2 + n as u64 - OVERWRITTEN
}

/// The vector of `id` in generation `generation`.
fn vector(id: u64, generation: u64, dim: usize, out: &mut Vec<f32>) {
    let mut rng = Rng::new(id.wrapping_mul(8) ^ generation);
    out.extend((0..dim).map(|_| rng.unit_f32()));
}

/// Ids to check after an open, with the generation each must hold (`None`:
/// absent), if the batch is whole or not.
fn expectations(n: usize, whole: bool) -> Vec<(u64, Option<u64>)> {
    let batch = |before: Option<u64>| if whole { Some(3) } else { before };
    let last_new = NEW_IDS + n as u64 - OVERWRITTEN - 1;
    vec![
        (0, batch(Some(2))),
        (OVERWRITTEN / 2 - 1, batch(Some(2))),
        (OVERWRITTEN / 2, Some(2)),
        (OVERWRITTEN - 1, Some(2)),
        (OVERWRITTEN, batch(None)),
        (DELETED - 1, None),
        (DELETED, Some(1)),
        (CHECKPOINTED - 1, Some(1)),
        (CHECKPOINTED, Some(1)),
        (LOGGED - 1, Some(1)),
        (LOGGED, None),
        (NEW_IDS, batch(None)),
        (last_new, batch(None)),
        (last_new + 1, None),
    ]
}

/// Vectors per batch so that its log record is about `record_bytes`.
fn batch_len(record_bytes: u64, dim: usize) -> usize {
    (record_bytes / vector_log_bytes(dim)) as usize
}

fn record_len(n: usize, dim: usize) -> u64 {
    (RECORD_HEADER + n as u64 * vector_log_bytes(dim)).next_multiple_of(8)
}

// ---- the child: builds the store and exits without closing it --------------

/// Child side: `DIR DIM N`; prints the log's length before and after the batch.
pub fn child_main(args: &[String]) -> Result<()> {
    let [dir, dim, n] = args else {
        return Err("usage: --torn-child DIR DIM N".into());
    };
    let (dim, n): (usize, usize) = (dim.parse()?, n.parse()?);
    let options = Options {
        durability: Durability::Flush,
        // The batch alone nears the default threshold: a checkpoint after it
        // would trim the log the benchmark is about.
        auto_checkpoint_log_bytes: u64::MAX,
        ..Options::default()
    };
    let store = Store::open(dir, dim as u32, &options)?;
    let mut flat = Vec::new();
    let mut put = |ids: &[u64], generation: u64| -> Result<()> {
        flat.clear();
        for &id in ids {
            vector(id, generation, dim, &mut flat);
        }
        Ok(store.put_batch(ids, &flat)?)
    };
    let ids: Vec<u64> = (0..LOGGED).collect();
    for chunk in ids[..CHECKPOINTED as usize].chunks(1000) {
        put(chunk, 1)?;
    }
    store.checkpoint()?;
    put(&ids[CHECKPOINTED as usize..], 1)?;
    put(&ids[..OVERWRITTEN as usize], 2)?;
    store.delete_batch(&ids[OVERWRITTEN as usize..DELETED as usize])?;
    let log = Path::new(dir).join(LOG);
    let before = std::fs::metadata(&log)?.len();
    put(&batch_ids(n), 3)?;
    let after = std::fs::metadata(&log)?.len();
    println!("{before} {after}");
    // Exit without closing: no checkpoint, the log stays as the batch left it.
    std::process::exit(0)
}

// ---- the parent: variants, timings, checks -----------------------------------

/// What to measure.
pub struct Plan {
    pub record_bytes: u64,
    pub dim: usize,
    /// Timed runs of each kind (median kept); the C ABI gets `runs.min(3)`.
    pub runs: usize,
}

struct Variant {
    key: &'static str,
    whole: bool,
    target: &'static str,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        key: "whole",
        whole: true,
        target: "",
    },
    Variant {
        key: "cut",
        whole: false,
        target: "open after a torn batch (log cut mid-record) within 2x reading the log once",
    },
    Variant {
        key: "holes",
        whole: false,
        target: "open after a torn batch (4 KiB sectors zeroed) within 2x reading the log once",
    },
    Variant {
        key: "nohdr",
        whole: false,
        target: "open after a torn batch (record header zeroed) within 2x reading the log once",
    },
];

/// Builds the store, derives the variants and times them.
pub fn run(plan: &Plan, root: &Path) -> Result<SizeReport> {
    let (dim, runs) = (plan.dim, plan.runs.max(1));
    let n = batch_len(plan.record_bytes, dim);
    let progress = |what: &str| eprintln!("[torn {n}x{dim}] {what}");
    let scratch = TempDir::new(root, "torn")?;
    let base = TempDir::new(scratch.path(), "base")?;
    progress("writing the store (child process)");
    let text = child_output(
        "torn",
        Command::new(std::env::current_exe()?)
            .arg(CHILD_FLAG)
            .arg(base.path())
            .args([dim.to_string(), n.to_string()]),
    )?;
    let (start, end) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("torn child printed {text:?}"))?;
    let (start, end): (u64, u64) = (start.parse()?, end.parse()?);
    let mut res = Results::default();
    if end - start != record_len(n, dim) {
        res.notes.push(format!(
            "torn: the batch took {} log bytes, expected {} from format 2",
            end - start,
            record_len(n, dim)
        ));
    }

    let mut targets = Vec::new();
    for v in &VARIANTS {
        progress(&format!("variant {}", v.key));
        let dir = TempDir::new(scratch.path(), v.key)?;
        link_store(base.path(), dir.path())?;
        damage(v.key, &dir.path().join(LOG), start, end)?;
        sync_all();
        let log_bytes = std::fs::metadata(dir.path().join(LOG))?.len();
        let expected = if v.whole { after(n) } else { BEFORE };
        let checks = expectations(n, v.whole);
        let mut check = |how: &str, outcome: std::result::Result<(), String>| {
            if let Err(e) = outcome {
                res.notes.push(format!("torn {} ({how}): {e}", v.key));
            }
        };

        // Reading the log once.
        let log = dir.path().join(LOG);
        black_box(std::fs::read(&log)?.len());
        let read = median((0..runs).map(|_| timed(|| std::fs::read(&log)).1));

        // Read-write opens, through the Rust API and the C ABI.
        let mut rust = Vec::new();
        let mut count = None;
        for _ in 0..runs {
            let run = fresh_copy(scratch.path(), dir.path())?;
            let (store, secs) = timed(|| Store::open(run.path(), dim as u32, &flush()));
            match store {
                Ok(store) => {
                    rust.push(secs);
                    count = Some(store.len());
                    check("open", verify(&store, expected, &checks, dim));
                    store.close()?;
                    // The recovered store opens again, as it is.
                    let again = Store::open(run.path(), dim as u32, &flush())?;
                    check("reopen", verify(&again, expected, &checks, dim));
                    again.close()?;
                }
                Err(e) => check("open", Err(format!("open failed: {e}"))),
            }
        }
        let mut cabi = Vec::new();
        for _ in 0..runs.min(3) {
            let run = fresh_copy(scratch.path(), dir.path())?;
            let (opened, secs) = timed(|| c_open(run.path(), dim));
            match opened {
                Ok(handle) => {
                    cabi.push(secs);
                    check("C ABI open", c_verify(handle, expected, &checks));
                    vecstore::ffi::vecstore_close(handle);
                }
                Err(e) => check("C ABI open", Err(e)),
            }
        }
        // Read-only opens of the variant itself (they write nothing); last,
        // so they would also show any change the hard-linked opens made.
        let mut ro = Vec::new();
        let read_only = Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        };
        for _ in 0..runs {
            let (store, secs) = timed(|| Store::open(dir.path(), dim as u32, &read_only));
            match store {
                Ok(store) => {
                    ro.push(secs);
                    check("read-only open", verify(&store, expected, &checks, dim));
                }
                Err(e) => check("read-only open", Err(format!("open failed: {e}"))),
            }
        }

        // Rows `torn_{variant}_{row}` (results.rs).
        let key = |row: &str| metric(&format!("torn_{}_{row}", v.key)).key;
        let read_ms = read * 1e3;
        let log_mib = log_bytes as f64 / (1 << 20) as f64;
        let mut set = |row, secs: &[f64]| {
            let ms = (!secs.is_empty()).then(|| median(secs.iter().copied()) * 1e3);
            if let Some(ms) = ms {
                res.set(key(row), 0, ms);
                res.set(key(row), LIMIT, read_ms);
            }
            ms
        };
        let open_ms = set("open", &rust);
        set("cabi", &cabi);
        set("ro", &ro);
        let open_ratio = open_ms.map(|ms| ms / read_ms);
        if let Some(r) = open_ratio {
            res.set(key("ratio"), 0, r);
        }
        res.set(key("log"), 0, log_mib);
        if let Some(c) = count {
            res.set(key("count"), 0, c as f64);
        }
        if !v.target.is_empty() {
            targets.push(Target {
                name: v.target,
                measured: format!(
                    "{} ms open vs {} ms read of {log_mib:.1} MiB ({})",
                    fmt_ms(open_ms),
                    fmt_ms(Some(read_ms)),
                    ratio(open_ratio)
                ),
                met: open_ratio.map(|r| r <= 2.0),
            });
        }
    }
    Ok(SizeReport {
        n,
        dim,
        results: res,
        targets,
    })
}

fn fmt_ms(ms: Option<f64>) -> String {
    ms.map_or("-".into(), |ms| format!("{ms:.1}"))
}

fn flush() -> Options {
    Options {
        durability: Durability::Flush,
        create_if_missing: false,
        ..Options::default()
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `to` gets a fresh `LOCK`, a copy of the log and hard links to the other
/// files of `from`.
fn link_store(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = to.join(&name);
        match name.to_str() {
            Some("LOCK") => std::fs::write(&target, b"")?,
            Some(LOG) => {
                std::fs::copy(entry.path(), &target)?;
            }
            _ => std::fs::hard_link(entry.path(), &target)?,
        }
    }
    Ok(())
}

/// A scratch store for one read-write open of variant `dir`, synced.
fn fresh_copy(scratch: &Path, dir: &Path) -> Result<TempDir> {
    let run = TempDir::new(scratch, "run")?;
    link_store(dir, run.path())?;
    sync_all();
    // Warm: the copy's pages are in the cache from writing it; read anyway.
    black_box(std::fs::read(run.path().join(LOG))?.len());
    Ok(run)
}

/// Damages the batch record at `start..end` of `log` as variant `key` asks.
fn damage(key: &str, log: &Path, start: u64, end: u64) -> Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(log)?;
    match key {
        "whole" => {}
        "cut" => file.set_len((start + (end - start) / 2) / SECTOR * SECTOR)?,
        "holes" => {
            let at = (start + (end - start) * 3 / 5).next_multiple_of(SECTOR);
            let zeros = vec![0u8; (HOLE_SECTORS * SECTOR) as usize];
            assert!(at + HOLE_SECTORS * SECTOR < end, "holes inside the record");
            file.write_all_at(&zeros, at)?;
        }
        "nohdr" => file.write_all_at(&[0u8; RECORD_HEADER as usize], start)?,
        other => unreachable!("no variant {other}"),
    }
    Ok(())
}

fn verify(
    store: &Store,
    expected: u64,
    checks: &[(u64, Option<u64>)],
    dim: usize,
) -> std::result::Result<(), String> {
    if store.len() != expected {
        return Err(format!("{} vectors, expected {expected}", store.len()));
    }
    let (mut want, mut got) = (Vec::new(), vec![0f32; dim]);
    for &(id, generation) in checks {
        match generation {
            None if store.contains(id) => return Err(format!("id {id} present, expected absent")),
            None => {}
            Some(g) => {
                want.clear();
                vector(id, g, dim, &mut want);
                store
                    .get(id, &mut got)
                    .map_err(|e| format!("id {id}: {e}"))?;
                if got != want {
                    return Err(format!("id {id} does not hold generation {g}"));
                }
            }
        }
    }
    Ok(())
}

fn c_open(dir: &Path, dim: usize) -> std::result::Result<*mut vecstore::ffi::vecstore_t, String> {
    use ::vecstore::ffi::*;
    let path = CString::new(dir.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut opts = vecstore_options_default();
    opts.durability = vecstore_durability::VECSTORE_DURABILITY_FLUSH as u32;
    opts.create_if_missing = false;
    let mut handle = std::ptr::null_mut();
    match vecstore_open(path.as_ptr(), dim, &opts, &mut handle) {
        vecstore_status::VECSTORE_OK => Ok(handle),
        status => {
            // SAFETY: vecstore_last_error returns a NUL-terminated string
            // owned by this thread, valid until the next call.
            let why = unsafe { std::ffi::CStr::from_ptr(vecstore_last_error()) };
            Err(format!(
                "vecstore_open: {status:?}: {}",
                why.to_string_lossy()
            ))
        }
    }
}

fn c_verify(
    handle: *mut vecstore::ffi::vecstore_t,
    expected: u64,
    checks: &[(u64, Option<u64>)],
) -> std::result::Result<(), String> {
    use ::vecstore::ffi::*;
    let len = vecstore_len(handle);
    if len != expected {
        return Err(format!("{len} vectors, expected {expected}"));
    }
    for &(id, generation) in checks {
        if vecstore_contains(handle, id) != generation.is_some() {
            return Err(format!("id {id}: present is {}", generation.is_none()));
        }
    }
    Ok(())
}
