//! Readers beside a writer, with real processes (issue 13): the test binary
//! re-executes itself as writer and reader children (`readers_child`), each
//! driven by a line protocol (`common::peer`): the parent sends a command,
//! the child answers once it is done. A writer answers `A` only after its
//! call returned, so a read the parent asks for after that answer starts
//! after the acknowledgement. Readers that run on their own (tests 3 and 5)
//! bound each read with counters a writer child keeps in a shared page
//! (`common::board`). No test waits for a time (a reader waiting for a store
//! to be created polls for it), and none asserts one.
//!
//! 1. Open order and locking: writer first, then readers; readers first,
//!    then a writer; a second writer gets `Locked` while readers are open;
//!    several reader processes at once; a writer killed and the next one
//!    recovering while readers watch.
//! 2. Fresh reads: after each acknowledged write, every reader process (and
//!    a read-only handle in the test process) sees it through `get`,
//!    `contains`, `get_batch`, a cursor, `len`, `search`, `verify` and
//!    `stats`, in FSYNC and FLUSH mode; in NONE mode from the next barrier
//!    on, and never a state older than the last barrier.
//! 3. Whole batches, never back: a writer replaces a batch of ids in a loop
//!    (every vector encodes its id and version; every tenth step deletes
//!    part of it in one call), with checkpoints and compactions in between,
//!    in every mode, and with records of 0.7 and 1.4 MiB; readers polling
//!    `get_batch` (and cursors) see one version for every id, versions that
//!    never decrease, never older than acknowledged.
//! 4. Guards and cursors held in a reader process while the writer
//!    overwrites, deletes, compacts (segment files unlinked), checkpoints,
//!    closes; a second writer is SIGKILLed and a third recovers the store,
//!    all while they are held, and the reader then closes its own handle:
//!    their bytes and addresses never change, no SIGBUS, each cursor yields
//!    the state of its moment, and the reader sees every writer's writes.
//! 5. Writers SIGKILLed at random instants (after a random number of
//!    acknowledged operations, or during their open), one after the other,
//!    half of them checkpointing whenever the log passes 4 KiB, while three
//!    reader processes (two threads each, sharing a handle) read without
//!    pause, and three more join, each opening while a writer lies dead: no
//!    read fails, every read shows a state between what was acknowledged
//!    before it started and what was begun before it ended, views never go
//!    back, and after the last writer every reader sees everything it and
//!    its predecessors acknowledged. `VECSTORE_READERS_KILL_TRIALS` (default
//!    300), `VECSTORE_READERS_SEED`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::board::{Board, ACKED, BEGUN, STOP};
use common::observe::{observe, ReaderReport, Timeline};
use common::ops::{content_hash, read_store, Content, Op, DIM};
use common::peer::{commands, say, start, Peer};
use common::{bits, env_u64, mode_name, parse_mode, seed_from_env, test_root, Rng};

use vecstore::{Durability, ErrorKind, Metric, Options, Store, VectorGuard};

const CHILD_ENV: &str = "VECSTORE_READERS_CHILD";
const CHILD_TEST: &str = "readers_child";
/// Ids of tests 1, 2, 4 and 5.
const IDS: u64 = 48;
/// Threads per reader process of test 5, sharing one handle.
const OBSERVER_THREADS: usize = 2;
const MODES: [Durability; 3] = [Durability::Fsync, Durability::Flush, Durability::None];

/// A child's spec: `key=value` words.
struct Spec(BTreeMap<String, String>);

