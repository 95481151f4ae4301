//! vecstore benchmark harness: vecstore, velesdb-core and LMDB (heed), and the
//! machine's limits, measured in one run and reported with ratios.
//!
//! `cargo run --release -p vecstore-bench -- [--quick] [--sizes NxD,...]
//!  [--seed N] [--json FILE] [--only WORKLOAD,...]`
//!
//! Workloads for `--only`: bulk, replay, puts, threads, gets, scan,
//! lifecycle (checkpoint, reopen, delete, compaction, latency during
//! compaction), memory, search, torn (open after a torn batch of 512 MiB,
//! 16 MiB with `--quick`; vecstore only, independent of `--sizes`),
//! readers (get_ref from 1 and 2 threads, Rust API and C ABI), reopen
//! (median reopen after a checkpoint, Rust API, C ABI, read-only), openmem
//! (anonymous memory after an open, in a child process), procs (a reader
//! process beside a writer: visibility latency, get_ref under a bulk load).
//! The last four share one loaded store per engine (loaded again only if
//! lifecycle ran first and consumed it). copy: an online copy
//! (`Store::copy_to`) of a store of the size against `cp -r` + `sync` of
//! its directory (vecstore only).
//! Timings are printed, never asserted.

mod cabi;
mod copy;
mod data;
mod engines;
mod knn;
mod limits;
mod memory;
mod processes;
mod readers;
mod reopen;
mod report;
mod results;
mod torn;
mod util;
mod workloads;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use data::Dataset;
use engines::lmdb::Lmdb;
use engines::vecstore::Vecstore;
use engines::velesdb::Velesdb;
use engines::{Engine, Result};
use limits::Limits;
use report::SizeReport;
use results::Results;
use workloads::{Ctx, Loaded, Plan};

const WORKLOADS: [&str; 15] = [
    "bulk",
    "replay",
    "puts",
    "threads",
    "gets",
    "scan",
    "lifecycle",
    "memory",
    "search",
    "torn",
    "readers",
    "reopen",
    "openmem",
    "procs",
    "copy",
];

/// The workloads run on the loaded stores' handles and directories, after
/// the others ([`handles`]).
const HANDLE_WORKLOADS: [&str; 4] = ["readers", "reopen", "openmem", "procs"];

struct Args {
    quick: bool,
    sizes: Vec<(usize, usize)>,
    seed: u64,
    json: Option<PathBuf>,
    only: Vec<String>,
}

impl Args {
    fn parse(mut it: impl Iterator<Item = String>) -> Result<Args> {
        let mut args = Args {
            quick: false,
            sizes: Vec::new(),
            seed: 42,
            json: None,
            only: Vec::new(),
        };
        while let Some(arg) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--quick" => args.quick = true,
                "--sizes" => args.sizes = parse_sizes(&value()?)?,
                "--seed" => args.seed = value()?.parse()?,
                "--json" => args.json = Some(value()?.into()),
                "--only" => {
                    args.only = value()?.split(',').map(str::to_string).collect();
                    if let Some(bad) = args.only.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
                        return Err(format!(
                            "unknown workload {bad}; known: {}",
                            WORKLOADS.join(",")
                        )
                        .into());
                    }
                }
                "-h" | "--help" => {
                    println!(
                        "vecstore-bench [--quick] [--sizes 1000000x128,200000x768] [--seed N] \
                         [--json FILE] [--only {}]",
                        WORKLOADS.join(",")
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        if args.sizes.is_empty() {
            args.sizes = if args.quick {
                vec![(20_000, 128), (5_000, 768)]
            } else {
                vec![(1_000_000, 128), (200_000, 768)]
            };
        }
        Ok(args)
    }

    fn runs(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == workload)
    }

    /// Whether any workload measured per size (`--sizes`) is selected.
    fn runs_sized(&self) -> bool {
        WORKLOADS.iter().any(|w| *w != "torn" && self.runs(w))
    }

    /// The torn-batch workload's plan.
    fn torn_plan(&self) -> torn::Plan {
        torn::Plan {
            record_bytes: if self.quick { 16 << 20 } else { 512 << 20 },
            dim: 128,
            runs: if self.quick { 3 } else { 5 },
        }
    }

