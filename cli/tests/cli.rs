//! The `vecstore` tool run as a user runs it: a child process per command.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

use vecstore::{Options, Store};

// ---- harness ----------------------------------------------------------------

/// A directory removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "vecstore-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tests run in parallel threads. A child spawned by one thread inherits,
/// until it execs, every descriptor open in this process, including the
/// `flock`ed lock file of a store another thread has open through the
/// library, and so briefly holds that store's lock. Spawns therefore take
/// this lock shared, and a test opening a store in-process takes it
/// exclusively (see `with_store_open`).
static SPAWN: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this thread holds `SPAWN` exclusively.
    static HOLDS_SPAWN: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, which opens stores in this process, with no other test spawning.
fn with_store_open<R>(f: impl FnOnce() -> R) -> R {
    let _guard = SPAWN.write().unwrap_or_else(|e| e.into_inner());
    HOLDS_SPAWN.set(true);
    let result = f();
    HOLDS_SPAWN.set(false);
    result
}

/// Runs `vecstore ARGS` with stdout and stderr captured (so stderr is not a
/// terminal).
fn vecstore(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vecstore"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = if HOLDS_SPAWN.get() {
        command.spawn()
    } else {
        let _guard = SPAWN.read().unwrap_or_else(|e| e.into_inner());
        command.spawn()
    };
    child
        .expect("run vecstore")
        .wait_with_output()
        .expect("wait for vecstore")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and asserts the exit code, showing the output if it differs.
#[track_caller]
fn expect(code: i32, args: &[&str]) -> Output {
    let out = vecstore(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "vecstore {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    out
}

// ---- data -------------------------------------------------------------------

/// Deterministic finite floats with awkward bit patterns: random bits
/// (subnormals, huge and tiny magnitudes), plus -0.0 and the extremes.
fn awkward_floats(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    let mut out = vec![
        -0.0,
        f32::MAX,
        f32::MIN,
        f32::from_bits(1),
        f32::MIN_POSITIVE,
    ];
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let v = f32::from_bits(state as u32);
        if v.is_finite() {
            out.push(v);
        }
    }
    out.truncate(n);
    out
}

fn write_fvecs(path: &str, dim: usize, rows: &[f32]) {
    let mut bytes = Vec::new();
    for row in rows.chunks_exact(dim) {
        bytes.extend_from_slice(&(dim as i32).to_le_bytes());
        row.iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    }
    std::fs::write(path, bytes).unwrap();
}

fn write_ivecs(path: &str, ids: &[u64]) {
    let mut bytes = Vec::new();
    for &id in ids {
        bytes.extend_from_slice(&1i32.to_le_bytes());
        bytes.extend_from_slice(&(id as i32).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn write_npy(path: &str, dim: usize, rows: &[f32]) {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {dim}), }}",
        rows.len() / dim
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    rows.iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

fn words(path: &str) -> Vec<u32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// `(dim, rows as bits)` of an .fvecs file.
fn read_fvecs(path: &str) -> (usize, Vec<Vec<u32>>) {
    let w = words(path);
    let dim = w[0] as usize;
    let rows = w
        .chunks_exact(dim + 1)
        .map(|r| {
            assert_eq!(r[0] as usize, dim);
            r[1..].to_vec()
        })
        .collect();
    (dim, rows)
}

fn read_ivecs(path: &str) -> Vec<u64> {
    words(path)
        .chunks_exact(2)
        .map(|r| {
            assert_eq!(r[0], 1);
            u64::from(r[1])
        })
        .collect()
}

fn read_u64s(path: &str) -> Vec<u64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// `(dim, rows as bits)` of an .npy file this tool wrote.
fn read_npy(path: &str) -> (usize, Vec<Vec<u32>>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data is 64-byte aligned");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let shape = header.split("'shape': (").nth(1).unwrap();
    let shape: Vec<usize> = shape
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data: Vec<u32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), shape[0] * shape[1]);
    let rows = data.chunks_exact(shape[1]).map(<[u32]>::to_vec).collect();
    (shape[1], rows)
}

fn by_id(ids: &[u64], rows: Vec<Vec<u32>>) -> BTreeMap<u64, Vec<u32>> {
    assert_eq!(ids.len(), rows.len());
    ids.iter().copied().zip(rows).collect()
}

fn bits(rows: &[f32], dim: usize) -> Vec<Vec<u32>> {
    rows.chunks_exact(dim)
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The store's content as id → vector bits, read through the library.
fn content(dir: &str) -> BTreeMap<u64, Vec<u32>> {
    with_store_open(|| {
        let options = Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        };
        let store = Store::open(dir, 0, &options).unwrap();
        let mut cursor = store.cursor();
        let mut out = BTreeMap::new();
        while let Some((id, v)) = cursor.next().unwrap() {
            out.insert(id, v.iter().map(|x| x.to_bits()).collect());
        }
        out
    })
}

// ---- tests ------------------------------------------------------------------

#[test]
fn fvecs_with_ivecs_ids_round_trips_bit_exact() {
    let t = TempDir::new();
    let dim = 7;
    let rows = awkward_floats(3000 * dim, 7);
    let ids: Vec<u64> = (0..3000u64)
        .map(|i| (i * 7919) % 3001 + 1_000_000)
        .collect();
    let (vecs, idf) = (t.join("in.fvecs"), t.join("in.ivecs"));
    write_fvecs(&vecs, dim, &rows);
    write_ivecs(&idf, &ids);
    let store = t.join("store");
    let out = expect(
        0,
        &["import", &store, &vecs, "--ids", &idf, "--batch", "256"],
    );
    assert!(stdout(&out).contains("imported 3000 vectors of dimension 7"));
    let original = by_id(&ids, bits(&rows, dim));
    assert_eq!(content(&store), original);

    let (out_vecs, out_ids) = (t.join("out.fvecs"), t.join("out.ivecs"));
    expect(0, &["export", &store, &out_vecs, "--ids", &out_ids]);
    let (out_dim, out_rows) = read_fvecs(&out_vecs);
    assert_eq!(out_dim, dim);
    assert_eq!(by_id(&read_ivecs(&out_ids), out_rows), original);

    // Import what was exported into a second store and export again.
    let store2 = t.join("store2");
    expect(0, &["import", &store2, &out_vecs, "--ids", &out_ids]);
    let (again_vecs, again_ids) = (t.join("again.fvecs"), t.join("again.ivecs"));
    expect(0, &["export", &store2, &again_vecs, "--ids", &again_ids]);
    assert_eq!(
        by_id(&read_ivecs(&again_ids), read_fvecs(&again_vecs).1),
        original
    );
    assert!(!Path::new(&t.join("again.fvecs.partial")).exists());
}