impl Spec {
    fn parse(s: &str) -> Spec {
        Spec(
            s.split(' ')
                .map(|w| {
                    let (k, v) = w.split_once('=').expect("key=value");
                    (k.to_string(), v.to_string())
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("spec lacks {key}"))
    }

    fn num(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap()
    }

    fn dir(&self) -> PathBuf {
        PathBuf::from(self.get("dir"))
    }
}

fn spawn(name: &str, spec: &[(&str, String)]) -> Peer {
    let words: Vec<String> = spec.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Peer::spawn(CHILD_TEST, name, &[(CHILD_ENV, words.join(" "))])
}

/// The reader's handle, until its `close` command.
fn open(store: &Option<Store>) -> &Store {
    store.as_ref().expect("handle closed")
}

fn read_only() -> Options {
    Options {
        read_only: true,
        ..Options::default()
    }
}

// ===========================================================================
// The children.

#[test]
#[ignore = "child process of the reader tests; runs only when spawned by them"]
fn readers_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    start();
    let spec = Spec::parse(&spec);
    match spec.get("role") {
        "writer" => writer_child(&spec),
        "auto-writer" => auto_writer_child(&spec),
        "reader" => reader_child(&spec),
        "observer" => {
            let ids: Vec<u64> = (0..IDS).collect();
            let board = Board::open(Path::new(spec.get("board")));
            observe(&spec.dir(), &board, &ids, OBSERVER_THREADS);
        }
        "batch-writer" => batch_writer_child(&spec),
        "batch-reader" => batch_reader_child(&spec),
        other => panic!("unknown role {other}"),
    }
}

fn open_writer(spec: &Spec) -> Option<Store> {
    let options = Options {
        durability: parse_mode(spec.get("mode")),
        initial_capacity: spec.num("cap"),
        auto_checkpoint_log_bytes: spec.0.get("auto").map_or(0, |n| n.parse().unwrap()),
        ..Options::default()
    };
    match Store::open(spec.dir(), DIM as u32, &options) {
        Ok(store) => {
            let found = read_store(&store).unwrap();
            say(&format!("OPEN {}", content_hash(&found)));
            Some(store)
        }
        Err(e) => {
            say(&format!("ERR {:?} {e}", e.kind()));
            None
        }
    }
}

/// Runs each operation sent (`Op::encode` lines, or `close`), answering `A`
/// once it returned.
fn writer_child(spec: &Spec) {
    let Some(store) = open_writer(spec) else {
        return;
    };
    for line in commands() {
        if line == "close" {
            store.close().unwrap();
            say("A");
            return;
        }
        Op::decode(&line).run(&store);
        say("A");
    }
}

/// Random operations on ids `0..IDS`, numbered from `g + 1`, reported as
/// `B <g> <op>` before and `A <g>` after, and kept on the board; after `ops`
/// of them (if given), a clean close and `CLOSED`.
fn auto_writer_child(spec: &Spec) {
    let Some(store) = open_writer(spec) else {
        return;
    };
    let board = Board::open(Path::new(spec.get("board")));
    let mut rng = Rng(spec.num("seed") | 1);
    let mut g = spec.num("g");
    let ops = spec.0.get("ops").map_or(u64::MAX, |n| n.parse().unwrap());
    let mut mode = parse_mode(spec.get("mode"));
    for _ in 0..ops {
        g += 1;
        let op = random_op(&mut rng, g);
        board.set(BEGUN, g);
        say(&format!("B {g} {}", op.encode()));
        op.run(&store);
        let before = mode;
        if let Op::SetMode(m) = op {
            mode = m;
        }
        // Readers must see it from now on: in NONE mode, a barrier only.
        if before != Durability::None || op.is_barrier(before) {
            board.set(ACKED, g);
        }
        say(&format!("A {g}"));
    }
    store.close().unwrap();
    say("CLOSED");
}

fn random_op(rng: &mut Rng, version: u64) -> Op {
    let ids = |rng: &mut Rng, n: u64| {
        let mut v: Vec<u64> = (0..1 + rng.below(n)).map(|_| rng.below(IDS)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    match rng.below(100) {
        0..=37 => Op::Put(rng.below(IDS), version),
        38..=57 => Op::Batch(version, ids(rng, 24)),
        58..=70 => Op::Delete(rng.below(IDS)),
        71..=79 => Op::DeleteBatch(ids(rng, 12)),
        80..=85 => Op::Checkpoint,
        86..=89 => Op::Compact,
        90..=94 => Op::Flush,
        _ => Op::SetMode(MODES[rng.below(3) as usize]),
    }
}

/// A guard held by a reader, with what it showed when taken.
struct Held {
    guard: VectorGuard,
    copy: Vec<u32>,
    at: *const f32,
}

/// A read-only handle answering commands:
/// - `read`: the whole store through every read path, cross-checked:
///   `C <hash> <len> <ids>` or `BAD <why>`;
/// - `hold <from> <to>`: guards on those ids: `HELD <hash of their vectors>`;
/// - `cursor <k>`: a new cursor, `k` items read now: `CURSOR`;
/// - `check`: every guard still shows its bytes at its address: `OK <n>`;
/// - `drain`: reads every cursor to its end: `CUR <hash> <len>` each, in order;
/// - `close`: drops the handle (guards and cursors stay): `CLOSED`.
fn reader_child(spec: &Spec) {
    let mut store = match Store::open(spec.dir(), 0, &read_only()) {
        Ok(store) => Some(store),
        Err(e) => {
            say(&format!("ERR {:?} {e}", e.kind()));
            return;
        }
    };
    say("READY");
    let mut held: Vec<Held> = Vec::new();
    let mut cursors: Vec<(vecstore::Cursor, Content)> = Vec::new();
    for line in commands() {
        let p: Vec<&str> = line.split(' ').collect();
        match p[0] {
            "read" => match read_checked(open(&store)) {
                Ok(c) => {
                    let ids: Vec<String> = c.keys().map(u64::to_string).collect();
                    say(&format!(
                        "C {} {} {}",
                        content_hash(&c),
                        c.len(),
                        ids.join(",")
                    ))
                }
                Err(why) => say(&format!("BAD {why}")),
            },
            "hold" => {
                let mut taken = Content::new();
                for id in p[1].parse().unwrap()..p[2].parse().unwrap() {
                    let guard = open(&store).get_ref(id).unwrap();
                    let copy = bits(guard.data());
                    taken.insert(id, copy.clone());
                    let at = guard.data().as_ptr();
                    held.push(Held { guard, copy, at });
                }
                say(&format!("HELD {}", content_hash(&taken)));
            }
            "cursor" => {
                let mut cursor = open(&store).cursor();
                let mut seen = Content::new();
                for _ in 0..p[1].parse::<usize>().unwrap() {
                    if let Some((id, v)) = cursor.next().unwrap() {
                        seen.insert(id, bits(v));
                    }
                }
                cursors.push((cursor, seen));
                say("CURSOR");
            }
            "check" => {
                let bad: Vec<String> = held
                    .iter()
                    .filter(|h| bits(h.guard.data()) != h.copy || h.guard.data().as_ptr() != h.at)
                    .map(|h| h.guard.id().to_string())
                    .collect();
                if bad.is_empty() {
                    say(&format!("OK {}", held.len()));
                } else {
                    say(&format!("BAD guards of ids {} changed", bad.join(",")));
                }
            }
            "drain" => {
                for (cursor, seen) in &mut cursors {
                    while let Some((id, v)) = cursor.next().unwrap() {
                        assert!(seen.insert(id, bits(v)).is_none(), "id {id} twice");
                    }
                    say(&format!("CUR {} {}", content_hash(seen), seen.len()));
                }
            }
            "close" => {
                store.take().expect("open").close().unwrap();
                say("CLOSED");
            }
            other => panic!("unknown command {other}"),
        }
    }
}

/// The store's content, read through the cursor, `len`, `get`, `contains`,
/// `get_batch`, `search`, `verify` and `stats`, which must all agree (the caller makes sure
/// no write happens meanwhile).
fn read_checked(store: &Store) -> Result<Content, String> {
    let content = read_store(store)?;
    let dim = DIM;
    let ids: Vec<u64> = (0..IDS).collect();
    let mut out = vec![0.0; ids.len() * dim];
    let mut found = vec![false; ids.len()];
    store
        .get_batch(&ids, &mut out, &mut found)
        .map_err(|e| format!("get_batch: {e}"))?;
    let mut one = vec![0.0; dim];
    for (i, &id) in ids.iter().enumerate() {
        let expected = content.get(&id);
        if store.contains(id) != expected.is_some() || found[i] != expected.is_some() {
            return Err(format!(
                "id {id}: cursor says {}, contains {}, get_batch {}",
                expected.is_some(),
                store.contains(id),
                found[i]
            ));
        }
        match expected {
            Some(v) if &bits(&out[i * dim..(i + 1) * dim]) != v => {
                return Err(format!("id {id}: get_batch disagrees with the cursor"))
            }
            None => match store.get(id, &mut one) {
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                other => return Err(format!("get of absent id {id}: {other:?}")),
            },
            _ => {}
        }
    }
    let verified = store.verify();
    if !verified.problems.is_empty() || verified.vectors != content.len() as u64 {
        return Err(format!(
            "verify: {} vectors, problems {:?}",
            verified.vectors, verified.problems
        ));
    }
    if store.stats().vectors != content.len() as u64 {
        return Err(format!("stats: {:?}", store.stats()));
    }
    if let Some((&id, v)) = content.iter().next() {
        let query: Vec<f32> = v.iter().map(|b| f32::from_bits(*b)).collect();
        let hits = store
            .search(&query, IDS as usize + 5, Metric::L2)
            .map_err(|e| format!("search: {e}"))?;
        let hit_ids: Vec<u64> = {
            let mut h: Vec<u64> = hits.iter().map(|n| n.id).collect();
            h.sort_unstable();
            h
        };
        if hit_ids != content.keys().copied().collect::<Vec<_>>() {
            return Err(format!(
                "search found ids {hit_ids:?}, the cursor {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        }
        if hits[0].id != id || hits[0].distance != 0.0 {
            return Err(format!(
                "search for id {id}'s own vector found {:?} first",
                hits[0]
            ));
        }
    }
    Ok(content)
}

// ---- test 3's children -------------------------------------------------------

/// The ids of test 3: `keep` ids whose vectors every step replaces, then
/// `drop` ids that a step ending in 5 deletes (in one call) and the next
/// step puts back.
#[derive(Clone, Copy)]
struct Shape {
    keep: u64,
    drop: u64,
}

impl Shape {
    fn of(spec: &Spec) -> Shape {
        Shape {
            keep: spec.num("keep"),
            drop: spec.num("drop"),
        }
    }

    fn all(self) -> Vec<u64> {
        (0..self.keep + self.drop).collect()
    }
}

/// `[id, step, step, ...]`: a reader can tell id and version of any vector.
fn step_vector(id: u64, step: u64) -> Vec<f32> {
    let mut v = vec![step as f32; DIM];
    v[0] = id as f32;
    v
}

/// Step `s`: puts every id at version `s` in one batch, except steps ending
/// in 5, which delete the `drop` ids in one call. In NONE mode
/// each step is followed by a flush (readers see it from then on). A
/// checkpoint after every 7th step, a compaction after every 11th. Waits for
/// `go` after opening, so readers can open first.
fn batch_writer_child(spec: &Spec) {
    let mode = parse_mode(spec.get("mode"));
    let options = Options {
        durability: mode,
        initial_capacity: 256,
        ..Options::default()
    };
    let store = Store::open(spec.dir(), DIM as u32, &options).unwrap();
    let board = Board::open(Path::new(spec.get("board")));
    say("OPEN");
    assert_eq!(commands().next().as_deref(), Some("go"));
    let shape = Shape::of(spec);
    let all = shape.all();
    let dropped = &all[shape.keep as usize..];
    for s in 1..=spec.num("steps") {
        board.set(BEGUN, s);
        if s % 10 == 5 {
            assert_eq!(store.delete_batch(dropped).unwrap(), shape.drop);
        } else {
            let data: Vec<f32> = all.iter().flat_map(|&id| step_vector(id, s)).collect();
            store.put_batch(&all, &data).unwrap();
        }
        if mode == Durability::None {
            store.flush().unwrap();
        }
        board.set(ACKED, s);
        if s % 7 == 0 {
            store.checkpoint().unwrap();
        }
        if s % 11 == 0 {
            store.compact().unwrap();
        }
    }
    say("DONE");
    store.close().unwrap();
}

/// The step a read of test 3 shows, from `(id, vector)` pairs of every
/// present id; `Err` if it is no state of the writer's.
fn step_of(present: &BTreeMap<u64, Vec<f32>>, shape: Shape) -> Result<u64, String> {
    if present.is_empty() {
        return Ok(0);
    }
    let mut version = None;
    for (&id, v) in present {
        if v[0] != id as f32 || v[1..].iter().any(|x| *x != v[1]) {
            return Err(format!(
                "id {id} holds a vector of another id or torn: {v:?}"
            ));
        }
        if *version.get_or_insert(v[1]) != v[1] {
            return Err(format!(
                "two versions in one read: {} and {} (id {id})",
                version.unwrap(),
                v[1]
            ));
        }
    }
    let version = version.unwrap() as u64;
    let keep = (0..shape.keep).all(|id| present.contains_key(&id));
    let dropped = (shape.keep..shape.keep + shape.drop).filter(|id| present.contains_key(id));
    match (keep, dropped.count() as u64) {
        (true, n) if n == shape.drop && version % 10 != 5 => Ok(version),
        (true, 0) if version % 10 == 4 => Ok(version + 1),
        (keep, n) => Err(format!(
            "a torn state: version {version}, all kept ids present: {keep}, {n} of the {} \
             deleted-together ids present",
            shape.drop
        )),
    }
}

/// Polls `get_batch` over every id (and every 5th time a cursor) until the
/// writer is done: each read's step must lie between the board's bounds and
/// never decrease. Answers `R <reads> <distinct steps>` or `BAD <why>`.
fn batch_reader_child(spec: &Spec) {
    let store = Store::open(spec.dir(), 0, &read_only()).unwrap();
    let board = Board::open(Path::new(spec.get("board")));
    let last = spec.num("steps");
    say("READY");
    let shape = Shape::of(spec);
    let ids = shape.all();
    let mut out = vec![0.0; ids.len() * DIM];
    let mut found = vec![false; ids.len()];
    let (mut prev, mut reads, mut distinct) = (0u64, 0u64, 0u64);
    loop {
        let done = board.get(STOP) != 0;
        let acked = board.get(ACKED);
        let mut present = BTreeMap::new();
        if reads % 5 == 4 {
            let mut cursor = store.cursor();
            while let Some((id, v)) = cursor.next().unwrap() {
                present.insert(id, v.to_vec());
            }
        } else {
            store.get_batch(&ids, &mut out, &mut found).unwrap();
            for (i, &id) in ids.iter().enumerate() {
                if found[i] {
                    present.insert(id, out[i * DIM..(i + 1) * DIM].to_vec());
                }
            }
        }
        let begun = board.get(BEGUN);
        reads += 1;
        let step = match step_of(&present, shape) {
            Ok(s) => s,
            Err(why) => return say(&format!("BAD read {reads}: {why}")),
        };
        if step < prev || step < acked || step > begun {
            return say(&format!(
                "BAD read {reads} saw step {step}: previous read saw {prev}, acknowledged before \
                 it started {acked}, begun before it ended {begun}"
            ));
        }
        distinct += u64::from(step != prev);
        prev = step;
        if done {
            if step != last {
                return say(&format!(
                    "BAD final read saw step {step}, the writer finished {last}"
                ));
            }
            return say(&format!("R {reads} {distinct}"));
        }
    }
}

// ===========================================================================
// The parent's helpers.

fn writer(dir: &Path, mode: Durability, name: &str) -> Peer {
    spawn(
        name,
        &[
            ("role", "writer".into()),
            ("dir", dir.display().to_string()),
            ("mode", mode_name(mode).into()),
            ("cap", "16".into()),
        ],
    )
}

/// A writer child that must open the store and find `expected`.
fn open_writer_expecting(dir: &Path, mode: Durability, name: &str, expected: &Content) -> Peer {
    let mut w = writer(dir, mode, name);
    let line = w.recv();
    assert_eq!(
        line,
        format!("OPEN {}", content_hash(expected)),
        "{name}: its open found another state than the acknowledged one"
    );
    w
}

/// A writer child that must be refused with `Locked`.
fn assert_locked(dir: &Path, name: &str) {
    let mut w = writer(dir, Durability::Fsync, name);
    let line = w.recv();
    assert!(
        line.starts_with("ERR Locked"),
        "{name}: a second writer was not refused with Locked: {line}"
    );
    w.finish_ok();
}

fn reader(dir: &Path, name: &str) -> Peer {
    let mut r = spawn(
        name,
        &[
            ("role", "reader".into()),
            ("dir", dir.display().to_string()),
        ],
    );
    assert_eq!(r.recv(), "READY", "{name}");
    r
}

/// Several readers, spawned together (their opens overlap).
fn readers(dir: &Path, prefix: &str, n: usize) -> Vec<Peer> {
    let mut rs: Vec<Peer> = (0..n)
        .map(|i| {
            spawn(
                &format!("{prefix}{i}"),
                &[
                    ("role", "reader".into()),
                    ("dir", dir.display().to_string()),
                ],
            )
        })
        .collect();
    for r in &mut rs {
        assert_eq!(r.recv(), "READY", "{}", r.name);
    }
    rs
}

/// Runs `op` in writer `w` and applies it to `model` once acknowledged.
fn run(w: &mut Peer, op: &Op, model: &mut Content) {
    assert_eq!(w.ask(&op.encode()), "A", "{}: {op:?}", w.name);
    op.apply(model);
}

/// The hash a reader reports, after checking every read path agrees.
fn read_hash(r: &mut Peer) -> u64 {
    let line = r.ask("read");
    let p: Vec<&str> = line.split(' ').collect();
    assert_eq!(p[0], "C", "{}: {line}", r.name);
    p[1].parse().unwrap()
}

fn expect_state(r: &mut Peer, model: &Content, when: &str) {
    let line = r.ask("read");
    let p: Vec<&str> = line.splitn(4, ' ').collect();
    assert_eq!(p[0], "C", "{} {when}: {line}", r.name);
    let ids: Vec<String> = model.keys().map(u64::to_string).collect();
    assert_eq!(
        p[1].parse::<u64>().unwrap(),
        content_hash(model),
        "{} {when}: sees ids [{}] (or other vectors), acknowledged state has [{}]",
        r.name,
        p.get(3).unwrap_or(&""),
        ids.join(",")
    );
}

fn expect_all(rs: &mut [Peer], model: &Content, when: &str) {
    for r in rs {
        expect_state(r, model, when);
    }
}

fn batch(version: u64, ids: impl IntoIterator<Item = u64>) -> Op {
    Op::Batch(version, ids.into_iter().collect())
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    names.sort();
    names
}

// ===========================================================================
// 1. Open order and locking.

#[test]
fn writer_first_then_readers_and_a_second_writer_is_locked() {
    let root = test_root("vecstore-readers-");
    let dir = root.path().join("store");
    let mut model = Content::new();
    let mut w = open_writer_expecting(&dir, Durability::Fsync, "writer", &model);
    run(&mut w, &Op::Put(1, 1), &mut model);
    run(&mut w, &batch(2, [2, 3, 4, 5]), &mut model);
    let mut rs = readers(&dir, "reader", 3);
    expect_all(&mut rs, &model, "after opening beside the writer");
    for op in [
        Op::Put(6, 3),
        Op::Delete(2),
        Op::DeleteBatch(vec![3, 4]),
        batch(4, 10..30),
        Op::Checkpoint,
        Op::Compact,
        Op::Put(11, 5),
    ] {
        run(&mut w, &op, &mut model);
        expect_all(&mut rs, &model, &format!("after {}", op.encode()));
    }
    assert_locked(&dir, "second writer");
    // A reader that opens while the writer holds the store.
    rs.push(reader(&dir, "late reader"));
    expect_all(&mut rs, &model, "after a second writer was refused");
    assert_eq!(w.ask("close"), "A");
    w.finish_ok();
    expect_all(&mut rs, &model, "after the writer closed");
    // The next writer opens while the readers stay.
    let mut w = open_writer_expecting(&dir, Durability::Flush, "next writer", &model);
    run(&mut w, &batch(6, 0..8), &mut model);
    expect_all(&mut rs, &model, "after the next writer's batch");
    assert_locked(&dir, "another second writer");
    drop(w.finish_ok());
    expect_all(&mut rs, &model, "after the next writer exited");
    for r in &mut rs {
        r.finish_ok();
    }
}

#[test]
fn readers_first_then_writer() {
    let root = test_root("vecstore-readers-");
    let dir = root.path().join("store");
    let mut model = Content::new();
    let mut w = open_writer_expecting(&dir, Durability::Fsync, "creator", &model);
    run(&mut w, &batch(1, 0..20), &mut model);
    assert_eq!(w.ask("close"), "A");
    w.finish_ok();
    // No writer at all: readers open the store alone.
    let mut rs = readers(&dir, "reader", 3);
    expect_all(&mut rs, &model, "with no writer");
    let mut w = open_writer_expecting(&dir, Durability::Flush, "writer", &model);
    expect_all(&mut rs, &model, "after a writer opened");
    for op in [
        Op::Put(30, 2),
        Op::DeleteBatch(vec![0, 1, 2]),
        batch(3, 5..15),
        Op::Compact,
        // Left in the log only, for the kill below.
        Op::Put(31, 4),
        batch(5, [0, 5, 40]),
    ] {
        run(&mut w, &op, &mut model);
        expect_all(&mut rs, &model, &format!("after {}", op.encode()));
    }
    assert_locked(&dir, "second writer");
    // The writer dies; the readers keep the acknowledged state; a new
    // writer recovers while they watch, and they see its writes.
    w.kill();
    expect_all(&mut rs, &model, "after the writer was killed");
    // A reader that opens before any writer recovered the store replays
    // the log in memory.
    rs.push(reader(&dir, "reader of a dead writer's store"));
    expect_all(&mut rs, &model, "with the writer dead");
    let mut w = open_writer_expecting(&dir, Durability::Fsync, "recovering writer", &model);
    expect_all(&mut rs, &model, "after a new writer recovered");
    run(&mut w, &batch(4, 20..40), &mut model);
    expect_all(&mut rs, &model, "after the new writer's batch");
    assert_locked(&dir, "third writer");
    assert_eq!(w.ask("close"), "A");
    w.finish_ok();
    expect_all(&mut rs, &model, "after the new writer closed");
    for r in &mut rs {
        r.finish_ok();
    }
}

// ===========================================================================
// 2. Fresh reads.

#[test]
fn readers_see_each_acknowledged_write_in_every_mode() {
    let root = test_root("vecstore-readers-");
    let seed = seed_from_env("VECSTORE_READERS_SEED");
    eprintln!("fresh reads: VECSTORE_READERS_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let mut version = 0;
    for mode in MODES {
        let dir = root.path().join(mode_name(mode));
        let mut model = Content::new();
        let mut w = open_writer_expecting(&dir, mode, "writer", &model);
        let mut rs = readers(&dir, "reader", 2);
        // The test process reads too.
        let local = Store::open(&dir, 0, &read_only()).unwrap();
        // States a reader may show: since the last barrier in NONE mode,
        // exactly the latest otherwise.
        let mut allowed = vec![model.clone()];
        let (mut exact, mut reads) = (0, 0);
        for _ in 0..40 {
            version += 1;
            let op = match rng.below(20) {
                0..=6 => Op::Put(rng.below(IDS), version),
                7..=11 => batch(version, (0..1 + rng.below(12)).map(|i| (i * 5) % IDS)),
                12..=14 => Op::Delete(rng.below(IDS)),
                15 => Op::DeleteBatch((0..rng.below(10)).map(|i| i * 3).collect()),
                16 => Op::Checkpoint,
                17 => Op::Compact,
                _ => Op::Flush,
            };
            run(&mut w, &op, &mut model);
            if mode != Durability::None || op.is_barrier(mode) {
                allowed.clear();
            }
            allowed.push(model.clone());
            let hashes: Vec<u64> = allowed.iter().map(content_hash).collect();
            let mut seen = Vec::new();
            for r in &mut rs {
                seen.push((r.name.clone(), read_hash(r)));
            }
            let mine = read_checked(&local).unwrap_or_else(|why| panic!("test process: {why}"));
            seen.push(("test process".into(), content_hash(&mine)));
            for (who, h) in seen {
                let at = hashes.iter().position(|x| *x == h).unwrap_or_else(|| {
                    panic!(
                        "{} mode, after {} was acknowledged: {who} shows a state that is not \
                         one of the {} allowed (the last barrier's and later)",
                        mode_name(mode),
                        op.encode(),
                        hashes.len()
                    )
                });
                reads += 1;
                exact += usize::from(at + 1 == hashes.len());
            }
        }
        eprintln!(
            "fresh reads, {} mode: {reads} reads, {exact} showed the latest write",
            mode_name(mode)
        );
        assert_eq!(w.ask("close"), "A");
        w.finish_ok();
        let final_hash = content_hash(&read_checked(&local).unwrap());
        assert_eq!(final_hash, content_hash(&model), "after close");
        for r in &mut rs {
            expect_state(r, &model, "after close");
            r.finish_ok();
        }
    }
}

// ===========================================================================
// 3. Whole batches, never back.

#[test]
fn readers_see_whole_batches_and_never_go_back() {
    let root = test_root("vecstore-readers-");
    let steps = env_u64("VECSTORE_READERS_BATCH_STEPS").unwrap_or(1500);
    let small = Shape { keep: 48, drop: 16 };
    // Records of 0.7 and 1.4 MiB: across and beyond the 1 MiB a reader's
    // log tail reads at a time; the second also fills the change delta
    // past its bound, so the writer checkpoints by itself.
    let big = |keep| Shape { keep, drop: 16 };
    let cases = [
        (Durability::Fsync, small, steps),
        (Durability::Flush, small, steps),
        (Durability::None, small, steps),
        (Durability::Flush, big(15_000), 16),
        (Durability::Fsync, big(30_000), 12),
    ];
    for (n, (mode, shape, steps)) in cases.into_iter().enumerate() {
        let dir = root.path().join(format!("store{n}"));
        let board_path = root.path().join(format!("board{n}"));
        let board = Board::create(&board_path);
        let common = |role: &str| {
            vec![
                ("role", role.to_string()),
                ("dir", dir.display().to_string()),
                ("mode", mode_name(mode).to_string()),
                ("board", board_path.display().to_string()),
                ("steps", steps.to_string()),
                ("keep", shape.keep.to_string()),
                ("drop", shape.drop.to_string()),
            ]
        };
        let case = format!(
            "{} mode, {} ids per batch",
            mode_name(mode),
            shape.keep + shape.drop
        );
        let mut w = spawn("batch writer", &common("batch-writer"));
        assert_eq!(w.recv(), "OPEN");
        let mut rs: Vec<Peer> = (0..2)
            .map(|i| spawn(&format!("batch reader {i}"), &common("batch-reader")))
            .collect();
        for r in &mut rs {
            assert_eq!(r.recv(), "READY", "{}", r.name);
        }
        w.send("go");
        assert_eq!(w.recv(), "DONE");
        board.set(STOP, 1);
        for r in &mut rs {
            let lines = r.finish_ok();
            let p: Vec<&str> = lines[0].split(' ').collect();
            assert_eq!(p[0], "R", "{case}, {}: {}", r.name, lines[0]);
            eprintln!(
                "whole batches, {case}, {}: {} reads, {} distinct steps of {steps}, none torn or \
                 older",
                r.name, p[1], p[2]
            );
        }
        w.finish_ok();
    }
}

// ===========================================================================
// 4. Guards and cursors in a reader process.

fn expect_held(r: &mut Peer, model: &Content, ids: std::ops::Range<u64>) {
    let line = r.ask(&format!("hold {} {}", ids.start, ids.end));
    let want: Content = ids.map(|id| (id, model[&id].clone())).collect();
    assert_eq!(line, format!("HELD {}", content_hash(&want)), "{}", r.name);
}

fn expect_guards_unchanged(r: &mut Peer, when: &str) {
    let line = r.ask("check");
    assert!(line.starts_with("OK "), "{} {when}: {line}", r.name);
}

#[test]
fn guards_and_cursors_survive_the_writer_its_death_and_recovery() {
    let root = test_root("vecstore-readers-");
    let dir = root.path().join("store");
    let mut model = Content::new();
    let mut w = open_writer_expecting(&dir, Durability::Flush, "writer", &model);
    // A full first segment (16 slots), then a second.
    run(&mut w, &batch(1, 0..16), &mut model);
    run(&mut w, &batch(1, 16..24), &mut model);
    let mut r = reader(&dir, "reader");
    expect_held(&mut r, &model, 0..24);
    let mut cursors = Vec::new();
    for k in [0, 5] {
        assert_eq!(r.ask(&format!("cursor {k}")), "CURSOR");
        cursors.push(model.clone());
    }
    let first_segments = segment_files(&dir);
    let step = |w: &mut Peer, r: &mut Peer, op: Op, model: &mut Content| {
        run(w, &op, model);
        let when = format!("after {}", op.encode());
        expect_guards_unchanged(r, &when);
        expect_state(r, model, &when);
    };
    step(&mut w, &mut r, batch(2, 0..24), &mut model);
    step(
        &mut w,
        &mut r,
        Op::DeleteBatch((0..8).collect()),
        &mut model,
    );
    step(&mut w, &mut r, Op::Compact, &mut model);
    let unlinked: Vec<&String> = first_segments
        .iter()
        .filter(|n| !dir.join(n).exists())
        .collect();
    assert!(
        !unlinked.is_empty(),
        "compaction unlinked none of the segments {first_segments:?} the guards map"
    );
    step(&mut w, &mut r, Op::Checkpoint, &mut model);
    expect_held(&mut r, &model, 8..24);
    assert_eq!(r.ask("cursor 3"), "CURSOR");
    cursors.push(model.clone());
    assert_eq!(w.ask("close"), "A");
    w.finish_ok();
    expect_guards_unchanged(&mut r, "after the writer closed");
    expect_state(&mut r, &model, "after the writer closed");

    // A second writer: logged writes the reader takes guards on, then NONE
    // mode writes (in slots after them, never published), then SIGKILL.
    let mut w = open_writer_expecting(&dir, Durability::Flush, "second writer", &model);
    step(&mut w, &mut r, batch(3, 24..32), &mut model);
    expect_held(&mut r, &model, 24..32);
    assert_eq!(r.ask("cursor 2"), "CURSOR");
    cursors.push(model.clone());
    let acknowledged = model.clone();
    run(&mut w, &Op::SetMode(Durability::None), &mut model);
    run(&mut w, &batch(4, 32..40), &mut model);
    run(&mut w, &Op::Put(8, 4), &mut model);
    // NONE-mode writes are published at the next barrier only.
    expect_state(&mut r, &acknowledged, "after unpublished NONE writes");
    w.kill();
    let mut model = acknowledged;
    expect_guards_unchanged(&mut r, "after the second writer was killed");
    expect_state(&mut r, &model, "after the second writer was killed");

    // A third writer recovers (replays the log, retires the unpublished
    // slots) while the guards are held, then writes over everything.
    let mut w = open_writer_expecting(&dir, Durability::Flush, "third writer", &model);
    expect_guards_unchanged(&mut r, "after the third writer's recovery");
    expect_state(&mut r, &model, "after the third writer's recovery");
    step(&mut w, &mut r, batch(5, 32..40), &mut model);
    step(&mut w, &mut r, batch(6, 8..40), &mut model);
    step(
        &mut w,
        &mut r,
        Op::DeleteBatch((24..28).collect()),
        &mut model,
    );
    step(&mut w, &mut r, Op::Compact, &mut model);
    step(&mut w, &mut r, Op::Checkpoint, &mut model);
    assert_eq!(w.ask("close"), "A");
    w.finish_ok();
    expect_guards_unchanged(&mut r, "after the third writer closed");
    expect_state(&mut r, &model, "after the third writer closed");
    // The reader drops its own handle too; then each cursor still yields
    // the state of the moment it was taken.
    assert_eq!(r.ask("close"), "CLOSED");
    expect_guards_unchanged(&mut r, "after the reader closed its handle");
    r.send("drain");
    for (i, expected) in cursors.iter().enumerate() {
        assert_eq!(
            r.recv(),
            format!("CUR {} {}", content_hash(expected), expected.len()),
            "cursor {i}"
        );
    }
    expect_guards_unchanged(&mut r, "at the end");
    r.finish_ok();
}

// ===========================================================================
// 5. Writers killed at random instants, readers reading throughout.

#[test]
fn readers_keep_a_consistent_view_while_writers_are_killed() {
    let trials = env_u64("VECSTORE_READERS_KILL_TRIALS").unwrap_or(300);
    let seed = seed_from_env("VECSTORE_READERS_SEED");
    eprintln!("writer kills: {trials} trials, VECSTORE_READERS_SEED={seed}");
    let started = std::time::Instant::now();
    let mut rng = Rng(seed | 1);
    let root = test_root("vecstore-readers-");
    let dir = root.path().join("store");
    let board_path = root.path().join("board");
    let board = Board::create(&board_path);
    let spec = |role: &str| {
        vec![
            ("role", role.to_string()),
            ("dir", dir.display().to_string()),
            ("board", board_path.display().to_string()),
        ]
    };
    // The readers start before the store exists and wait for it.
    let mut observers: Vec<Peer> = (0..3)
        .map(|i| spawn(&format!("observer {i}"), &spec("observer")))
        .collect();
    let mut timeline = Timeline::new(Content::new());
    let (mut kills, mut acked_total) = (0, 0);
    let fail = |why: String| -> ! { panic!("{why} (VECSTORE_READERS_SEED={seed})") };
    for trial in 0..=trials {
        let last = trial == trials;
        // Twice, a reader that opens while the last writer lies dead,
        // before the next one recovers the store (it replays the log in
        // memory), and stays to the end.
        if trial > 0 && trial % (trials / 3).max(1) == 0 && dir.join("index.vsi").exists() {
            let mut late = spawn(&format!("observer {}", observers.len()), &spec("observer"));
            assert_eq!(late.recv(), "READY", "{}", late.name);
            observers.push(late);
        }
        let mut mode = MODES[(trial % 3) as usize];
        let g = timeline.last_g().max(board.get(BEGUN));
        let mut writer_spec = spec("auto-writer");
        writer_spec.extend([
            ("mode", mode_name(mode).to_string()),
            ("cap", "16".to_string()),
            ("seed", rng.next().to_string()),
            ("g", g.to_string()),
            // Often a tiny log: checkpoints (and trims) after most writes.
            (
                "auto",
                if rng.below(2) == 0 { "4096" } else { "0" }.to_string(),
            ),
        ]);
        if last {
            writer_spec.push(("ops", "20".to_string()));
        }
        let mut w = spawn(&format!("writer {trial}"), &writer_spec);
        // Kill it as it starts (perhaps in its open's recovery), right
        // after its open, or after some acknowledged operations.
        let mut lines = Vec::new();
        let wait_for = match rng.below(6) {
            _ if last => None,
            0 => Some(0),
            1 => Some(1),
            _ => Some(2 + rng.below(120)),
        };
        match wait_for {
            None => loop {
                let line = w.recv();
                let done = line == "CLOSED";
                lines.push(line);
                if done {
                    break;
                }
            },
            Some(n) => {
                let mut seen = 0;
                while seen < n {
                    let line = w.recv();
                    // The open counts as the first thing to wait for.
                    if line.starts_with("OPEN") || line.starts_with("A ") {
                        seen += 1;
                    }
                    lines.push(line);
                }
                lines.extend(w.kill());
                kills += 1;
            }
        }
        for line in &lines {
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            match word {
                "OPEN" => timeline
                    .opened(rest.parse().unwrap())
                    .unwrap_or_else(|why| fail(format!("trial {trial}: {why}"))),
                "B" => {
                    let (g, op) = rest.split_once(' ').unwrap();
                    let op = Op::decode(op);
                    timeline.begin(g.parse().unwrap(), op.clone(), mode);
                    if let Op::SetMode(m) = op {
                        mode = m;
                    }
                }
                "A" => {
                    timeline.ack(rest.parse().unwrap());
                    acked_total += 1;
                }
                "CLOSED" => timeline.closed(),
                "ERR" => fail(format!("trial {trial}: the writer's open failed: {line}")),
                other => panic!("unexpected writer line {other}"),
            }
        }
        if wait_for.is_some() {
            timeline.killed();
        }
    }
    board.set(STOP, 1);
    let expected = content_hash(timeline.content());
    let mut total_observations = 0;
    for o in &mut observers {
        let mut report = ReaderReport::default();
        report.take(o.finish_ok());
        let distinct = report
            .verify(&o.name, OBSERVER_THREADS, &timeline, Some(expected))
            .unwrap_or_else(|why| fail(why));
        total_observations += report.total();
        eprintln!(
            "writer kills: {}: {} reads, {} reported, {distinct} distinct states",
            o.name,
            report.reads,
            report.total()
        );
    }
    eprintln!(
        "writer kills: {kills} SIGKILLs, {acked_total} acknowledged operations, {} states, \
         {total_observations} observations checked, {:.1} s",
        timeline.states(),
        started.elapsed().as_secs_f64()
    );
}
