//! What readers may show while writers start, fail their fsyncs, switch
//! modes and fill disks: regressions from the second review of issue 13.
//! Each test here failed on the reviewed commit (9afce09): a reader showed a
//! write whose fsync failed while its writer lived, a writer died of SIGBUS,
//! or a reader hung.

mod common;
use common::peer::Peer;
use common::shim::{FAULTINJECT, SLOW_FAILING_FDATASYNC, SLOW_FALLOCATE_FAILS, SLOW_LOG_PREAD};
use common::{child, crc32, opts, within};

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vecstore::{Durability, Options, Store};

use vecstore::layout::log::record;
/// wal.log: file header of this many bytes (salt at `layout::log::SALT`), then records.
const LOG_HEADER: usize = vecstore::layout::log::HEADER_LEN;

/// A record header of this log's generation, intact (checksum right), with
/// whatever lengths the caller wants.
fn record_header(
    salt: u64,
    kind: u32,
    lsn: u64,
    payload_len: u64,
    count: u64,
) -> [u8; record::LEN] {
    use record::*;
    let mut h = [0u8; LEN];
    h[SALT..HEADER_CRC].copy_from_slice(&salt.to_le_bytes());
    h[KIND..LSN].copy_from_slice(&kind.to_le_bytes());
    h[LSN..PAYLOAD_LEN].copy_from_slice(&lsn.to_le_bytes());
    h[PAYLOAD_LEN..COUNT].copy_from_slice(&payload_len.to_le_bytes());
    h[COUNT..SYNCED_THROUGH].copy_from_slice(&count.to_le_bytes());
    h[SYNCED_THROUGH..PAYLOAD_CRC].copy_from_slice(&0u64.to_le_bytes()); // synced through: nothing
    let c = crc32(&[&h[..HEADER_CRC], &h[KIND..LEN]]);
    h[HEADER_CRC..KIND].copy_from_slice(&c.to_le_bytes());
    h
}

/// (e) A crafted log record whose header is intact (its CRC recomputed with
/// the salt, which the file header gives away) and whose payload length is
/// near u64::MAX. A writer's open takes it for a torn tail and cuts it. A
/// read-only open never returns: `LogTail::poll` computes `self.pos + total`
/// without a check; in release it wraps to a small number, passes
/// `<= len`, and the loop re-reads the same chunk forever (100% CPU; in a
/// debug build it panics with an overflow). `vecstore stat`, `verify`,
/// `export` and `search` hang the same way.
#[test]
fn a_crafted_record_length_hangs_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    {
        let w = Store::open(&path, 2, &opts(Durability::Flush, false)).unwrap();
        w.put(1, &[1.0, 1.0]).unwrap();
        w.close().unwrap(); // checkpoint at lsn 1, empty log
    }
    let log = path.join("wal.log");
    let mut bytes = std::fs::read(&log).unwrap();
    assert_eq!(bytes.len(), LOG_HEADER);
    let salt_at = vecstore::layout::log::SALT;
    let salt = u64::from_le_bytes(bytes[salt_at..salt_at + 8].try_into().unwrap());
    // total_len = (payload_len + 63) & !7 = 2^64 - 8; 32 + that wraps to 24.
    bytes.extend_from_slice(&record_header(salt, record::PUTS, 2, u64::MAX - 63, 1));
    bytes.extend_from_slice(&[0u8; 64]);
    std::fs::write(&log, &bytes).unwrap();

    let p = path.clone();
    let reader = within(10, move || {
        Store::open(&p, 0, &opts(Durability::Flush, true))
            .map(|s| s.len())
            .map_err(|e| e.to_string())
    });
    println!("read-only open after 10 s: {reader:?}");
    // What a writer's open makes of the same file (after the reader, since
    // it cuts the record).
    let copy = tempfile::tempdir().unwrap();
    common::copy_dir(&path, copy.path());
    let c = copy.path().to_path_buf();
    let writer = within(10, move || {
        Store::open(&c, 0, &opts(Durability::Flush, false))
            .map(|s| s.len())
            .map_err(|e| e.to_string())
    });
    println!("writer open of a copy: {writer:?}");
    assert!(
        reader.is_some(),
        "BUG: a read-only open spins forever on a crafted record length"
    );
}