#[test]
fn npy_round_trips_bit_exact() {
    let t = TempDir::new();
    let dim = 16;
    let rows = awkward_floats(1234 * dim, 99);
    let npy = t.join("in.npy");
    write_npy(&npy, dim, &rows);
    let store = t.join("store");
    expect(
        0,
        &[
            "import",
            &store,
            &npy,
            "--start-id",
            "100",
            "--durability",
            "fsync",
        ],
    );
    let ids: Vec<u64> = (100..100 + 1234).collect();
    let original = by_id(&ids, bits(&rows, dim));
    assert_eq!(content(&store), original);

    let (out_npy, out_ids) = (t.join("out.npy"), t.join("out.u64"));
    expect(0, &["export", &store, &out_npy, "--ids", &out_ids]);
    let (out_dim, out_rows) = read_npy(&out_npy);
    assert_eq!(out_dim, dim);
    assert_eq!(by_id(&read_u64s(&out_ids), out_rows), original);

    let store2 = t.join("store2");
    expect(0, &["import", &store2, &out_npy, "--ids", &out_ids]);
    let again = t.join("again.fvecs");
    let again_ids = t.join("again.ivecs");
    expect(0, &["export", &store2, &again, "--ids", &again_ids]);
    assert_eq!(
        by_id(&read_ivecs(&again_ids), read_fvecs(&again).1),
        original
    );
}

#[test]
fn large_ids_go_through_u64_files_and_are_refused_by_ivecs() {
    let t = TempDir::new();
    let rows = awkward_floats(3 * 2, 5);
    let (vecs, idf) = (t.join("in.fvecs"), t.join("ids.u64"));
    write_fvecs(&vecs, 2, &rows);
    let ids = [u64::MAX, 1 << 40, 3];
    std::fs::write(
        &idf,
        ids.iter()
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let store = t.join("store");
    expect(0, &["import", &store, &vecs, "--ids", &idf]);
    assert_eq!(content(&store), by_id(&ids, bits(&rows, 2)));

    let (out, out_ids) = (t.join("out.fvecs"), t.join("out.ivecs"));
    let failed = expect(7, &["export", &store, &out, "--ids", &out_ids]);
    assert!(
        stderr(&failed).contains("does not fit an .ivecs file"),
        "{}",
        stderr(&failed)
    );
    assert!(!Path::new(&out).exists() && !Path::new(&out_ids).exists());
    assert!(!Path::new(&format!("{out}.partial")).exists());
}

#[test]
fn stat_json_reports_every_field() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 3, &awkward_floats(50 * 3, 3));
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&expect(0, &["stat", &store, "--json"]))).unwrap();
    assert_eq!(json["dimension"], 3);
    assert_eq!(json["vectors"], 50);
    assert_eq!(json["live_bytes"], 600);
    assert_eq!(json["log_bytes"], 0);
    assert_eq!(json["log_records"], 0);
    assert_eq!(json["fragmentation"], 0.0);
    assert_eq!(json["segments"], 1);
    assert_eq!(json["format_version"], vecstore::FORMAT_VERSION);
    assert_eq!(json["library_version"], library_version());
    assert!(json["data_bytes"].as_u64().unwrap() > 600);
    assert_eq!(json["path"], store.as_str());
    assert_eq!(json.as_object().unwrap().len(), 11, "{json}");
    let text = stdout(&expect(0, &["stat", &store]));
    assert!(text.contains("vectors          50"), "{text}");
    assert!(text.contains("fragmentation    0.00%"), "{text}");
}

#[test]
fn verify_passes_a_sound_store_and_names_a_damaged_vector() {
    let t = TempDir::new();
    let dim = 4;
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, dim, &awkward_floats(100 * dim, 11));
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    let sound = expect(0, &["verify", &store]);
    assert!(
        stdout(&sound).contains("result: sound"),
        "{}",
        stdout(&sound)
    );

    // One batch into a fresh store: slot i holds id i. Flip a byte of slot 37's vector.
    let segment = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "vec"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = 4096 + 37 * (16 + 4 * dim) + 16 + 5;
    bytes[at] ^= 0x40;
    std::fs::write(&segment, bytes).unwrap();

    let damaged = expect(1, &["verify", &store]);
    let report = stdout(&damaged);
    assert!(report.contains("problem: id 37: slot 37 of"), "{report}");
    assert!(report.contains("fails its checksum"), "{report}");
    assert!(report.contains("result: damaged"), "{report}");
    assert!(stderr(&damaged).is_empty());
    // Export refuses to write a damaged vector.
    let failed = expect(5, &["export", &store, &t.join("out.fvecs")]);
    assert!(stderr(&failed).contains("damaged"), "{}", stderr(&failed));

    // Damage to the checkpoint's hash table (checked page by page as it is
    // used, so that open costs the same at any size) is a problem verify
    // reports.
    let index = Path::new(&store).join("index.vsi");
    let clean = std::fs::read(&index).unwrap();
    let mut bytes = clean.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&index, bytes).unwrap();
    let report = stdout(&expect(1, &["verify", &store]));
    assert!(
        report.contains("problem: ") && report.contains("hash table fails its checksum"),
        "{report}"
    );

    // Damage that stops the store from opening is a problem verify reports.
    let mut bytes = clean;
    bytes[20] ^= 1;
    std::fs::write(&index, bytes).unwrap();
    let report = stdout(&expect(1, &["verify", &store]));
    assert!(
        report.contains("problem: ") && report.contains("does not open"),
        "{report}"
    );
    assert!(stderr(&expect(5, &["stat", &store])).contains("the store is damaged"));
}

