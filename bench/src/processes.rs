//! Workloads across processes. The harness re-executes its own binary as the
//! child ([`CHILD_FLAG`]); parent and child talk over the child's stdin and
//! stdout, one line at a time.
//!
//! - **Anonymous memory after open** (`openmem`): a fresh child opens an
//!   existing, closed store and prints its `RssAnon` (`/proc/self/status`)
//!   before and after the open; the growth / n is the row. vecstore as the
//!   writer (read-write, FLUSH) and as a read-only handle, one child after the
//!   other (a writer and a reader cannot be open at the same time today);
//!   LMDB's writer open as the peer. Vector bytes are file-backed (RssFile)
//!   and not counted.
//! - **Visibility** (`procs`): the parent holds the writer of a fresh store; a
//!   child opens it read-only and polls `contains(id)` for the id the writer
//!   is about to put. Lockstep: the child says `go` and spins; the parent
//!   reads `go`, puts, and takes `CLOCK_MONOTONIC` when `put` returned (the
//!   acknowledgement); the child takes the same clock when `contains` first
//!   says yes and sends it back. Latency = seen - acknowledged (negative if
//!   the reader saw the vector before `put` returned). FLUSH and FSYNC.
//! - **Reader under a bulk load** (`procs`): on a copy of the loaded store, a
//!   child opens it read-only and does random `get_ref` + release of ids
//!   `0..n`, timing each (`Instant`, so each sample includes ~2 clock reads);
//!   first with no writer anywhere for [`Plan::alone`], then while the parent,
//!   holding the writer, bulk-loads `n / 2` new ids (batches of 1000, FLUSH).
//!
//! The two multi-process workloads need a read-only handle to open while a
//! writer is open in another process. Until the engine allows it the child's
//! open fails with `Locked`; the row is then reported as "not measured" with
//! the error, and the run goes on.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vecstore::{Durability, Options, Store};

use crate::data::Rng;
use crate::engines::lmdb::Lmdb;
use crate::engines::{Column, Engine, Mode, Result};
use crate::results::Results;
use crate::util::{child_output, mono_ns, percentile, rss_anon_bytes, timed, TempDir};
use crate::workloads::Ctx;

/// The flag that makes the binary run [`child_main`].
pub const CHILD_FLAG: &str = "--proc-child";

/// How long a child polls for one id before giving up.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most latency samples a reader child keeps (allocated and touched before
/// measuring); it stops measuring when they are full.
const MAX_SAMPLES: usize = 1 << 24;
/// Distinct random ids a reader child cycles through.
const READER_IDS: usize = 1 << 20;
/// Vectors per `put_batch` of the writer's bulk load.
const BATCH: usize = 1000;

/// What to measure.
pub struct Plan {
    /// Acknowledged puts per visibility row.
    pub visible_puts: usize,
    /// How long the reader measures without a writer.
    pub alone: Duration,
}

// ---- anonymous memory after open ---------------------------------------------

/// Rows `open_anon_w` (vecstore, LMDB if `lmdb`) and `open_anon_ro`.
pub fn open_memory(
    vecstore: &Path,
    lmdb: Option<&Path>,
    n: usize,
    dim: usize,
    res: &mut Results,
) -> Result<()> {
    let mut runs = vec![
        ("open_anon_w", Column::Vecstore, "rw", vecstore),
        ("open_anon_ro", Column::Vecstore, "ro", vecstore),
    ];
    if let Some(dir) = lmdb {
        runs.push(("open_anon_w", Column::Lmdb, "rw", dir));
    }
    for (key, column, how, dir) in runs {
        let engine = match column {
            Column::Lmdb => "lmdb",
            _ => "vecstore",
        };
        let text = child_output(
            "open memory",
            Command::new(std::env::current_exe()?)
                .args([CHILD_FLAG, "anon", engine, how])
                .arg(dir)
                .arg(dim.to_string()),
        )?;
        let fields: Vec<u64> = text
            .split_whitespace()
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()?;
        let [before, after, count] = fields[..] else {
            return Err(format!("open memory child printed {text:?}").into());
        };
        if count != n as u64 {
            res.notes.push(format!(
                "open memory: the {engine} {how} handle saw {count} vectors, {n} stored"
            ));
        }
        res.notes.push(format!(
            "open memory, {engine} {}: RssAnon {} kB before the open, {} kB after",
            if how == "rw" { "writer" } else { "read-only" },
            before / 1024,
            after / 1024
        ));
        res.set(
            key,
            column as usize,
            after.saturating_sub(before) as f64 / n as f64,
        );
    }
    Ok(())
}

