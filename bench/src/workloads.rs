//! The workloads, written once over [`Engine`] and run for every store.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::engines::{Engine, Mode, Reader, Result};
use crate::results::Results;
use crate::util::{percentile, sync_all, timed, TempDir};

/// Vectors per `put_batch` in bulk loads, and ids per delete batch.
const BATCH: usize = 1000;
/// Ids per `get_batch`.
const GET_BATCH: usize = 100;
/// Thread counts of the concurrent durable-put workload and their rows.
const THREADS: [(usize, &str, &str); 4] = [
    (1, "put_t1", ""),
    (2, "put_t2", "put_t2_scale"),
    (4, "put_t4", "put_t4_scale"),
    (8, "put_t8", "put_t8_scale"),
];

/// Operation counts of one size.
pub struct Plan {
    /// Single puts in each mode of `Mode::ALL`.
    pub puts: [usize; 3],
    /// Durable puts per thread-count run (split among the threads).
    pub thread_puts: usize,
    /// Random single gets of each kind.
    pub gets: usize,
    /// `get_batch` calls.
    pub batches: usize,
    /// Whether to run the full scan.
    pub scan: bool,
    /// Whether to bulk load in FSYNC and NONE modes too.
    pub bulk_all_modes: bool,
    /// Whether to time an open that replays the FLUSH store's log.
    pub replay: bool,
    /// How long to sample idle get latency.
    pub idle: Duration,
}

/// What every workload needs.
pub struct Ctx<'a> {
    pub data: &'a Dataset,
    pub root: &'a Path,
    pub plan: &'a Plan,
    /// `0..n`, sliced for batches.
    pub ids: Vec<u64>,
}

impl Ctx<'_> {
    fn dir<E: Engine>(&self, what: &str) -> Result<TempDir> {
        Ok(TempDir::new(self.root, &format!("{}-{what}", slug::<E>()))?)
    }
}

/// A store holding the whole data set, loaded in `Flush` mode.
pub struct Loaded<E> {
    pub engine: E,
    pub dir: TempDir,
}

fn slug<E: Engine>() -> String {
    E::NAME.to_lowercase()
}

fn column<E: Engine>() -> usize {
    E::COLUMN as usize
}

fn mode_key(prefix: &str, mode: Mode) -> &'static str {
    match (prefix, mode) {
        ("bulk", Mode::Fsync) => "bulk_fsync",
        ("bulk", Mode::Flush) => "bulk_flush",
        ("bulk", Mode::None) => "bulk_none",
        ("put", Mode::Fsync) => "put_fsync",
        ("put", Mode::Flush) => "put_flush",
        (_, Mode::None) => "put_none",
        _ => unreachable!("no metric for {prefix} {mode:?}"),
    }
}

// ---- writes ----------------------------------------------------------------

/// Bulk loads in FSYNC and NONE modes (if planned), then the load in FLUSH
/// mode and the replay of its log. Returns the FLUSH store if `load`.
pub fn loads<E: Engine>(ctx: &Ctx<'_>, load: bool, res: &mut Results) -> Result<Option<Loaded<E>>> {
    if ctx.plan.bulk_all_modes {
        for mode in [Mode::Fsync, Mode::None] {
            let loaded = bulk_load::<E>(ctx, mode, res)?;
            loaded.engine.close()?;
        }
    }
    if !load {
        return Ok(None);
    }
    let loaded = bulk_load::<E>(ctx, Mode::Flush, res)?;
    if ctx.plan.replay {
        replay(ctx, &loaded, res)?;
    }
    Ok(Some(loaded))
}

/// Single puts in every mode and concurrent durable puts, as planned.
pub fn puts<E: Engine>(ctx: &Ctx<'_>, res: &mut Results) -> Result<()> {
    for (mode, &count) in Mode::ALL.iter().zip(&ctx.plan.puts) {
        if count > 0 {
            single_puts::<E>(ctx, *mode, count, res)?;
        }
    }
    if ctx.plan.thread_puts > 0 {
        concurrent_puts::<E>(ctx, res)?;
    }
    Ok(())
}