#[test]
fn a_killed_import_leaves_all_or_nothing() {
    let t = TempDir::new();
    let dim = 8;
    let store = t.join("store");
    let first = t.join("first.fvecs");
    write_fvecs(&first, dim, &awkward_floats(10 * dim, 21));
    expect(0, &["import", &store, &first]);
    let before = content(&store);

    let rows = awkward_floats(200_000 * dim, 22);
    let big = t.join("big.fvecs");
    write_fvecs(&big, dim, &rows);
    let mut child = {
        let _guard = SPAWN.read().unwrap_or_else(|e| e.into_inner());
        Command::new(env!("CARGO_BIN_EXE_vecstore"))
            .args(["import", &store, &big, "--batch", "1", "--start-id", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // The load starts by creating a segment for the whole file: kill soon after.
    let segments = || {
        std::fs::read_dir(&store)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".vec")
            })
            .count()
    };
    let initial = segments();
    while segments() == initial && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let _ = child.kill();
    let status = child.wait().unwrap();
    let after = content(&store);
    if status.success() {
        assert_eq!(after.len(), 200_005, "the import finished before the kill");
    } else {
        assert_eq!(after, before, "a killed import left part of its vectors");
    }
    expect(0, &["verify", &store]);
}

#[test]
fn bad_input_fails_cleanly_and_leaves_the_store_unchanged() {
    let t = TempDir::new();
    let dim = 5;
    let store = t.join("store");
    let first = t.join("first.fvecs");
    write_fvecs(&first, dim, &awkward_floats(10 * dim, 1));
    expect(0, &["import", &store, &first]);
    let before = content(&store);
    assert_eq!(before.len(), 10);

    let rows = awkward_floats(500 * dim, 2);
    type Make<'a> = Box<dyn Fn(&str) + 'a>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "truncated.fvecs",
            Box::new(|p: &str| {
                write_fvecs(p, dim, &rows);
                let len = std::fs::metadata(p).unwrap().len();
                std::fs::File::options()
                    .write(true)
                    .open(p)
                    .unwrap()
                    .set_len(len - 3)
                    .unwrap();
            }),
            "truncated",
        ),
        (
            "mixed.fvecs",
            Box::new(|p: &str| {
                write_fvecs(p, dim, &rows);
                let mut bytes = std::fs::read(p).unwrap();
                let record = 4 + 4 * dim;
                bytes[400 * record] = 9; // record 400 claims dimension 9
                std::fs::write(p, bytes).unwrap();
            }),
            "record 400 has dimension 9",
        ),
        (
            "nan.fvecs",
            Box::new(|p: &str| {
                let mut rows = rows.clone();
                rows[450 * dim + 2] = f32::NAN;
                write_fvecs(p, dim, &rows);
            }),
            "vector 450 has a non-finite value (NaN) at index 2",
        ),
        (
            "truncated.npy",
            Box::new(|p: &str| {
                write_npy(p, dim, &rows);
                let len = std::fs::metadata(p).unwrap().len();
                std::fs::File::options()
                    .write(true)
                    .open(p)
                    .unwrap()
                    .set_len(len - 8)
                    .unwrap();
            }),
            "the file is truncated",
        ),
        (
            "int.npy",
            Box::new(|p: &str| {
                write_npy(p, dim, &rows);
                let mut bytes = std::fs::read(p).unwrap();
                let at = bytes.windows(3).position(|w| w == b"<f4").unwrap();
                bytes[at + 1] = b'i';
                std::fs::write(p, bytes).unwrap();
            }),
            "dtype '<i4' is not supported",
        ),
        (
            "wrongdim.fvecs",
            Box::new(|p: &str| write_fvecs(p, dim + 1, &rows[..60])),
            "dimension 6, the store",
        ),
    ];
    for (name, make, message) in &cases {
        let path = t.join(name);
        make(&path);
        for durability in ["none", "fsync"] {
            let failed = expect(
                6,
                &[
                    "import",
                    &store,
                    &path,
                    "--batch",
                    "100",
                    "--durability",
                    durability,
                ],
            );
            assert!(
                stderr(&failed).contains(message),
                "{name}: {}",
                stderr(&failed)
            );
            assert!(stderr(&failed).starts_with("vecstore import: "));
            assert_eq!(content(&store), before, "{name} changed the store");
        }
    }

    // Ids that do not match the vectors.
    let good = t.join("good.fvecs");
    write_fvecs(&good, dim, &rows);
    let few = t.join("few.ivecs");
    write_ivecs(&few, &[1, 2, 3]);
    let failed = expect(6, &["import", &store, &good, "--ids", &few]);
    assert!(
        stderr(&failed).contains("holds 3 ids for the 500 vectors"),
        "{}",
        stderr(&failed)
    );
    assert_eq!(content(&store), before);

    // A bad file never creates a store.
    let fresh = t.join("fresh");
    expect(6, &["import", &fresh, &t.join("truncated.fvecs")]);
    expect(3, &["stat", &fresh]);
}

#[test]
fn progress_is_quiet_when_stderr_is_not_a_terminal() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 8, &awkward_floats(20_000 * 8, 4));
    let store = t.join("store");
    for args in [
        vec!["import", &store, &vecs, "--batch", "10"],
        vec!["export", &store, &t.join("out.npy")],
        vec!["verify", &store],
    ] {
        let out = expect(0, &args);
        assert!(out.stderr.is_empty(), "{args:?}: {:?}", stderr(&out));
    }
}

