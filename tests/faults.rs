//! I/O fault injection with an LD_PRELOAD shim (tests/faultinject/faultinject.c,
//! compiled here at run time with `cc`): child processes (this binary
//! re-executed with `--exact --ignored`, the shim preloaded only into them)
//! run a fixed workload (puts, batches, deletes, checkpoints, compactions, all
//! three durability modes, automatic checkpoints from a 600-byte
//! `auto_checkpoint_log_bytes`, close) while the shim fails exactly the Nth
//! `write`, `pwrite`, `fsync`, `fdatasync`, `rename`, `ftruncate` or
//! `posix_fallocate` on `wal.log`, the segments, `index.vsi` (and its
//! temporary) or the store directory, with EIO, ENOSPC or EFBIG, or makes the
//! Nth write short.
//!
//! The child reports each operation's result. The parent checks:
//! - the call that met the fault failed with the right kind (ENOSPC/EFBIG →
//!   `NoSpace`, EIO → `Io`); a short write is completed, not reported; a
//!   write whose automatic checkpoint met the fault succeeds (it was applied
//!   and logged: finding 5);
//! - the store keeps working in that process: every later operation succeeds,
//!   except the documented one, after a failed `fsync`/`fdatasync` of the log
//!   or a segment: every later change fails (a failed write there may still
//!   be applied, as it is in the log);
//! - what the child reads in-process after the workload matches what it was
//!   told (acknowledged writes present, failed ones present or not);
//! - guards (two taken before every op) and snapshot cursors (one taken
//!   before every op) held to the end keep their bytes exactly: guards are
//!   compared bit for bit after every op (compactions, checkpoints, automatic
//!   checkpoints, whichever met the fault) and after close; then, the shim
//!   stopped (a healthy disk again), the child reopens the store in the same
//!   process, writes 30 vectors through the new handle, and compares every
//!   guard and cursor again (finding 4: a handle reopened in the same process
//!   must not hand out slots an old guard still sees);
//! - a copy of the directory taken before close (what a SIGKILL leaves) and
//!   a copy taken after close both reopen cleanly in a fresh process, with
//!   every acknowledged write bit-identical (NONE mode: as of the last barrier).
//!
//! The sweep is exhaustive by default: every matching call of the workload up
//! to and including close (counted by a fault-free traced run), with each of
//! the three errnos, plus a short write at every `write`/`pwrite`: about 570
//! child runs, ~6 s in debug on tmpfs (stores live in /dev/shm when it exists;
//! `VECSTORE_TEST_TMPDIR` overrides). `VECSTORE_FAULT_POINTS=k` samples k
//! points per (call, file) instead (errnos rotating), picked by
//! `VECSTORE_FAULT_SEED`; `VECSTORE_FAULT_VERBOSE=1` adds the child's output
//! to each problem. Needs `cc` and glibc; skipped (with a message) without `cc`.
//!
//! Below the sweep, single-fault regression tests (run_repro) for the bugs it
//! and the outside review found, some with a fault that stays (FAULT_STICKY).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

mod common;
use common::faultinject::{fired as shim_fired, say, stop as shim_stop};
use common::shim::FAULTINJECT;
use common::{
    bits, child, copy_dir, env_u64, mode_name, parse_mode, seed_from_env, versioned_vector, Rng,
};

use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 4;
const CHILD_ENV: &str = "VECSTORE_FAULT_CHILD";
const SCENARIO_ENV: &str = "VECSTORE_FAULT_SCENARIO";

fn vector(id: u64, version: u64) -> Vec<f32> {
    versioned_vector(id, version, DIM)
}

fn parse_kind(s: &str) -> ErrorKind {
    [
        ErrorKind::NotFound,
        ErrorKind::InvalidArgument,
        ErrorKind::DimensionMismatch,
        ErrorKind::Io,
        ErrorKind::Corrupt,
        ErrorKind::Locked,
        ErrorKind::ReadOnly,
        ErrorKind::NoSpace,
        ErrorKind::VersionMismatch,
    ]
    .into_iter()
    .find(|k| format!("{k:?}") == s)
    .unwrap_or_else(|| panic!("unknown error kind {s}"))
}

// ---------------------------------------------------------------------------
// The workload.

#[derive(Debug, Clone)]
enum Op {
    Put(u64),
    Batch(Vec<u64>),
    Delete(u64),
    DeleteBatch(Vec<u64>),
    Checkpoint,
    Flush,
    Compact,
    SetMode(Durability),
}

/// The fixed workload: starts in FSYNC mode with 8-slot first segment, so
/// that segments grow several times; visits FLUSH and NONE and comes back.
fn workload() -> Vec<Op> {
    use Op::*;
    let r = |a: u64, b: u64| (a..b).collect::<Vec<u64>>();
    vec![
        Batch(r(0, 6)),
        Put(10),
        Put(11),
        Put(3),
        Delete(2),
        Batch(r(20, 30)),
        Checkpoint,
        Put(12),
        DeleteBatch(vec![4, 5, 99]),
        SetMode(Durability::Flush),
        Put(13),
        Batch(r(30, 38)),
        Delete(20),
        Compact,
        Put(14),
        Put(0),
        SetMode(Durability::None),
        Put(15),
        Batch(r(40, 44)),
        Flush,
        Put(16),
        Delete(41),
        SetMode(Durability::Fsync),
        Put(17),
        Batch(r(50, 66)),
        Delete(51),
        Checkpoint,
        Put(18),
        Put(1),
        DeleteBatch(vec![52, 53]),
        Compact,
        Put(19),
        Flush,
        Put(21),
        Batch(r(60, 64)),
    ]
}

/// Every id the workload touches, plus one it never does.
fn universe() -> BTreeSet<u64> {
    let mut ids = BTreeSet::from([1_000]);
    for op in workload() {
        ids.extend(effects(&op, 0).into_iter().map(|(id, _)| id));
    }
    ids
}

/// `(id, Some(version))` for a put, `(id, None)` for a delete.
fn effects(op: &Op, version: u64) -> Vec<(u64, Option<u64>)> {
    match op {
        Op::Put(id) => vec![(*id, Some(version))],
        Op::Batch(ids) => ids.iter().map(|&id| (id, Some(version))).collect(),
        Op::Delete(id) => vec![(*id, None)],
        Op::DeleteBatch(ids) => ids.iter().map(|&id| (id, None)).collect(),
        _ => Vec::new(),
    }
}

fn is_barrier(op: &Op) -> bool {
    matches!(
        op,
        Op::Checkpoint | Op::Flush | Op::Compact | Op::SetMode(_)
    )
}

fn run_op(store: &Store, op: &Op, version: u64) -> vecstore::Result<()> {
    match op {
        Op::Put(id) => store.put(*id, &vector(*id, version)),
        Op::Batch(ids) => {
            let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, version)).collect();
            store.put_batch(ids, &data)
        }
        Op::Delete(id) => match store.delete(*id) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            r => r,
        },
        Op::DeleteBatch(ids) => store.delete_batch(ids).map(|_| ()),
        Op::Checkpoint => store.checkpoint(),
        Op::Flush => store.flush(),
        Op::Compact => store.compact().map(|_| ()),
        Op::SetMode(m) => store.set_durability(*m),
    }
}

// ---------------------------------------------------------------------------
// What may be in the store: per id, the values (None = absent) allowed.

