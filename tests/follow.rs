//! Regression tests for read-only handles following a writer, from the
//! review of issue 13: each of these showed a reader a state the writer
//! never had, missed acknowledged writes forever, or hung, before its fix.

mod common;
use common::shim::{FAILING_LOG_HEADER, SLOW_FALLOCATE_FAILS};
use common::{child, opts, within};

use std::time::Duration;

use vecstore::{Durability, ErrorKind, Options, Store};

/// (b)/(c) A log whose first record is numbered past `checkpoint.lsn + 1`
/// (here: an index.vsi restored from an older copy; any damage that leaves a
/// numbering gap will do). A writer's open reports `Corrupt`. A read-only
/// open never returns: `refresh` sees a gap, reloads the same checkpoint and
/// the same log, sees the same gap, forever (100% CPU). `vecstore stat`,
/// `verify` and `export` hang the same way.
#[test]
fn a_numbering_gap_hangs_a_reader_forever() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let old_cp = dir.path().join("old-index.vsi");
    {
        let w = Store::open(&path, 2, &opts(Durability::Flush, false)).unwrap();
        w.put(1, &[1.0, 1.0]).unwrap();
        w.checkpoint().unwrap(); // cp at lsn 1
        std::fs::copy(path.join("index.vsi"), &old_cp).unwrap();
        w.put(2, &[2.0, 2.0]).unwrap();
        w.checkpoint().unwrap(); // cp at lsn 2, log trimmed
        w.put(3, &[3.0, 3.0]).unwrap(); // lsn 3
        w.put(4, &[4.0, 4.0]).unwrap(); // lsn 4
        std::mem::forget(w); // as if killed: the log keeps lsn 3, 4
    }
    std::fs::rename(&old_cp, path.join("index.vsi")).unwrap();

    let p = path.clone();
    let writer = within(20, move || {
        Store::open(&p, 0, &opts(Durability::Flush, false))
            .map(|_| ())
            .map_err(|e| (e.kind(), e.to_string()))
    });
    println!("writer open: {writer:?}");
    // The lock is still held by the forgotten handle, so open the writer in
    // a copy to see what recovery says.
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&path).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
        }
    }
    let c = copy.path().to_path_buf();
    let recovered = within(20, move || {
        Store::open(&c, 0, &opts(Durability::Flush, false))
            .map(|_| ())
            .map_err(|e| e.kind())
    });
    println!("writer open of a copy: {recovered:?}");
    assert_eq!(recovered, Some(Err(ErrorKind::Corrupt)));

    let p = path.clone();
    let reader = within(20, move || {
        Store::open(&p, 0, &opts(Durability::Flush, true))
            .map(|s| s.len())
            .map_err(|e| e.kind())
    });
    println!("read-only open after 20 s: {reader:?}");
    assert!(
        reader.is_some(),
        "BUG: a read-only open spins forever on a log gap"
    );
}

/// Same gap, reached by a reader that is already open: its next call spins.
#[test]
fn a_numbering_gap_hangs_an_open_reader_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let w = Store::open(&path, 2, &opts(Durability::Flush, false)).unwrap();
    w.put(1, &[1.0, 1.0]).unwrap();
    w.checkpoint().unwrap();
    let old = std::fs::read(path.join("index.vsi")).unwrap();
    let reader = Store::open(&path, 0, &opts(Durability::Flush, true)).unwrap();
    assert!(reader.contains(1));
    w.put(2, &[2.0, 2.0]).unwrap();
    w.checkpoint().unwrap();
    w.put(3, &[3.0, 3.0]).unwrap();
    // Damage: the older checkpoint comes back (a restore, a bad copy).
    std::fs::write(path.join("index.vsi.x"), &old).unwrap();
    std::fs::rename(path.join("index.vsi.x"), path.join("index.vsi")).unwrap();
    w.put(4, &[4.0, 4.0]).unwrap(); // bumps the counter
    let got = within(20, move || reader.contains(4));
    println!("reader.contains(4) after 20 s: {got:?}");
    std::mem::forget(w);
    assert!(
        got.is_some(),
        "BUG: a reader call spins forever on a log gap"
    );
}

