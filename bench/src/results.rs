//! What a run measured: one value per (metric, column), and the metric list
//! that fixes the report's rows, units and which direction is better.

use std::collections::BTreeMap;

/// Report columns: the three engines, then the machine's limit.
pub const COLUMNS: usize = 4;
pub const LIMIT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// A count or a derived figure: no ratios.
    Info,
}

pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub better: Better,
}

const fn m(key: &'static str, label: &'static str, unit: &'static str, better: Better) -> Metric {
    Metric {
        key,
        label,
        unit,
        better,
    }
}

use Better::{Higher, Info, Lower};

/// The rows of the workloads measured per size, in order.
const SIZE_METRICS: &[Metric] = &[
    m("bulk_fsync", "bulk load x1000, FSYNC", "vec/s", Higher),
    m("bulk_flush", "bulk load x1000, FLUSH", "vec/s", Higher),
    m("bulk_none", "bulk load x1000, NONE", "vec/s", Higher),
    m("put_fsync", "single put, FSYNC", "ops/s", Higher),
    m("put_flush", "single put, FLUSH", "ops/s", Higher),
    m("put_none", "single put, NONE", "ops/s", Higher),
    m("put_t1", "durable puts, 1 thread", "ops/s", Higher),
    m("put_t2", "durable puts, 2 threads", "ops/s", Higher),
    m("put_t4", "durable puts, 4 threads", "ops/s", Higher),
    m("put_t8", "durable puts, 8 threads", "ops/s", Higher),
    m("put_t2_scale", "  2 threads / 1 thread", "x", Info),
    m("put_t4_scale", "  4 threads / 1 thread", "x", Info),
    m("put_t8_scale", "  8 threads / 1 thread", "x", Info),
    m("get_ref", "random zero-copy get", "ns/op", Lower),
    m("get_copy", "random copying get", "ns/op", Lower),
    m(
        "get_batch",
        "get_batch of 100 (per vector)",
        "ns/vec",
        Lower,
    ),
    m("scan", "full scan", "GB/s", Higher),
    m("copy", "online copy [limit=cp -r + sync]", "ms", Lower),
    m("copy_ratio", "  copy / (cp -r + sync)", "x", Info),
    m("replay_open", "open replaying the log", "ms", Lower),
    m(
        "replay_vectors",
        "  puts in the replayed log",
        "count",
        Info,
    ),
    m(
        "replay_per_vec",
        "  replay time per logged put",
        "us",
        Lower,
    ),
    m(
        "checkpoint",
        "checkpoint (velesdb: flush_full)",
        "ms",
        Lower,
    ),
    m("reopen", "reopen after checkpoint", "ms", Lower),
    m("delete_half", "delete half (batches of 1000)", "ms", Lower),
    m("compact", "compact after deleting half", "ms", Lower),
    m("compact_mb", "  bytes reclaimed", "MB", Info),
    m("idle_p99", "get_ref p99, idle", "ns", Lower),
    m("idle_max", "get_ref max, idle", "ns", Lower),
    m("compact_p50", "get_ref p50 during compaction", "ns", Lower),
    m("compact_p99", "get_ref p99 during compaction", "ns", Lower),
    m("compact_max", "get_ref max during compaction", "ns", Lower),
    m(
        "compact_samples",
        "  gets completed during compaction",
        "count",
        Info,
    ),
    m("compact_ms_2", "  that compaction (a quarter)", "ms", Lower),
    m("rss_per_vec", "anon memory per vector", "B", Lower),
    m(
        "search_1",
        "search k=10 L2, 1 query [limit=naive]",
        "q/s",
        Higher,
    ),
    m(
        "search_1_gbs",
        "  bytes scanned [limit=1-thread read]",
        "GB/s",
        Higher,
    ),
    m(
        "search_100",
        "search_batch of 100 [limit=naive]",
        "q/s",
        Higher,
    ),
    m("search_agree", "  top-10 ids equal to naive", "of 10", Info),
    // Handles: reader threads, reopen, memory after open, processes.
    m("getref_t1", "get_ref + release, 1 thread", "ns/op", Lower),
    m(
        "getref_t2",
        "get_ref + release, 2 threads (each)",
        "ns/op",
        Lower,
    ),
    m(
        "getref_t2_scale",
        "  2 threads / 1 thread (gets/s)",
        "x",
        Info,
    ),
    m(
        "getref_cabi_t1",
        "C ABI get_ref + release, 1 thread",
        "ns/op",
        Lower,
    ),
    m(
        "getref_cabi_t2",
        "C ABI get_ref + release, 2 threads (each)",
        "ns/op",
        Lower,
    ),
    m(
        "getref_cabi_scale",
        "  2 threads / 1 thread (gets/s)",
        "x",
        Info,
    ),
    m(
        "reopen_med",
        "reopen after checkpoint (median)",
        "ms",
        Lower,
    ),
    m(
        "reopen_cabi",
        "  through the C ABI (vecstore_open)",
        "ms",
        Lower,
    ),
    m("reopen_ro", "  read-only handle", "ms", Lower),
    m(
        "open_anon_w",
        "anon memory per vector after open, writer",
        "B",
        Lower,
    ),
    m("open_anon_ro", "  read-only handle", "B", Lower),
    m(
        "proc_get_alone_mean",
        "get_ref in a reader process, no writer: mean",
        "ns",
        Lower,
    ),
    m("proc_get_alone_p50", "  p50", "ns", Lower),
    m("proc_get_alone_p99", "  p99", "ns", Lower),
    m("proc_get_alone_count", "  gets timed", "count", Info),
    m(
        "proc_get_load_mean",
        "get_ref in a reader process, writer bulk-loading: mean",
        "ns",
        Lower,
    ),
    m("proc_get_load_p50", "  p50", "ns", Lower),
    m("proc_get_load_p99", "  p99", "ns", Lower),
    m("proc_get_load_count", "  gets timed", "count", Info),
    m(
        "proc_get_ratio",
        "  mean with the writer / without",
        "x",
        Info,
    ),
    m(
        "proc_writer_rate",
        "  the writer's bulk load (FLUSH) meanwhile",
        "vec/s",
        Info,
    ),
    m(
        "vis_flush_p50",
        "put (FLUSH) seen by a reader process: p50",
        "us",
        Lower,
    ),
    m("vis_flush_p99", "  p99", "us", Lower),
    m(
        "vis_fsync_p50",
        "put (FSYNC) seen by a reader process: p50",
        "us",
        Lower,
    ),
    m("vis_fsync_p99", "  p99", "us", Lower),
];

