//! A child made by `fork` while the parent searches opens the store again
//! (as the header asks) and searches with threads of its own: the search
//! pool belongs to one process, so the child neither waits on a lock a
//! parent thread held at the fork nor counts threads it does not have.
//! Alone in its own test binary because it forks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use vecstore::{Durability, Metric, Options, Store};

const DIM: usize = 128;
/// 40000 x 128 multiply-adds per query: past the size of a parallel scan.
const VECTORS: u64 = 40_000;

/// Whether this process has a thread named by the search pool, within 5 s
/// (a new thread names itself once it first runs).
fn has_search_thread() -> bool {
    (0..500).any(|_| {
        let named = std::fs::read_dir("/proc/self/task").unwrap().any(|task| {
            let comm =
                std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
            comm.starts_with("vecstore-search")
        });
        if !named {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        named
    })
}

#[test]
fn a_forked_child_searches_with_a_pool_of_its_own() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("one CPU: a search never uses the pool here; nothing to test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        durability: Durability::Flush,
        ..Options::default()
    };
    let store = Store::open(dir.path(), DIM as u32, &options).unwrap();
    let ids: Vec<u64> = (0..VECTORS).collect();
    let rows: Vec<f32> = ids
        .iter()
        .flat_map(|&i| (0..DIM).map(move |d| ((i * 31 + d as u64) % 97) as f32))
        .collect();
    store.put_batch(&ids, &rows).unwrap();
    store.flush().unwrap();
    let query = vec![1.0f32; DIM];
    let expected = store.search(&query, 5, Metric::L2).unwrap();
    assert!(
        has_search_thread(),
        "the parent's search should use the pool"
    );

    // Threads that keep the pool's locks busy while the main thread forks.
    let store = Arc::new(store);
    let stop = Arc::new(AtomicBool::new(false));
    let searchers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop, query) = (store.clone(), stop.clone(), query.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    store.search(&query, 5, Metric::L2).unwrap();
                }
            })
        })
        .collect();

    let mut failures = Vec::new();
    for _ in 0..60 {
        // SAFETY: the child only opens the store, searches, reads /proc and
        // leaves with _exit; the parent waits for it.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: plain calls in the child; a hung child dies of SIGALRM.
            unsafe { libc::alarm(20) };
            let reader = Options {
                read_only: true,
                ..Options::default()
            };
            let code = match Store::open(dir.path(), 0, &reader)
                .and_then(|s| s.search(&query, 5, Metric::L2))
            {
                Ok(found) if found == expected && has_search_thread() => 0,
                Ok(found) if found == expected => 2,
                Ok(_) => 3,
                Err(_) => 4,
            };
            // SAFETY: leaves the child without running the parent's atexit
            // handlers or test harness.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just made.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            failures.push(status);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for searcher in searchers {
        searcher.join().unwrap();
    }
    // Exit 2: no pool thread in the child; SIGALRM (status 14): hung.
    assert!(
        failures.is_empty(),
        "children that failed (wait status): {failures:?}"
    );
}