/// Loads the data set in batches of 1000, ending with the barrier.
fn bulk_load<E: Engine>(ctx: &Ctx<'_>, mode: Mode, res: &mut Results) -> Result<Loaded<E>> {
    let (loaded, secs) = fill::<E>(ctx, mode, &format!("bulk-{}", mode.key()))?;
    res.set(
        mode_key("bulk", mode),
        column::<E>(),
        ctx.data.n as f64 / secs,
    );
    Ok(loaded)
}

/// The data set loaded again in FLUSH mode, untimed, for the workloads that
/// run after `lifecycle` consumed the first load.
pub fn load_again<E: Engine>(ctx: &Ctx<'_>) -> Result<Loaded<E>> {
    Ok(fill::<E>(ctx, Mode::Flush, "again")?.0)
}

/// A fresh store in `ctx.dir(what)` with the data set, and the seconds the
/// batches and the barrier took.
fn fill<E: Engine>(ctx: &Ctx<'_>, mode: Mode, what: &str) -> Result<(Loaded<E>, f64)> {
    let (data, n) = (ctx.data, ctx.data.n);
    let dir = ctx.dir::<E>(what)?;
    let engine = E::open(dir.path(), data.dim, mode)?;
    let (loaded, secs) = timed(|| -> Result<()> {
        for first in (0..n).step_by(BATCH) {
            let count = BATCH.min(n - first);
            engine.put_batch(&ctx.ids[first..first + count], data.rows(first, count))?;
        }
        engine.barrier()
    });
    loaded?;
    Ok((Loaded { engine, dir }, secs))
}

/// Times an open of a copy of the store taken while it is open: the state a
/// killed process leaves (everything acknowledged in `Flush` mode is in the
/// kernel), so the open replays whatever log the store had not checkpointed.
fn replay<E: Engine>(ctx: &Ctx<'_>, loaded: &Loaded<E>, res: &mut Results) -> Result<()> {
    let Some(log_file) = E::LOG_FILE else {
        return Ok(());
    };
    let log_bytes = std::fs::metadata(loaded.dir.path().join(log_file))?.len();
    let copy = loaded.dir.copy_to(&format!("{}-replay", slug::<E>()))?;
    sync_all();
    let (engine, secs) = timed(|| E::open(copy.path(), ctx.data.dim, Mode::Flush));
    let engine = engine?;
    let vectors = E::logged_vectors(log_bytes, ctx.data.dim);
    let col = column::<E>();
    res.set("replay_open", col, secs * 1e3);
    res.set("replay_vectors", col, vectors.round());
    if vectors >= 1.0 {
        res.set("replay_per_vec", col, secs * 1e6 / vectors);
    }
    engine.close()
}

/// Single puts into a fresh store, each with the mode's guarantee on return.
fn single_puts<E: Engine>(
    ctx: &Ctx<'_>,
    mode: Mode,
    count: usize,
    res: &mut Results,
) -> Result<()> {
    let dir = ctx.dir::<E>(&format!("put-{}", mode.key()))?;
    let engine = E::open(dir.path(), ctx.data.dim, mode)?;
    let (done, secs) = timed(|| -> Result<()> {
        for i in 0..count {
            engine.put_one(i as u64, ctx.data.row(i % ctx.data.n))?;
        }
        Ok(())
    });
    done?;
    res.set(mode_key("put", mode), column::<E>(), count as f64 / secs);
    engine.close()
}