/// The six rows of each variant of the torn-batch workload (`torn.rs`), keyed
/// `torn_{variant}_{row}`; `$open` heads the variant.
macro_rules! torn_rows {
    ($(($variant:literal, $open:literal)),* $(,)?) => {
        [$(
            m(concat!("torn_", $variant, "_open"), concat!($open, " [limit=read log once]"), "ms", Lower),
            m(concat!("torn_", $variant, "_cabi"), "  open through the C ABI", "ms", Lower),
            m(concat!("torn_", $variant, "_ro"), "  open read-only (no writes)", "ms", Lower),
            m(concat!("torn_", $variant, "_ratio"), "  open / read of the log once", "x", Info),
            m(concat!("torn_", $variant, "_log"), "  log file", "MiB", Info),
            m(concat!("torn_", $variant, "_count"), "  vectors after open", "count", Info),
        )*]
    };
}

const TORN_METRICS: &[Metric] = &torn_rows![
    ("whole", "batch record whole: open, replaying it"),
    ("cut", "torn batch, log cut mid-record: open"),
    ("holes", "torn batch, 4 KiB sectors zeroed: open"),
    ("nohdr", "torn batch, record header zeroed: open"),
];

/// Every row of the report, in order.
pub fn metrics() -> impl Iterator<Item = &'static Metric> {
    SIZE_METRICS.iter().chain(TORN_METRICS)
}

/// Measured values of one size.
#[derive(Default)]
pub struct Results {
    values: BTreeMap<&'static str, [Option<f64>; COLUMNS]>,
    pub notes: Vec<String>,
}

impl Results {
    pub fn set(&mut self, key: &'static str, column: usize, value: f64) {
        assert!(metrics().any(|m| m.key == key), "unknown metric {key}");
        self.values.entry(key).or_default()[column] = Some(value);
    }

    pub fn get(&self, key: &str, column: usize) -> Option<f64> {
        self.values.get(key).and_then(|row| row[column])
    }

    /// How many times better the first column is than `column` (inverse
    /// quotient for lower-is-better metrics); `None` for info rows.
    pub fn advantage(&self, metric: &Metric, column: usize) -> Option<f64> {
        let ours = self.get(metric.key, 0)?;
        let theirs = self.get(metric.key, column)?;
        match metric.better {
            Better::Higher if theirs > 0.0 => Some(ours / theirs),
            Better::Lower if ours > 0.0 => Some(theirs / ours),
            _ => None,
        }
    }
}

pub fn metric(key: &str) -> &'static Metric {
    metrics()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("unknown metric {key}"))
}