// ---------------------------------------------------------------------------
// Children: one ignored test, driven by PUBLICATION_ROLE and PUBLICATION_DIR; it
// prints lines starting with "@ " and, where said, waits for its stdin to
// close before exiting (without closing the store: as if killed).

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n@ {line}").unwrap();
    out.flush().unwrap();
}

fn result<T>(r: &vecstore::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("err {:?} {e}", e.kind()),
    }
}

fn wait_for_stdin_eof() {
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

#[test]
#[ignore]
fn publication_child() {
    let (Ok(role), Ok(dir)) = (
        std::env::var("PUBLICATION_ROLE"),
        std::env::var("PUBLICATION_DIR"),
    ) else {
        return;
    };
    let dir = PathBuf::from(dir);
    match role.as_str() {
        // A creating open whose first segment's allocation fails (slow shim).
        "create_fail" => {
            let r = Store::open(
                &dir,
                2,
                &Options {
                    initial_capacity: 100,
                    ..opts(Durability::Flush, false)
                },
            );
            say(format!("create {}", result(&r)));
        }
        // A writer in FSYNC mode: put 1 (durable), put 2 (its fdatasync fails
        // under the faultinject shim), then stays alive until told.
        "fsync_writer" => {
            let w = Store::open(&dir, 2, &opts(Durability::Fsync, false)).unwrap();
            say(format!("put1 {}", result(&w.put(1, &[1.0, 1.0]))));
            say(format!("put2 {}", result(&w.put(2, &[2.0, 2.0]))));
            wait_for_stdin_eof();
            std::process::exit(0);
        }
        // A writer that logs put 1 and dies without a checkpoint.
        "flush_then_die" => {
            let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
            w.put(1, &[1.0, 1.0]).unwrap();
            say("put1 ok".into());
            std::process::exit(0);
        }
        // A writer that logs puts 10, 11, 12 and dies without a checkpoint.
        "flush3_then_die" => {
            let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
            for id in 10..13 {
                w.put(id, &[id as f32, 0.0]).unwrap();
            }
            say("puts ok".into());
            std::process::exit(0);
        }
        // FSYNC put 1 on a thread (its fdatasync is slow, then fails: shim);
        // meanwhile the main thread switches to FLUSH and puts 2. A reader
        // handle (another open file description, as in another process)
        // says what it shows.
        "mode_switch" => {
            let w =
                std::sync::Arc::new(Store::open(&dir, 2, &opts(Durability::Fsync, false)).unwrap());
            let reader = Store::open(&dir, 0, &opts(Durability::Flush, true)).unwrap();
            let w1 = w.clone();
            let t = std::thread::spawn(move || w1.put(1, &[1.0, 1.0]));
            std::thread::sleep(Duration::from_millis(300));
            say(format!(
                "switch {}",
                result(&w.set_durability(Durability::Flush))
            ));
            say(format!("put2 {}", result(&w.put(2, &[2.0, 2.0]))));
            say(format!(
                "while put1 waits: reader contains1={} contains2={}",
                reader.contains(1),
                reader.contains(2)
            ));
            let r1 = t.join().unwrap();
            say(format!("put1 {}", result(&r1)));
            say(format!(
                "after put1 failed: reader contains1={}",
                reader.contains(1)
            ));
            std::process::exit(0);
        }
        // FSYNC put 1 on a thread (its fdatasync is slow, then fails: shim);
        // meanwhile the main thread runs a checkpoint.
        "checkpoint_during_fsync" => {
            let w =
                std::sync::Arc::new(Store::open(&dir, 2, &opts(Durability::Fsync, false)).unwrap());
            let reader = Store::open(&dir, 0, &opts(Durability::Flush, true)).unwrap();
            let w1 = w.clone();
            let t = std::thread::spawn(move || w1.put(1, &[1.0, 1.0]));
            std::thread::sleep(Duration::from_millis(300));
            say(format!("checkpoint {}", result(&w.checkpoint())));
            let r1 = t.join().unwrap();
            say(format!("put1 {}", result(&r1)));
            say(format!(
                "after put1 failed: reader contains1={}",
                reader.contains(1)
            ));
            std::process::exit(0);
        }
        // Inside a private mount namespace, on a small tmpfs at PUBLICATION_DIR's
        // parent: a store made and closed, its CHANGES removed (it "carries
        // nothing durable"; a power cut can leave it missing or a hole), the
        // file system filled, then a writer's open.
        "open_on_full_fs" => {
            {
                let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
                w.put(1, &[1.0, 1.0]).unwrap();
                w.close().unwrap();
            }
            if std::env::var_os("REVIEW2_KEEP_CHANGES").is_none() {
                std::fs::remove_file(dir.join("CHANGES")).unwrap();
            }
            let mut filler = std::fs::File::create(dir.parent().unwrap().join("filler")).unwrap();
            let block = vec![0u8; 4096];
            while filler.write_all(&block).is_ok() {}
            say("full".into());
            let r = Store::open(&dir, 0, &opts(Durability::Flush, false));
            say(format!("open {}", result(&r)));
            if let Ok(w) = r {
                say(format!("put {}", result(&w.put(2, &[2.0, 2.0]))));
            }
        }
        // A writer that logs puts 10 and 11, checkpoints, and dies as if
        // killed between the checkpoint's rename and its log trim: the log
        // still holds records 1 and 2 (both in the checkpoint).
        "killed_before_trim" => {
            let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
            w.put(10, &[10.0, 0.0]).unwrap();
            w.put(11, &[11.0, 0.0]).unwrap();
            let log = std::fs::read(dir.join("wal.log")).unwrap();
            w.checkpoint().unwrap();
            std::fs::write(dir.join("wal.log"), &log).unwrap();
            say("killed before trim".into());
            std::process::exit(0);
        }
        // A writer that makes the store and closes it: an empty log.
        "create_close" => {
            let w = Store::open(&dir, 2, &opts(Durability::Flush, false)).unwrap();
            w.put(10, &[10.0, 0.0]).unwrap();
            w.close().unwrap();
            say("closed".into());
        }
        // A read-only open (slowed by a shim), then what it shows.
        "reader" => {
            let r = Store::open(&dir, 0, &opts(Durability::Flush, true));
            say(format!("open {}", result(&r)));
            if let Ok(r) = r {
                say(format!(
                    "reader contains1={} contains2={}",
                    r.contains(1),
                    r.contains(2)
                ));
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// A running child (its "@ " lines are echoed as they are read).
struct Kid(Peer);

impl Kid {
    fn spawn(role: &str, dir: &Path, env: &[(&str, &str)]) -> Kid {
        let mut env: Vec<(&str, String)> = env.iter().map(|&(k, v)| (k, v.to_string())).collect();
        env.push(("PUBLICATION_ROLE", role.to_string()));
        env.push(("PUBLICATION_DIR", dir.display().to_string()));
        Kid(Peer::spawn("publication_child", role, &env))
    }

    /// The next line that starts with `prefix` (waits up to 60 s).
    fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = self.0.recv_by(deadline);
            println!("  [child] {line}");
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Closes its stdin and waits for it.
    fn finish(mut self) {
        for line in self.0.finish().1 {
            println!("  [child] {line}");
        }
        eprint!("{}", self.0.stderr_text());
    }
}

/// (a)/(d) `WriterProbe` keeps the `LOCK` file it opened first, forever. A
/// creating open that fails removes `LOCK` (it made it); a reader that
/// opened during that creation (the store existed for 3 s) keeps querying
/// the unlinked inode, which no writer will ever lock again. When a new
/// writer creates the store, that reader believes no writer is alive and
/// shows every intact record: here an FSYNC write whose fdatasync failed,
/// while its writer lives (the contract: "never shown while its writer
/// lives"). A fresh reader, probing the new `LOCK`, does not show it.
#[test]
fn a_stale_lock_probe_shows_a_failed_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let slow = SLOW_FALLOCATE_FAILS.build(tmp.path()).expect("cc");
    let faults = FAULTINJECT.build(tmp.path()).expect("cc");
    let dir = tmp.path().join("store");
    std::fs::create_dir(&dir).unwrap();

    let mut creator = Kid::spawn(
        "create_fail",
        &dir,
        &[("LD_PRELOAD", slow.to_str().unwrap())],
    );
    let started = Instant::now();
    let reader = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no store appeared"
        );
        if dir.join("index.vsi").exists() {
            if let Ok(r) = Store::open(&dir, 0, &opts(Durability::Fsync, true)) {
                break r;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    println!("reader opened during the creation: len {}", reader.len());
    creator.expect("create err");
    creator.finish();
    assert!(
        !dir.join("LOCK").exists(),
        "the failed creation removed LOCK"
    );

    let mut writer = Kid::spawn(
        "fsync_writer",
        &dir,
        &[
            ("LD_PRELOAD", faults.to_str().unwrap()),
            ("FAULT_OP", "fdatasync"),
            ("FAULT_NTH", "2"),
            ("FAULT_PATH_SUBSTR", "/wal.log"),
        ],
    );
    writer.expect("put1 ok");
    let put2 = writer.expect("put2");
    assert!(
        put2.starts_with("put2 err"),
        "the fault missed put 2: {put2}"
    );
    // The writer is alive and holds the store; put 2 failed.
    let old = (reader.contains(1), reader.contains(2));
    let fresh = Store::open(&dir, 0, &opts(Durability::Fsync, true)).unwrap();
    let new = (fresh.contains(1), fresh.contains(2));
    println!("old reader (1, 2): {old:?}; fresh reader (1, 2): {new:?}");
    writer.finish();
    assert_eq!(new, (true, false));
    assert_eq!(
        old,
        (true, false),
        "BUG: a reader shows a write whose fsync failed while its writer lives"
    );
}

/// Waits (up to 60 s) for `path` to exist.
fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs the race: a reader child (slowed at `slow_at` by the shim) opens;
/// once it is paused, a writer child opens, acknowledges put 1 (FSYNC) and
/// fails put 2 (its fdatasync fails), and stays alive. Returns what the
/// reader shows, and what a fresh reader opened then shows.
fn reader_vs_new_writer(tmp: &Path, dir: &Path, slow_at: &str) -> (String, (bool, bool)) {
    reader_vs_new_writer_nth(tmp, dir, slow_at, "1")
}

fn reader_vs_new_writer_nth(
    tmp: &Path,
    dir: &Path,
    slow_at: &str,
    nth: &str,
) -> (String, (bool, bool)) {
    let slow = SLOW_LOG_PREAD.build(tmp).expect("cc");
    let faults = FAULTINJECT.build(tmp).expect("cc");
    let mark = tmp.join("paused");
    let mut reader = Kid::spawn(
        "reader",
        dir,
        &[
            ("LD_PRELOAD", slow.to_str().unwrap()),
            ("REVIEW2_SLOW_AT", slow_at),
            ("REVIEW2_MARK", mark.to_str().unwrap()),
            ("REVIEW2_SLEEP", "5"),
            ("REVIEW2_SLOW_NTH", nth),
        ],
    );
    wait_for(&mark);
    let mut writer = Kid::spawn(
        "fsync_writer",
        dir,
        &[
            ("LD_PRELOAD", faults.to_str().unwrap()),
            ("FAULT_OP", "fdatasync"),
            ("FAULT_NTH", "2"),
            ("FAULT_PATH_SUBSTR", "/wal.log"),
        ],
    );
    writer.expect("put1 ok");
    let put2 = writer.expect("put2");
    assert!(
        put2.starts_with("put2 err"),
        "the fault missed put 2: {put2}"
    );
    let shown = reader.expect("reader");
    reader.finish();
    let fresh = Store::open(dir, 0, &opts(Durability::Fsync, true)).unwrap();
    let new = (fresh.contains(1), fresh.contains(2));
    writer.finish();
    (shown, new)
}

/// (a)/(d) `Follower::refresh` asks whether a writer is alive once, then
/// may reload several times. A reader that opens while no writer holds the
/// store (the last one was killed) reads the old log generation with no
/// limit; meanwhile a new writer opens (its recovery checkpoints and starts
/// a new generation) and appends FSYNC records. The reader's poll finds the
/// new generation, reloads, and reads it with the stale "no writer" answer,
/// so with no limit: it shows a write whose fdatasync failed while its
/// writer lives. The reader is slowed by a shim at its first read of a
/// record (a long log, or a descheduled process, does the same).
#[test]
fn a_reader_opening_beside_a_starting_writer_shows_a_failed_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let dir = tmp.path().join("store");
    let mut w0 = Kid::spawn("flush_then_die", &dir, &[]);
    w0.expect("put1 ok");
    w0.finish();
    let (shown, fresh) = reader_vs_new_writer(tmp.path(), &dir, "records");
    println!("slow reader: {shown}; fresh reader (1, 2): {fresh:?}");
    assert_eq!(fresh, (true, false));
    assert_eq!(
        shown, "reader contains1=true contains2=false",
        "BUG: a reader shows a write whose fsync failed while its writer lives"
    );
}

/// (d) After a power cut, `CHANGES` may hold a page written back before
/// the cut while the log lost its unsynced (FLUSH) appends: simulated here
/// by cutting wal.log back to its header. A new writer's open finds nothing
/// to replay, keeps the log's generation (same salt) and appends from the
/// header on. A reader that read the stale page before the new writer
/// published, and probed after it took the lock, trusts the stale end
/// (written by a dead writer, far past the new records): it shows an FSYNC
/// write whose fdatasync failed, while its writer lives. The reader is
/// slowed by a shim between its read of the page and its probe (at its
/// first read of the log header).
#[test]
fn a_stale_page_after_a_power_cut_shows_a_failed_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let dir = tmp.path().join("store");
    let mut w1 = Kid::spawn("flush3_then_die", &dir, &[]);
    w1.expect("puts ok");
    w1.finish();
    // The power cut: the page was written back, the log's appends were not.
    let log = dir.join("wal.log");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(LOG_HEADER as u64)
        .unwrap();
    println!("log cut from {len} to {LOG_HEADER} bytes; CHANGES kept");
    let (shown, fresh) = reader_vs_new_writer(tmp.path(), &dir, "header");
    println!("slow reader: {shown}; fresh reader (1, 2): {fresh:?}");
    assert_eq!(fresh, (true, false));
    assert_eq!(
        shown, "reader contains1=true contains2=false",
        "BUG: a reader trusts a dead writer's page beside a live writer"
    );
}

/// (a) `publish_end` publishes the log's end, which covers every record
/// before it, durable or not. An FSYNC write waits for its group commit
/// outside the writer lock; if the mode is switched to FLUSH meanwhile
/// (`set_durability`), the next FLUSH write publishes an end past the FSYNC
/// record: readers show that write before it is durable or acknowledged,
/// and keep showing it after its fdatasync failed, while its writer lives.
#[test]
fn a_flush_write_publishes_a_pending_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let shim = SLOW_FAILING_FDATASYNC.build(tmp.path()).expect("cc");
    let dir = tmp.path().join("store");
    let mut kid = Kid::spawn(
        "mode_switch",
        &dir,
        &[
            ("LD_PRELOAD", shim.to_str().unwrap()),
            ("REVIEW2_SLEEP", "2"),
        ],
    );
    let during = kid.expect("while put1 waits");
    let put1 = kid.expect("put1");
    let after = kid.expect("after put1 failed");
    kid.finish();
    assert!(put1.starts_with("put1 err"), "{put1}");
    assert!(
        !during.contains("contains1=true") && after.ends_with("contains1=false"),
        "BUG: readers see an FSYNC write before it is durable, and after its fsync failed: {during}; {after}"
    );
}

/// (a, minor) Same shim: a checkpoint taken while an FSYNC write waits for
/// its group commit includes the write and publishes it; the write's
/// fdatasync then fails and its call returns Io, while readers show it
/// (and it is durable: the checkpoint has it).
#[test]
fn a_checkpoint_publishes_a_pending_fsync_write_that_then_fails() {
    let tmp = common::test_root("vecstore-publication-");
    let shim = SLOW_FAILING_FDATASYNC.build(tmp.path()).expect("cc");
    let dir = tmp.path().join("store");
    let mut kid = Kid::spawn(
        "checkpoint_during_fsync",
        &dir,
        &[
            ("LD_PRELOAD", shim.to_str().unwrap()),
            ("REVIEW2_SLEEP", "2"),
        ],
    );
    let put1 = kid.expect("put1");
    let after = kid.expect("after put1 failed");
    kid.finish();
    assert!(
        !(put1.starts_with("put1 err") && after.ends_with("contains1=true")),
        "BUG: put 1 returned {put1:?} and readers show it: {after}"
    );
}

/// (e) `CHANGES` is grown with `ftruncate`, leaving a hole, and written
/// through a shared mapping: on a full file system the writer's first
/// store into the page cannot get a block and the kernel kills the writer
/// with SIGBUS ("No SIGBUS, ever"; segments use posix_fallocate for this
/// reason). Reached by any writer open that makes the page (a new store,
/// or a store whose CHANGES is missing, or a hole after a power cut) on a
/// full disk. Runs in a private mount namespace on a 2 MiB tmpfs (needs
/// root and `unshare`; skipped otherwise).
#[test]
fn a_writer_open_on_a_full_disk_dies_of_sigbus() {
    use std::os::unix::process::ExitStatusExt;
    let ok = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot unshare a mount namespace");
        return;
    }
    let tmp = common::test_root("vecstore-publication-");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=2m tmpfs '{}' && exec '{}' {}",
        mnt.display(),
        exe.display(),
        child::args("publication_child").join(" ")
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("PUBLICATION_ROLE", "open_on_full_fs")
        .env("PUBLICATION_DIR", mnt.join("store"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for l in stdout.lines().filter(|l| l.starts_with("@ ")) {
        println!("  [child] {l}");
    }
    println!("child: {:?} (signal {:?})", out.status, out.status.signal());
    assert!(
        stdout.contains("@ full"),
        "setup failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.signal(),
        Some(libc::SIGBUS),
        "BUG: the writer's open died of SIGBUS on a full disk"
    );
}

/// (a)/(d) Variant of the race above that a re-probe at each reload does not
/// close: the new writer finds nothing to replay (the killed writer died
/// between its checkpoint's rename and the log trim, so every record left
/// is in the checkpoint), keeps the log's generation and appends after the
/// old records. The reader, which probed "no writer" and is still inside
/// the same poll of that generation, reads the new FSYNC record with no
/// limit: no reload happens at all.
#[test]
fn a_reader_polling_beside_a_starting_writer_shows_a_failed_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let dir = tmp.path().join("store");
    let mut w0 = Kid::spawn("killed_before_trim", &dir, &[]);
    w0.expect("killed before trim");
    w0.finish();
    let (shown, fresh) = reader_vs_new_writer(tmp.path(), &dir, "records");
    println!("slow reader: {shown}; fresh reader (1, 2): {fresh:?}");
    assert_eq!(fresh, (true, false));
    assert_eq!(
        shown, "reader contains1=true contains2=false",
        "BUG: a reader shows a write whose fsync failed while its writer lives"
    );
}

/// (a)/(d) Variant that neither a re-probe per reload nor a fresh page read
/// closes: the log is empty (the last writer closed), so a new writer's
/// open checkpoints nothing and keeps the log's generation. The reader
/// probed "no writer", then (slowed at its poll's read of the log header,
/// the second read at offset 0) finds the new writer's records in the same
/// generation and reads them with no limit, in the same poll.
#[test]
fn a_reader_polling_an_empty_log_beside_a_starting_writer_shows_a_failed_fsync_write() {
    let tmp = common::test_root("vecstore-publication-");
    let dir = tmp.path().join("store");
    let mut w0 = Kid::spawn("create_close", &dir, &[]);
    w0.expect("closed");
    w0.finish();
    let (shown, fresh) = reader_vs_new_writer_nth(tmp.path(), &dir, "header", "2");
    println!("slow reader: {shown}; fresh reader (1, 2): {fresh:?}");
    assert_eq!(fresh, (true, false));
    assert_eq!(
        shown, "reader contains1=true contains2=false",
        "BUG: a reader shows a write whose fsync failed while its writer lives"
    );
}