/// Durable (FSYNC) single puts from several threads into a fresh store.
fn concurrent_puts<E: Engine>(ctx: &Ctx<'_>, res: &mut Results) -> Result<()> {
    let col = column::<E>();
    let mut one_thread = None;
    for (threads, key, scale_key) in THREADS {
        let per = ctx.plan.thread_puts / threads;
        let dir = ctx.dir::<E>(&format!("threads-{threads}"))?;
        let engine = E::open(dir.path(), ctx.data.dim, Mode::Fsync)?;
        let (done, secs) = timed(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let engine = &engine;
                        s.spawn(move || -> Result<()> {
                            for i in 0..per {
                                let id = t * per + i;
                                engine.put_one(id as u64, ctx.data.row(id % ctx.data.n))?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .try_for_each(|h| h.join().expect("put thread panicked"))
            })
        });
        done?;
        let rate = (per * threads) as f64 / secs;
        res.set(key, col, rate);
        match one_thread {
            None => one_thread = Some(rate),
            Some(base) => res.set(scale_key, col, rate / base),
        }
        engine.close()?;
    }
    Ok(())
}

// ---- reads -----------------------------------------------------------------

/// Random zero-copy, copying and batched gets, and a full scan.
pub fn reads<E: Engine>(ctx: &Ctx<'_>, loaded: &Loaded<E>, res: &mut Results) -> Result<()> {
    let (data, plan, col) = (ctx.data, ctx.plan, column::<E>());
    let mut reader = loaded.engine.reader()?;
    if plan.gets > 0 {
        gets(data, plan, &mut reader, col, res)?;
    }
    if !plan.scan {
        return Ok(());
    }
    let (scanned, secs) = timed(|| reader.scan());
    let (count, sum) = scanned?;
    black_box(sum);
    if count != data.n as u64 {
        res.notes.push(format!(
            "{}: scan saw {count} vectors, {} stored",
            E::NAME,
            data.n
        ));
    }
    res.set(
        "scan",
        col,
        (count as usize * data.vector_bytes()) as f64 / secs / 1e9,
    );
    Ok(())
}

fn gets(
    data: &Dataset,
    plan: &Plan,
    reader: &mut impl Reader,
    col: usize,
    res: &mut Results,
) -> Result<()> {
    let ids = data.random_ids(plan.gets, 1);
    let (sum, secs) = timed(|| -> Result<f32> {
        ids.iter()
            .try_fold(0.0, |s, &id| Ok(s + reader.first_float(id)?))
    });
    black_box(sum?);
    res.set("get_ref", col, secs * 1e9 / ids.len() as f64);

    let ids = data.random_ids(plan.gets, 2);
    let mut out = vec![0f32; data.dim];
    let (sum, secs) = timed(|| -> Result<f32> {
        ids.iter()
            .try_fold(0.0, |s, &id| Ok(s + reader.copy(id, &mut out)?))
    });
    black_box(sum?);
    res.set("get_copy", col, secs * 1e9 / ids.len() as f64);

    let ids = data.random_ids(plan.batches * GET_BATCH, 3);
    let mut out = vec![0f32; GET_BATCH * data.dim];
    let (sum, secs) = timed(|| -> Result<f32> {
        ids.chunks(GET_BATCH).try_fold(0.0, |s, chunk| {
            reader.copy_batch(chunk, &mut out)?;
            Ok(s + out[0])
        })
    });
    black_box(sum?);
    res.set("get_batch", col, secs * 1e9 / ids.len() as f64);
    Ok(())
}

// ---- checkpoint, reopen, delete, compaction --------------------------------