    /// Whether anything needs the data set loaded into each store.
    fn needs_loaded(&self) -> bool {
        ["bulk", "replay", "gets", "scan", "lifecycle", "search"]
            .iter()
            .any(|w| self.runs(w))
    }

    fn runs_handles(&self) -> bool {
        HANDLE_WORKLOADS.iter().any(|w| self.runs(w))
    }

    /// Whether the handle workloads need velesdb-core (the reader threads).
    fn handles_velesdb(&self) -> bool {
        self.runs("readers")
    }

    /// Whether the handle workloads need LMDB (the peer of all but procs).
    fn handles_lmdb(&self) -> bool {
        ["readers", "reopen", "openmem"]
            .iter()
            .any(|w| self.runs(w))
    }

    /// The handle workloads' plan: gets per reader thread, reopens of each
    /// kind, and the processes' plan.
    fn handles_plan(&self) -> (usize, usize, processes::Plan) {
        let quick = self.quick;
        let procs = processes::Plan {
            visible_puts: if quick { 300 } else { 3_000 },
            alone: Duration::from_millis(if quick { 200 } else { 1_000 }),
        };
        if quick {
            (200_000, 3, procs)
        } else {
            (1_000_000, 7, procs)
        }
    }

    fn plan(&self, data: &Dataset) -> (Plan, knn::SearchPlan) {
        let on = |w: &str, n: usize| if self.runs(w) { n } else { 0 };
        let (puts, threads, gets, batches) = if self.quick {
            ([100, 1_000, 2_000], 160, 200_000, 2_000)
        } else {
            ([1_000, 5_000, 20_000], 1_600, 1_000_000, 10_000)
        };
        let plan = Plan {
            puts: puts.map(|n| on("puts", n)),
            thread_puts: on("threads", threads),
            gets: on("gets", gets),
            batches: on("gets", batches),
            scan: self.runs("scan"),
            bulk_all_modes: self.runs("bulk"),
            replay: self.runs("replay"),
            idle: Duration::from_millis(if self.quick { 100 } else { 300 }),
        };
        let search = knn::SearchPlan {
            single_queries: if self.quick {
                20
            } else {
                (4e9 / data.data_bytes() as f64).clamp(3.0, 50.0) as usize
            },
            naive_queries: if self.quick { 3 } else { 2 },
        };
        (plan, search)
    }
}

