//! Crash tests with real processes: a child runs a workload and reports each
//! operation before and after it; the parent kills it with SIGKILL at a random
//! moment (sometimes again during the next open's recovery), reopens the
//! store and checks its whole content against what was acknowledged.
//!
//! A reader process (`crash_reader_process`, a read-only handle) reads the
//! whole store without pause throughout each trial: while the writer works,
//! across its kill, the next open's recovery (and its kill) and the final
//! reopen. Every read must show a state the acknowledged operations made,
//! at least as new as what was acknowledged before the read started (the
//! writer keeps counters in a shared page, `common::board`), never older
//! than the reader's previous read, never a part of a batch; its last read,
//! after the final reopen, must show what that reopen found. See
//! `common::observe`.
//!
//! `VECSTORE_CRASH_TRIALS` (default 300, or 3000 with `VECSTORE_SOAK=1`) and
//! `VECSTORE_CRASH_SEED` control the run; a failure prints the seed to replay;
//! `VECSTORE_CRASH_VERBOSE=1` prints every trial.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::board::{Board, ACKED, BEGUN, STOP};
use common::observe::{observe, ReaderReport, Timeline};
use common::ops::{content_hash, read_store, Content, Op, DIM};
use common::peer::{self, Peer};
use common::{env_u64, mode_name, parse_mode, seed_from_env, soak, Rng};

use vecstore::{Durability, ErrorKind, Options, Store};

const IDS: u64 = 300;
const CHILD_ENV: &str = "VECSTORE_CRASH_CHILD";
const READER_ENV: &str = "VECSTORE_CRASH_READER";

fn random_op(rng: &mut Rng, version: u64) -> Op {
    let ids = |rng: &mut Rng, n: u64| (0..1 + rng.below(n)).map(|_| rng.below(IDS)).collect();
    match rng.below(100) {
        0..=44 => Op::Put(rng.below(IDS), version),
        45..=62 => Op::Batch(version, ids(rng, 60)),
        63..=80 => Op::Delete(rng.below(IDS)),
        81..=87 => Op::DeleteBatch(ids(rng, 20)),
        88..=91 => Op::Checkpoint,
        92..=94 => Op::Compact,
        _ => Op::Flush,
    }
}

/// The child: `dir mode seed first_version board g`. Reports `OPEN <hash>`
/// once its open returned, then runs until killed. Operation `i` (from 1) is
/// numbered `g + i` on the board (see `common::observe`).
#[test]
#[ignore = "child process of the crash tests; runs only when spawned by them"]
fn crash_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let durability = parse_mode(parts[1]);
    let mut rng = Rng(parts[2].parse::<u64>().unwrap() | 1);
    let mut version: u64 = parts[3].parse().unwrap();
    let board = Board::open(Path::new(parts[4]));
    let mut g: u64 = parts[5].parse().unwrap();
    let options = Options {
        durability,
        initial_capacity: 64,
        ..Options::default()
    };
    let store = Store::open(parts[0], DIM as u32, &options).unwrap();
    let found = read_store(&store).unwrap();
    peer::start();
    peer::say(&format!("OPEN {}", content_hash(&found)));
    loop {
        version += 1;
        g += 1;
        let op = random_op(&mut rng, version);
        board.set(BEGUN, g);
        peer::say(&format!("B {}", op.encode()));
        op.run(&store);
        // Readers must see it from now on (in NONE mode, a barrier only).
        if durability != Durability::None || op.is_barrier(durability) {
            board.set(ACKED, g);
        }
        peer::say("A");
    }
}

/// The reader: `dir board`; reads until the board says stop.
#[test]
#[ignore = "reader process of the crash tests; runs only when spawned by them"]
fn crash_reader_process() {
    let Ok(spec) = std::env::var(READER_ENV) else {
        return;
    };
    peer::start();
    let (dir, board) = spec.split_once(' ').unwrap();
    let ids: Vec<u64> = (0..IDS).collect();
    observe(Path::new(dir), &Board::open(Path::new(board)), &ids, 1);
}

