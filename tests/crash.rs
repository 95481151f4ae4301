//! Crash tests with real processes: a child runs a workload and reports each
//! operation before and after it; the parent kills it with SIGKILL at a random
//! moment (sometimes again during the next open's recovery), reopens the
//! store and checks its whole content against what was acknowledged.
//!
//! `VECSTORE_CRASH_TRIALS` (default 300, or 3000 with `VECSTORE_SOAK=1`) and
//! `VECSTORE_CRASH_SEED` control the run; a failure prints the seed to replay;
//! `VECSTORE_CRASH_VERBOSE=1` prints every trial.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{bits, env_u64, mode_name, seed_from_env, soak, versioned_vector, Rng};

use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 8;
const IDS: u64 = 300;
const CHILD_ENV: &str = "VECSTORE_CRASH_CHILD";

type Content = BTreeMap<u64, Vec<u32>>;

/// The vector written for `id` at `version`: distinct for every write.
fn vector(id: u64, version: u64) -> Vec<f32> {
    versioned_vector(id, version, DIM)
}

/// One operation of the workload, as the child reports it.
#[derive(Debug, Clone)]
enum Op {
    Put(u64, u64),
    Batch(u64, Vec<u64>),
    Delete(u64),
    DeleteBatch(Vec<u64>),
    Checkpoint,
    Compact,
    Flush,
}

impl Op {
    fn encode(&self) -> String {
        let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        match self {
            Op::Put(id, v) => format!("put {id} {v}"),
            Op::Batch(v, ids) => format!("batch {v} {}", list(ids)),
            Op::Delete(id) => format!("del {id}"),
            Op::DeleteBatch(ids) => format!("delb {}", list(ids)),
            Op::Checkpoint => "ckpt".into(),
            Op::Compact => "compact".into(),
            Op::Flush => "flush".into(),
        }
    }

    fn decode(line: &str) -> Op {
        let parts: Vec<&str> = line.split(' ').collect();
        let list = |s: &str| -> Vec<u64> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect()
        };
        match parts[0] {
            "put" => Op::Put(parts[1].parse().unwrap(), parts[2].parse().unwrap()),
            "batch" => Op::Batch(parts[1].parse().unwrap(), list(parts[2])),
            "del" => Op::Delete(parts[1].parse().unwrap()),
            "delb" => Op::DeleteBatch(list(parts.get(1).copied().unwrap_or(""))),
            "ckpt" => Op::Checkpoint,
            "compact" => Op::Compact,
            "flush" => Op::Flush,
            other => panic!("unknown op {other}"),
        }
    }

    fn is_barrier(&self) -> bool {
        matches!(self, Op::Checkpoint | Op::Compact | Op::Flush)
    }

    fn apply(&self, content: &mut Content) {
        match self {
            Op::Put(id, v) => {
                content.insert(*id, bits(&vector(*id, *v)));
            }
            Op::Batch(v, ids) => {
                for id in ids {
                    content.insert(*id, bits(&vector(*id, *v)));
                }
            }
            Op::Delete(id) => {
                content.remove(id);
            }
            Op::DeleteBatch(ids) => {
                for id in ids {
                    content.remove(id);
                }
            }
            Op::Checkpoint | Op::Compact | Op::Flush => {}
        }
    }

    fn run(&self, store: &Store) {
        let r = match self {
            Op::Put(id, v) => store.put(*id, &vector(*id, *v)),
            Op::Batch(v, ids) => {
                let data: Vec<f32> = ids.iter().flat_map(|id| vector(*id, *v)).collect();
                store.put_batch(ids, &data)
            }
            Op::Delete(id) => match store.delete(*id) {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                r => r,
            },
            Op::DeleteBatch(ids) => store.delete_batch(ids).map(|_| ()),
            Op::Checkpoint => store.checkpoint(),
            Op::Compact => store.compact().map(|_| ()),
            Op::Flush => store.flush(),
        };
        r.unwrap_or_else(|e| panic!("{self:?}: {e}"));
    }
}

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