/// (a) Threads of one reader process can see a state that never existed:
/// when a checkpoint does not change the log's salt (the log was empty: NONE
/// mode, or a compaction/checkpoint with no record since the last trim), the
/// follower applies the next logged record onto its *stale* checkpoint under
/// the index write lock, releases it, and only then notices the new
/// checkpoint and reloads. Another thread that took the read lock in between
/// sees the new record without the checkpoint that preceded it.
///
/// Writer cycle i: NONE put(A=i); set_durability(FLUSH) (a checkpoint, log
/// empty: same salt); FLUSH put(B=i); checkpoint(). Every state the writer
/// ever had satisfies A >= B. Reader threads check that with get_batch.
#[test]
fn reader_threads_see_a_record_applied_on_a_stale_checkpoint() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    const A: u64 = 1;
    const B: u64 = 2;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let w = Store::open(&path, 2, &opts(Durability::Flush, false)).unwrap();
    w.put(A, &[0.0, 0.0]).unwrap();
    w.put(B, &[0.0, 0.0]).unwrap();
    w.checkpoint().unwrap();
    let reader = Arc::new(Store::open(&path, 0, &opts(Durability::Flush, true)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let secs: u64 = std::env::var("REVIEW_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (r, stop, bad, reads) = (reader.clone(), stop.clone(), bad.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut out = [0f32; 4];
                let mut found = [false; 2];
                let mut last_b = 0f32;
                while !stop.load(Ordering::Relaxed) {
                    if r.get_batch(&[A, B], &mut out, &mut found).is_ok() {
                        reads.fetch_add(1, Ordering::Relaxed);
                        if out[2] < last_b {
                            println!("went back: B={} after B={last_b}", out[2]);
                        }
                        last_b = out[2];
                        if out[2] > out[0] && bad.fetch_add(1, Ordering::Relaxed) < 5 {
                            println!("state never written: A={} B={}", out[0], out[2]);
                        }
                    }
                }
            })
        })
        .collect();
    let start = std::time::Instant::now();
    let mut i = 0u64;
    while i < 300 && start.elapsed() < Duration::from_secs(secs) && bad.load(Ordering::Relaxed) < 3
    {
        i += 1;
        let v = i as f32;
        w.set_durability(Durability::None).unwrap();
        w.put(A, &[v, v]).unwrap();
        w.set_durability(Durability::Flush).unwrap();
        w.put(B, &[v, v]).unwrap();
        w.checkpoint().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    println!(
        "{i} writer cycles, {} reads, {} reads of a state that never existed",
        reads.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed)
    );
    assert_eq!(
        bad.load(Ordering::Relaxed),
        0,
        "BUG: torn state (B newer than A)"
    );
}

/// Child of `a_failed_creation_strands_readers_on_a_dead_change_counter`:
/// creates the store with a first segment whose allocation fails (after 3 s).
#[test]
#[ignore]
fn review_child_failed_create() {
    let Ok(dir) = std::env::var("REVIEW_DIR") else {
        return;
    };
    let r = Store::open(
        &dir,
        2,
        &Options {
            initial_capacity: 100,
            ..opts(Durability::Flush, false)
        },
    );
    println!(
        "child: creating open -> {:?}",
        r.as_ref().map(|_| ()).map_err(|e| e.to_string())
    );
}