/// Child: `anon ENGINE rw|ro DIR DIM`; prints RssAnon before and after the
/// open (bytes) and the vectors the handle sees.
fn anon_child(args: &[String]) -> Result<()> {
    let [engine, how, dir, dim] = args else {
        return Err("usage: anon ENGINE rw|ro DIR DIM".into());
    };
    let (dir, dim): (&Path, usize) = (Path::new(dir), dim.parse()?);
    match (engine.as_str(), how.as_str()) {
        ("vecstore", how) => {
            let options = Options {
                durability: Durability::Flush,
                read_only: how == "ro",
                create_if_missing: false,
                ..Options::default()
            };
            let before = rss_anon_bytes();
            let store = Store::open(dir, dim as u32, &options)?;
            let after = rss_anon_bytes();
            println!("{before} {after} {}", store.len());
            store.close()?;
        }
        ("lmdb", "rw") => {
            let before = rss_anon_bytes();
            let env = Lmdb::open(dir, dim, Mode::Flush)?;
            let after = rss_anon_bytes();
            let (count, _) = crate::engines::Reader::scan(&mut env.reader()?)?;
            println!("{before} {after} {count}");
            env.close()?;
        }
        other => return Err(format!("anon child: no engine {other:?}").into()),
    }
    Ok(())
}

// ---- a child process driven line by line ---------------------------------------

/// A child in a `--proc-child` mode, its stdin and stdout piped.
struct Peer {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
    line: String,
}

impl Peer {
    fn spawn(args: &[String]) -> Result<Peer> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_FLAG)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take().ok_or("no child stdout")?);
        Ok(Peer {
            child,
            input,
            output,
            line: String::new(),
        })
    }

    /// The child's next line; its `ERR ...` line or its end as an error.
    fn recv(&mut self) -> Result<&str> {
        self.line.clear();
        if self.output.read_line(&mut self.line)? == 0 {
            let status = self.child.wait()?;
            return Err(format!("the reader process ended ({status})").into());
        }
        let line = self.line.trim_end();
        match line.strip_prefix("ERR ") {
            Some(why) => Err(why.to_string().into()),
            None => Ok(line),
        }
    }

    fn expect(&mut self, want: &str) -> Result<()> {
        match self.recv()? {
            got if got == want => Ok(()),
            got => Err(format!("the reader process said {got:?}, expected {want:?}").into()),
        }
    }

    fn send(&mut self, line: &str) -> Result<()> {
        let input = self.input.as_mut().ok_or("child stdin closed")?;
        writeln!(input, "{line}")?;
        input.flush()?;
        Ok(())
    }

    /// Closes the child's stdin and waits for it to exit successfully.
    fn finish(mut self) -> Result<()> {
        self.input = None;
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("the reader process failed: {status}").into());
        }
        Ok(())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Only a child that is still running after an error gets here running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Child side of an open for reading: the read-only handle, or an `ERR` line
/// (the parent reports it) and `None`.
fn open_reader(dir: &str, dim: usize) -> Option<Store> {
    let options = Options {
        read_only: true,
        create_if_missing: false,
        ..Options::default()
    };
    match Store::open(dir, dim as u32, &options) {
        Ok(store) => Some(store),
        Err(e) => {
            println!(
                "ERR read-only open in the reader process: {:?}: {e}",
                e.kind()
            );
            None
        }
    }
}

// ---- visibility of an acknowledged put --------------------------------------------

/// Rows `vis_{flush,fsync}_{p50,p99}`; a row that cannot be measured becomes
/// a "not measured" note.
pub fn visibility(ctx: &Ctx<'_>, plan: &Plan, res: &mut Results) {
    for (mode, name, p50, p99) in [
        (Durability::Flush, "FLUSH", "vis_flush_p50", "vis_flush_p99"),
        (Durability::Fsync, "FSYNC", "vis_fsync_p50", "vis_fsync_p99"),
    ] {
        match visible_latencies(ctx, mode, plan.visible_puts) {
            Ok(mut ns) => {
                ns.sort_unstable();
                let early = ns.iter().filter(|&&l| l < 0).count();
                let at = |p: f64| ns[((ns.len() - 1) as f64 * p / 100.0).round() as usize];
                res.set(p50, 0, at(50.0) as f64 / 1e3);
                res.set(p99, 0, at(99.0) as f64 / 1e3);
                if early > 0 {
                    res.notes.push(format!(
                        "visibility {name}: {early} of {} puts were seen before put returned",
                        ns.len()
                    ));
                }
            }
            Err(e) => not_measured(res, &format!("put ({name}) seen by a reader process"), &e),
        }
    }
}