/// The child: `dir mode seed first_version`. Runs until killed.
#[test]
#[ignore = "child process of the crash tests; runs only when spawned by them"]
fn crash_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let durability = match parts[1] {
        "fsync" => Durability::Fsync,
        "flush" => Durability::Flush,
        _ => Durability::None,
    };
    let mut rng = Rng(parts[2].parse::<u64>().unwrap() | 1);
    let mut version: u64 = parts[3].parse().unwrap();
    let options = Options {
        durability,
        initial_capacity: 64,
        ..Options::default()
    };
    let store = Store::open(parts[0], DIM as u32, &options).unwrap();
    // libtest may have printed "test ... " without a newline: start afresh.
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    loop {
        version += 1;
        let op = random_op(&mut rng, version);
        writeln!(out, "B {}", op.encode()).unwrap();
        out.flush().unwrap();
        op.run(&store);
        writeln!(out, "A").unwrap();
        out.flush().unwrap();
    }
}

/// Spawns a child on `dir`, kills it after `delay`, returns its report lines.
fn run_child(
    dir: &Path,
    mode: Durability,
    seed: u64,
    first_version: u64,
    delay: Duration,
) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!(
                "{} {} {seed} {first_version}",
                dir.display(),
                mode_name(mode)
            ),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            if line.ends_with('\n') {
                lines.push(line.trim_end().to_string());
            }
            line.clear();
        }
        lines
    });
    std::thread::sleep(delay);
    let exited = child.try_wait().unwrap();
    if exited.is_none() {
        child.kill().unwrap(); // SIGKILL
    }
    let status = child.wait().unwrap();
    let lines = reader.join().unwrap();
    if let Some(status) = exited {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        panic!("child exited by itself ({status}) before the kill:\n{err}");
    }
    assert!(!status.success());
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

fn read_all(dir: &Path) -> Content {
    let store = match Store::open(dir, 0, &Options::default()) {
        Ok(store) => store,
        // Killed before its first open had created the store: nothing there.
        Err(e) if e.kind() == ErrorKind::NotFound => return Content::new(),
        Err(e) => panic!("reopen: {e}"),
    };
    let mut content = Content::new();
    let mut cursor = store.cursor();
    while let Some((id, v)) = cursor.next().unwrap() {
        assert!(
            content.insert(id, bits(v)).is_none(),
            "id {id} twice in a cursor"
        );
    }
    assert_eq!(store.len(), content.len() as u64);
    for (id, v) in &content {
        let mut out = vec![0.0; DIM];
        store.get(*id, &mut out).unwrap();
        assert_eq!(&bits(&out), v);
    }
    drop(cursor);
    store.close().unwrap();
    content
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
        let lines = run_child(dir, mode, rng.next(), (trial + 1) * 10_000_000, delay);
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
        let mut allowed: Vec<Content> = Vec::new();
        let mut current = durable.clone();
        let mut last_barrier = durable.clone();
        for op in &acked {
            op.apply(&mut current);
            if op.is_barrier() {
                last_barrier = current.clone();
            }
        }
        if mode == Durability::None {
            allowed.push(last_barrier);
            if pending.as_ref().is_some_and(Op::is_barrier) {
                allowed.push(current.clone());
            }
        } else {
            allowed.push(current.clone());
            if let Some(op) = &pending {
                let mut with = current.clone();
                op.apply(&mut with);
                allowed.push(with);
            }
        }

        if rng.below(3) == 0 {
            // Kill the next open in the middle of its recovery.
            let delay = Duration::from_millis(rng.below(15));
            let lines = run_child(
                dir,
                mode,
                rng.next(),
                (trial + 1) * 10_000_000 + 5_000_000,
                delay,
            );
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
                let base = allowed.clone();
                allowed.clear();
                for start in base {
                    let mut cur = start.clone();
                    let mut barrier = start;
                    for op in &acked2 {
                        op.apply(&mut cur);
                        if op.is_barrier() {
                            barrier = cur.clone();
                        }
                    }
                    if mode == Durability::None {
                        allowed.push(barrier);
                        if pending2.as_ref().is_some_and(Op::is_barrier) {
                            allowed.push(cur.clone());
                        }
                    } else {
                        allowed.push(cur.clone());
                        if let Some(op) = &pending2 {
                            op.apply(&mut cur);
                            allowed.push(cur);
                        }
                    }
                }
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
        *durable = actual;
    }
    eprintln!(
        "crash test: {kills} SIGKILLs ({recovery_kills} during recovery; fsync {}, flush {}, none {}), \
         {acked_total} acknowledged operations checked, 0 losses, {:.1} s",
        per_mode[0],
        per_mode[1],
        per_mode[2],
        started.elapsed().as_secs_f64()
    );
}