/// Spawns a child on `dir`, kills it after `delay`, returns its report lines.
fn run_child(
    dir: &Path,
    mode: Durability,
    seed: u64,
    first_version: u64,
    delay: Duration,
    board: &Path,
    g: u64,
) -> Vec<String> {
    let mut child = Peer::spawn(
        "crash_child_process",
        "writer",
        &[(
            CHILD_ENV,
            format!(
                "{} {} {seed} {first_version} {} {g}",
                dir.display(),
                mode_name(mode),
                board.display()
            ),
        )],
    );
    std::thread::sleep(delay);
    if let Some(status) = child.exited() {
        let err = child.stderr_text();
        panic!("child exited by itself ({status}) before the kill:\n{err}");
    }
    let lines = child.kill(); // SIGKILL
    assert!(!child.exited().unwrap().success());
    lines
}

/// What the child acknowledged: ops in order, and the one in flight at the kill.
fn parse_report(lines: &[String]) -> (Vec<Op>, Option<Op>) {
    let mut acked = Vec::new();
    let mut pending: Option<Op> = None;
    for line in lines {
        if let Some(op) = line.strip_prefix("B ") {
            pending = Some(Op::decode(op));
        } else if line == "A" {
            acked.push(pending.take().expect("ack follows begin"));
        }
    }
    (acked, pending)
}

/// Feeds a child's report, numbered from `g + 1`, to the timeline of what
/// readers may see; then records its kill.
fn follow(timeline: &mut Timeline, lines: &[String], mode: Durability, mut g: u64, seed: u64) {
    for line in lines {
        if let Some(found) = line.strip_prefix("OPEN ") {
            timeline
                .opened(found.parse().unwrap())
                .unwrap_or_else(|why| {
                    panic!("a child's open (replay with VECSTORE_CRASH_SEED={seed}): {why}")
                });
        } else if let Some(op) = line.strip_prefix("B ") {
            g += 1;
            timeline.begin(g, Op::decode(op), mode);
        } else if line == "A" {
            timeline.ack(g);
        }
    }
    timeline.killed();
}

fn read_all(dir: &Path) -> Content {
    let store = match Store::open(dir, 0, &Options::default()) {
        Ok(store) => store,
        // Killed before its first open had created the store: nothing there.
        Err(e) if e.kind() == ErrorKind::NotFound => return Content::new(),
        Err(e) => panic!("reopen: {e}"),
    };
    let content = read_store(&store).unwrap_or_else(|why| panic!("reread: {why}"));
    store.close().unwrap();
    content
}

/// The states a store in `start` may be in after a child acknowledged
/// `acked` and was killed during `pending`: in FSYNC and FLUSH mode every
/// acknowledged operation survives a process kill, and the pending one may
/// have; in NONE mode only what the last acknowledged barrier (checkpoint,
/// compact, flush) made durable, or all of it if the pending op was one.
fn after_kill(
    start: Content,
    acked: &[Op],
    pending: Option<&Op>,
    mode: Durability,
) -> Vec<Content> {
    let mut current = start.clone();
    let mut last_barrier = start;
    for op in acked {
        op.apply(&mut current);
        if op.is_barrier(mode) {
            last_barrier = current.clone();
        }
    }
    if mode == Durability::None {
        let mut allowed = vec![last_barrier];
        if pending.is_some_and(|op| op.is_barrier(mode)) {
            allowed.push(current);
        }
        allowed
    } else {
        let mut allowed = vec![current.clone()];
        if let Some(op) = pending {
            op.apply(&mut current);
            allowed.push(current);
        }
        allowed
    }
}

