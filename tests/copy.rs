//! `Store::copy_to` (vecstore_copy, `vecstore copy`): the copy holds exactly
//! one acknowledged state, also while a writer in another process goes on;
//! it opens as a store of its own; refused or failed copies leave nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::peer::{commands, say, start, Peer};
use common::{bits, opts, test_root, versioned_vector};
use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 16;
const IDS: u64 = 2000;
const CHILD_TEST: &str = "copy_writer_child";
const CHILD_ENV: &str = "VECSTORE_COPY_CHILD";

/// Writes version `v` of every id as one batch.
fn write_version(store: &Store, v: u64) {
    let ids: Vec<u64> = (0..IDS).collect();
    let rows: Vec<f32> = ids
        .iter()
        .flat_map(|&id| versioned_vector(id, v, DIM))
        .collect();
    store.put_batch(&ids, &rows).unwrap();
}

/// The one version every id of the store at `dir` holds; panics if the ids
/// differ, one is missing, or a vector is no version's.
fn single_version(dir: &Path, max: u64) -> u64 {
    let store = Store::open(dir, 0, &opts(Durability::Fsync, true)).unwrap();
    assert_eq!(store.len(), IDS, "the copy holds every id");
    let mut out = vec![0f32; DIM];
    store.get(0, &mut out).unwrap();
    let version = (0..=max)
        .find(|&v| bits(&versioned_vector(0, v, DIM)) == bits(&out))
        .expect("id 0 holds a version that was written");
    for id in 0..IDS {
        store.get(id, &mut out).unwrap();
        assert_eq!(
            bits(&out),
            bits(&versioned_vector(id, version, DIM)),
            "id {id} is not at version {version}: the copy mixes states"
        );
    }
    assert!(store.verify().problems.is_empty());
    version
}

/// The writer process: opens the store (FSYNC), then writes versions 1, 2,
/// ... to every id, saying `B v` before each batch and `A v` once it is
/// acknowledged, until its stdin says `stop`.
#[test]
#[ignore]
fn copy_writer_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    start();
    let store = Store::open(&dir, 0, &opts(Durability::Fsync, false)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        for line in commands() {
            if line == "stop" {
                break;
            }
        }
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    say("open");
    let mut v = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        v += 1;
        say(&format!("B {v}"));
        write_version(&store, v);
        say(&format!("A {v}"));
    }
    store.close().unwrap();
    say("closed");
}

/// The last `A v` among `lines`, or `floor`.
fn last_acked(lines: &[String], floor: u64) -> u64 {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("A ")?.parse().ok())
        .fold(floor, u64::max)
}