/// The `"vectors": N` of `stat --json`.
fn stat_vectors(store: &str) -> u64 {
    let json = stdout(&expect(0, &["stat", "--json", store]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    json["vectors"].as_u64().expect("vectors field")
}

#[test]
fn a_live_store_is_read_beside_its_writer_and_written_only_by_it() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 2, &awkward_floats(20, 6));
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    let before = stat_vectors(&store);
    with_store_open(|| {
        let writer = Store::open(&store, 0, &Options::default()).unwrap();
        writer.put(1_000_000, &[0.5, 0.25]).unwrap();
        // Read-only tools see the writer's acknowledged put.
        assert_eq!(stat_vectors(&store), before + 1);
        let verified = stdout(&expect(0, &["verify", &store]));
        assert!(verified.contains("result: sound"), "{verified}");
        let out = t.join("out.fvecs");
        expect(0, &["export", &store, &out]);
        let row = 4 + 4 * 2;
        assert_eq!(
            std::fs::metadata(&out).unwrap().len(),
            (before + 1) * row as u64
        );
        let queries = t.join("q.npy");
        write_npy(&queries, 2, &[0.5, 0.25]);
        let found = stdout(&expect(
            0,
            &["search", &store, "--query", &queries, "-k", "1"],
        ));
        assert!(found.contains("1000000"), "{found}");
        // Tools that write are refused: one writer at a time.
        for args in [
            vec!["import", &store, &vecs],
            vec!["compact", &store],
            vec!["checkpoint", &store],
        ] {
            let out = expect(4, &args);
            assert!(
                stderr(&out).contains("the store is locked"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
        writer.close().unwrap();
    });
    expect(0, &["verify", &store]);
}

#[test]
fn search_prints_the_nearest_ids() {
    let t = TempDir::new();
    let dim = 3;
    let rows: Vec<f32> = (0..200).flat_map(|i| [i as f32, 0.0, 1.0]).collect();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, dim, &rows);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs, "--start-id", "1000"]);
    let queries = t.join("q.npy");
    write_npy(&queries, dim, &[42.0, 0.0, 1.0, 150.25, 0.0, 1.0]);
    let out = stdout(&expect(
        0,
        &["search", &store, "--query", &queries, "-k", "2"],
    ));
    assert_eq!(
        out, "# query 0\n1042\t0\n1041\t1\n\n# query 1\n1150\t0.0625\n1151\t0.5625\n",
        "{out}"
    );
    let out = stdout(&expect(
        0,
        &[
            "search", &store, "-q", &queries, "-k1", "--metric", "cosine",
        ],
    ));
    assert!(out.starts_with("# query 0\n"), "{out}");

    let wrong = t.join("wrong.fvecs");
    write_fvecs(&wrong, 2, &[1.0, 2.0]);
    let failed = expect(6, &["search", &store, "--query", &wrong]);
    assert!(stderr(&failed).contains("dimension 2, the store has dimension 3"));
    expect(2, &["search", &store]);
    expect(
        2,
        &["search", &store, "-q", &queries, "--metric", "manhattan"],
    );
}

#[test]
fn compact_and_checkpoint_maintain_the_store() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 4, &awkward_floats(400 * 4, 8));
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    // Importing again overwrites every id: the first copies become dead slots.
    expect(0, &["import", &store, &vecs, "--durability", "flush"]);
    let before = content(&store);
    assert!(stdout(&expect(0, &["stat", &store])).contains("fragmentation    50.00%"));
    let out = stdout(&expect(0, &["compact", &store]));
    assert!(
        out.contains("reclaimed") && out.contains("-> 0.00%"),
        "{out}"
    );
    assert!(stdout(&expect(0, &["stat", &store])).contains("fragmentation    0.00%"));
    assert_eq!(content(&store), before);
    let out = stdout(&expect(0, &["checkpoint", &store]));
    assert!(out.contains("0 log bytes left"), "{out}");
    expect(0, &["verify", &store]);
}

const COMMANDS: [&str; 12] = [
    "stat",
    "verify",
    "import",
    "export",
    "search",
    "get",
    "put",
    "delete",
    "copy",
    "compact",
    "checkpoint",
    "completions",
];

#[test]
fn usage_errors_and_help() {
    let t = TempDir::new();
    let top = stdout(&expect(0, &["--help"]));
    for word in COMMANDS.iter().chain(&["Exit codes", "8  get, delete"]) {
        assert!(top.contains(word), "{word} missing from\n{top}");
    }
    // The exit-code table is in the top-level help, once, and nowhere else.
    assert_eq!(top.matches("Exit codes").count(), 1);
    assert!(!stdout(&expect(0, &["-h"])).contains("Exit codes"));
    for command in COMMANDS {
        let help = stdout(&expect(0, &[command, "--help"]));
        assert!(
            help.contains(&format!("Usage: vecstore {command} ")),
            "{help}"
        );
        assert!(!help.contains("Exit codes"), "{command}: {help}");
        assert_eq!(stdout(&expect(0, &["help", command])), help);
    }
    assert!(stdout(&expect(0, &["import", "--help"])).contains("--durability <MODE>"));
    assert!(stderr(&expect(2, &[])).contains("no command given"));
    assert!(stderr(&expect(2, &["frobnicate"])).contains("unrecognized subcommand 'frobnicate'"));
    assert!(stderr(&expect(2, &["stat"])).contains("<DIR>"));
    assert!(stderr(&expect(2, &["stat", "a", "--bogus"])).contains("unexpected argument '--bogus'"));
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 2, &[1.0, 2.0]);
    let store = t.join("store");
    assert!(stderr(&expect(2, &["import", &store, &vecs, "--batch", "0"])).contains("--batch <N>"));
    assert!(stderr(&expect(
        2,
        &["import", &store, &vecs, "--durability", "maybe"]
    ))
    .contains("[possible values: fsync, flush, none]"));
    assert!(stderr(&expect(
        2,
        &[
            "import",
            &store,
            &vecs,
            "--ids",
            &t.join("i.u64"),
            "--start-id",
            "3"
        ]
    ))
    .contains("cannot be used with"));
    assert!(stderr(&expect(2, &["import", &store, &t.join("in.csv")]))
        .contains(".fvecs, .npy, .npz or .jsonl"));
    assert!(stderr(&expect(2, &["import", &store, "-"])).contains("needs --format"));
    assert!(stderr(&expect(
        2,
        &["import", &store, &vecs, "--ids", &t.join("ids.txt")]
    ))
    .contains(".ivecs, .u64 or .npy"));
    assert!(
        stderr(&expect(6, &["import", &store, &t.join("missing.fvecs")])).contains("missing.fvecs")
    );
    assert!(stderr(&expect(3, &["stat", &store])).contains("no vecstore store"));
    assert!(stderr(&expect(3, &["verify", &t.join("")])).contains("no vecstore store"));
    for command in ["get", "put", "delete", "export", "search", "copy"] {
        let args: Vec<&str> = match command {
            "get" | "delete" => vec![command, &store, "1"],
            "put" => vec![command, &store, "1", "0.5", "0.5"],
            "export" => vec![command, &store, "out.fvecs"],
            "search" => vec![command, &store, "-q", &vecs],
            _ => vec![command, &store, "elsewhere"],
        };
        let failed = expect(3, &args);
        assert!(
            stderr(&failed).starts_with(&format!("vecstore {command}: "))
                && stderr(&failed).contains("no vecstore store"),
            "{command}: {}",
            stderr(&failed)
        );
    }
    assert!(stdout(&expect(0, &["--version"])).contains("format version"));
}

