//! The restricted searches (`search_filter`, `search_ids`, `search_by_id`)
//! and the search-thread setting, against a brute-force reference in f64.
//!
//! Stored vectors and queries hold small integers, so that L2 and dot
//! distances are exact in f32 as in f64 (every partial sum is an integer
//! below 2^24): for those metrics a result must equal the reference exactly,
//! ties broken by the smaller id. Cosine distances carry float rounding: a
//! result must match the reference but for the order of near-ties.
//!
//! Stores come in two sizes: one whose scan stays on the calling thread, one
//! past the threshold for a threaded scan (2^22 multiply-adds), both with
//! overwritten and deleted vectors so that the live slots form short runs
//! over several segments.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vecstore::{Durability, ErrorKind, Metric, Neighbor, Options, Store};

const METRICS: [Metric; 3] = [Metric::L2, Metric::Dot, Metric::Cosine];
/// Multiply-adds from which a scan may use several threads.
const PARALLEL_MIN_WORK: usize = 1 << 22;
/// (vectors written, dimension): the scan stays on the calling thread.
const SMALL: (usize, usize) = (500, 16);
/// (vectors written, dimension): the live vectors alone are past the
/// threaded-scan threshold.
const LARGE: (usize, usize) = (45_000, 128);
/// A k larger than any store here.
const HUGE_K: usize = 1_000_000;
/// The id that holds the zero vector (cosine distance 1 to everything).
const ZERO_ID: u64 = 16;

/// Every live vector by id.
type Model = BTreeMap<u64, Vec<f32>>;
/// (distance in f64, id), closest first, ties by id.
type Ranked = Vec<(f64, u64)>;

/// splitmix64's finaliser: a well-mixed hash of `z`.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic generator (splitmix64), so that a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `dim` integers in -100..=100, not all zero.
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        loop {
            let v: Vec<f32> = (0..dim).map(|_| self.below(201) as f32 - 100.0).collect();
            if v.iter().any(|x| *x != 0.0) {
                return v;
            }
        }
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// The filters used: accepts about `per_mille` ids in a thousand, by a hash
/// of the id.
fn accepts(salt: u64, per_mille: u64, id: u64) -> bool {
    mix(id ^ mix(salt)) % 1000 < per_mille
}

/// The distance from `q` to `v` computed in f64.
fn distance(metric: Metric, q: &[f32], v: &[f32]) -> f64 {
    let pairs = q.iter().zip(v).map(|(a, b)| (f64::from(*a), f64::from(*b)));
    match metric {
        Metric::L2 => pairs.map(|(a, b)| (a - b) * (a - b)).sum(),
        Metric::Dot => -pairs.map(|(a, b)| a * b).sum::<f64>(),
        Metric::Cosine => {
            let (dot, qq, vv) = pairs.fold((0.0, 0.0, 0.0), |(dot, qq, vv), (a, b)| {
                (dot + a * b, qq + a * a, vv + b * b)
            });
            if qq == 0.0 || vv == 0.0 {
                1.0
            } else {
                1.0 - dot / (qq.sqrt() * vv.sqrt())
            }
        }
        other => unimplemented!("no reference for {other:?}"),
    }
}

/// How far a reported distance may be from the f64 one.
fn tolerance(metric: Metric) -> f64 {
    match metric {
        // Integer data: exact.
        Metric::L2 | Metric::Dot => 0.0,
        // A few roundings of numbers near 1.
        Metric::Cosine => 2e-6,
        other => unimplemented!("no tolerance for {other:?}"),
    }
}

/// Every vector of `vectors` by distance to `q`, closest first, ties by id.
fn rank<'a>(
    vectors: impl IntoIterator<Item = (u64, &'a [f32])>,
    q: &[f32],
    metric: Metric,
) -> Ranked {
    let mut all: Ranked = vectors
        .into_iter()
        .map(|(id, v)| (distance(metric, q, v), id))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all
}

/// What a search may be restricted to.
#[derive(Clone, Debug)]
enum Ask {
    /// Plain `search`.
    All,
    /// `search_filter` with `accepts(salt, per_mille, _)`.
    Filter { salt: u64, per_mille: u64 },
    /// `search_ids` with this list.
    Ids(Arc<Vec<u64>>),
    /// `search_by_id` (the query is ignored).
    ById(u64),
}

fn run(
    store: &Store,
    ask: &Ask,
    query: &[f32],
    k: usize,
    metric: Metric,
) -> vecstore::Result<Vec<Neighbor>> {
    match *ask {
        Ask::All => store.search(query, k, metric),
        Ask::Filter { salt, per_mille } => {
            store.search_filter(query, k, metric, move |id| accepts(salt, per_mille, id))
        }
        Ask::Ids(ref ids) => store.search_ids(query, ids, k, metric),
        Ask::ById(id) => store.search_by_id(id, k, metric),
    }
}