type Allowed = BTreeMap<u64, BTreeSet<Option<u64>>>;

/// `mem`: what the live handle may show; `durable`: what a process kill at
/// this point may leave.
struct Oracle {
    mem: Allowed,
    durable: Allowed,
}

impl Oracle {
    fn new() -> Oracle {
        let all: Allowed = universe()
            .into_iter()
            .map(|id| (id, BTreeSet::from([None])))
            .collect();
        Oracle {
            mem: all.clone(),
            durable: all,
        }
    }

    /// Records op `index` (version `index + 1`), run in `mode`, with its result.
    fn record(&mut self, op: &Op, index: usize, mode: Durability, ok: bool) {
        let version = index as u64 + 1;
        for (id, value) in effects(op, version) {
            if ok {
                self.mem.insert(id, BTreeSet::from([value]));
                if mode != Durability::None {
                    self.durable.insert(id, BTreeSet::from([value]));
                }
            } else {
                // A failed write may or may not have happened.
                self.mem.get_mut(&id).unwrap().insert(value);
                self.durable.get_mut(&id).unwrap().insert(value);
            }
        }
        if is_barrier(op) {
            self.barrier(ok);
        }
    }

    /// A barrier (checkpoint, flush, compaction, mode change, close): on
    /// success the durable state is the live one; a failed barrier may have
    /// made part of it durable.
    fn barrier(&mut self, ok: bool) {
        for (id, values) in &self.mem {
            let d = self.durable.get_mut(id).unwrap();
            if ok {
                *d = values.clone();
            } else {
                d.extend(values.iter().copied());
            }
        }
    }
}