/// Checkpoint, reopen, delete half, compact; then get latency while a
/// second compaction runs.
pub fn lifecycle<E: Engine>(ctx: &Ctx<'_>, loaded: Loaded<E>, res: &mut Results) -> Result<()> {
    let (n, dim, col) = (ctx.data.n, ctx.data.dim, column::<E>());
    let Loaded { engine, dir } = loaded;

    let (checkpointed, secs) = timed(|| engine.checkpoint());
    if checkpointed? {
        res.set("checkpoint", col, secs * 1e3);
    }
    engine.close()?;
    sync_all();
    let (engine, secs) = timed(|| E::open(dir.path(), dim, Mode::Flush));
    let engine = engine?;
    res.set("reopen", col, secs * 1e3);

    let even: Vec<u64> = (0..n as u64).step_by(2).collect();
    let (deleted, secs) = timed(|| delete_all(&engine, &even));
    deleted?;
    res.set("delete_half", col, secs * 1e3);
    let (reclaimed, secs) = timed(|| engine.compact());
    let Some(bytes) = reclaimed? else {
        return engine.close();
    };
    res.set("compact", col, secs * 1e3);
    res.set("compact_mb", col, bytes as f64 / 1e6);

    // Readers ask for ids ≡ 3 (mod 4), which stay; ids ≡ 1 go next.
    let ids: Vec<u64> = ctx
        .data
        .random_ids(1 << 20, 4)
        .into_iter()
        .map(|id| id | 3)
        .filter(|&id| id < n as u64)
        .collect();
    let idle = latencies_while(&engine, &ids, || {
        std::thread::sleep(ctx.plan.idle);
        Ok(())
    })?;
    res.set("idle_p99", col, percentile(&idle.0, 99.0) as f64);
    if let Some(&max) = idle.0.last() {
        res.set("idle_max", col, max as f64);
    }

    let ones: Vec<u64> = (1..n as u64).step_by(4).collect();
    delete_all(&engine, &ones)?;
    let (samples, secs) = latencies_while(&engine, &ids, || engine.compact().map(|_| ()))?;
    res.set("compact_ms_2", col, secs * 1e3);
    res.set("compact_samples", col, samples.len() as f64);
    if !samples.is_empty() {
        res.set("compact_p50", col, percentile(&samples, 50.0) as f64);
        res.set("compact_p99", col, percentile(&samples, 99.0) as f64);
        res.set(
            "compact_max",
            col,
            *samples.last().expect("non-empty") as f64,
        );
    }
    engine.close()
}

fn delete_all<E: Engine>(engine: &E, ids: &[u64]) -> Result<()> {
    ids.chunks(BATCH)
        .try_for_each(|chunk| engine.delete_batch(chunk))
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;
/// Most latency samples kept (allocated up front: growing the buffer while
/// measuring would show up as latency).
const MAX_SAMPLES: usize = 1 << 24;

/// Runs `work` on this thread while another thread does zero-copy gets of
/// `ids`, each in its own read session (a lock or transaction per get, as a
/// reader sharing the store with a writer must). Returns the sorted latencies
/// (ns) of the gets that started while `work` ran, and `work`'s seconds.
fn latencies_while<E: Engine>(
    engine: &E,
    ids: &[u64],
    work: impl FnOnce() -> Result<()>,
) -> Result<(Vec<u64>, f64)> {
    let phase = AtomicU8::new(WARMUP);
    let (samples, secs) = std::thread::scope(|s| -> Result<(Vec<u32>, f64)> {
        let reader = s.spawn(|| sample_gets(engine, ids, &phase));
        std::thread::sleep(Duration::from_millis(20));
        phase.store(MEASURE, Ordering::Release);
        let (worked, secs) = timed(work);
        phase.store(DONE, Ordering::Release);
        let samples = reader.join().expect("reader thread panicked");
        worked?;
        Ok((samples?, secs))
    })?;
    let mut sorted: Vec<u64> = samples.into_iter().map(u64::from).collect();
    sorted.sort_unstable();
    Ok((sorted, secs))
}

fn sample_gets<E: Engine>(engine: &E, ids: &[u64], phase: &AtomicU8) -> Result<Vec<u32>> {
    let mut samples = vec![0u32; MAX_SAMPLES];
    let mut kept = 0;
    let mut sink = 0f32;
    for &id in ids.iter().cycle() {
        let state = phase.load(Ordering::Acquire);
        if state == DONE {
            break;
        }
        let start = Instant::now();
        sink += engine.reader()?.first_float(id)?;
        let ns = start.elapsed().as_nanos();
        if state == MEASURE && kept < MAX_SAMPLES {
            samples[kept] = u32::try_from(ns).unwrap_or(u32::MAX);
            kept += 1;
        }
    }
    black_box(sink);
    samples.truncate(kept);
    Ok(samples)
}
