//! The table, the targets section and the JSON file.

use std::fmt::Write as _;

use crate::limits::Limits;
use crate::results::{metric, metrics, Better, Metric, Results, COLUMNS, LIMIT};

/// One size's report.
pub struct SizeReport {
    pub n: usize,
    pub dim: usize,
    pub results: Results,
    pub targets: Vec<Target>,
}

pub struct Target {
    pub name: &'static str,
    pub measured: String,
    /// `None` when the run could not measure it.
    pub met: Option<bool>,
}

const HEADERS: [&str; 9] = [
    "workload",
    "unit",
    "vecstore",
    "velesdb-core",
    "LMDB",
    "limit",
    "vecstore/velesdb",
    "vecstore/LMDB",
    "vecstore/limit",
];

fn value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 1e6 => format!("{:.2}M", v / 1e6),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.3}"),
    }
}

pub fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

/// A row something measured: its value in each column, and vecstore's
/// advantage over velesdb-core, LMDB and the limit.
struct Row {
    metric: &'static Metric,
    values: [Option<f64>; COLUMNS],
    ratios: [Option<f64>; 3],
}

/// The rows something measured, in order.
fn measured(results: &Results) -> impl Iterator<Item = Row> + '_ {
    metrics()
        .map(|metric| Row {
            metric,
            values: [0, 1, 2, LIMIT].map(|c| results.get(metric.key, c)),
            ratios: [1, 2, LIMIT].map(|c| results.advantage(metric, c)),
        })
        .filter(|row| row.values.iter().any(Option::is_some))
}

/// The table's cells, row by row (rows nothing measured are left out).
fn cells(results: &Results) -> Vec<[String; 9]> {
    measured(results)
        .map(|row| {
            let [v0, v1, v2, limit] = row.values.map(value);
            let [r1, r2, r_limit] = row.ratios.map(ratio);
            let (label, unit) = (row.metric.label.into(), row.metric.unit.into());
            [label, unit, v0, v1, v2, limit, r1, r2, r_limit]
        })
        .collect()
}

/// A Markdown table (readable as plain text too).
pub fn table(results: &Results) -> String {
    let rows = cells(results);
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i < 2 {
                let _ = write!(s, " {cell:<w$} |");
            } else {
                let _ = write!(s, " {cell:>w$} |");
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&HEADERS.map(String::from));
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if i < 2 {
                "-".repeat(w)
            } else {
                format!("{}:", "-".repeat(w - 1))
            }
        })
        .collect();
    out += &line(&rule);
    for row in &rows {
        out += &line(row);
    }
    out
}

/// Fills the limit column from the machine's measured limits.
pub fn set_limits(results: &mut Results, limits: &Limits, vector_bytes: usize) {
    let vectors_per_s = limits.memcpy_gbs * 1e9 / vector_bytes as f64;
    for key in ["bulk_fsync", "bulk_flush", "bulk_none"] {
        results.set(key, LIMIT, vectors_per_s);
    }
    results.set("put_fsync", LIMIT, limits.fdatasync_per_s);
    results.set("put_t1", LIMIT, limits.fdatasync_per_s);
    for key in ["get_ref", "get_copy", "get_batch"] {
        results.set(key, LIMIT, limits.dram_row_ns);
    }
    results.set("scan", LIMIT, limits.read_gbs);
}