/// Checks every id of the universe in `store` against `allowed`.
fn check_store(store: &Store, allowed: &Allowed) -> Result<(), String> {
    let mut out = vec![0f32; DIM];
    let mut present = 0u64;
    for (&id, values) in allowed {
        let actual = match store.get(id, &mut out) {
            Ok(()) => {
                present += 1;
                match values
                    .iter()
                    .flatten()
                    .find(|&&v| bits(&vector(id, v)) == bits(&out))
                {
                    Some(&v) => Some(v),
                    None => {
                        return Err(format!(
                            "id {id}: the store has a vector that is none of the allowed {values:?}"
                        ))
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(format!("id {id}: get failed: {:?}: {e}", e.kind())),
        };
        if !values.contains(&actual) {
            return Err(format!(
                "id {id}: the store has {actual:?} (version), allowed {values:?}"
            ));
        }
    }
    if store.len() != present {
        return Err(format!("len {} but {present} ids found", store.len()));
    }
    let mut cursor = store.cursor();
    let mut n = 0;
    while let Some((id, v)) = cursor.next().map_err(|e| format!("cursor: {e}"))? {
        n += 1;
        let ok = allowed.get(&id).is_some_and(|vals| {
            vals.iter()
                .flatten()
                .any(|&ver| bits(&vector(id, ver)) == bits(v))
        });
        if !ok {
            return Err(format!("cursor returned id {id} with a vector not allowed"));
        }
    }
    if n != present {
        return Err(format!("cursor returned {n} vectors, get found {present}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The child.

/// Child: `run_dir`. The store is `run_dir/store`; `run_dir/crash` gets a copy
/// taken after the workload, before close.
#[test]
#[ignore = "child process of the fault-injection sweep; runs only when spawned"]
fn fault_child_process() {
    let Ok(run) = std::env::var(CHILD_ENV) else {
        return;
    };
    let run = PathBuf::from(run);
    let store_dir = run.join("store");
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    if let Ok(scenario) = std::env::var(SCENARIO_ENV) {
        return repro_scenario(&scenario, &store_dir, &mut out);
    }
    let options = Options {
        durability: Durability::Fsync,
        initial_capacity: 8,
        auto_checkpoint_log_bytes: AUTO_CHECKPOINT_LOG_BYTES,
        ..Options::default()
    };
    let store = match Store::open(&store_dir, DIM as u32, &options) {
        Ok(s) => {
            writeln!(out, "X {} ok", shim_fired() as u8).unwrap();
            s
        }
        Err(e) => {
            writeln!(out, "X {} err {:?} {e}", shim_fired() as u8, e.kind()).unwrap();
            // The fault is spent: a second open must work.
            match Store::open(&store_dir, DIM as u32, &options) {
                Ok(s) => s,
                Err(e) => {
                    writeln!(out, "Z reopen after a failed open: {:?}: {e}", e.kind()).unwrap();
                    return;
                }
            }
        }
    };
    let mut mode = Durability::Fsync;
    let mut oracle = Oracle::new();
    let ids: Vec<u64> = universe().into_iter().collect();
    // Guards and snapshot cursors taken before each op, held to the end.
    let mut held: Vec<Held> = Vec::new();
    let mut cursors: Vec<(vecstore::Cursor, BTreeMap<u64, Vec<u32>>)> = Vec::new();
    for (i, op) in workload().iter().enumerate() {
        let live: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|&id| store.contains(id))
            .collect();
        if !live.is_empty() {
            for k in [i * 7, i * 13 + 3] {
                let id = live[k % live.len()];
                match store.get_ref(id) {
                    Ok(guard) => {
                        let bits = bits(guard.data());
                        held.push(Held { guard, bits });
                    }
                    Err(e) => writeln!(out, "G before op {i}: get_ref({id}): {e}").unwrap(),
                }
            }
        }
        cursors.push(snapshot_cursor(&store));
        let before = shim_fired();
        let result = run_op(&store, op, i as u64 + 1);
        let fired = (!before && shim_fired()) as u8;
        // Whether the op ran an automatic checkpoint (which then either
        // emptied the log or failed and left it past the limit).
        let log_after = store.stats().log_bytes;
        let auto = (mode != Durability::None
            && !effects(op, 0).is_empty()
            && (log_after == 0 || log_after > AUTO_CHECKPOINT_LOG_BYTES)) as u8;
        match &result {
            Ok(()) => writeln!(out, "R {i} {} {fired} {auto} ok", mode_name(mode)).unwrap(),
            Err(e) => writeln!(
                out,
                "R {i} {} {fired} {auto} err {:?} {e}",
                mode_name(mode),
                e.kind()
            )
            .unwrap(),
        }
        for problem in changed_guards(&held) {
            writeln!(out, "G after op {i} {op:?}: {problem}").unwrap();
        }
        oracle.record(op, i, mode, result.is_ok());
        if let (Op::SetMode(m), Ok(())) = (op, &result) {
            mode = *m;
        }
    }
    match check_store(&store, &oracle.mem) {
        Ok(()) => writeln!(out, "V ok").unwrap(),
        Err(e) => writeln!(out, "V fail {e}").unwrap(),
    }
    copy_dir(&store_dir, &run.join("crash"));
    let before = shim_fired();
    let closed = store.close();
    let fired = (!before && shim_fired()) as u8;
    match closed {
        Ok(()) => writeln!(out, "C {fired} ok").unwrap(),
        Err(e) => writeln!(out, "C {fired} err {:?} {e}", e.kind()).unwrap(),
    }
    for problem in changed_guards(&held) {
        writeln!(out, "G after close: {problem}").unwrap();
    }
    // After close: a healthy disk again (the shim stops), the closed store
    // copied for the parent, then a new handle in this process takes writes
    // while the old handle's guards and cursors are still held.
    shim_stop();
    copy_dir(&store_dir, &run.join("closed"));
    after_close(&store_dir, &held, &mut cursors, &mut out);
    writeln!(out, "D").unwrap();
}

/// Log bytes past which a write of the sweep's workload checkpoints: small,
/// so that several writes run an automatic checkpoint.
const AUTO_CHECKPOINT_LOG_BYTES: u64 = 600;

/// A cursor taken now, not advanced, with what it must return (read through
/// a second cursor of the same instant).
fn snapshot_cursor(store: &Store) -> (vecstore::Cursor, BTreeMap<u64, Vec<u32>>) {
    let mut expected = BTreeMap::new();
    let mut probe = store.cursor();
    let cursor = store.cursor();
    while let Ok(Some((id, v))) = probe.next() {
        expected.insert(id, bits(v));
    }
    (cursor, expected)
}

/// The phase after close: reopen in this process, write, then check every
/// guard and cursor held since the workload. Prints `P <step> ...` lines.
fn after_close(
    dir: &Path,
    held: &[Held],
    cursors: &mut [(vecstore::Cursor, BTreeMap<u64, Vec<u32>>)],
    out: &mut impl Write,
) {
    let options = Options {
        durability: Durability::Flush,
        auto_checkpoint_log_bytes: AUTO_CHECKPOINT_LOG_BYTES,
        ..Options::default()
    };
    let store = match Store::open(dir, 0, &options) {
        Ok(s) => s,
        Err(e) => {
            writeln!(out, "P reopen err {:?} {e}", e.kind()).unwrap();
            return;
        }
    };
    let ids: Vec<u64> = (3_000..3_010).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 1)).collect();
    let mut puts = store.put_batch(&ids, &data);
    for id in 3_010..3_030 {
        puts = puts.and_then(|()| store.put(id, &vector(id, 1)));
    }
    if let Err(e) = puts {
        writeln!(out, "P puts err {:?} {e}", e.kind()).unwrap();
    }
    for problem in changed_guards(held) {
        writeln!(out, "P guards: after a reopen and puts: {problem}").unwrap();
    }
    let failed: Vec<String> = cursors
        .iter_mut()
        .enumerate()
        .filter_map(|(k, (cursor, expected))| {
            cursor_matches(cursor, expected)
                .err()
                .map(|e| format!("cursor taken before op {k}: {e}"))
        })
        .collect();
    if let Some(first) = failed.first() {
        writeln!(
            out,
            "P cursors: after a reopen and puts: {first} (and {} more cursors)",
            failed.len() - 1
        )
        .unwrap();
    }
    if let Err(e) = store.close() {
        writeln!(out, "P close err {:?} {e}", e.kind()).unwrap();
    }
}

// ---------------------------------------------------------------------------
// The parent.

/// A fault: which call, on which file, the how-manieth, and what it does.
#[derive(Debug, Clone)]
struct Fault {
    op: &'static str,
    target: &'static str,
    nth: u64,
    /// "EIO", "ENOSPC", "EFBIG", or "short".
    errno: &'static str,
}

const OPS: [&str; 7] = [
    "write",
    "pwrite",
    "fsync",
    "fdatasync",
    "rename",
    "ftruncate",
    "fallocate",
];
const TARGETS: [&str; 4] = ["wal.log", "seg-", "index.vsi", "dir"];

/// The shim's path filter for a target.
fn target_filter(target: &str) -> String {
    match target {
        "dir" => "/store$".into(),
        t => format!("/store/{t}"),
    }
}

fn target_matches(target: &str, path: &str) -> bool {
    match target {
        "dir" => path.ends_with("/store"),
        t => path.contains(&format!("/store/{t}")),
    }
}

fn build_shim(root: &Path) -> Option<PathBuf> {
    FAULTINJECT
        .build(root)
        .inspect_err(|e| {
            eprintln!("faults: cannot run cc ({e}); skipping the fault-injection sweep")
        })
        .ok()
}

fn test_root() -> tempfile::TempDir {
    common::test_root("vecstore-faults-")
}

/// The command of a child on the run directory `run` (created here), the
/// shim preloaded.
fn fault_child(shim: &Path, run: &Path) -> Command {
    std::fs::create_dir_all(run).unwrap();
    let mut cmd = child::command("fault_child_process");
    cmd.env(CHILD_ENV, run).env("LD_PRELOAD", shim);
    cmd
}

/// Runs one child; returns its stdout and stderr.
fn spawn_child(shim: &Path, run: &Path, env: &[(&str, String)]) -> (String, String) {
    let ran = child::run(fault_child(shim, run).envs(env.iter().map(|(k, v)| (*k, v.as_str()))))
        .done(&format!("child in {}", run.display()));
    (ran.stdout, ran.stderr)
}

/// Counts the matching calls of a fault-free run per (op, target).
fn trace_counts(shim: &Path, root: &Path) -> BTreeMap<(&'static str, &'static str), u64> {
    let run = root.join("trace");
    let trace = root.join("trace.txt");
    spawn_child(
        shim,
        &run,
        &[
            ("FAULT_TRACE", trace.display().to_string()),
            (
                "FAULT_TRACE_SUBSTR",
                run.join("store").display().to_string(),
            ),
        ],
    );
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let Some((op, path)) = line.split_once(' ') else {
            continue;
        };
        let Some(op) = OPS.iter().find(|&&o| o == op) else {
            continue;
        };
        for target in TARGETS {
            if target_matches(target, path) {
                *counts.entry((*op, target)).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// One workload op as reported: mode it ran in, whether the fault met it, result.
type OpReport = (Durability, bool, Result<(), (ErrorKind, String)>);

/// One child's report.
struct Report {
    /// Failed first open: (fired during it, kind).
    open_error: Option<(bool, ErrorKind)>,
    /// The fault met the first open, which succeeded (a short write).
    open_fired: bool,
    /// Per workload op: (mode, fired during it, result).
    ops: Vec<OpReport>,
    inproc: Result<(), String>,
    close: (bool, Result<(), ErrorKind>),
    /// Per workload op: whether it ran an automatic checkpoint.
    auto: Vec<bool>,
    /// Guards whose bytes changed (`G` lines) and failures of the phase
    /// after close (`P` lines).
    guards: Vec<String>,
}

fn parse_report(stdout: &str) -> Report {
    let mut r = Report {
        open_error: None,
        open_fired: false,
        ops: Vec::new(),
        inproc: Err("no V line".into()),
        close: (false, Ok(())),
        auto: Vec::new(),
        guards: Vec::new(),
    };
    for line in stdout.lines() {
        if line.starts_with("G ") || line.starts_with("P ") {
            r.guards.push(line[2..].to_string());
            continue;
        }
        // R lines: `R i mode fired auto ok|err kind message`.
        let line = match line.strip_prefix("R ") {
            Some(rest) => {
                let f: Vec<&str> = rest.splitn(4, ' ').collect();
                r.auto.push(f[3].starts_with('1'));
                format!("R {} {} {} {}", f[0], f[1], f[2], &f[3][2..])
            }
            None => line.to_string(),
        };
        let parts: Vec<&str> = line.splitn(6, ' ').collect();
        match parts[0] {
            "X" if parts[2] == "ok" => r.open_fired = parts[1] == "1",
            "X" => r.open_error = Some((parts[1] == "1", parse_kind(parts[3]))),
            "R" => {
                let result = if parts[4] == "ok" {
                    Ok(())
                } else {
                    let rest: Vec<&str> = parts[5].splitn(2, ' ').collect();
                    Err((parse_kind(rest[0]), rest.get(1).unwrap_or(&"").to_string()))
                };
                r.ops.push((parse_mode(parts[2]), parts[3] == "1", result));
            }
            "V" => {
                r.inproc = if parts[1] == "ok" {
                    Ok(())
                } else {
                    Err(line[7..].to_string())
                }
            }
            "C" => {
                r.close = (
                    parts[1] == "1",
                    if parts[2] == "ok" {
                        Ok(())
                    } else {
                        Err(parse_kind(parts[3]))
                    },
                )
            }
            _ => {}
        }
    }
    r
}

/// What one fault run established.
#[derive(Debug, Default)]
struct Verdict {
    fired: bool,
    /// Where the fault surfaced: "open", "op N", "close".
    surfaced: String,
    /// Problems found (empty = all guarantees held).
    problems: Vec<String>,
    /// A write succeeded although its automatic checkpoint met the fault.
    auto_checkpoint_fault: bool,
}

fn expected_kind(errno: &str) -> ErrorKind {
    match errno {
        "EIO" => ErrorKind::Io,
        _ => ErrorKind::NoSpace,
    }
}

fn verify(fault: &Fault, report: &Report, run: &Path) -> Verdict {
    let ops = workload();
    let mut v = Verdict::default();
    let short = fault.errno == "short";
    // 1. The call that met the fault reported it with the right kind.
    let mut fired_at: Option<usize> = None;
    if let Some((fired, kind)) = report.open_error {
        v.fired |= fired;
        v.surfaced = "open".into();
        if short {
            v.problems
                .push(format!("a short write failed the open ({kind:?})"));
        } else if kind != expected_kind(fault.errno) {
            v.problems.push(format!(
                "open failed with {kind:?}, expected {:?}",
                expected_kind(fault.errno)
            ));
        }
    }
    if report.open_fired {
        v.fired = true;
        v.surfaced = "open".into();
        if !short {
            v.problems
                .push("the first open met the fault but succeeded".into());
        }
    }
    for (i, (_, fired, result)) in report.ops.iter().enumerate() {
        if *fired {
            v.fired = true;
            fired_at = Some(i);
            v.surfaced = format!("op {i} {:?}", ops[i]);
            let write = !effects(&ops[i], 0).is_empty();
            match (short, result) {
                (true, Ok(())) => {}
                // Within a write, only its automatic checkpoint makes this
                // call: the write itself was applied and logged (finding 5).
                (false, Err((k, m)))
                    if write && checkpoint_only(fault) && fault.target != "dir" =>
                {
                    v.problems.push(format!(
                        "op {i} {:?}: its automatic checkpoint met the fault and the \
                         write, applied and logged, reported {k:?} ({m})",
                        ops[i]
                    ))
                }
                (true, Err((k, m))) => v.problems.push(format!(
                    "op {i} {:?}: a short write made it fail: {k:?} {m}",
                    ops[i]
                )),
                // A write whose automatic checkpoint met the fault: the
                // write itself was applied and logged, and says so.
                (false, Ok(()))
                    if report.auto.get(i) == Some(&true)
                        && write
                        && (checkpoint_only(fault) || also_outside_checkpoint(fault)) =>
                {
                    v.auto_checkpoint_fault = true;
                }
                (false, Ok(())) => v.problems.push(format!(
                    "op {i} {:?} met the fault ({} {}) but succeeded",
                    ops[i], fault.op, fault.errno
                )),
                (false, Err((k, m))) if *k != expected_kind(fault.errno) => {
                    v.problems.push(format!(
                        "op {i} {:?}: {k:?} ({m}), expected {:?}",
                        ops[i],
                        expected_kind(fault.errno)
                    ))
                }
                _ => {}
            }
        }
    }
    v.problems.extend(report.guards.iter().cloned());
    if report.close.0 {
        v.fired = true;
        v.surfaced = "close".into();
        match (short, report.close.1) {
            (true, Err(k)) => v
                .problems
                .push(format!("close: a short write made it fail: {k:?}")),
            (false, Ok(())) => v.problems.push("close met the fault but succeeded".into()),
            (false, Err(k)) if k != expected_kind(fault.errno) => v.problems.push(format!(
                "close: {k:?}, expected {:?}",
                expected_kind(fault.errno)
            )),
            _ => {}
        }
    }
    if report.ops.len() != ops.len() {
        v.problems.push(format!(
            "the child ran {} of {} ops",
            report.ops.len(),
            ops.len()
        ));
        return v;
    }
    // 2. The store keeps working: no other op fails, except after a failed
    // fsync/fdatasync of the log or a segment. Then the kernel may have dropped
    // the dirty pages, so the engine refuses every later change (with the
    // same error kind) until the store is reopened, and close reports it.
    let sticky = !short
        && matches!(fault.op, "fdatasync" | "fsync")
        && matches!(fault.target, "wal.log" | "seg-");
    for (i, (mode, _, result)) in report.ops.iter().enumerate() {
        if Some(i) == fired_at {
            continue;
        }
        if let Err((k, m)) = result {
            let refused_after_sync_failure = sticky
                && fired_at.is_some_and(|f| i > f)
                && *k == expected_kind(fault.errno)
                && m.contains("refuses writes after an earlier failure");
            if !refused_after_sync_failure {
                v.problems.push(format!(
                    "op {i} {:?} ({}) failed after the fault: {k:?}: {m}",
                    ops[i],
                    mode_name(*mode)
                ));
            }
        }
    }
    if report.close.1.is_err() && !report.close.0 && !sticky {
        v.problems.push(format!(
            "close failed after the fault: {:?}",
            report.close.1
        ));
    }
    // 3. In-process reads match.
    if let Err(e) = &report.inproc {
        v.problems
            .push(format!("in-process check after the workload: {e}"));
    }
    // 4. Reopen the kill-time copy and the closed store in this process.
    let mut oracle = Oracle::new();
    for (i, (mode, _, result)) in report.ops.iter().enumerate() {
        oracle.record(&ops[i], i, *mode, result.is_ok());
    }
    let crash_allowed = oracle.durable.clone();
    oracle.barrier(report.close.1.is_ok());
    let closed_allowed = if report.close.1.is_ok() {
        oracle.mem.clone()
    } else {
        oracle.durable.clone()
    };
    for (name, allowed) in [("crash", &crash_allowed), ("closed", &closed_allowed)] {
        let dir = run.join(name);
        match Store::open(&dir, 0, &Options::default()) {
            Ok(store) => {
                if let Err(e) = check_store(&store, allowed) {
                    v.problems.push(format!(
                        "reopen of the {} copy: {e}",
                        if name == "crash" {
                            "kill-time"
                        } else {
                            "closed"
                        }
                    ));
                }
                if let Err(e) = store.close() {
                    v.problems
                        .push(format!("close after reopen of {name}: {e}"));
                }
            }
            Err(e) => v.problems.push(format!(
                "the {} copy does not reopen: {:?}: {e}",
                if name == "crash" {
                    "kill-time"
                } else {
                    "closed"
                },
                e.kind()
            )),
        }
    }
    v
}

/// Whether `fault` hits a call that, within a write, only its automatic
/// checkpoint makes: the checkpoint file, a segment's fdatasync, the log's
/// trim, a directory fsync (growth's fsync fails the write itself).
fn checkpoint_only(fault: &Fault) -> bool {
    matches!(
        (fault.op, fault.target),
        (_, "index.vsi")
            | ("fdatasync", "seg-")
            | ("ftruncate" | "fsync", "wal.log")
            | ("fsync", "dir")
    )
}

/// Whether `fault` hits a call that a write makes both itself and in its
/// automatic checkpoint: a `pwrite` of `wal.log` (its append, or the new log
/// header of the checkpoint's trim). A write that succeeded met it in its
/// automatic checkpoint.
fn also_outside_checkpoint(fault: &Fault) -> bool {
    (fault.op, fault.target) == ("pwrite", "wal.log")
}

/// The fault points to try for a call count of `m`.
fn fault_points(m: u64, cap: usize, rng: &mut Rng) -> Vec<u64> {
    if m as usize <= cap {
        return (1..=m).collect();
    }
    let mut points: BTreeSet<u64> = [1, 2, m].into();
    while points.len() < cap {
        points.insert(1 + rng.below(m));
    }
    points.into_iter().collect()
}

#[test]
fn injected_io_faults_lose_nothing_acknowledged() {
    let cap = env_u64("VECSTORE_FAULT_POINTS").map_or(usize::MAX, |n| n as usize);
    let seed: u64 = seed_from_env("VECSTORE_FAULT_SEED");
    let root = test_root();
    let Some(shim) = build_shim(root.path()) else {
        return;
    };
    let started = Instant::now();
    let counts = trace_counts(&shim, root.path());
    if cap == usize::MAX {
        eprintln!("faults: every matching call, every errno");
    } else {
        eprintln!("faults: VECSTORE_FAULT_SEED={seed}, at most {cap} points per (call, file)");
    }
    eprintln!(
        "faults: calls of the workload per (call, file): {}",
        counts
            .iter()
            .map(|((o, t), n)| format!("{o} {t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        counts.get(&("pwrite", "wal.log")).is_some_and(|&n| n > 10),
        "the trace saw no log writes: is the shim loaded?"
    );
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let errnos = ["EIO", "ENOSPC", "EFBIG"];
    let mut faults = Vec::new();
    for (&(op, target), &m) in &counts {
        let points = fault_points(m, cap, &mut rng);
        for (k, &nth) in points.iter().enumerate() {
            if points.len() as u64 == m {
                for errno in errnos {
                    faults.push(Fault {
                        op,
                        target,
                        nth,
                        errno,
                    });
                }
            } else {
                faults.push(Fault {
                    op,
                    target,
                    nth,
                    errno: errnos[k % 3],
                });
            }
            if op == "write" || op == "pwrite" {
                faults.push(Fault {
                    op,
                    target,
                    nth,
                    errno: "short",
                });
            }
        }
    }
    // Two children at a time.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(Fault, Verdict)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(fault) = faults.get(i) else { break };
                let run = root.path().join(format!("run-{i}"));
                let mut env = vec![
                    ("FAULT_OP", fault.op.to_string()),
                    ("FAULT_NTH", fault.nth.to_string()),
                    ("FAULT_PATH_SUBSTR", target_filter(fault.target)),
                ];
                if fault.errno == "short" {
                    env.push(("FAULT_SHORT", "1".into()));
                } else {
                    env.push(("FAULT_ERRNO", fault.errno.into()));
                }
                let (stdout, stderr) = spawn_child(&shim, &run, &env);
                let report = parse_report(&stdout);
                let mut verdict = verify(fault, &report, &run);
                if !verdict.problems.is_empty()
                    && std::env::var_os("VECSTORE_FAULT_VERBOSE").is_some()
                {
                    verdict
                        .problems
                        .push(format!("child stdout:\n{stdout}\nchild stderr:\n{stderr}"));
                }
                let _ = std::fs::remove_dir_all(&run);
                results.lock().unwrap().push((fault.clone(), verdict));
            });
        }
    });
    let results = results.into_inner().unwrap();
    // Summary per (call, file): fault points, fired, outcomes.
    let mut table: BTreeMap<(&str, &str), BTreeMap<&str, u64>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (fault, verdict) in &results {
        let row = table.entry((fault.op, fault.target)).or_default();
        *row.entry(fault.errno).or_default() += 1;
        if verdict.fired {
            *row.entry("fired").or_default() += 1;
        }
        if !verdict.problems.is_empty() {
            *row.entry("PROBLEMS").or_default() += 1;
            failures.push(format!(
                "{} {} #{} {} (surfaced at {}): {}",
                fault.op,
                fault.target,
                fault.nth,
                fault.errno,
                verdict.surfaced,
                verdict.problems.join("; ")
            ));
        }
    }
    eprintln!("faults: per (call, file): fault points by errno, fired, problems");
    for ((op, target), row) in &table {
        eprintln!(
            "faults:   {op:<9} {target:<9} calls {:>4}: {}",
            counts[&(*op, *target)],
            row.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let fired = results.iter().filter(|(_, v)| v.fired).count();
    eprintln!(
        "faults: {} runs ({fired} faults injected: {} errors, {} short writes), \
         {} writes whose automatic checkpoint met the fault, {} with problems, {:.1} s",
        results.len(),
        results
            .iter()
            .filter(|(f, v)| v.fired && f.errno != "short")
            .count(),
        results
            .iter()
            .filter(|(f, v)| v.fired && f.errno == "short")
            .count(),
        results
            .iter()
            .filter(|(_, v)| v.auto_checkpoint_fault)
            .count(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} fault runs broke a guarantee (VECSTORE_FAULT_SEED={seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Minimal scenarios for the ignored repro tests; print `S <step> <result>`.
fn repro_scenario(scenario: &str, dir: &Path, out: &mut impl Write) {
    if let Some(mode) = scenario.strip_prefix("compact_guard:") {
        compact_guard_scenario(parse_mode(mode), dir, out);
        writeln!(out, "D").unwrap();
        return;
    }
    match scenario {
        "none_close" => return none_close_scenario(dir, out),
        "auto_checkpoint" => return auto_checkpoint_scenario(dir, out),
        "none_sync_guard" => {
            none_sync_guard_scenario(dir, out);
            writeln!(out, "D").unwrap();
            return;
        }
        _ => {}
    }
    match scenario {
        "log_reset" => {
            let store = Store::open(dir, DIM as u32, &Options::default()).unwrap();
            say(out, "put1", &store.put(1, &vector(1, 1)));
            // The fault: fsync of the trimmed log.
            say(out, "checkpoint", &store.checkpoint());
            // FSYNC: acknowledged = durable.
            say(out, "put2", &store.put(2, &vector(2, 1)));
            // Die as a SIGKILL would: no close, no destructors.
            std::process::exit(0);
        }
        "fsync_unseen" => {
            let store = Store::open(dir, DIM as u32, &Options::default()).unwrap();
            say(out, "put1", &store.put(1, &vector(1, 1)));
            let reader = Store::open(
                dir,
                0,
                &Options {
                    read_only: true,
                    ..Options::default()
                },
            )
            .unwrap();
            // The fault: the group commit's fdatasync for put 2.
            say(out, "put2", &store.put(2, &vector(2, 1)));
            writeln!(
                out,
                "S reader put1={} put2={}",
                reader.contains(1),
                reader.contains(2)
            )
            .unwrap();
            std::process::exit(0);
        }
        "grow_dir" => {
            let store = Store::open(dir, DIM as u32, &Options::default()).unwrap();
            // The fault: fsync of the directory at growth.
            say(out, "put1", &store.put(1, &vector(1, 1)));
            say(out, "put2", &store.put(2, &vector(2, 1)));
            say(out, "close", &store.close());
        }
        other => panic!("unknown scenario {other}"),
    }
    writeln!(out, "D").unwrap();
}

fn run_repro(scenario: &str, fault: &[(&str, &str)]) -> (tempfile::TempDir, Vec<String>) {
    let root = test_root();
    let shim = build_shim(root.path()).expect("cc is needed for this test");
    let ran = child::run(
        fault_child(&shim, &root.path().join("run"))
            .env(SCENARIO_ENV, scenario)
            .envs(fault.iter().copied()),
    );
    let lines = ran.lines_with(&["S "]);
    eprintln!("{}\n{}", lines.join("\n"), ran.stderr);
    (root, lines)
}

/// A checkpoint trims the log with `ftruncate` then `fsync`; when the fsync
/// fails, `Log::reset` returns the error but keeps its old end offset, so the
/// next record is written past a hole of zeros. After a kill, recovery takes
/// the hole for a torn tail and drops every later record: an acknowledged
/// FSYNC write is lost. (Sweep: fsync wal.log at the trim of a checkpoint.)
#[test]
fn failed_log_trim_fsync_loses_no_acknowledged_write() {
    // fsync calls on wal.log: 1 = creation, 2 = the open, 3 = the checkpoint's trim.
    let (root, lines) = run_repro(
        "log_reset",
        &[
            ("FAULT_OP", "fsync"),
            ("FAULT_NTH", "3"),
            ("FAULT_ERRNO", "EIO"),
            ("FAULT_PATH_SUBSTR", "/store/wal.log"),
        ],
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("S checkpoint err Io fired=1")),
        "the fault did not hit the checkpoint: {lines:?}"
    );
    // After the failed trim the engine refuses writes until reopened; if it
    // ever acknowledges put 2, that write must survive the kill.
    let put2_acked = lines.iter().any(|l| l.starts_with("S put2 ok"));
    assert!(
        put2_acked || lines.iter().any(|l| l.starts_with("S put2 err Io")),
        "{lines:?}"
    );
    let store = Store::open(root.path().join("run/store"), 0, &Options::default()).unwrap();
    let mut out = vec![0f32; DIM];
    store.get(1, &mut out).unwrap();
    if put2_acked {
        store.get(2, &mut out).expect(
            "put 2 was acknowledged under FSYNC before the kill, and is gone after recovery",
        );
        assert_eq!(bits(&out), bits(&vector(2, 1)));
    }
}

/// Issue 13 (review point 8): the writer told readers about an FSYNC write
/// before its fdatasync, so a reader in any process could act on a write
/// whose call then failed (and that a power cut would take). Readers must
/// see an FSYNC write only once it is durable.
#[test]
fn readers_never_see_an_fsync_write_whose_sync_failed() {
    // fdatasync calls on wal.log: 1 = put 1's group commit, 2 = put 2's.
    let (_root, lines) = run_repro(
        "fsync_unseen",
        &[
            ("FAULT_OP", "fdatasync"),
            ("FAULT_NTH", "2"),
            ("FAULT_ERRNO", "EIO"),
            ("FAULT_PATH_SUBSTR", "/store/wal.log"),
        ],
    );
    assert!(
        lines.iter().any(|l| l.starts_with("S put2 err Io fired=1")),
        "the fault did not hit put 2: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "S reader put1=true put2=false"),
        "a reader saw the write whose fsync failed, or missed put 1: {lines:?}"
    );
}

/// Growth creates the segment file, then fsyncs the directory; when that
/// fsync fails, the file stays behind but the segment id is not consumed, so
/// every later growth in this process fails with EEXIST ("File exists"):
/// the store never writes again until it is reopened (which deletes the
/// orphan). (Sweep: fsync dir at any growth.)
#[test]
fn failed_growth_dir_fsync_leaves_the_store_writable() {
    // fsync calls on the directory: 1 = the new store's log and lock file,
    // 2 = its checkpoint, 3 = the writer's open, 4 = the first growth.
    let (_root, lines) = run_repro(
        "grow_dir",
        &[
            ("FAULT_OP", "fsync"),
            ("FAULT_NTH", "4"),
            ("FAULT_ERRNO", "EIO"),
            ("FAULT_PATH_SUBSTR", "/store$"),
        ],
    );
    assert!(
        lines.iter().any(|l| l.starts_with("S put1 err Io fired=1")),
        "the fault did not hit the growth: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("S put2 ok")),
        "the put after the fault failed: {lines:?}"
    );
}

// ---------------------------------------------------------------------------
// Findings 4 and 5 of the outside review: a failed checkpoint at the end of a
// compaction, at close, or after a write.

/// A guard held by the test with the bits it showed when it was taken.
struct Held {
    guard: vecstore::VectorGuard,
    bits: Vec<u32>,
}

fn hold(store: &Store, ids: &[u64]) -> Vec<Held> {
    ids.iter()
        .map(|&id| {
            let guard = store.get_ref(id).unwrap();
            let bits = bits(guard.data());
            Held { guard, bits }
        })
        .collect()
}

/// `Err` naming every guard whose bytes are not what they were when taken.
fn guards_unchanged(held: &[Held]) -> vecstore::Result<()> {
    let changed = changed_guards(held);
    if changed.is_empty() {
        Ok(())
    } else {
        Err(vecstore::Error::new(ErrorKind::Corrupt, changed.join("; ")))
    }
}

/// Every guard whose bytes are not what they were when taken, described.
fn changed_guards(held: &[Held]) -> Vec<String> {
    held.iter()
        .filter(|h| bits(h.guard.data()) != h.bits)
        .map(|h| {
            format!(
                "guard of id {} changed from {:?} to {:?}",
                h.guard.id(),
                h.bits
                    .iter()
                    .map(|&b| f32::from_bits(b))
                    .collect::<Vec<_>>(),
                h.guard.data()
            )
        })
        .collect()
}

/// `Err` unless the cursor (taken earlier, not advanced) returns exactly
/// `expected` (id → bits), each once.
fn cursor_matches(
    cursor: &mut vecstore::Cursor,
    expected: &BTreeMap<u64, Vec<u32>>,
) -> vecstore::Result<()> {
    let mut seen = BTreeSet::new();
    while let Some((id, v)) = cursor.next()? {
        let ok = expected.get(&id).is_some_and(|b| *b == bits(v)) && seen.insert(id);
        if !ok {
            return Err(vecstore::Error::new(
                ErrorKind::Corrupt,
                format!("cursor: id {id} with {v:?} is not what the snapshot held"),
            ));
        }
    }
    if seen.len() != expected.len() {
        return Err(vecstore::Error::new(
            ErrorKind::Corrupt,
            format!(
                "cursor returned {} of {} vectors",
                seen.len(),
                expected.len()
            ),
        ));
    }
    Ok(())
}

/// Finding 4's layout: segment 1 (8 slots) full with ids 0..8, half of them
/// deleted; segment 2 (100 slots) active, holding id 100 in slot 0; a
/// checkpoint (the second write of `index.vsi.tmp`; the first is the new
/// store's). The compaction that follows moves ids 4..8 into segment 2's
/// slots 1..5, above its durable `used` mark, and its checkpoint is the
/// third write of `index.vsi.tmp`. Guards on the moved vectors and a cursor
/// are then held across close, a reopen and 200 puts through the new handle.
fn compact_guard_scenario(mode: Durability, dir: &Path, out: &mut impl Write) {
    let options = Options {
        durability: mode,
        initial_capacity: 8,
        ..Options::default()
    };
    let store = Store::open(dir, DIM as u32, &options).unwrap();
    let ids: Vec<u64> = (0..8).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 1)).collect();
    store.put_batch(&ids, &data).unwrap();
    store.reserve(100).unwrap();
    store.put(100, &vector(100, 1)).unwrap();
    store.delete_batch(&[0, 1, 2, 3]).unwrap();
    store.checkpoint().unwrap();
    let r = store.compact().map(|_| ());
    say(out, "compact", &r);
    let live = [4u64, 5, 6, 7, 100];
    let held = hold(&store, &live);
    let expected: BTreeMap<u64, Vec<u32>> =
        live.iter().map(|&id| (id, bits(&vector(id, 1)))).collect();
    let mut cursor = store.cursor();
    let r = store.close();
    say(out, "close", &r);
    let store = match Store::open(dir, DIM as u32, &options) {
        Ok(s) => {
            say(out, "reopen", &Ok(()));
            s
        }
        Err(e) => {
            say(out, "reopen", &Err(e));
            say(out, "guards", &guards_unchanged(&held));
            return;
        }
    };
    let mut puts = Ok(());
    for id in 1_000..1_200 {
        puts = store.put(id, &vector(id, 2));
        if puts.is_err() {
            break;
        }
    }
    say(out, "puts", &puts);
    let mut reads = Ok(());
    let mut buf = vec![0f32; DIM];
    for (&id, want) in &expected {
        reads = store.get(id, &mut buf).and_then(|()| {
            if bits(&buf) == *want {
                Ok(())
            } else {
                Err(vecstore::Error::new(
                    ErrorKind::Corrupt,
                    format!("id {id} reads {buf:?} through the new handle"),
                ))
            }
        });
        if reads.is_err() {
            break;
        }
    }
    say(out, "reads", &reads);
    say(out, "guards", &guards_unchanged(&held));
    say(out, "cursor", &cursor_matches(&mut cursor, &expected));
    // The new handle is dropped without checking its close: under a sticky
    // fault its final checkpoint fails, which is not what is tested here.
    std::mem::forget(store);
}

/// NONE mode: vectors written since the last checkpoint sit above the
/// durable `used` marks; a flush (a checkpoint) whose segment fdatasync fails
/// (the second fdatasync of a segment; the first is the explicit
/// checkpoint's) leaves them there, and guards on them are held across close,
/// a reopen and 200 puts through the new handle.
fn none_sync_guard_scenario(dir: &Path, out: &mut impl Write) {
    let options = Options {
        durability: Durability::None,
        initial_capacity: 64,
        ..Options::default()
    };
    let store = Store::open(dir, DIM as u32, &options).unwrap();
    let ids: Vec<u64> = (0..4).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 1)).collect();
    store.put_batch(&ids, &data).unwrap();
    say(out, "checkpoint", &store.checkpoint());
    store.put(10, &vector(10, 1)).unwrap();
    store.put(11, &vector(11, 1)).unwrap();
    say(out, "flush", &store.flush());
    let held = hold(&store, &[0, 3, 10, 11]);
    say(out, "close", &store.close());
    let store = match Store::open(dir, DIM as u32, &options) {
        Ok(s) => s,
        Err(e) => return say(out, "reopen", &Err(e)),
    };
    say(out, "reopen", &Ok(()));
    let mut puts = Ok(());
    for id in 1_000..1_200 {
        puts = puts.and_then(|()| store.put(id, &vector(id, 2)));
    }
    say(out, "puts", &puts);
    say(out, "guards", &guards_unchanged(&held));
    std::mem::forget(store);
}

/// NONE mode, two ways to reach close with state that only a checkpoint can
/// make durable, the disk full (sticky ENOSPC on `index.vsi.tmp` for every
/// checkpoint after the two stores' creation):
/// - `a/`: puts, then close;
/// - `b/`: puts, a checkpoint that fails, then close.
///
/// Prints `S close_a ...` and `S close_b ...`. The compaction path (a
/// checkpoint that fails at the end of a compaction, then close) is
/// `compact_guard:none`.
fn none_close_scenario(dir: &Path, out: &mut impl Write) {
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    // The shim counts the writes of both stores' `index.vsi.tmp`: 1 = b's
    // creation, 2 = a's creation; from 3 on every one fails.
    let a = dir.join("a");
    let b = dir.join("b");
    let store_b = Store::open(&b, DIM as u32, &options).unwrap();
    store_b.put(1, &vector(1, 1)).unwrap();
    let store_a = Store::open(&a, DIM as u32, &options);
    say(
        out,
        "open_a",
        &store_a.as_ref().map(|_| ()).map_err(|e| e.clone()),
    );
    let r = store_b.checkpoint();
    say(out, "checkpoint_b", &r);
    store_b.put(2, &vector(2, 1)).unwrap();
    say(out, "close_b", &store_b.close());
    if let Ok(store_a) = store_a {
        store_a.put(1, &vector(1, 1)).unwrap();
        say(out, "close_a", &store_a.close());
    }
    writeln!(out, "D").unwrap();
}

/// FSYNC with `auto_checkpoint_log_bytes` 4096: every write below leaves more
/// than 4096 bytes of log, so each triggers an automatic checkpoint, and each
/// of those fails (sticky ENOSPC on `index.vsi.tmp` from its second write).
/// The child then exits without closing, as a kill would leave it.
fn auto_checkpoint_scenario(dir: &Path, out: &mut impl Write) {
    let options = Options {
        durability: Durability::Fsync,
        auto_checkpoint_log_bytes: 4096,
        ..Options::default()
    };
    let store = Store::open(dir, DIM as u32, &options).unwrap();
    let ids: Vec<u64> = (0..200).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 1)).collect();
    say(out, "put_batch", &store.put_batch(&ids, &data));
    say(out, "put", &store.put(300, &vector(300, 1)));
    say(out, "delete", &store.delete(5));
    say(
        out,
        "delete_batch",
        &store.delete_batch(&[6, 7, 999]).map(|_| ()),
    );
    let ids: Vec<u64> = (400..410).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 2)).collect();
    say(out, "put_batch2", &store.put_batch(&ids, &data));
    say(out, "put_over", &store.put(0, &vector(0, 3)));
    writeln!(out, "D").unwrap();
    out.flush().unwrap();
    // Die as a SIGKILL would: no close, no destructors.
    std::process::exit(0);
}

/// The sticky ENOSPC of the `index.vsi.tmp` write from its `nth` call on.
fn index_write_fault(nth: &'static str, sticky: bool) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("FAULT_OP", "write"),
        ("FAULT_NTH", nth),
        ("FAULT_ERRNO", "ENOSPC"),
        ("FAULT_PATH_SUBSTR", "/index.vsi.tmp"),
    ];
    if sticky {
        env.push(("FAULT_STICKY", "1"));
    }
    env
}

