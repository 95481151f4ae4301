//! A full disk, made real with RLIMIT_FSIZE in a child process (the limit is
//! per process, so it must not touch the test harness's other threads): every
//! write past it fails with EFBIG, which the store must report as NoSpace
//! without losing or tearing anything, and recover from once the limit rises.

use std::process::Command;

use vecstore::{Durability, ErrorKind, Options, Store};

const CHILD_ENV: &str = "VECSTORE_FULL_DISK_CHILD";
const DIM: usize = 64;

fn vector(id: u64) -> Vec<f32> {
    (0..DIM).map(|i| (id * 131 + i as u64) as f32).collect()
}

fn set_file_size_limit(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscalls with a valid struct; SIGXFSZ is ignored so an
    // oversized write fails with EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

fn fill_until_full(dir: &std::path::Path, durability: Durability) {
    let options = Options {
        durability,
        ..Options::default()
    };
    let store = Store::open(dir, DIM as u32, &options).unwrap();
    let mut acked: Vec<u64> = Vec::new();
    set_file_size_limit(3 << 20);
    let mut id = 0;
    let err = loop {
        let ids: Vec<u64> = (id..id + 50).collect();
        let data: Vec<f32> = ids.iter().flat_map(|&i| vector(i)).collect();
        let result = store.put_batch(&ids, &data).and_then(|()| {
            if durability == Durability::None {
                store.flush()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => acked.extend(ids),
            Err(e) => break e,
        }
        id += 50;
        assert!(id < 1_000_000, "the file-size limit never hit");
    };
    assert_eq!(err.kind(), ErrorKind::NoSpace, "{err}");
    eprintln!(
        "{durability:?}: {} vectors stored before: {err}",
        acked.len()
    );
    // Everything acknowledged before is intact, and the store still reads.
    let mut out = vec![0.0; DIM];
    for &i in &acked {
        store.get(i, &mut out).unwrap();
        assert_eq!(out, vector(i));
    }
    // Writes work again once there is room.
    set_file_size_limit(libc::RLIM_INFINITY);
    let ids: Vec<u64> = (id..id + 50).collect();
    let data: Vec<f32> = ids.iter().flat_map(|&i| vector(i)).collect();
    store.put_batch(&ids, &data).unwrap();
    acked.extend(ids);
    store.close().unwrap();
    let store = Store::open(dir, 0, &Options::default()).unwrap();
    assert_eq!(store.len(), acked.len() as u64);
    for &i in &acked {
        store.get(i, &mut out).unwrap();
        assert_eq!(out, vector(i));
    }
}

#[test]
#[ignore = "child process of file_size_limit_gives_no_space_and_recovers"]
fn full_disk_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, mode) = spec.split_once(' ').unwrap();
    let durability = match mode {
        "fsync" => Durability::Fsync,
        "flush" => Durability::Flush,
        _ => Durability::None,
    };
    fill_until_full(std::path::Path::new(dir), durability);
}

#[test]
fn file_size_limit_gives_no_space_and_recovers() {
    for mode in ["fsync", "flush", "none"] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "full_disk_child_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, format!("{} {mode}", dir.path().display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: child failed:\n{stderr}");
        assert!(
            stderr.contains("vectors stored before"),
            "{mode}: the child ran no test:\n{stderr}"
        );
    }
}