/// The targets, judged on this size's figures.
pub fn targets(results: &Results, n: usize, fdatasync_per_s: f64) -> Vec<Target> {
    let vs = |key: &str| results.advantage(metric(key), 1);
    let ours = |key: &str| results.get(key, 0);
    let at_least = |r: Option<f64>, min: f64| r.map(|r| r >= min);
    let mut t = Vec::new();
    let mut ratio_target = |name, key: &str, min: f64| {
        let r = vs(key);
        t.push(Target {
            name,
            measured: ratio(r) + " velesdb-core",
            met: at_least(r, min),
        });
    };
    ratio_target(
        "bulk load without log (NONE) >= 4x velesdb-core",
        "bulk_none",
        4.0,
    );
    ratio_target(
        "bulk load with log (FLUSH) >= 3x velesdb-core",
        "bulk_flush",
        3.0,
    );
    ratio_target("zero-copy get >= 5x velesdb-core", "get_ref", 5.0);
    ratio_target("copying get >= 8x velesdb-core", "get_copy", 8.0);

    let reopen = ours("reopen");
    t.push(Target {
        name: "reopen of 1M after checkpoint < 100 ms",
        measured: format!("{} ms for {n} vectors", value(reopen)),
        met: reopen.map(|ms| ms < 100.0),
    });

    let (replay_ms, replayed) = (ours("replay_open"), ours("replay_vectors"));
    let per_million = replay_ms
        .zip(replayed)
        .filter(|&(_, v)| v >= 1.0)
        .map(|(ms, v)| ms / 1e3 * 1e6 / v);
    t.push(Target {
        name: "replay of 1M logged puts < 0.5 s",
        measured: format!(
            "{} ms replaying {} logged puts (= {} s per 1M)",
            value(replay_ms),
            value(replayed),
            value(per_million)
        ),
        met: per_million.map(|s| s < 0.5),
    });

    let (compact, p99) = (vs("compact"), ours("compact_p99"));
    t.push(Target {
        name: "compaction of half >= 3x velesdb-core, get p99 during compaction < 10 us",
        measured: format!(
            "{} velesdb-core; p99 {} ns (velesdb-core {} ns)",
            ratio(compact),
            value(p99),
            value(results.get("compact_p99", 1))
        ),
        met: compact.zip(p99).map(|(r, p)| r >= 3.0 && p < 10_000.0),
    });

    let put = ours("put_fsync");
    t.push(Target {
        name: "durable single put within 10% of append+fdatasync",
        measured: format!(
            "{} ops/s vs {} ops/s ({})",
            value(put),
            value(Some(fdatasync_per_s)),
            ratio(put.map(|p| p / fdatasync_per_s))
        ),
        met: put.map(|p| p >= 0.9 * fdatasync_per_s),
    });

    let copy = ours("copy_ratio");
    t.push(Target {
        name: "online copy within 1.5x of cp -r + sync",
        measured: format!(
            "{} ms vs {} ms ({})",
            value(ours("copy")),
            value(results.get("copy", crate::results::LIMIT)),
            ratio(copy)
        ),
        met: copy.map(|r| r <= 1.5),
    });

    let scale = ours("put_t8_scale");
    t.push(Target {
        name: "8 threads of durable puts >= 4x one thread",
        measured: ratio(scale),
        met: at_least(scale, 4.0),
    });
    t
}

pub fn targets_text(targets: &[Target]) -> String {
    let mut out = String::from("| target | measured | result |\n|---|---|---|\n");
    for t in targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        let _ = writeln!(out, "| {} | {} | {verdict} |", t.name, t.measured);
    }
    out
}

// ---- JSON ------------------------------------------------------------------

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => "null".into(),
    }
}

/// The whole run as JSON: run facts, then per size every row and target,
/// then the torn-batch workload (same shape as a size) if it ran.
pub fn json(facts: &[(&str, String)], sizes: &[SizeReport], torn: Option<&SizeReport>) -> String {
    let mut out = String::from("{\n");
    for (key, val) in facts {
        let _ = writeln!(out, "  {}: {},", json_str(key), json_str(val));
    }
    out.push_str("  \"sizes\": [\n");
    for (i, size) in sizes.iter().enumerate() {
        out.push_str("    ");
        out.push_str(&size_json(size));
        out.push_str(if i + 1 < sizes.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ],\n  \"torn\": ");
    match torn {
        Some(torn) => out.push_str(&size_json(torn)),
        None => out.push_str("null"),
    }
    out.push_str("\n}\n");
    out
}

/// One size (or the torn workload): its rows, targets and notes.
fn size_json(size: &SizeReport) -> String {
    let r = &size.results;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{{\"n\": {}, \"dim\": {}, \"rows\": [",
        size.n, size.dim
    );
    let rows: Vec<_> = measured(r).collect();
    for (j, row) in rows.iter().enumerate() {
        let m = row.metric;
        let better = match m.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Info => "info",
        };
        let [v0, v1, v2, limit] = row.values.map(json_num);
        let [r1, r2, r_limit] = row.ratios.map(json_num);
        let _ = write!(
            out,
            "      {{\"key\": {}, \"label\": {}, \"unit\": {}, \"better\": {}, \"vecstore\": {v0}, \"velesdb\": {v1}, \"lmdb\": {v2}, \"limit\": {limit}, \"vs_velesdb\": {r1}, \"vs_lmdb\": {r2}, \"vs_limit\": {r_limit}}}",
            json_str(m.key),
            json_str(m.label),
            json_str(m.unit),
            json_str(better),
        );
        out.push_str(if j + 1 < rows.len() { ",\n" } else { "\n" });
    }
    out.push_str("    ], \"targets\": [\n");
    for (j, t) in size.targets.iter().enumerate() {
        let met = t.met.map_or("null".into(), |m| m.to_string());
        let _ = write!(
            out,
            "      {{\"name\": {}, \"measured\": {}, \"met\": {met}}}",
            json_str(t.name),
            json_str(&t.measured)
        );
        out.push_str(if j + 1 < size.targets.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("    ], \"notes\": [");
    let notes: Vec<String> = r.notes.iter().map(|n| json_str(n)).collect();
    out.push_str(&notes.join(", "));
    out.push_str("]}");
    out
}
