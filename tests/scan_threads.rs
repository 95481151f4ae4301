//! A search whose scan threads the OS refuses (here: an address-space limit
//! that leaves no room for a thread's stack; equally a thread or pids limit)
//! still answers, scanning on the calling thread, and the store stays
//! usable. Alone in its own test binary because the limit is per process.

use vecstore::{Durability, Metric, Options, Store};

fn address_space_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_refused_scan_thread_costs_only_speed() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("one CPU: a search never starts a scan thread here; nothing to test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    let dim = 128;
    let store = Store::open(dir.path(), dim as u32, &options).unwrap();
    // 40000 x 128 multiply-adds: past the threshold for a threaded scan.
    // Vector i is [i / 40000; dim], so the nearest to the all-ones query are
    // the last ids, in the part a spawned thread would have scanned.
    let ids: Vec<u64> = (0..40_000).collect();
    let rows: Vec<f32> = ids
        .iter()
        .flat_map(|&i| std::iter::repeat_n(i as f32 / 40_000.0, dim))
        .collect();
    store.put_batch(&ids, &rows).unwrap();
    let query = vec![1.0f32; dim];

    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut old) }, 0);
    let tight = libc::rlimit {
        rlim_cur: (address_space_kib() + 1024) * 1024,
        rlim_max: old.rlim_max,
    };
    // Nothing here has started a thread yet, so no cached stack of an
    // ended one is there to reuse: a new thread needs a new mapping.
    // SAFETY: setrlimit reads a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &tight) }, 0);
    let under_limit = store.search(&query, 10, Metric::L2);
    let refused = std::thread::Builder::new().spawn(|| ()).is_err();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &old) }, 0);

    assert!(refused, "the limit should refuse a new thread's stack");
    let expected = store.search(&query, 10, Metric::L2).unwrap();
    let nearest: Vec<u64> = expected.iter().map(|n| n.id).collect();
    assert_eq!(nearest, (39_990..40_000).rev().collect::<Vec<u64>>());
    assert_eq!(under_limit.unwrap(), expected);
}