/// The reference answer to `ask` over `model`: every match, ranked.
fn reference(model: &Model, ask: &Ask, query: &[f32], metric: Metric) -> Ranked {
    let all = model.iter().map(|(id, v)| (*id, &v[..]));
    match *ask {
        Ask::All => rank(all, query, metric),
        Ask::Filter { salt, per_mille } => rank(
            all.filter(|(id, _)| accepts(salt, per_mille, *id)),
            query,
            metric,
        ),
        Ask::Ids(ref ids) => {
            let present: BTreeSet<u64> = ids
                .iter()
                .copied()
                .filter(|id| model.contains_key(id))
                .collect();
            rank(
                present.iter().map(|id| (*id, &model[id][..])),
                query,
                metric,
            )
        }
        Ask::ById(id) => rank(all.filter(|(other, _)| *other != id), &model[&id], metric),
    }
}

/// Whether `got` is the answer for `k` given every match ranked in f64
/// (`expected`, possibly cut after its first k + a few hundred): exactly
/// for exact metrics; for cosine, distances within the tolerance position by
/// position, ids equal wherever the distance is not near-tied with a
/// neighbour's, and every id a real candidate at its reported distance.
fn compare(
    got: &[Neighbor],
    expected: &[(f64, u64)],
    k: usize,
    metric: Metric,
) -> Result<(), String> {
    let want = &expected[..k.min(expected.len())];
    if got.len() != want.len() {
        return Err(format!("{} results, expected {}", got.len(), want.len()));
    }
    let tol = tolerance(metric);
    if tol == 0.0 {
        for (i, (n, &(d, id))) in got.iter().zip(want).enumerate() {
            if n.id != id || f64::from(n.distance) != d {
                return Err(format!(
                    "position {i}: got id {} at {}, expected id {id} at {d}",
                    n.id, n.distance
                ));
            }
        }
        return Ok(());
    }
    let mut ids = HashSet::new();
    for n in got {
        if !ids.insert(n.id) {
            return Err(format!("id {} returned twice", n.id));
        }
    }
    for w in got.windows(2) {
        let ordered =
            w[0].distance < w[1].distance || (w[0].distance == w[1].distance && w[0].id < w[1].id);
        if !ordered {
            return Err(format!(
                "{:?} before {:?}: not closest first, ties by id",
                w[0], w[1]
            ));
        }
    }
    let last = want.last().map_or(f64::NEG_INFINITY, |w| w.0);
    let window_end = expected.partition_point(|&(d, _)| d <= last + 2.0 * tol);
    let window: HashMap<u64, f64> = expected[..window_end]
        .iter()
        .map(|&(d, id)| (id, d))
        .collect();
    for (i, (n, &(d, id))) in got.iter().zip(want).enumerate() {
        let Some(&own) = window.get(&n.id) else {
            return Err(format!("position {i}: id {} could not be there", n.id));
        };
        let reported = f64::from(n.distance);
        if (reported - own).abs() > tol {
            return Err(format!("id {} reported at {reported}, is {own}", n.id));
        }
        if (reported - d).abs() > tol {
            return Err(format!("position {i}: distance {reported}, expected {d}"));
        }
        let isolated = (i == 0 || expected[i - 1].0 < d - 2.0 * tol)
            && expected
                .get(i + 1)
                .is_none_or(|next| next.0 > d + 2.0 * tol);
        if isolated && n.id != id {
            return Err(format!("position {i}: got id {}, expected id {id}", n.id));
        }
    }
    for &(d, id) in want {
        if d < last - 2.0 * tol && !ids.contains(&id) {
            return Err(format!("id {id} at {d} is missing"));
        }
    }
    Ok(())
}

fn check(got: &[Neighbor], expected: &[(f64, u64)], k: usize, metric: Metric, what: impl Display) {
    if let Err(problem) = compare(got, expected, k, metric) {
        let shown = k.min(expected.len()).min(12);
        panic!(
            "{what}: {problem}\n got {:?}\nwant {:?}",
            &got[..got.len().min(12)],
            &expected[..shown]
        );
    }
}

fn options() -> Options {
    Options {
        durability: Durability::None,
        ..Options::default()
    }
}

/// A store and what it should hold.
struct Fixture {
    store: Store,
    model: Model,
    dim: usize,
    /// Ids once stored, now deleted.
    deleted: Vec<u64>,
    /// Ids never stored (ids stored here are 1 mod 3, or copies at 0 mod 3).
    never: Vec<u64>,
    rng: Rng,
    _dir: tempfile::TempDir,
}

