//! Stress: writer threads, readers holding guards and cursors, and a
//! maintenance thread (compaction, checkpoint) on one store at once, checking
//! invariants as they go. Also run under ThreadSanitizer by scripts/tsan.sh.
//!
//! Every vector written for id `i` is `[i, v, v, ...]` for some version `v`,
//! so a reader can tell a torn or misplaced vector from a valid one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 16;
const IDS: u64 = 500;

fn vector(id: u64, version: u64) -> Vec<f32> {
    let mut v = vec![version as f32; DIM];
    v[0] = id as f32;
    v
}

fn check(id: u64, v: &[f32]) {
    assert_eq!(v.len(), DIM);
    assert_eq!(v[0], id as f32, "vector of id {id} holds another id");
    assert!(
        v[1..].iter().all(|x| *x == v[1]),
        "torn vector for id {id}: {v:?}"
    );
}

fn iterations() -> u64 {
    std::env::var("VECSTORE_STRESS_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

#[test]
fn writers_readers_guards_cursors_and_compaction_together() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        durability: Durability::Flush,
        initial_capacity: 256,
        ..Options::default()
    };
    let store = Store::open(dir.path(), DIM as u32, &options).unwrap();
    let stop = AtomicBool::new(false);
    let n = iterations();
    let started = Instant::now();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let store = &store;
                s.spawn(move || {
                    for i in 0..n {
                        let id = (i * 7 + w * 13) % IDS;
                        match i % 10 {
                            0..=5 => store.put(id, &vector(id, i)).unwrap(),
                            6 | 7 => {
                                let ids: Vec<u64> = (id..id + 8).map(|x| x % IDS).collect();
                                let rows: Vec<f32> =
                                    ids.iter().flat_map(|&x| vector(x, i)).collect();
                                store.put_batch(&ids, &rows).unwrap();
                            }
                            _ => match store.delete(id) {
                                Ok(()) => {}
                                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
                            },
                        }
                    }
                })
            })
            .collect();
        for r in 0..2u64 {
            let (store, stop) = (&store, &stop);
            s.spawn(move || {
                let mut held = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = (i * 11 + r) % IDS;
                    match store.get_ref(id) {
                        Ok(g) => {
                            check(id, g.data());
                            held.push((g.data().to_vec(), g));
                        }
                        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
                    }
                    // Guards held across writes and compactions never change.
                    if held.len() > 32 {
                        for (copy, g) in held.drain(..) {
                            assert_eq!(&copy[..], g.data());
                        }
                    }
                    if i.is_multiple_of(200) {
                        let mut cursor = store.cursor();
                        let mut seen = std::collections::BTreeSet::new();
                        while let Some((id, v)) = cursor.next().unwrap() {
                            check(id, v);
                            assert!(seen.insert(id), "id {id} twice in one cursor");
                        }
                    }
                }
            });
        }
        let (store, stop) = (&store, &stop);
        s.spawn(move || {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) || rounds < 3 {
                store.compact().unwrap();
                store.checkpoint().unwrap();
                rounds += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            eprintln!("stress: {rounds} compaction+checkpoint rounds");
        });
        // Readers and maintenance run until the writers are done.
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    let report = store.verify();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    eprintln!(
        "stress: {n} iterations per writer in {:.2} s, {} live vectors",
        started.elapsed().as_secs_f64(),
        store.len()
    );
}

/// A search is one snapshot: while a writer replaces every vector in one
/// batch after another (and compaction moves them), each search sees all of
/// one batch, never a mix. Every vector of batch `v` is `[v; DIM]`, so a mix
/// shows as two different distances from the origin in one result list.
/// Single queries scan in place on one thread; batches of 40 go through the
/// packed tile kernel, split across threads when there is more than one CPU
/// (8192 x 16 x 40 multiply-adds passes the threshold).
#[test]
fn searches_see_whole_batches_while_writers_commit() {
    const COUNT: u64 = 8192;
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        durability: Durability::None,
        initial_capacity: 512,
        ..Options::default()
    };
    let store = Store::open(dir.path(), DIM as u32, &options).unwrap();
    let ids: Vec<u64> = (0..COUNT).collect();
    let batch = |version: u64| vec![(version % 1000) as f32; COUNT as usize * DIM];
    store.put_batch(&ids, &batch(0)).unwrap();
    let batches = iterations() / 100;
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (store, stop) = (&store, &stop);
        let searcher = s.spawn(move || {
            let mut searches = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let queries = if searches.is_multiple_of(2) { 1 } else { 40 };
                let results = store
                    .search_batch(
                        &vec![0.0; queries * DIM],
                        COUNT as usize,
                        vecstore::Metric::L2,
                    )
                    .unwrap();
                for hits in results {
                    assert_eq!(hits.len(), COUNT as usize, "every id is always live");
                    let first = hits[0].distance;
                    assert!(
                        hits.iter().all(|h| h.distance == first),
                        "one search saw two batches: distances {first} and {:?}",
                        hits.iter().find(|h| h.distance != first)
                    );
                }
                searches += 1;
            }
            searches
        });
        for version in 1..=batches {
            store.put_batch(&ids, &batch(version)).unwrap();
            if version.is_multiple_of(20) {
                store.compact().unwrap();
            }
        }
        stop.store(true, Ordering::Relaxed);
        let searches = searcher.join().unwrap();
        eprintln!("search snapshots: {batches} batches, {searches} searches, none torn");
    });
}