fn not_measured(res: &mut Results, row: &str, e: &crate::engines::Error) {
    let note = format!("{row}: not measured: {e}");
    eprintln!("  {note}");
    res.notes.push(note);
}

/// Signed ns from each put's return to its sighting by the reader process.
fn visible_latencies(ctx: &Ctx<'_>, mode: Durability, puts: usize) -> Result<Vec<i64>> {
    let (data, dim) = (ctx.data, ctx.data.dim);
    let dir = TempDir::new(ctx.root, "visibility")?;
    let options = Options {
        durability: mode,
        ..Options::default()
    };
    let store = Store::open(dir.path(), dim as u32, &options)?;
    store.put(0, data.row(0))?;
    let mut reader = Peer::spawn(&[
        "visible".into(),
        dir.path().display().to_string(),
        dim.to_string(),
        "1".into(),
        puts.to_string(),
    ])?;
    reader.expect("ready")?;
    let mut latencies = Vec::with_capacity(puts);
    for i in 0..puts {
        reader.expect("go")?;
        store.put(1 + i as u64, data.row(i % data.n))?;
        let acknowledged = mono_ns();
        let seen: u64 = reader.recv()?.parse()?;
        latencies.push(seen as i64 - acknowledged as i64);
    }
    reader.finish()?;
    store.close()?;
    Ok(latencies)
}