/// `n` vectors of `dim` integers (ids 3i + 1, one of them the zero vector)
/// written in three batches; then every 17th overwritten (new slots, dead
/// old ones) and about a fifth deleted.
fn fixture((n, dim): (usize, usize), seed: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), dim as u32, &options()).unwrap();
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let ids: Vec<u64> = (0..n as u64).map(|i| 3 * i + 1).collect();
    for &id in &ids {
        let v = if id == ZERO_ID {
            vec![0.0; dim]
        } else {
            rng.vector(dim)
        };
        model.insert(id, v);
    }
    for chunk in ids.chunks(n.div_ceil(3)) {
        let rows: Vec<f32> = chunk.iter().flat_map(|id| model[id].clone()).collect();
        store.put_batch(chunk, &rows).unwrap();
    }
    let overwritten: Vec<u64> = ids.iter().copied().filter(|id| id % 17 == 5).collect();
    let mut rows = Vec::new();
    for id in &overwritten {
        let v = rng.vector(dim);
        rows.extend_from_slice(&v);
        model.insert(*id, v);
    }
    store.put_batch(&overwritten, &rows).unwrap();
    let deleted: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|&id| id != ZERO_ID && (id % 8 == 3 || rng.below(16) == 0))
        .collect();
    assert_eq!(store.delete_batch(&deleted).unwrap(), deleted.len() as u64);
    for id in &deleted {
        model.remove(id);
    }
    assert_eq!(store.len(), model.len() as u64);
    let never = vec![2, 5, 3 * n as u64 + 2, u64::MAX - 1, u64::MAX];
    Fixture {
        store,
        model,
        dim,
        deleted,
        never,
        rng,
        _dir: dir,
    }
}

impl Fixture {
    fn threaded(&self) -> bool {
        self.model.len() * self.dim >= PARALLEL_MIN_WORK
    }

    fn live_ids(&self) -> Vec<u64> {
        self.model.keys().copied().collect()
    }

    /// A shuffled list of about `per_mille` in 1000 of the live ids, some
    /// of them twice or three times, with every never-stored id and some
    /// deleted ones.
    fn id_list(&mut self, per_mille: u64) -> Vec<u64> {
        let mut list = Vec::new();
        for id in self.live_ids() {
            if self.rng.below(1000) < per_mille {
                list.push(id);
                for _ in 0..self.rng.below(8).saturating_sub(5) {
                    list.push(id);
                }
            }
        }
        list.extend_from_slice(&self.never);
        list.extend(self.deleted.iter().copied().step_by(3));
        self.rng.shuffle(&mut list);
        list
    }
}

/// The search threads scan the large store in parallel (given 2+ cores).
fn sizes() -> [(usize, usize); 2] {
    [SMALL, LARGE]
}

/// 1. Hash filters of several selectivities, and one that rejects every
///    close vector, against the reference over the accepted subset.
#[test]
fn filtered_search_matches_the_reference_over_the_accepted() {
    for size in sizes() {
        let mut fx = fixture(size, 1 + size.0 as u64);
        assert_eq!(fx.threaded(), size == LARGE);
        let queries: Vec<Vec<f32>> = (0..2).map(|_| fx.rng.vector(fx.dim)).collect();
        for metric in METRICS {
            for (qi, q) in queries.iter().enumerate() {
                let all = reference(&fx.model, &Ask::All, q, metric);
                for (salt, per_mille) in [(1, 500), (2, 100), (3, 10), (4, 1)] {
                    let ask = Ask::Filter { salt, per_mille };
                    let accepted = reference(&fx.model, &ask, q, metric);
                    if size == LARGE {
                        // k = 100 is beyond the matches of the 0.1% filter.
                        assert_eq!(per_mille == 1, accepted.len() < 100);
                    }
                    for k in [1, 10, 100, accepted.len() + 3, HUGE_K] {
                        let got = run(&fx.store, &ask, q, k, metric).unwrap();
                        let what = format!("{size:?} {metric:?} query {qi} {ask:?} k={k}");
                        check(&got, &accepted, k, metric, what);
                    }
                }
                // Accepts only the farthest 1%: every close vector is refused.
                let far: Arc<HashSet<u64>> = Arc::new(
                    all.iter()
                        .rev()
                        .take(all.len() / 100 + 1)
                        .map(|x| x.1)
                        .collect(),
                );
                let accepted: Ranked = all.iter().filter(|x| far.contains(&x.1)).copied().collect();
                for k in [1, 10, accepted.len() + 1] {
                    let far = Arc::clone(&far);
                    let got = fx
                        .store
                        .search_filter(q, k, metric, move |id| far.contains(&id))
                        .unwrap();
                    let what = format!("{size:?} {metric:?} query {qi} farthest 1% k={k}");
                    check(&got, &accepted, k, metric, what);
                }
            }
        }
    }
}

/// 2. A filter that accepts nothing finds nothing; one that accepts
///    everything finds what `search` finds.
#[test]
fn filters_accepting_nothing_or_everything() {
    for size in sizes() {
        let mut fx = fixture(size, 2 + size.0 as u64);
        let q = fx.rng.vector(fx.dim);
        for metric in METRICS {
            let all = reference(&fx.model, &Ask::All, &q, metric);
            for k in [1, 10, 100, HUGE_K] {
                let none = fx.store.search_filter(&q, k, metric, |_| false).unwrap();
                assert!(none.is_empty(), "{size:?} {metric:?} k={k}: {none:?}");
                let every = fx.store.search_filter(&q, k, metric, |_| true).unwrap();
                let plain = fx.store.search(&q, k, metric).unwrap();
                assert_eq!(every, plain, "{size:?} {metric:?} k={k}");
                check(
                    &every,
                    &all,
                    k,
                    metric,
                    format!("{size:?} {metric:?} k={k}"),
                );
            }
        }
    }
}