#[test]
fn completions_are_generated_for_bash_and_zsh() {
    let bash = stdout(&expect(0, &["completions", "bash"]));
    assert!(
        bash.contains("complete -F") && bash.contains("vecstore"),
        "{bash}"
    );
    for command in COMMANDS {
        assert!(bash.contains(command), "{command}");
    }
    assert!(bash.contains("--skip-damaged") && bash.contains("fvecs npy npz jsonl"));
    let zsh = stdout(&expect(0, &["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef vecstore"), "{zsh}");
    assert!(zsh.contains("--skip-damaged"));
    expect(2, &["completions", "fish"]);
}

/// The library's version string, as the tool reports it.
fn library_version() -> String {
    // SAFETY: vecstore_version returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(vecstore::ffi::vecstore_version()) }
        .to_str()
        .unwrap()
        .to_owned()
}

// ---- pipes, formats, records, salvage, copy

/// Runs `vecstore ARGS`, asserts the exit code and that stderr says `says`.
#[track_caller]
fn fails(code: i32, args: &[&str], says: &str) -> Output {
    fails_with_stdin(code, args, b"", says)
}

/// [`fails`], with `input` on stdin.
#[track_caller]
fn fails_with_stdin(code: i32, args: &[&str], input: &[u8], says: &str) -> Output {
    let out = expect_with_stdin(code, args, input);
    assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
    out
}

/// Runs `vecstore ARGS` with `input` on stdin; asserts the exit code.
#[track_caller]
fn expect_with_stdin(code: i32, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = {
        let _guard = (!HOLDS_SPAWN.get()).then(|| SPAWN.read().unwrap_or_else(|e| e.into_inner()));
        Command::new(env!("CARGO_BIN_EXE_vecstore"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vecstore")
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for vecstore");
    feeder.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "vecstore {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    out
}

/// An .npy file of `descr` values, shape (rows, dim), from raw bytes.
fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn import_and_export_go_through_pipes_in_every_format() {
    let t = TempDir::new();
    let dim = 6;
    let rows = awkward_floats(700 * dim, 31);
    let ids: Vec<u64> = (0..700u64).map(|i| i * 1_000_003 + (1 << 40)).collect();
    let original = by_id(&ids, bits(&rows, dim));
    let (vecs, idf) = (t.join("in.fvecs"), t.join("in.u64"));
    write_fvecs(&vecs, dim, &rows);
    std::fs::write(
        &idf,
        ids.iter()
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let store = t.join("store");
    expect(0, &["import", &store, &vecs, "--ids", &idf]);

    // jsonl out and back in: ids travel with the vectors, bit for bit.
    let jsonl = stdout(&expect(0, &["export", &store, "-", "--format", "jsonl"]));
    assert_eq!(jsonl.lines().count(), 700);
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert!(first["id"].is_u64() && first["vector"].as_array().unwrap().len() == dim);
    let from_jsonl = t.join("from-jsonl");
    let out = expect_with_stdin(
        0,
        &["import", &from_jsonl, "-", "--format", "jsonl"],
        jsonl.as_bytes(),
    );
    assert!(
        stdout(&out).contains("from standard input"),
        "{}",
        stdout(&out)
    );
    assert_eq!(content(&from_jsonl), original);

    // fvecs and npy through standard output and input (ids from a file).
    for format in ["fvecs", "npy"] {
        let ids_file = t.join(&format!("ids-{format}.npy"));
        let data = vecstore(&[
            "export", &store, "-", "--format", format, "--ids", &ids_file,
        ]);
        assert!(data.status.success(), "{}", stderr(&data));
        assert!(data.stderr.is_empty(), "{}", stderr(&data));
        let again = t.join(&format!("from-{format}"));
        expect_with_stdin(
            0,
            &[
                "import", &again, "-", "--format", format, "--ids", &ids_file,
            ],
            &data.stdout,
        );
        assert_eq!(content(&again), original, "{format}");
    }
    // A .jsonl file by its extension.
    let file = t.join("out.jsonl");
    expect(0, &["export", &store, &file]);
    let again = t.join("from-file");
    expect(0, &["import", &again, &file]);
    assert_eq!(content(&again), original);

    // Bad input on standard input.
    let bad = t.join("bad");
    fails_with_stdin(
        6,
        &["import", &bad, "-", "--format", "npy"],
        b"",
        "standard input: the file is empty",
    );
    let npy = expect(0, &["export", &store, "-", "--format", "npy"]).stdout;
    fails_with_stdin(
        6,
        &["import", &bad, "-", "--format", "npy"],
        &npy[..npy.len() - 3],
        "standard input: shape [700, 6] of <f4 needs 16800 bytes of data, the file has 16797: the file is truncated",
    );
    fails_with_stdin(
        6,
        &["import", &bad, "-", "--format", "jsonl"],
        b"{\"id\": 1, \"vector\": [1, 2]}\n\n{\"id\": 2, \"vector\": [1, 2, 3]}\n",
        "line 3 holds a vector of dimension 3",
    );
    fails_with_stdin(
        6,
        &["import", &bad, "-", "--format", "jsonl"],
        b"{\"id\": 1, \"vector\": [1, 2]}\n{\"id\": -4, \"vector\": [1, 2]}\n",
        "line 2: invalid value",
    );
    fails_with_stdin(
        6,
        &["import", &bad, "-", "--format", "jsonl"],
        b"{\"id\": 1, \"vector\": [1, 1e39]}\n",
        "non-finite value (inf)",
    );
    expect(3, &["stat", &bad]);
    assert!(stderr(&expect(
        2,
        &[
            "import",
            &bad,
            &vecs,
            "--format",
            "jsonl",
            "--start-id",
            "1"
        ]
    ))
    .contains("carries its own ids"));
    assert!(stderr(&expect(2, &["export", &store, "x.npz"])).contains("not .npz"));
}

#[test]
fn float64_and_float16_npy_are_converted_and_ids_may_be_npy() {
    let t = TempDir::new();
    let f64s: Vec<f64> = vec![0.1, -2.5, 1e-3, 3.0, 1.0 / 3.0, -0.0];
    let f64_file = t.join("v64.npy");
    let data: Vec<u8> = f64s.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&f64_file, npy_bytes("<f8", "(2, 3)", &data)).unwrap();
    let ids_file = t.join("ids.npy");
    let ids: Vec<u8> = [7i64, 1 << 50]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&ids_file, npy_bytes("<i8", "(2,)", &ids)).unwrap();
    let store = t.join("store");
    let out = expect(0, &["import", &store, &f64_file, "--ids", &ids_file]);
    assert!(
        stderr(&out).contains("float64 values; they are converted to float32"),
        "{}",
        stderr(&out)
    );
    let got = content(&store);
    assert_eq!(
        got[&7],
        f64s[..3]
            .iter()
            .map(|&v| (v as f32).to_bits())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        got[&(1 << 50)],
        f64s[3..]
            .iter()
            .map(|&v| (v as f32).to_bits())
            .collect::<Vec<_>>()
    );

    // float16, big-endian, and uint64 ids.
    let halves: [u16; 3] = [0x3c00, 0xc000, 0x3555]; // 1.0, -2.0, 0.333
    let data: Vec<u8> = halves.iter().flat_map(|v| v.to_be_bytes()).collect();
    let f16_file = t.join("v16.npy");
    std::fs::write(&f16_file, npy_bytes(">f2", "(1, 3)", &data)).unwrap();
    let uids = t.join("uids.npy");
    std::fs::write(&uids, npy_bytes("<u8", "(1,)", &u64::MAX.to_le_bytes())).unwrap();
    let out = expect(0, &["import", &store, &f16_file, "--ids", &uids]);
    assert!(stderr(&out).contains("float16 values"), "{}", stderr(&out));
    let got = content(&store);
    assert_eq!(
        got[&u64::MAX],
        vec![
            1.0f32.to_bits(),
            (-2.0f32).to_bits(),
            0.33325195f32.to_bits()
        ]
    );

    // Exported ids as .npy (uint64) import again.
    let (out_vecs, out_ids) = (t.join("out.npy"), t.join("out-ids.npy"));
    expect(0, &["export", &store, &out_vecs, "--ids", &out_ids]);
    let again = t.join("again");
    expect(0, &["import", &again, &out_vecs, "--ids", &out_ids]);
    assert_eq!(content(&again), got);

    // Negative ids, integer vectors and a truncated id file are refused.
    let neg = t.join("neg.npy");
    let ids: Vec<u8> = [1i64, -5].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&neg, npy_bytes("<i8", "(2,)", &ids)).unwrap();
    fails(
        6,
        &["import", &store, &f64_file, "--ids", &neg],
        "id 1 is -5; ids are non-negative",
    );
    let short = t.join("short.npy");
    std::fs::write(&short, npy_bytes("<i8", "(2,)", &ids[..12])).unwrap();
    fails(
        6,
        &["import", &store, &f64_file, "--ids", &short],
        "the file is truncated",
    );
    let floats = t.join("float-ids.npy");
    std::fs::write(&floats, npy_bytes("<f8", "(2,)", &ids)).unwrap();
    fails(
        6,
        &["import", &store, &f64_file, "--ids", &floats],
        "not supported for ids",
    );
    assert_eq!(content(&store), got);
}

/// An .npz archive of `members` (name, .npy bytes), deflated.
fn write_npz(path: &str, members: &[(&str, Vec<u8>)]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn npz_archives_give_their_vectors_and_ids() {
    let t = TempDir::new();
    let dim = 4;
    let rows = awkward_floats(50 * dim, 41);
    let data: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ids: Vec<u64> = (0..50).map(|i| 1000 + i * 3).collect();
    let id_bytes: Vec<u8> = ids.iter().flat_map(|v| v.to_le_bytes()).collect();
    let npz = t.join("a.npz");
    write_npz(
        &npz,
        &[
            ("ids.npy", npy_bytes("<u8", "(50,)", &id_bytes)),
            ("vectors.npy", npy_bytes("<f4", "(50, 4)", &data)),
        ],
    );
    let store = t.join("store");
    expect(0, &["import", &store, &npz]);
    assert_eq!(content(&store), by_id(&ids, bits(&rows, dim)));
    // One array under another name: its vectors, numbered.
    let single = t.join("single.npz");
    write_npz(
        &single,
        &[("arr_0.npy", npy_bytes("<f4", "(50, 4)", &data))],
    );
    let numbered = t.join("numbered");
    expect(0, &["import", &numbered, &single, "--start-id", "5"]);
    assert_eq!(
        content(&numbered),
        by_id(&(5..55).collect::<Vec<_>>(), bits(&rows, dim))
    );
    // Through standard input too.
    let piped = t.join("piped");
    expect_with_stdin(
        0,
        &["import", &piped, "-", "--format", "npz"],
        &std::fs::read(&npz).unwrap(),
    );
    assert_eq!(content(&piped), content(&store));
    // Which array? Refused; and a file that is no archive.
    let two = t.join("two.npz");
    write_npz(
        &two,
        &[
            ("a.npy", npy_bytes("<f4", "(50, 4)", &data)),
            ("b.npy", npy_bytes("<f4", "(50, 4)", &data)),
        ],
    );
    fails(
        6,
        &["import", &t.join("x"), &two],
        "name the vectors' array 'vectors'",
    );
    let fake = t.join("fake.npz");
    std::fs::write(&fake, b"not a zip").unwrap();
    fails(
        6,
        &["import", &t.join("x"), &fake],
        "not a valid .npz archive",
    );
}

#[test]
fn get_put_and_delete_single_records() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);

    assert_eq!(stdout(&expect(0, &["get", &store, "1"])), "4.0 5.0 6.0\n");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&expect(0, &["get", &store, "0", "--json"]))).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"id": 0, "vector": [1.0, 2.0, 3.0]})
    );

    expect(0, &["put", &store, "42", "0.5", "-1e-3", "1e38"]);
    assert_eq!(
        stdout(&expect(0, &["get", &store, "42"])),
        "0.5 -0.001 1e+38\n"
    );
    expect_with_stdin(0, &["put", &store, "43"], b"[0.25, 0.5, 0.75]\n");
    expect_with_stdin(
        0,
        &["put", &store, "44", "--durability", "none"],
        b"7, 8\n9\n",
    );
    assert_eq!(
        stdout(&expect(0, &["get", &store, "43"])),
        "0.25 0.5 0.75\n"
    );
    assert_eq!(stdout(&expect(0, &["get", &store, "44"])), "7.0 8.0 9.0\n");
    // Logged puts stay in the log until a checkpoint; stat says so.
    let stat: serde_json::Value =
        serde_json::from_str(&stdout(&expect(0, &["stat", &store, "--json"]))).unwrap();
    assert_eq!(stat["vectors"], 5);

    fails(
        6,
        &["put", &store, "9", "1", "2"],
        "has 2 values, the store",
    );
    fails(6, &["put", &store, "9", "1", "NaN", "2"], "non-finite");
    fails_with_stdin(
        6,
        &["put", &store, "9"],
        b"1 two 3",
        "'two' is not a number",
    );
    expect_with_stdin(6, &["put", &store, "9"], b"");
    expect(2, &["put", &store, "x", "1"]);

    fails(8, &["get", &store, "9"], "no vector with id 9");
    let out = expect(8, &["delete", &store, "42", "9", "43"]);
    assert!(
        stdout(&out).contains("deleted 2 vectors"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("no vector with id 9"),
        "{}",
        stderr(&out)
    );
    expect(0, &["delete", &store, "44"]);
    assert_eq!(
        content(&store).keys().copied().collect::<Vec<_>>(),
        vec![0, 1]
    );
    expect(2, &["delete", &store]);
    expect(0, &["verify", &store]);
}