/// Child: `visible DIR DIM FIRST COUNT`.
fn visible_child(args: &[String]) -> Result<()> {
    let [dir, dim, first, count] = args else {
        return Err("usage: visible DIR DIM FIRST COUNT".into());
    };
    let (first, count): (u64, u64) = (first.parse()?, count.parse()?);
    let Some(store) = open_reader(dir, dim.parse()?) else {
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    for id in first..first + count {
        writeln!(out, "go")?;
        out.flush()?;
        let start = Instant::now();
        let mut polls = 0u64;
        let seen = loop {
            if store.contains(id) {
                break mono_ns();
            }
            polls += 1;
            if polls.is_multiple_of(1024) && start.elapsed() > VISIBLE_TIMEOUT {
                writeln!(
                    out,
                    "ERR id {id} was not visible to the reader process {VISIBLE_TIMEOUT:?} \
                     after it started polling"
                )?;
                return Ok(());
            }
        };
        writeln!(out, "{seen}")?;
    }
    out.flush()?;
    Ok(())
}

// ---- a reader process while a writer bulk-loads ------------------------------------

/// Rows `proc_get_*` on a copy of the closed store `store` (ids `0..n`); a
/// part that cannot be measured becomes a "not measured" note.
pub fn reader_under_load(ctx: &Ctx<'_>, store: &TempDir, plan: &Plan, res: &mut Results) {
    if let Err(e) = under_load(ctx, store, plan, res) {
        not_measured(res, "reader process during a bulk load", &e);
    }
}

fn under_load(ctx: &Ctx<'_>, store: &TempDir, plan: &Plan, res: &mut Results) -> Result<()> {
    let (data, dim) = (ctx.data, ctx.data.dim);
    let copy = store.copy_to("procs-under-load")?;
    let dir = copy.path();

    let alone = reader_session(dir, data.n, || {
        std::thread::sleep(plan.alone);
        Ok(())
    })?;
    set_stats(res, "proc_get_alone", &alone);

    let options = Options {
        durability: Durability::Flush,
        create_if_missing: false,
        ..Options::default()
    };
    let writer = Store::open(dir, dim as u32, &options)?;
    let load = data.n / 2;
    let mut secs = 0.0;
    let loaded = reader_session(dir, data.n, || {
        let ids: Vec<u64> = (data.n as u64..(data.n + load) as u64).collect();
        let (done, s) = timed(|| -> Result<()> {
            for first in (0..load).step_by(BATCH) {
                let count = BATCH.min(load - first);
                writer.put_batch(&ids[first..first + count], data.rows(first, count))?;
            }
            Ok(writer.flush()?)
        });
        secs = s;
        done
    })?;
    set_stats(res, "proc_get_load", &loaded);
    res.set("proc_get_ratio", 0, loaded.mean / alone.mean);
    res.set("proc_writer_rate", 0, load as f64 / secs);
    writer.close()?;
    Ok(())
}

/// What a reader child measured.
struct Stats {
    count: u64,
    mean: f64,
    p50: u64,
    p99: u64,
}

fn set_stats(res: &mut Results, prefix: &str, stats: &Stats) {
    if stats.count == MAX_SAMPLES as u64 {
        res.notes.push(format!(
            "{prefix}: the reader process filled its {MAX_SAMPLES} samples and stopped \
             measuring before the parent said stop"
        ));
    }
    let key = |row: &str| crate::results::metric(&format!("{prefix}_{row}")).key;
    res.set(key("mean"), 0, stats.mean);
    res.set(key("p50"), 0, stats.p50 as f64);
    res.set(key("p99"), 0, stats.p99 as f64);
    res.set(key("count"), 0, stats.count as f64);
}

/// Starts a reader child on `dir`, runs `work` while it measures, returns
/// what it measured.
fn reader_session(dir: &Path, n: usize, work: impl FnOnce() -> Result<()>) -> Result<Stats> {
    let mut reader = Peer::spawn(&["getref".into(), dir.display().to_string(), n.to_string()])?;
    reader.expect("ready")?;
    reader.send("go")?;
    reader.expect("measuring")?;
    work()?;
    reader.send("stop")?;
    let fields: Vec<f64> = reader
        .recv()?
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()?;
    reader.finish()?;
    let [count, mean, p50, p99] = fields[..] else {
        return Err("the reader process printed no figures".into());
    };
    if count == 0.0 {
        return Err("the reader process completed no get".into());
    }
    Ok(Stats {
        count: count as u64,
        mean,
        p50: p50 as u64,
        p99: p99 as u64,
    })
}

/// Child: `getref DIR N`: random `get_ref` + release of ids `0..N`, each
/// timed, from `go` to `stop` (or a closed stdin); prints count, mean, p50,
/// p99 (ns).
fn getref_child(args: &[String]) -> Result<()> {
    let [dir, n] = args else {
        return Err("usage: getref DIR N".into());
    };
    let n: u64 = n.parse()?;
    let Some(store) = open_reader(dir, 0) else {
        return Ok(());
    };
    let mut rng = Rng::new(n ^ 0x5EED);
    let ids: Vec<u64> = (0..READER_IDS).map(|_| rng.below(n)).collect();
    let mut sink = 0f32;
    for &id in &ids {
        sink += store.get_ref(id)?.data()[0];
    }
    // Written, so every page is faulted in before measuring.
    let mut samples: Vec<u32> = Vec::with_capacity(MAX_SAMPLES);
    samples.resize(MAX_SAMPLES, 1);
    samples.clear();

    let stop = AtomicBool::new(false);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if line.trim() != "go" {
        return Err(format!("getref child: got {line:?}, expected go").into());
    }
    std::thread::scope(|s| -> Result<()> {
        s.spawn(|| {
            // Any line (the parent sends `stop`) or the end of stdin stops.
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            stop.store(true, Ordering::Relaxed);
        });
        writeln!(out, "measuring")?;
        out.flush()?;
        for &id in ids.iter().cycle() {
            if stop.load(Ordering::Relaxed) || samples.len() == MAX_SAMPLES {
                break;
            }
            let start = Instant::now();
            let guard = store.get_ref(id)?;
            sink += guard.data()[0];
            drop(guard);
            samples.push(u32::try_from(start.elapsed().as_nanos()).unwrap_or(u32::MAX));
        }
        Ok(())
    })?;
    std::hint::black_box(sink);
    let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / samples.len().max(1) as f64;
    let mut sorted: Vec<u64> = samples.into_iter().map(u64::from).collect();
    sorted.sort_unstable();
    writeln!(
        out,
        "{} {mean} {} {}",
        sorted.len(),
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0)
    )?;
    out.flush()?;
    Ok(())
}

// ---- child dispatch -------------------------------------------------------------------

/// Child side: `anon ...`, `visible ...` or `getref ...`.
pub fn child_main(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("anon") => anon_child(&args[1..]),
        Some("visible") => visible_child(&args[1..]),
        Some("getref") => getref_child(&args[1..]),
        other => Err(format!("{CHILD_FLAG}: unknown mode {other:?}").into()),
    }
}