/// 3. `search_ids`: an empty list finds nothing, the full list finds what
///    `search` finds, and lists with duplicates and absent ids (never stored,
///    deleted) rank the present ids once each; also a list long enough for a
///    threaded scan.
#[test]
fn search_ids_ranks_the_present_listed_ids_once() {
    for size in sizes() {
        let mut fx = fixture(size, 3 + size.0 as u64);
        let q = fx.rng.vector(fx.dim);
        let mut full = fx.live_ids();
        fx.rng.shuffle(&mut full);
        let absent: Vec<u64> = fx.never.iter().chain(&fx.deleted).copied().collect();
        let mut lists = vec![
            ("tiny", fx.id_list(1)),
            ("10%", fx.id_list(100)),
            ("half", fx.id_list(500)),
            ("nearly all", fx.id_list(950)),
        ];
        // A few ids, each many times: k beyond them counts each once.
        let few: Vec<u64> = full[..3].iter().flat_map(|&id| [id; 4]).collect();
        lists.push(("few repeated", few));
        if size == LARGE {
            let present: HashSet<u64> = lists[3]
                .1
                .iter()
                .filter(|id| fx.model.contains_key(id))
                .copied()
                .collect();
            assert!(
                present.len() * fx.dim >= PARALLEL_MIN_WORK,
                "{}",
                present.len()
            );
        }
        for metric in METRICS {
            for k in [1, 10, 100, HUGE_K] {
                let what = format!("{size:?} {metric:?} k={k}");
                let empty = fx.store.search_ids(&q, &[], k, metric).unwrap();
                assert!(empty.is_empty(), "{what}: empty list gave {empty:?}");
                let gone = fx.store.search_ids(&q, &absent, k, metric).unwrap();
                assert!(gone.is_empty(), "{what}: absent ids gave {gone:?}");
                let got = fx.store.search_ids(&q, &full, k, metric).unwrap();
                assert_eq!(
                    got,
                    fx.store.search(&q, k, metric).unwrap(),
                    "{what}: all ids"
                );
                for (name, list) in &lists {
                    let ask = Ask::Ids(Arc::new(list.clone()));
                    let want = reference(&fx.model, &ask, &q, metric);
                    let got = run(&fx.store, &ask, &q, k, metric).unwrap();
                    check(&got, &want, k, metric, format!("{what} list {name}"));
                }
            }
        }
    }
}

/// 4. `search_by_id`: the reference for the stored vector without `id`
///    itself; identical copies of it are found first (by id), on both sides
///    of `id`; an absent or deleted id is `NotFound`.
#[test]
fn search_by_id_leaves_out_only_the_id_itself() {
    for size in sizes() {
        let mut fx = fixture(size, 4 + size.0 as u64);
        let live = fx.live_ids();
        let target = live[live.len() / 2];
        let v = fx.model[&target].clone();
        // Copies at free ids below and above it, and a scaled copy (cosine 0).
        let doubled: Vec<f32> = v.iter().map(|x| 2.0 * x).collect();
        let copies = [(target - 1, &v), (target + 2, &v), (target + 5, &doubled)];
        for (id, vector) in copies {
            fx.store.put(id, vector).unwrap();
            fx.model.insert(id, vector.clone());
        }
        let mut targets = vec![target, target - 1, ZERO_ID, live[0], live[live.len() - 1]];
        targets.extend((0..3).map(|_| live[fx.rng.below(live.len() as u64) as usize]));
        for metric in METRICS {
            for &id in &targets {
                let ask = Ask::ById(id);
                let want = reference(&fx.model, &ask, &[], metric);
                for k in [1, 2, 3, 10, 100, HUGE_K] {
                    let got = fx.store.search_by_id(id, k, metric).unwrap();
                    assert!(
                        got.iter().all(|n| n.id != id),
                        "{metric:?} {id}: itself found"
                    );
                    check(
                        &got,
                        &want,
                        k,
                        metric,
                        format!("{size:?} {metric:?} id {id} k={k}"),
                    );
                }
            }
            // The copies are the nearest in L2, at distance 0, by id.
            if metric == Metric::L2 {
                let got = fx.store.search_by_id(target, 2, metric).unwrap();
                let got: Vec<(u64, f32)> = got.iter().map(|n| (n.id, n.distance)).collect();
                assert_eq!(got, [(target - 1, 0.0), (target + 2, 0.0)]);
                let got = fx.store.search_by_id(target - 1, 2, metric).unwrap();
                let got: Vec<(u64, f32)> = got.iter().map(|n| (n.id, n.distance)).collect();
                assert_eq!(got, [(target, 0.0), (target + 2, 0.0)]);
            }
            let absent = fx.never.iter().chain(fx.deleted.iter().take(20));
            for &id in absent {
                for k in [0, 10] {
                    let err = fx.store.search_by_id(id, k, metric).unwrap_err();
                    assert_eq!(
                        err.kind(),
                        ErrorKind::NotFound,
                        "{size:?} id {id} k={k}: {err}"
                    );
                }
            }
        }
        // Deleted after the first searches: NotFound from then on.
        fx.store.delete(target + 2).unwrap();
        fx.model.remove(&(target + 2));
        let err = fx
            .store
            .search_by_id(target + 2, 5, Metric::L2)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let got = fx.store.search_by_id(target, 5, Metric::L2).unwrap();
        let want = reference(&fx.model, &Ask::ById(target), &[], Metric::L2);
        check(&got, &want, 5, Metric::L2, "after deleting a copy");
    }
}