#[test]
fn export_skip_damaged_salvages_every_intact_vector() {
    let t = TempDir::new();
    let dim = 4;
    let rows = awkward_floats(100 * dim, 12);
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, dim, &rows);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    let segment = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "vec"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    for slot in [37, 80] {
        bytes[4096 + slot * (16 + 4 * dim) + 16 + 5] ^= 0x40;
    }
    std::fs::write(&segment, bytes).unwrap();

    let out_file = t.join("out.fvecs");
    fails(5, &["export", &store, &out_file], "damaged");
    assert!(!Path::new(&out_file).exists());
    let (out_ids, out_file) = (t.join("out.u64"), t.join("out.fvecs"));
    let out = expect(
        1,
        &[
            "export",
            &store,
            &out_file,
            "--ids",
            &out_ids,
            "--skip-damaged",
        ],
    );
    let err = stderr(&out);
    assert!(err.contains("skipped 2 damaged vectors"), "{err}");
    assert!(err.contains("damaged ids: 37 80"), "{err}");
    assert!(
        stdout(&out).contains("exported 98 vectors"),
        "{}",
        stdout(&out)
    );
    let expected: BTreeMap<u64, Vec<u32>> = by_id(&(0..100).collect::<Vec<_>>(), bits(&rows, dim))
        .into_iter()
        .filter(|(id, _)| *id != 37 && *id != 80)
        .collect();
    assert_eq!(
        by_id(&read_u64s(&out_ids), read_fvecs(&out_file).1),
        expected
    );
    // To a pipe, the vectors go out and the report to stderr.
    let out = expect(
        1,
        &["export", &store, "-", "--format", "jsonl", "--skip-damaged"],
    );
    assert_eq!(stdout(&out).lines().count(), 98);
    assert!(stderr(&out).contains("damaged ids: 37 80"));
    // An .npy on standard output announces its count first: refused.
    let out = expect(
        7,
        &["export", &store, "-", "--format", "npy", "--skip-damaged"],
    );
    assert!(
        stderr(&out).contains("announced 100 vectors but 98"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn search_and_verify_speak_json() {
    let t = TempDir::new();
    let rows: Vec<f32> = (0..50).flat_map(|i| [i as f32, 1.0]).collect();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 2, &rows);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    let queries = t.join("q.fvecs");
    write_fvecs(&queries, 2, &[3.0, 1.0, 10.2, 1.0]);
    let out = stdout(&expect(
        0,
        &["search", &store, "-q", &queries, "-k", "2", "--json"],
    ));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["query"], 0);
    assert_eq!(
        lines[0]["neighbors"][0],
        serde_json::json!({"id": 3, "distance": 0.0})
    );
    assert_eq!(lines[1]["neighbors"][0]["id"], 10);
    assert_eq!(lines[1]["neighbors"].as_array().unwrap().len(), 2);
    // Queries from a pipe.
    let piped = expect_with_stdin(
        0,
        &["search", &store, "-q", "-", "--format", "jsonl", "-k", "1"],
        b"{\"id\": 0, \"vector\": [20, 1]}\n",
    );
    assert_eq!(stdout(&piped), "# query 0\n20\t0\n");

    let v: serde_json::Value =
        serde_json::from_str(&stdout(&expect(0, &["verify", &store, "--json"]))).unwrap();
    assert_eq!(v["result"], "sound");
    assert_eq!(v["vectors"], 50);
    assert_eq!(v["read"], 50);
    assert_eq!(v["problems"], serde_json::json!([]));
    let index = Path::new(&store).join("index.vsi");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&index, bytes).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&expect(1, &["verify", &store, "--json"]))).unwrap();
    assert_eq!(
        (v["result"].as_str(), v["opens"].as_bool()),
        (Some("damaged"), Some(false))
    );
    assert_eq!(v["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn stat_reports_the_log_a_crashed_writer_left() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 2, &[1.0, 2.0]);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    // A writer that puts three vectors and is killed before closing.
    with_store_open(|| {
        let writer = Store::open(&store, 0, &Options::default()).unwrap();
        for id in 10..13 {
            writer.put(id, &[0.5, id as f32]).unwrap();
        }
        // As a kill leaves it: no close, no checkpoint (the lock goes with
        // the handle's descriptor, released below).
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&expect(0, &["stat", &store, "--json"]))).unwrap();
        assert_eq!(json["log_records"], 3, "{json}");
        assert!(json["log_bytes"].as_u64().unwrap() > 3 * 16, "{json}");
        assert_eq!(json["vectors"], 4);
        std::mem::forget(writer);
    });
    // The handle was leaked with its lock: only the files say what is left.
    let text = stdout(&expect(0, &["stat", &store]));
    assert!(
        text.contains("(3 records the next read-write open replays)"),
        "{text}"
    );
}