fn parse_sizes(text: &str) -> Result<Vec<(usize, usize)>> {
    text.split(',')
        .map(|s| {
            let (n, d) = s
                .split_once('x')
                .ok_or_else(|| format!("size {s} is not NxD"))?;
            Ok((n.parse()?, d.parse()?))
        })
        .collect()
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match argv.first().map(String::as_str) {
        Some(memory::CHILD_FLAG) => memory::child_main(&argv[1..]),
        Some(torn::CHILD_FLAG) => torn::child_main(&argv[1..]),
        Some(processes::CHILD_FLAG) => processes::child_main(&argv[1..]),
        _ => Args::parse(argv.into_iter()).and_then(|args| run(&args)),
    };
    if let Err(e) = outcome {
        eprintln!("vecstore-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    let scratch = util::TempDir::new(
        &std::env::temp_dir(),
        &format!("vecstore-bench-{}", std::process::id()),
    )?;
    let root = scratch.path();
    let facts = vec![
        ("machine", util::machine()),
        ("filesystem", util::filesystem_of(root)),
        ("scratch", root.display().to_string()),
        ("search_kernel", vecstore::search_kernel().to_string()),
        ("seed", args.seed.to_string()),
        (
            "mode",
            if args.quick { "quick" } else { "full" }.to_string(),
        ),
        ("command", std::env::args().collect::<Vec<_>>().join(" ")),
    ];
    for (key, val) in &facts {
        println!("{key}: {val}");
    }
    println!(
        "ratios: how many times better vecstore is (higher is better for every \
         ratio column; for ns/ms rows the quotient is inverted). vecstore/limit: \
         fraction of the machine's limit reached.\n"
    );
    let mut reports = Vec::new();
    let sizes = if args.runs_sized() {
        &args.sizes[..]
    } else {
        &[]
    };
    for &(n, dim) in sizes {
        let started = Instant::now();
        let report = run_size(args, n, dim, root)?;
        println!(
            "## {n} x {dim}  ({:.0} s)\n",
            started.elapsed().as_secs_f64()
        );
        print_report(&report, &format!("{n} x {dim}"));
        reports.push(report);
    }
    let torn = if args.runs("torn") {
        let started = Instant::now();
        let report = torn::run(&args.torn_plan(), root)?;
        println!(
            "## open after a torn batch: {} x {} in one put_batch  ({:.0} s)\n",
            report.n,
            report.dim,
            started.elapsed().as_secs_f64()
        );
        println!(
            "vecstore = Store::open read-write (median), limit = std::fs::read of \
             the same log file (median, warm cache); vecstore/limit >= 0.50 means \
             the open took at most 2x the read.\n"
        );
        print_report(&report, "torn");
        Some(report)
    } else {
        None
    };
    if let Some(path) = &args.json {
        std::fs::write(path, report::json(&facts, &reports, torn.as_ref()))?;
        println!("JSON written to {}", path.display());
    }
    Ok(())
}

/// The table, the notes and the targets of one size (or of `torn`).
fn print_report(report: &SizeReport, name: &str) {
    println!("{}", report::table(&report.results));
    for note in &report.results.notes {
        println!("note: {note}");
    }
    println!(
        "\ntargets ({name}):\n{}",
        report::targets_text(&report.targets)
    );
}

fn run_size(args: &Args, n: usize, dim: usize, root: &Path) -> Result<SizeReport> {
    let progress = |what: &str| eprintln!("[{n}x{dim}] {what}");
    progress("generating data");
    let data = Dataset::generate(n, dim, args.seed);
    let scratch = util::TempDir::new(root, &format!("{n}x{dim}"))?;
    let root = scratch.path();
    let (plan, search_plan) = args.plan(&data);
    let mut res = Results::default();

    progress("machine limits");
    let (syncs, reads) = if args.quick {
        (300, 200_000)
    } else {
        (2_000, 1_000_000)
    };
    let mut limits = Limits::measure(&data, root, syncs, reads)?;
    report::set_limits(&mut res, &limits, data.vector_bytes());

    let ctx = Ctx {
        data: &data,
        root,
        plan: &plan,
        ids: (0..n as u64).collect(),
    };
    let load = args.needs_loaded();
    let handles = args.runs_handles();
    progress("bulk loads: vecstore");
    let mut vs = workloads::loads::<Vecstore>(&ctx, load || handles, &mut res)?;
    progress("bulk loads: velesdb-core");
    let mut vl = workloads::loads::<Velesdb>(&ctx, load || args.handles_velesdb(), &mut res)?;
    progress("bulk loads: LMDB");
    let mut lm = workloads::loads::<Lmdb>(&ctx, load || args.handles_lmdb(), &mut res)?;

    if args.runs("puts") || args.runs("threads") {
        // The sync rate drifts on a shared disk: measure it right around the
        // durable puts too, and keep the median.
        let mut rates = vec![limits.fdatasync_per_s];
        rates.push(limits::fdatasync_rate(root, syncs)?);
        progress("puts");
        workloads::puts::<Vecstore>(&ctx, &mut res)?;
        workloads::puts::<Velesdb>(&ctx, &mut res)?;
        workloads::puts::<Lmdb>(&ctx, &mut res)?;
        rates.push(limits::fdatasync_rate(root, syncs)?);
        rates.sort_by(f64::total_cmp);
        limits.fdatasync_per_s = rates[1];
        report::set_limits(&mut res, &limits, data.vector_bytes());
    }

    if let (Some(vs), Some(vl), Some(lm)) = (&vs, &vl, &lm) {
        progress("reads");
        workloads::reads(&ctx, vs, &mut res)?;
        workloads::reads(&ctx, vl, &mut res)?;
        workloads::reads(&ctx, lm, &mut res)?;
        if args.runs("search") {
            progress("search");
            knn::run(
                &data,
                &vs.engine.store,
                &search_plan,
                limits.read_gbs,
                &mut res,
            )?;
        }
    }
    if args.runs("lifecycle") {
        progress("checkpoint, reopen, delete, compaction");
        lifecycle(&ctx, vs.take(), &mut res)?;
        lifecycle(&ctx, vl.take(), &mut res)?;
        lifecycle(&ctx, lm.take(), &mut res)?;
    }
    if handles {
        let vs = loaded_again(&ctx, vs, &progress)?;
        let vl = if args.handles_velesdb() {
            Some(loaded_again(&ctx, vl, &progress)?)
        } else {
            None
        };
        let lm = if args.handles_lmdb() {
            Some(loaded_again(&ctx, lm, &progress)?)
        } else {
            None
        };
        self::handles(args, &ctx, Stores { vs, vl, lm }, &progress, &mut res)?;
    }
    if args.runs("copy") {
        progress("online copy against cp -r + sync");
        copy::run(&data, root, if args.quick { 2 } else { 3 }, &mut res)?;
    }
    if args.runs("memory") {
        progress("memory (child processes)");
        for column in [
            engines::Column::Vecstore,
            engines::Column::Velesdb,
            engines::Column::Lmdb,
        ] {
            let per = memory::measure(column, n, dim, args.seed, root)?;
            res.set("rss_per_vec", column as usize, per);
        }
    }
    let targets = report::targets(&res, n, limits.fdatasync_per_s);
    Ok(SizeReport {
        n,
        dim,
        results: res,
        targets,
    })
}

/// The loaded store, or (if `lifecycle` consumed it) a new one.
fn loaded_again<E: Engine>(
    ctx: &Ctx<'_>,
    loaded: Option<Loaded<E>>,
    progress: &dyn Fn(&str),
) -> Result<Loaded<E>> {
    match loaded {
        Some(loaded) => Ok(loaded),
        None => {
            progress(&format!(
                "loading {} again (lifecycle used the first)",
                E::NAME
            ));
            workloads::load_again(ctx)
        }
    }
}

/// The loaded stores the handle workloads use.
struct Stores {
    vs: Loaded<Vecstore>,
    vl: Option<Loaded<Velesdb>>,
    lm: Option<Loaded<Lmdb>>,
}

/// readers, reopen, openmem, procs, as selected: the reader threads on the
/// open handles, then everything else on the closed stores' directories.
fn handles(
    args: &Args,
    ctx: &Ctx<'_>,
    stores: Stores,
    progress: &dyn Fn(&str),
    res: &mut Results,
) -> Result<()> {
    let (n, dim) = (ctx.data.n, ctx.data.dim);
    let (gets, reopens, procs) = args.handles_plan();
    let Stores { vs, vl, lm } = stores;
    let ids = args.runs("readers").then(|| readers::thread_ids(ctx, gets));
    if let Some(ids) = &ids {
        progress("get_ref from 1 and 2 threads");
        readers::engine(&vs.engine, ids, res)?;
        if let Some(vl) = &vl {
            readers::engine(&vl.engine, ids, res)?;
        }
        if let Some(lm) = &lm {
            readers::engine(&lm.engine, ids, res)?;
        }
    }
    drop(vl);
    // A checkpoint and a clean close: the state every workload below opens.
    let Loaded {
        engine,
        dir: vs_dir,
    } = vs;
    engine.checkpoint()?;
    engine.close()?;
    let lm_dir = match lm {
        Some(Loaded { engine, dir }) => {
            engine.close()?;
            Some(dir)
        }
        None => None,
    };
    let lm_path = lm_dir.as_ref().map(|d| d.path());
    if args.runs("reopen") {
        progress(&format!("reopen, {reopens} of each kind"));
        reopen::run(vs_dir.path(), lm_path, dim, reopens, res)?;
    }
    if let Some(ids) = &ids {
        progress("get_ref from 1 and 2 threads, C ABI");
        readers::cabi(vs_dir.path(), dim, ids, res)?;
    }
    if args.runs("openmem") {
        progress("anonymous memory after open (child processes)");
        processes::open_memory(vs_dir.path(), lm_path, n, dim, res)?;
    }
    if args.runs("procs") {
        progress("visibility in a reader process");
        processes::visibility(ctx, &procs, res);
        progress("reader process during a bulk load");
        processes::reader_under_load(ctx, &vs_dir, &procs, res);
    }
    Ok(())
}

fn lifecycle<E: Engine>(ctx: &Ctx<'_>, loaded: Option<Loaded<E>>, res: &mut Results) -> Result<()> {
    match loaded {
        Some(loaded) => workloads::lifecycle(ctx, loaded, res),
        None => Ok(()),
    }
}