/// A search case: what, query, metric, k.
type Case = (Ask, Vec<f32>, Metric, usize);

/// 5. The same searches give the same results with every thread setting,
///    and from 8 threads at once on one handle while the setting flips.
#[test]
fn every_thread_setting_gives_the_same_results() {
    let mut fx = fixture(LARGE, 5);
    assert!(fx.threaded());
    let big = Arc::new(fx.id_list(900));
    let small = Arc::new(fx.id_list(20));
    let live = fx.live_ids();
    let mut cases: Vec<Case> = Vec::new();
    for metric in METRICS {
        let q = fx.rng.vector(fx.dim);
        let by_id = live[fx.rng.below(live.len() as u64) as usize];
        for (ask, k) in [
            (Ask::All, 10),
            (
                Ask::Filter {
                    salt: 7,
                    per_mille: 500,
                },
                10,
            ),
            (
                Ask::Filter {
                    salt: 8,
                    per_mille: 10,
                },
                100,
            ),
            (Ask::Ids(Arc::clone(&big)), 10),
            (Ask::Ids(Arc::clone(&small)), 100),
            (Ask::ById(by_id), 10),
        ] {
            cases.push((ask, q.clone(), metric, k));
        }
    }
    let mut expected = Vec::new();
    for (ask, q, metric, k) in &cases {
        let what = format!("{metric:?} {ask:?} k={k}");
        fx.store.set_search_threads(1);
        let want = run(&fx.store, ask, q, *k, *metric).unwrap();
        check(
            &want,
            &reference(&fx.model, ask, q, *metric),
            *k,
            *metric,
            &what,
        );
        for threads in [0, 2, 64, 3, 1] {
            fx.store.set_search_threads(threads);
            let got = run(&fx.store, ask, q, *k, *metric).unwrap();
            assert_eq!(got, want, "{what}: threads {threads}");
        }
        expected.push(want);
    }

    let store = Arc::new(fx.store);
    let cases = Arc::new(cases);
    let expected = Arc::new(expected);
    let rounds = if cfg!(debug_assertions) { 1 } else { 3 };
    let searchers: Vec<_> = (0..8)
        .map(|t| {
            let (store, cases, expected) = (
                Arc::clone(&store),
                Arc::clone(&cases),
                Arc::clone(&expected),
            );
            std::thread::spawn(move || {
                for round in 0..rounds {
                    for i in 0..cases.len() {
                        let c = (i + t * 5 + round) % cases.len();
                        let (ask, q, metric, k) = &cases[c];
                        let got = run(&store, ask, q, *k, *metric).unwrap();
                        assert_eq!(got, expected[c], "thread {t} {metric:?} {ask:?} k={k}");
                    }
                }
            })
        })
        .collect();
    let mut flips = 0usize;
    while !searchers.iter().all(|s| s.is_finished()) {
        store.set_search_threads([0, 1, 2, 64][flips % 4]);
        flips += 1;
        std::thread::sleep(Duration::from_micros(300));
    }
    for s in searchers {
        s.join().unwrap();
    }
    assert!(flips > 1);
}

/// The vector of the id at index `i` at version `v`: its base plus `v` on
/// every coordinate.
fn versioned(bases: &[Vec<f32>], i: usize, v: u64) -> Vec<f32> {
    bases[i].iter().map(|x| x + v as f32).collect()
}