fn step<'a>(lines: &'a [String], name: &str) -> &'a str {
    let prefix = format!("S {name} ");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("step {name} did not run: {lines:?}"))
}

/// Finding 4 (a guard's bytes change): a compaction whose final checkpoint
/// fails (ENOSPC writing `index.vsi.tmp`) leaves the moved vectors in slots
/// above the durable `used` marks, and compaction never marks the store
/// dirty, so `close` returned Ok without a checkpoint; the next handle opened
/// in this process handed those slots out again, and a guard still held from
/// the old handle then read the new vector. Here the fault hits only the
/// compaction's checkpoint: close must then checkpoint (and succeeds), and
/// the guards and the cursor taken after the compaction keep their bytes
/// exactly through close, a reopen and 200 puts through the new handle.
#[test]
fn guard_survives_failed_compaction_checkpoint_close_and_reopen() {
    let (_root, lines) = run_repro("compact_guard:fsync", &index_write_fault("3", false));
    check_compact_guard(&lines, "ok");
}

/// Checks the steps of `compact_guard_scenario`; `close` is the prefix its
/// result must have. Reports every step that went wrong at once.
fn check_compact_guard(lines: &[String], close: &str) {
    assert!(
        step(lines, "compact").starts_with("err NoSpace fired=1"),
        "the fault did not hit the compaction's checkpoint: {lines:?}"
    );
    let mut problems = Vec::new();
    if !step(lines, "close").starts_with(close) {
        problems.push(format!(
            "close after the failed compaction: expected {close}, got {}",
            step(lines, "close")
        ));
    }
    for name in ["reopen", "puts", "reads", "guards", "cursor"] {
        if !step(lines, name).starts_with("ok") {
            problems.push(format!("{name}: {}", step(lines, name)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Finding 4, a disk that stays full: the compaction's checkpoint fails and so
/// does every later one. `close` must not return Ok (the moved vectors were
/// never made durable), and the handle reopened in the same process must
/// still not write over the slots the old handle's guards and cursor see.
#[test]
fn guard_survives_failed_compaction_and_failed_close_fsync() {
    guard_survives_sticky_full_disk("fsync");
}

/// Finding 4 in NONE mode (no log): as
/// `guard_survives_failed_compaction_and_failed_close_fsync`.
#[test]
fn guard_survives_failed_compaction_and_failed_close_none() {
    guard_survives_sticky_full_disk("none");
}

fn guard_survives_sticky_full_disk(mode: &str) {
    let (_root, lines) = run_repro(
        &format!("compact_guard:{mode}"),
        &index_write_fault("3", true),
    );
    // Close could not checkpoint the compaction and must say so.
    check_compact_guard(&lines, "err NoSpace");
}

/// Finding 4 by another path (found by the sweep's phase after close): in
/// NONE mode a flush whose segment fdatasync fails leaves the vectors written
/// since the last checkpoint above the durable `used` marks (the handle then
/// refuses changes, and close fails, as documented); a handle reopened in
/// the same process hands those slots out again, and guards on those vectors
/// from the old handle read the new ones. Guards must keep their bytes.
#[test]
fn guard_survives_failed_none_flush_close_and_reopen() {
    let (_root, lines) = run_repro(
        "none_sync_guard",
        &[
            ("FAULT_OP", "fdatasync"),
            ("FAULT_NTH", "2"),
            ("FAULT_ERRNO", "EIO"),
            ("FAULT_PATH_SUBSTR", "/store/seg-"),
        ],
    );
    assert!(
        step(&lines, "checkpoint").starts_with("ok fired=0"),
        "{lines:?}"
    );
    assert!(
        step(&lines, "flush").starts_with("err Io fired=1"),
        "the fault did not hit the flush: {lines:?}"
    );
    assert!(
        step(&lines, "close").starts_with("err Io"),
        "close after a failed sync must fail: {lines:?}"
    );
    let problems: Vec<String> = ["reopen", "puts", "guards"]
        .iter()
        .filter(|name| !step(&lines, name).starts_with("ok"))
        .map(|name| format!("{name}: {}", step(&lines, name)))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Finding 4, NONE mode: the header promised that after a failed final
/// checkpoint "the writes stay in the log", but NONE has no log: a close
/// whose checkpoint fails (disk full for good) must return an error, never
/// Ok, whether the close is the first checkpoint to fail (`a`) or an earlier
/// explicit one failed too (`b`). (After a failed compaction: the
/// `guard_survives_failed_compaction_and_failed_close_none` test.)
#[test]
fn none_mode_close_reports_a_failed_final_checkpoint() {
    let (_root, lines) = run_repro("none_close", &index_write_fault("3", true));
    // Writes of index.vsi.tmp: 1 = b created, 2 = a created, 3 on fail.
    assert!(step(&lines, "open_a").starts_with("ok"), "{lines:?}");
    assert!(
        step(&lines, "checkpoint_b").starts_with("err NoSpace fired=1"),
        "{lines:?}"
    );
    assert!(
        step(&lines, "close_b").starts_with("err NoSpace"),
        "close_b: {lines:?}"
    );
    assert!(
        step(&lines, "close_a").starts_with("err NoSpace"),
        "close_a: {lines:?}"
    );
}

/// Finding 5 (an error for a write that was applied): with a small
/// `auto_checkpoint_log_bytes`, a put, put_batch, delete or delete_batch that
/// triggers an automatic checkpoint that fails (ENOSPC writing
/// `index.vsi.tmp`, for good) used to return NoSpace although the write was
/// applied and logged (and FSYNC skipped its durable wait). Each must return
/// Ok, and after the process dies without closing, a reopen shows every one.
#[test]
fn failed_auto_checkpoint_does_not_fail_the_write() {
    let (root, lines) = run_repro("auto_checkpoint", &index_write_fault("2", true));
    for name in [
        "put_batch",
        "put",
        "delete",
        "delete_batch",
        "put_batch2",
        "put_over",
    ] {
        assert!(
            step(&lines, name).starts_with("ok fired=1"),
            "{name}: a write whose automatic checkpoint failed: {lines:?}"
        );
    }
    let store = Store::open(root.path().join("run/store"), 0, &Options::default()).unwrap();
    let mut out = vec![0f32; DIM];
    let mut expect: BTreeMap<u64, Vec<f32>> = (0..200).map(|id| (id, vector(id, 1))).collect();
    for id in [5, 6, 7] {
        expect.remove(&id);
    }
    expect.insert(300, vector(300, 1));
    expect.extend((400..410).map(|id| (id, vector(id, 2))));
    expect.insert(0, vector(0, 3));
    assert_eq!(store.len(), expect.len() as u64);
    for (id, want) in &expect {
        store
            .get(*id, &mut out)
            .unwrap_or_else(|e| panic!("id {id} acknowledged under FSYNC, gone: {e}"));
        assert_eq!(bits(&out), bits(want), "id {id}");
    }
}