fn describe_diff(actual: &Content, expected: &Content) -> String {
    let mut out = String::new();
    for id in actual
        .keys()
        .chain(expected.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if actual.get(id) != expected.get(id) {
            out += &format!(
                "  id {id}: store has {:?}, expected {:?}\n",
                actual.get(id).map(|_| "a vector"),
                expected.get(id).map(|_| "a vector")
            );
            if actual.contains_key(id) && expected.contains_key(id) {
                out += "    (values differ)\n";
            }
        }
    }
    out
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let soak = soak();
    let trials: u64 = env_u64("VECSTORE_CRASH_TRIALS").unwrap_or(if soak { 3000 } else { 300 });
    let seed: u64 = seed_from_env("VECSTORE_CRASH_SEED");
    eprintln!("crash test: {trials} trials, VECSTORE_CRASH_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let modes = [Durability::Fsync, Durability::Flush, Durability::None];
    let root = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut kills, mut recovery_kills, mut acked_total) = (0u64, 0u64, 0usize);
    let mut per_mode = [0u64; 3];
    let (mut observations, mut reads, mut distinct_seen) = (0usize, 0u64, 0usize);
    let board_path = root.path().join("board");
    // A few stores, so that both young and long-lived stores get killed.
    let mut stores: Vec<(std::path::PathBuf, Content)> = (0..4)
        .map(|i| (root.path().join(format!("s{i}")), Content::new()))
        .collect();
    for trial in 0..trials {
        let which = rng.below(stores.len() as u64) as usize;
        let mode_index = (trial % 3) as usize;
        let mode = modes[mode_index];
        let (dir, durable) = &mut stores[which];
        let delay = Duration::from_millis(5 + rng.below(120));
        // A reader reads throughout the trial, from before the writer starts
        // (waiting for the store if it does not exist yet).
        let board = Board::create(&board_path);
        let mut reader = Peer::spawn(
            "crash_reader_process",
            "reader",
            &[(
                READER_ENV,
                format!("{} {}", dir.display(), board_path.display()),
            )],
        );
        let mut timeline = Timeline::new(durable.clone());
        let lines = run_child(
            dir,
            mode,
            rng.next(),
            (trial + 1) * 10_000_000,
            delay,
            &board_path,
            0,
        );
        follow(&mut timeline, &lines, mode, 0, seed);
        kills += 1;
        per_mode[mode_index] += 1;
        let (acked, pending) = parse_report(&lines);
        acked_total += acked.len();
        if std::env::var_os("VECSTORE_CRASH_VERBOSE").is_some() {
            eprintln!(
                "trial {trial}: store {which} {} mode, killed after {delay:?}: {} acked, pending {pending:?}",
                mode_name(mode),
                acked.len()
            );
        }

        // Every state the store may legitimately be in after the kill.
        let mut allowed = after_kill(durable.clone(), &acked, pending.as_ref(), mode);

        if rng.below(3) == 0 {
            // Kill the next open in the middle of its recovery.
            let delay = Duration::from_millis(rng.below(15));
            let g = timeline.last_g().max(board.get(BEGUN));
            let lines = run_child(
                dir,
                mode,
                rng.next(),
                (trial + 1) * 10_000_000 + 5_000_000,
                delay,
                &board_path,
                g,
            );
            follow(&mut timeline, &lines, mode, g, seed);
            recovery_kills += 1;
            kills += 1;
            let (acked2, pending2) = parse_report(&lines);
            if std::env::var_os("VECSTORE_CRASH_VERBOSE").is_some() {
                eprintln!(
                    "  recovery kill after {delay:?}: {} acked, pending {pending2:?}",
                    acked2.len()
                );
            }
            if !acked2.is_empty() || pending2.is_some() {
                // It got past recovery and wrote: verify through its report instead.
                allowed = allowed
                    .into_iter()
                    .flat_map(|start| after_kill(start, &acked2, pending2.as_ref(), mode))
                    .collect();
            }
        }

        let actual = read_all(dir);
        if !allowed.contains(&actual) {
            panic!(
                "trial {trial} ({} mode, store {which}, replay with VECSTORE_CRASH_SEED={seed}): \
                 the store matches no acknowledged state. Pending op: {pending:?}. Diff against the \
                 acknowledged state ({} ids stored, {} allowed states of {:?} ids):\n{}",
                mode_name(mode),
                actual.len(),
                allowed.len(),
                allowed.iter().map(Content::len).collect::<Vec<_>>(),
                describe_diff(&actual, &allowed[0])
            );
        }
        // The reader: what it saw throughout, and after the reopen.
        let replay = format!("trial {trial}, replay with VECSTORE_CRASH_SEED={seed}");
        timeline
            .opened(content_hash(&actual))
            .unwrap_or_else(|why| panic!("{replay}: the reopen: {why}"));
        board.set(STOP, 1);
        let mut report = ReaderReport::default();
        report.take(reader.finish_ok());
        let last = dir
            .join("index.vsi")
            .exists()
            .then(|| content_hash(&actual));
        distinct_seen += report
            .verify("the reader", 1, &timeline, last)
            .unwrap_or_else(|why| panic!("{replay}: {why}"));
        observations += report.total();
        reads += report.reads;
        *durable = actual;
    }
    eprintln!(
        "crash test: {kills} SIGKILLs ({recovery_kills} during recovery; fsync {}, flush {}, none {}), \
         {acked_total} acknowledged operations checked, 0 losses; readers: {reads} reads, \
         {observations} observations checked, {distinct_seen} distinct states; {:.1} s",
        per_mode[0],
        per_mode[1],
        per_mode[2],
        started.elapsed().as_secs_f64()
    );
}