/// 6. While a writer rewrites every vector to a new version (and compacts
///    now and then), restricted searches each see exactly one version: the
///    whole result equals the reference of one version.
#[test]
fn searches_during_rewrites_see_one_version() {
    // 36 000 x 128 multiply-adds: a threaded scan.
    let (n, dim) = (36_000usize, 128usize);
    let versions: u64 = if cfg!(debug_assertions) { 5 } else { 24 };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), dim as u32, &options()).unwrap());
    let mut rng = Rng(6);
    let bases: Arc<Vec<Vec<f32>>> = Arc::new((0..n).map(|_| rng.vector(dim)).collect());
    let ids: Arc<Vec<u64>> = Arc::new((0..n as u64).map(|i| 3 * i + 1).collect());
    let index_of = |id: u64| ((id - 1) / 3) as usize;
    let rows = |v: u64| -> Vec<f32> { (0..n).flat_map(|i| versioned(&bases, i, v)).collect() };
    store.put_batch(&ids, &rows(0)).unwrap();

    let mut big: Vec<u64> = ids.iter().copied().filter(|id| id % 20 != 4).collect();
    big.extend([2, 5, u64::MAX]);
    big.extend(ids.iter().copied().step_by(97));
    rng.shuffle(&mut big);
    let listed: HashSet<u64> = big.iter().copied().filter(|id| id % 3 == 1).collect();
    assert!(listed.len() * dim >= PARALLEL_MIN_WORK);
    let small: Vec<u64> = ids.iter().copied().step_by(53).chain([8, 8, 11]).collect();
    let (big, small) = (Arc::new(big), Arc::new(small));
    let mut cases: Vec<Case> = Vec::new();
    for metric in METRICS {
        let mut q = rng.vector(dim);
        // Dot distances tell versions apart through the query's sum.
        if q.iter().sum::<f32>() == 0.0 {
            q[0] += 1.0;
        }
        assert_ne!(q.iter().sum::<f32>(), 0.0);
        for (ask, k) in [
            (
                Ask::Filter {
                    salt: 9,
                    per_mille: 500,
                },
                10,
            ),
            (Ask::Ids(Arc::clone(&big)), 10),
            (Ask::ById(ids[777]), 10),
        ] {
            cases.push((ask, q.clone(), metric, k));
        }
    }
    cases.push((
        Ask::Filter {
            salt: 10,
            per_mille: 10,
        },
        cases[0].1.clone(),
        Metric::L2,
        5,
    ));
    cases.push((Ask::Ids(small), cases[3].1.clone(), Metric::Dot, 20));
    let cases = Arc::new(cases);
    type Memo = Mutex<HashMap<(usize, u64), Arc<Ranked>>>;
    let memo: Arc<Memo> = Arc::new(Mutex::new(HashMap::new()));
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));

    let searchers: Vec<_> = (0..3)
        .map(|t| {
            let (store, cases, bases, memo, seen, stop, searches) = (
                Arc::clone(&store),
                Arc::clone(&cases),
                Arc::clone(&bases),
                Arc::clone(&memo),
                Arc::clone(&seen),
                Arc::clone(&stop),
                Arc::clone(&searches),
            );
            std::thread::spawn(move || {
                let mut c = t;
                while !stop.load(Ordering::Acquire) {
                    c = (c + 1) % cases.len();
                    let (ask, q, metric, k) = &cases[c];
                    let (metric, k) = (*metric, *k);
                    let got = run(&store, ask, q, k, metric).unwrap();
                    searches.fetch_add(1, Ordering::Relaxed);
                    let what = format!("{metric:?} {ask:?} k={k}");
                    assert!(!got.is_empty(), "{what}: nothing found");
                    // The versions the first neighbour's distance allows.
                    let first = index_of(got[0].id);
                    let candidates: Vec<u64> = (0..=versions)
                        .filter(|&v| {
                            let query = match ask {
                                Ask::ById(id) => versioned(&bases, index_of(*id), v),
                                _ => q.clone(),
                            };
                            let d = distance(metric, &query, &versioned(&bases, first, v));
                            (f64::from(got[0].distance) - d).abs() <= tolerance(metric)
                        })
                        .collect();
                    let matched = candidates.iter().copied().find(|&v| {
                        let cached = memo.lock().unwrap().get(&(c, v)).cloned();
                        let want = cached.unwrap_or_else(|| {
                            let model: Model = (0..n)
                                .map(|i| (3 * i as u64 + 1, versioned(&bases, i, v)))
                                .collect();
                            let mut want = reference(&model, ask, q, metric);
                            want.truncate(k + 300);
                            let want = Arc::new(want);
                            memo.lock().unwrap().insert((c, v), Arc::clone(&want));
                            want
                        });
                        compare(&got, &want, k, metric).is_ok()
                    });
                    match matched {
                        Some(v) => {
                            seen.lock().unwrap().insert(v);
                        }
                        None => panic!(
                            "{what}: {got:?} is no version's result (first neighbour fits \
                             versions {candidates:?})"
                        ),
                    }
                }
            })
        })
        .collect();

    for v in 1..=versions {
        store.put_batch(&ids, &rows(v)).unwrap();
        if v % 4 == 0 {
            store.compact().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Release);
    for s in searchers {
        s.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    let searches = searches.load(Ordering::Relaxed);
    assert!(
        seen.len() >= 2,
        "only versions {seen:?} seen in {searches} searches"
    );
    eprintln!("{searches} searches saw versions {seen:?}");
}

/// 7. The filter, called from several threads and maybe more than once per
///    id, is asked only about live vectors, at least about the k results
///    when it accepts everything, and about every id it let through.
#[test]
fn the_filter_is_asked_about_live_candidates() {
    for size in sizes() {
        let mut fx = fixture(size, 7 + size.0 as u64);
        let q = fx.rng.vector(fx.dim);
        let live: HashSet<u64> = fx.model.keys().copied().collect();
        for threads in [0, 1] {
            fx.store.set_search_threads(threads);
            for metric in METRICS {
                for (per_mille, k) in [(1000, 1), (1000, 10), (1000, 100), (300, 10), (300, 100)] {
                    let calls = Arc::new(AtomicUsize::new(0));
                    let asked = Arc::new(Mutex::new(HashSet::new()));
                    let filter = {
                        let (calls, asked) = (Arc::clone(&calls), Arc::clone(&asked));
                        move |id| {
                            calls.fetch_add(1, Ordering::Relaxed);
                            asked.lock().unwrap().insert(id);
                            accepts(11, per_mille, id)
                        }
                    };
                    let got = fx.store.search_filter(&q, k, metric, filter).unwrap();
                    let what = format!("{size:?} threads {threads} {metric:?} {per_mille} k={k}");
                    let ask = Ask::Filter {
                        salt: 11,
                        per_mille,
                    };
                    check(
                        &got,
                        &reference(&fx.model, &ask, &q, metric),
                        k,
                        metric,
                        &what,
                    );
                    if per_mille == 1000 {
                        assert_eq!(got, fx.store.search(&q, k, metric).unwrap(), "{what}");
                    }
                    let calls = calls.load(Ordering::Relaxed);
                    let asked = asked.lock().unwrap();
                    if per_mille == 1000 {
                        assert_eq!(got.len(), k.min(live.len()), "{what}");
                        assert!(calls >= got.len(), "{what}: {calls} calls");
                    }
                    assert!(
                        got.iter().all(|n| asked.contains(&n.id)),
                        "{what}: not asked"
                    );
                    let strangers: Vec<&u64> = asked.difference(&live).collect();
                    assert!(strangers.is_empty(), "{what}: asked about {strangers:?}");
                }
            }
        }
    }
}

/// Queries of the wrong length or with a non-finite value are refused
/// before the filter is asked anything; k = 0 finds nothing.
#[test]
fn bad_queries_are_refused_and_k_zero_finds_nothing() {
    for size in [SMALL] {
        let fx = fixture(size, 8);
        let dim = fx.dim;
        let calls = Arc::new(AtomicUsize::new(0));
        let counting = || {
            let calls = Arc::clone(&calls);
            move |_: u64| {
                calls.fetch_add(1, Ordering::Relaxed);
                true
            }
        };
        let ids = fx.live_ids();
        for metric in METRICS {
            for len in [0, 1, dim - 1, dim + 1, 2 * dim] {
                let q = vec![1.0; len];
                let err = fx
                    .store
                    .search_filter(&q, 10, metric, counting())
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "len {len}: {err}");
                let err = fx.store.search_ids(&q, &ids, 10, metric).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "len {len}: {err}");
            }
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut q = vec![1.0; dim];
                q[dim / 2] = bad;
                let err = fx
                    .store
                    .search_filter(&q, 10, metric, counting())
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}: {err}");
                let err = fx.store.search_ids(&q, &ids, 10, metric).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}: {err}");
            }
            let q = vec![1.0; dim];
            assert!(fx
                .store
                .search_filter(&q, 0, metric, counting())
                .unwrap()
                .is_empty());
            assert!(fx.store.search_ids(&q, &ids, 0, metric).unwrap().is_empty());
            assert!(fx.store.search_by_id(ids[3], 0, metric).unwrap().is_empty());
        }
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }
}