#[test]
fn a_copy_made_while_another_process_writes_is_one_acknowledged_state() {
    let root = test_root("copy-live");
    let dir = root.path().join("src");
    let store = Store::open(&dir, DIM as u32, &opts(Durability::Fsync, false)).unwrap();
    write_version(&store, 0);
    store.close().unwrap();

    let mut writer = Peer::spawn(
        CHILD_TEST,
        "writer",
        &[(CHILD_ENV, dir.display().to_string())],
    );
    assert_eq!(writer.recv(), "open");
    let reader = Store::open(&dir, 0, &opts(Durability::Fsync, true)).unwrap();
    let mut lines = Vec::new();
    let mut acked = 0;
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for round in 0..6 {
        // Let the writer get some batches in between copies.
        while last_acked(&lines, 0) < acked + 2 && Instant::now() < deadline {
            lines.push(writer.recv());
        }
        lines.extend(writer.drain());
        acked = last_acked(&lines, acked);
        let dest = root.path().join(format!("copy-{round}"));
        let copied = reader.copy_to(&dest).unwrap();
        assert_eq!(copied, IDS);
        lines.extend(writer.drain());
        // A version the copy may show: acknowledged before the copy began,
        // or begun before it ended (never an unfinished mix).
        let version = single_version(&dest, acked + 10_000);
        assert!(
            version >= acked,
            "round {round}: the copy shows version {version}, older than {acked}, acknowledged before it began"
        );
        seen.insert(version);
    }
    // A copy from a second process: the writer is alive and holds the lock,
    // so this handle is read-only like `vecstore copy`'s.
    writer.send("stop");
    let rest = writer.finish_ok();
    assert!(rest.iter().any(|l| l == "closed"), "{rest:?}");
    lines.extend(rest);
    let begun = lines
        .iter()
        .filter_map(|l| l.strip_prefix("B ")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    assert!(
        seen.iter().all(|&v| v <= begun),
        "a copy shows a version never written: {seen:?} > {begun}"
    );
    eprintln!("versions copied: {seen:?} of {begun} written");
}

#[test]
fn a_copy_holds_the_live_vectors_and_opens_on_its_own() {
    let root = test_root("copy-basic");
    let dir = root.path().join("src");
    let store = Store::open(&dir, DIM as u32, &opts(Durability::Flush, false)).unwrap();
    for v in 0..3 {
        write_version(&store, v);
    }
    store
        .delete_batch(&(0..IDS).step_by(3).collect::<Vec<_>>())
        .unwrap();
    let dest = root.path().join("x/y/copy");
    assert_eq!(store.copy_to(&dest).unwrap(), IDS - IDS.div_ceil(3));
    // The source goes on; the copy does not follow.
    write_version(&store, 7);
    let copy = Store::open(&dest, 0, &opts(Durability::Fsync, false)).unwrap();
    let s = copy.stats();
    assert_eq!(
        (s.vectors, s.log_bytes, s.fragmentation),
        (IDS - IDS.div_ceil(3), 0, 0.0)
    );
    let mut out = vec![0f32; DIM];
    for id in 0..IDS {
        if id % 3 == 0 {
            assert!(!copy.contains(id));
        } else {
            copy.get(id, &mut out).unwrap();
            assert_eq!(bits(&out), bits(&versioned_vector(id, 2, DIM)));
        }
    }
    assert!(copy.verify().problems.is_empty());
    copy.close().unwrap();
    // An empty store copies too, into an existing empty directory.
    let empty = Store::open(root.path().join("e"), 3, &Options::default()).unwrap();
    let dest = root.path().join("empty-dest");
    std::fs::create_dir(&dest).unwrap();
    assert_eq!(empty.copy_to(&dest).unwrap(), 0);
    let copy = Store::open(&dest, 0, &Options::default()).unwrap();
    assert_eq!((copy.dimension(), copy.len()), (3, 0));
}

#[test]
fn bad_destinations_are_refused_and_nothing_is_made() {
    let root = test_root("copy-refused");
    let dir = root.path().join("src");
    let store = Store::open(&dir, DIM as u32, &opts(Durability::None, false)).unwrap();
    write_version(&store, 1);
    let file = root.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let full = root.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep"), b"y").unwrap();
    let inside = dir.join("sub/copy");
    for (dest, says) in [
        (&file, "not a directory"),
        (&full, "not empty"),
        (&dir, "inside"),
        (&inside, "inside"),
    ] {
        let err = store.copy_to(dest).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dest:?}: {err}");
        assert!(err.message().contains(says), "{dest:?}: {err}");
    }
    assert!(!dir.join("sub").exists());
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // Through a symbolic link to the source, too.
    let link = root.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let err = store.copy_to(link.join("c")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[test]
fn a_damaged_vector_fails_the_copy_which_leaves_nothing() {
    let root = test_root("copy-damaged");
    let dir = root.path().join("src");
    let store = Store::open(&dir, DIM as u32, &opts(Durability::Fsync, false)).unwrap();
    write_version(&store, 1);
    store.close().unwrap();
    // Flip a bit of the vector in slot 5 of the first segment.
    let seg = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = vecstore::layout::segment::HEADER_BYTES as usize
        + 5 * vecstore::layout::segment::slot_len(DIM as u32)
        + 17;
    bytes[at] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();
    let reader = Store::open(&dir, 0, &opts(Durability::Fsync, true)).unwrap();
    let dest = root.path().join("new/copy");
    let err = reader.copy_to(&dest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(
        !root.path().join("new").exists(),
        "the failed copy left files"
    );
    let empty = root.path().join("was-empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(
        reader.copy_to(&empty).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}
