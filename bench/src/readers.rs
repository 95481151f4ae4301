//! Zero-copy gets of random ids from 1 and 2 reader threads sharing one
//! handle: vecstore `get_ref` + first float + release of the guard (Rust API,
//! and `vecstore_get_ref` + `vecstore_guard_release` through the C ABI),
//! velesdb-core `retrieve_ref`, LMDB `get` — each thread in its own read
//! session, as the `random zero-copy get` row.
//!
//! Each thread gets its own random ids (the same for every engine). A run is
//! timed from a barrier that releases the threads to the last join; the
//! median of [`RUNS`] runs is kept. Rows: ns per get in each thread (1
//! thread: wall time / gets; 2 threads: wall time / gets per thread), and the
//! 2-thread speedup: gets per second with 2 threads / with 1 thread (2.0 =
//! perfect scaling; the machine has as many cores as it reports).

use std::hint::black_box;
use std::path::Path;
use std::sync::Barrier;
use std::time::Instant;

use crate::cabi::CStore;
use crate::engines::{Engine, Reader, Result};
use crate::results::Results;
use crate::util::median;
use crate::workloads::Ctx;

/// Timed runs of each thread count; the median is kept.
const RUNS: usize = 3;

/// The random ids of each of the two threads (streams 20 and 21).
pub fn thread_ids(ctx: &Ctx<'_>, gets: usize) -> [Vec<u64>; 2] {
    [20, 21].map(|stream| ctx.data.random_ids(gets, stream))
}

/// The rows of one engine, through its `Reader`.
pub fn engine<E: Engine>(engine: &E, ids: &[Vec<u64>; 2], res: &mut Results) -> Result<()> {
    let get = |ids: &[u64]| -> Result<f32> {
        let mut reader = engine.reader()?;
        ids.iter()
            .try_fold(0.0, |s, &id| Ok(s + reader.first_float(id)?))
    };
    set_rows(
        res,
        E::COLUMN as usize,
        ["getref_t1", "getref_t2", "getref_t2_scale"],
        ids,
        get,
    )
}

/// The rows of vecstore's C ABI: a `vecstore_open` handle (read-write, FLUSH)
/// of the closed store in `dir`, shared by the threads.
pub fn cabi(dir: &Path, dim: usize, ids: &[Vec<u64>; 2], res: &mut Results) -> Result<()> {
    let store = CStore::open(dir, dim, false)?;
    let get = |ids: &[u64]| -> Result<f32> {
        ids.iter()
            .try_fold(0.0, |s, &id| Ok(s + store.first_float(id)?))
    };
    set_rows(
        res,
        0,
        ["getref_cabi_t1", "getref_cabi_t2", "getref_cabi_scale"],
        ids,
        get,
    )?;
    store.close()
}

fn set_rows(
    res: &mut Results,
    col: usize,
    [t1, t2, scale]: [&'static str; 3],
    ids: &[Vec<u64>; 2],
    get: impl Fn(&[u64]) -> Result<f32> + Sync,
) -> Result<()> {
    let gets = ids[0].len() as f64;
    let mut one = Vec::new();
    let mut two = Vec::new();
    // Alternate the thread counts, so drift on a shared machine hits both.
    for _ in 0..RUNS {
        one.push(wall(&ids[..1], &get)?);
        two.push(wall(&ids[..2], &get)?);
    }
    let (one, two) = (median(one), median(two));
    res.set(t1, col, one * 1e9 / gets);
    res.set(t2, col, two * 1e9 / gets);
    res.set(scale, col, 2.0 * one / two);
    Ok(())
}

/// Seconds from releasing one thread per id list until the last finished.
fn wall(ids: &[Vec<u64>], get: &(impl Fn(&[u64]) -> Result<f32> + Sync)) -> Result<f64> {
    let barrier = Barrier::new(ids.len() + 1);
    std::thread::scope(|s| {
        let threads: Vec<_> = ids
            .iter()
            .map(|ids| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    get(ids)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut sum = 0.0;
        for thread in threads {
            sum += thread.join().expect("reader thread panicked")?;
        }
        let secs = start.elapsed().as_secs_f64();
        black_box(sum);
        Ok(secs)
    })
}