/// A filter that panics fails its own search (a panic or an error, never a
/// result), on the calling thread or a pool thread; later searches, with
/// every thread setting, are unaffected.
#[test]
fn a_panicking_filter_fails_only_its_search() {
    let mut fx = fixture(LARGE, 9);
    let q = fx.rng.vector(fx.dim);
    for threads in [1, 0] {
        fx.store.set_search_threads(threads);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            fx.store.search_filter(&q, 10, Metric::L2, |id| {
                panic!("filter refuses to judge {id}")
            })
        }));
        assert!(
            !matches!(outcome, Ok(Ok(_))),
            "threads {threads}: a search whose filter panicked returned results"
        );
    }
    for threads in [0, 1, 2] {
        fx.store.set_search_threads(threads);
        for metric in METRICS {
            let ask = Ask::Filter {
                salt: 12,
                per_mille: 500,
            };
            let got = run(&fx.store, &ask, &q, 10, metric).unwrap();
            let want = reference(&fx.model, &ask, &q, metric);
            check(
                &got,
                &want,
                10,
                metric,
                format!("after the panic, threads {threads}"),
            );
        }
    }
}

/// Runs `f` on a thread and waits at most `secs` for it: `None` if it hangs
/// (the thread is left behind; the test fails anyway).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).ok()
}