/// A creating open that failed after making CHANGES removed it
/// (`remove_new_store`). A reader that opened in that window kept the
/// unlinked page mapped: when a later writer created the store again, with
/// a new CHANGES, that reader never noticed any change: its calls returned
/// the empty store forever, while the writer acknowledged writes.
#[test]
fn a_failed_creation_strands_readers_on_a_dead_change_counter() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = SLOW_FALLOCATE_FAILS.build(tmp.path()).expect("cc");
    let dir = tmp.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    let mut child = child::command("review_child_failed_create")
        .env("REVIEW_DIR", &dir)
        .env("LD_PRELOAD", &lib)
        .spawn()
        .unwrap();
    // A reader that opens as soon as the store exists, during the 3 s the
    // failing allocation takes (readers first). The writer now makes its
    // publication page last, once nothing can fail, so this reader finds
    // none and looks at the files at every call until a page appears.
    let appeared = std::time::Instant::now();
    while !dir.join("index.vsi").exists() {
        assert!(
            appeared.elapsed() < Duration::from_secs(60),
            "the store never appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let reader = loop {
        match Store::open(&dir, 0, &opts(Durability::Flush, true)) {
            Ok(r) => break r,
            Err(e) => {
                assert!(appeared.elapsed() < Duration::from_secs(60), "{e}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    println!("reader opened: len {}", reader.len());
    assert!(child.wait().unwrap().success());
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    println!("after the failed creation: {names:?}");
    // A new writer creates the store and acknowledges writes.
    let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
    w.put(1, &[1.0, 1.0]).unwrap();
    w.put(2, &[2.0, 2.0]).unwrap();
    w.checkpoint().unwrap();
    w.put(3, &[3.0, 3.0]).unwrap();
    let fresh = Store::open(&dir, 0, &opts(Durability::Flush, true)).unwrap();
    println!(
        "old reader: contains(1) {} len {}; a fresh reader: contains(1) {} len {}",
        reader.contains(1),
        reader.len(),
        fresh.contains(1),
        fresh.len()
    );
    assert!(
        reader.contains(1),
        "BUG: the reader misses acknowledged writes forever"
    );
}

fn shim_fn(name: &std::ffi::CStr) -> Option<*mut libc::c_void> {
    // SAFETY: `name` is NUL-terminated; dlsym only looks it up.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// Child of `a_trim_that_keeps_the_salt_hides_every_later_write`.
#[test]
#[ignore]
fn review_child_trimfail() {
    let Ok(dir) = std::env::var("REVIEW_DIR") else {
        return;
    };
    // SAFETY: the preloaded shim defines these functions with these types.
    let arm: extern "C" fn() =
        unsafe { std::mem::transmute(shim_fn(c"review_arm").expect("shim loaded")) };
    // SAFETY: as above.
    let state: extern "C" fn() -> libc::c_int =
        unsafe { std::mem::transmute(shim_fn(c"review_state").unwrap()) };
    let w = std::sync::Arc::new(Store::open(&dir, 4, &opts(Durability::Flush, false)).unwrap());
    let reader = Store::open(&dir, 0, &opts(Durability::Flush, true)).unwrap();
    w.put(1, &[1.0; 4]).unwrap(); // records of one vector: 96 bytes
    assert!(reader.contains(1));
    w.put(2, &[2.0; 4]).unwrap();
    arm();
    let w2 = w.clone();
    let cp = std::thread::spawn(move || w2.checkpoint());
    // While the checkpoint's directory sync is slow (after the rename, before
    // the trim), the reader catches up with put(2): it reloads the new
    // checkpoint and reads the old log generation to its end.
    while state() < 3 {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(reader.contains(2));
    let r = cp.join().unwrap();
    println!(
        "child: checkpoint -> {:?} (shim state {})",
        r.as_ref().map_err(|e| e.to_string()),
        state()
    );
    // The writer goes on (by design: the header kept the old salt and the
    // trim is durable). Batches of two vectors: 136-byte records.
    for id in (10..40).step_by(2) {
        w.put_batch(&[id, id + 1], &[id as f32; 8]).unwrap();
    }
    println!(
        "child: writer len {}; reader: len {}, contains(10) {}, contains(38) {}",
        w.len(),
        reader.len(),
        reader.contains(10),
        reader.contains(38)
    );
    let fresh = Store::open(&dir, 0, &opts(Durability::Flush, true)).unwrap();
    println!(
        "child: a fresh reader: len {}, contains(10) {}",
        fresh.len(),
        fresh.contains(10)
    );
    assert!(
        reader.contains(10),
        "BUG: the open reader misses acknowledged writes"
    );
}

/// (a) A log trim whose header rewrite fails keeps the old salt (Log::reset
/// goes on with it, on purpose). A reader that read the old generation to
/// its end before the trim keeps its file position: it reads the new
/// records from the middle of one, finds nothing intact, and — the
/// checkpoint file being the one it has — reports itself caught up. Every
/// later acknowledged write stays invisible to it until the next checkpoint.
#[test]
fn a_trim_that_keeps_the_salt_hides_every_later_write() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = FAILING_LOG_HEADER.build(tmp.path()).expect("cc");
    let dir = tmp.path().join("store");
    let ran = child::run(
        child::command("review_child_trimfail")
            .env("REVIEW_DIR", &dir)
            .env("LD_PRELOAD", &lib),
    );
    let text = ran.stdout + &ran.stderr;
    for l in text
        .lines()
        .filter(|l| l.contains("child") || l.contains("BUG") || l.contains("panicked"))
    {
        println!("{l}");
    }
    assert!(ran.status.success(), "child failed");
}