#[test]
fn a_store_in_use_is_named_for_what_holds_it() {
    let t = TempDir::new();
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, 2, &[1.0, 2.0]);
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    // A reader takes no lock: every tool works beside it, writers too.
    with_store_open(|| {
        let options = Options {
            read_only: true,
            ..Options::default()
        };
        let reader = Store::open(&store, 0, &options).unwrap();
        expect(0, &["put", &store, "5", "1", "1"]);
        expect(0, &["checkpoint", &store]);
        expect(0, &["compact", &store]);
        assert_eq!(reader.len(), 2);
    });
    // A writer holds the lock: the message names the lock, not a guess.
    with_store_open(|| {
        let _writer = Store::open(&store, 0, &Options::default()).unwrap();
        for args in [
            vec!["put", &store, "6", "1", "1"],
            vec!["delete", &store, "5"],
        ] {
            let out = expect(4, &args);
            let err = stderr(&out);
            assert!(err.contains("the store is locked"), "{err}");
        }
    });
}

#[test]
fn copy_makes_a_store_of_one_instant_even_while_it_is_written() {
    let t = TempDir::new();
    let dim = 3;
    let vecs = t.join("in.fvecs");
    write_fvecs(&vecs, dim, &awkward_floats(500 * dim, 5));
    let store = t.join("store");
    expect(0, &["import", &store, &vecs]);
    expect(0, &["delete", &store, "7", "8"]);
    let dest = t.join("backup/copy");
    let out = expect(0, &["copy", &store, &dest]);
    assert!(
        stdout(&out).contains("copied 498 vectors of dimension 3"),
        "{}",
        stdout(&out)
    );
    assert_eq!(content(&dest), content(&store));
    let stat: serde_json::Value =
        serde_json::from_str(&stdout(&expect(0, &["stat", &dest, "--json"]))).unwrap();
    assert_eq!(
        (stat["log_bytes"].as_u64(), stat["fragmentation"].as_f64()),
        (Some(0), Some(0.0))
    );
    expect(0, &["verify", &dest]);

    // Beside a writer that holds the store and goes on writing.
    with_store_open(|| {
        let writer = Store::open(&store, 0, &Options::default()).unwrap();
        writer.put(1000, &[1.0, 2.0, 3.0]).unwrap();
        expect(0, &["copy", &store, &t.join("live")]);
        writer.put(1001, &[1.0, 2.0, 3.0]).unwrap();
        writer.close().unwrap();
    });
    let copied = content(&t.join("live"));
    assert_eq!(copied.len(), 499);
    assert!(copied.contains_key(&1000) && !copied.contains_key(&1001));

    // Bad destinations and sources.
    fails(6, &["copy", &store, &dest], "not empty");
    fails(6, &["copy", &store, &format!("{store}/inside")], "inside");
    assert!(!Path::new(&format!("{store}/inside")).exists());
    expect(3, &["copy", &t.join("nothing"), &t.join("c2")]);
    assert!(!Path::new(&t.join("c2")).exists());
    // A damaged vector fails the copy and leaves nothing.
    let segment = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vec"))
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[4096 + 3 * (16 + 4 * dim) + 16 + 1] ^= 1;
    std::fs::write(&segment, bytes).unwrap();
    fails(5, &["copy", &store, &t.join("c3")], "damaged");
    assert!(!Path::new(&t.join("c3")).exists());
}