/// A filter may read the store it filters (here: `contains`, `get`, and a
/// whole nested search), from the calling thread and pool threads alike:
/// no deadlock, and the results are right.
#[test]
fn a_filter_may_read_the_store_it_filters() {
    let mut fx = fixture(LARGE, 10);
    let q = fx.rng.vector(fx.dim);
    let model = std::mem::take(&mut fx.model);
    let dim = fx.dim;
    let store = Arc::new(fx.store);
    for threads in [0, 1] {
        store.set_search_threads(threads);
        for metric in METRICS {
            let ask = Ask::Filter {
                salt: 13,
                per_mille: 500,
            };
            let want = reference(&model, &ask, &q, metric);
            let (s, query) = (Arc::clone(&store), q.clone());
            let got = within(120, move || {
                let reader = Arc::clone(&s);
                let filter = move |id: u64| {
                    let mut v = vec![0.0; dim];
                    reader.get(id, &mut v).unwrap();
                    let nested = reader.search_ids(&v, &[id], 1, Metric::L2).unwrap();
                    assert_eq!(nested[0].id, id);
                    reader.contains(id) && accepts(13, 500, id)
                };
                s.search_filter(&query, 10, metric, filter).unwrap()
            })
            .unwrap_or_else(|| panic!("threads {threads} {metric:?}: a reading filter hangs"));
            check(
                &got,
                &want,
                10,
                metric,
                format!("threads {threads} {metric:?}"),
            );
            // A filter that runs a full threaded search of its own.
            let (s, query) = (Arc::clone(&store), q.clone());
            let got = within(120, move || {
                let reader = Arc::clone(&s);
                let (inner_q, calls) = (query.clone(), AtomicUsize::new(0));
                let filter = move |id: u64| {
                    if calls.fetch_add(1, Ordering::Relaxed) < 3 {
                        assert_eq!(reader.search(&inner_q, 1, metric).unwrap().len(), 1);
                    }
                    accepts(13, 500, id)
                };
                s.search_filter(&query, 10, metric, filter).unwrap()
            })
            .unwrap_or_else(|| panic!("threads {threads} {metric:?}: a searching filter hangs"));
            check(
                &got,
                &want,
                10,
                metric,
                format!("nested, threads {threads} {metric:?}"),
            );
        }
    }
}

/// A read-only handle beside the writer sees each acknowledged write through
/// the new searches at once (FLUSH mode): a new vector is found by id, in a
/// list and through a filter; a deleted one is `NotFound`.
#[test]
fn a_read_only_handle_searches_each_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 8;
    let writer_options = Options {
        durability: Durability::Flush,
        ..Options::default()
    };
    let writer = Store::open(dir.path(), dim as u32, &writer_options).unwrap();
    let mut rng = Rng(11);
    let mut model = Model::new();
    for id in 0..100u64 {
        let v = rng.vector(dim);
        writer.put(id, &v).unwrap();
        model.insert(id, v);
    }
    let reader_options = Options {
        read_only: true,
        ..Options::default()
    };
    let reader = Store::open(dir.path(), 0, &reader_options).unwrap();
    let q = rng.vector(dim);
    // Each search comes right after a write the reader has not seen yet.
    let mut next_id = 1000;
    let mut put = |model: &mut Model, rng: &mut Rng| {
        let (id, v) = (next_id, rng.vector(dim));
        next_id += 1;
        writer.put(id, &v).unwrap();
        model.insert(id, v);
        id
    };
    for step in 0..30u64 {
        let id = put(&mut model, &mut rng);
        let listed = reader.search_ids(&q, &[id, 1, id], 5, Metric::Dot).unwrap();
        let want = reference(&model, &Ask::Ids(Arc::new(vec![id, 1])), &q, Metric::Dot);
        check(
            &listed,
            &want,
            5,
            Metric::Dot,
            format!("step {step}: listed"),
        );
        let id = put(&mut model, &mut rng);
        let only = reader
            .search_filter(&q, 5, Metric::L2, move |o| o == id)
            .unwrap();
        assert_eq!(only.len(), 1, "step {step}: filter for the new id {id}");
        assert_eq!(only[0].id, id);
        let id = put(&mut model, &mut rng);
        let near = reader.search_by_id(id, 3, Metric::L2).unwrap();
        let want = reference(&model, &Ask::ById(id), &[], Metric::L2);
        check(
            &near,
            &want,
            3,
            Metric::L2,
            format!("step {step}: by new id"),
        );
        // Older ids deleted: gone from the reader's next search.
        let old = 3 * step;
        writer.delete(old).unwrap();
        model.remove(&old);
        let err = reader.search_by_id(old, 3, Metric::L2).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::NotFound,
            "step {step}: deleted {old}"
        );
        let old = 3 * step + 1;
        writer.delete(old).unwrap();
        model.remove(&old);
        let listed = reader.search_ids(&q, &[old], 5, Metric::L2).unwrap();
        assert!(
            listed.is_empty(),
            "step {step}: deleted {old} listed: {listed:?}"
        );
        let old = 3 * step + 2;
        writer.delete(old).unwrap();
        model.remove(&old);
        let seen = reader
            .search_filter(&q, 100, Metric::L2, move |o| o == old)
            .unwrap();
        assert!(
            seen.is_empty(),
            "step {step}: deleted {old} through a filter"
        );
    }
}
