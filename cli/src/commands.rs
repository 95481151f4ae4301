//! The commands: their descriptions (which drive parsing and `--help`) and
//! the inspection and maintenance commands themselves (`import` and `export`
//! live in `transfer`).

use std::fmt::Write;
use std::path::Path;

use vecstore::{Durability, ErrorKind, Metric};

use crate::args::{usage_error, Opt, Parsed, Spec};
use crate::fail::{code, Failure};
use crate::formats;
use crate::progress::Progress;
use crate::report::Report;
use crate::store::{library_version, open_read_only, open_writer, segment_files};
use crate::transfer;

pub struct Command {
    pub spec: Spec,
    pub run: fn(&Spec, &Parsed) -> Result<Report, Failure>,
}

const IDS_HELP: &str = "ids file: .ivecs (int32, ids up to 2^31-1) or .u64 (raw little-endian u64)";

pub const COMMANDS: &[Command] = &[
    Command {
        spec: Spec {
            name: "stat",
            args: &["DIR"],
            opts: &[Opt {
                long: "json",
                short: None,
                value: None,
                help: "print one JSON object",
                required: false,
            }],
            summary: "Show a store's statistics (like mdb_stat).",
            details: "\
Opens the store read-only and prints its dimension, vector count, sizes
(segment files, log not yet checkpointed, live vector bytes), fragmentation
(the share of used slots that are dead, reclaimed by `vecstore compact`),
segment files, on-disk format version and library version.",
        },
        run: stat,
    },
    Command {
        spec: Spec {
            name: "verify",
            args: &["DIR"],
            opts: &[],
            summary: "Check a store's consistency and every vector's checksum.",
            details: "\
Opens the store read-only (files headers, checkpoint and log are checked at
open), checks every index entry against its slot (checksum, stored id,
bounds) and each segment's slot accounting, then reads every vector through
a cursor, which checks each slot's checksum again.

Prints each problem on its own line ('problem: ...', naming the id, slot and
file) and exits 1 if there is any; exits 0 if the store is sound. A store
that fails to open because it is damaged also exits 1. A store that another
process holds open for writing is checked as of one instant: the writer's
later changes are not seen.",
        },
        run: verify,
    },
    Command {
        spec: Spec {
            name: "import",
            args: &["DIR", "FILE"],
            opts: &[
                Opt {
                    long: "ids",
                    short: None,
                    value: Some("IDS"),
                    help: IDS_HELP,
                    required: false,
                },
                Opt {
                    long: "start-id",
                    short: None,
                    value: Some("N"),
                    help: "without --ids, number the vectors N, N+1, ... (default 0)",
                    required: false,
                },
                Opt {
                    long: "batch",
                    short: None,
                    value: Some("N"),
                    help: "vectors per write (default 1000)",
                    required: false,
                },
                Opt {
                    long: "durability",
                    short: None,
                    value: Some("MODE"),
                    help: "fsync, flush or none (default none)",
                    required: false,
                },
            ],
            summary: "Load vectors from an .fvecs or .npy file (like mdb_load).",
            details: "\
FILE is .fvecs (records of an int32 dimension and that many float32) or .npy
(little-endian float32, C order, shape (n, d)). Vectors take their ids from
IDS, in file order, or are numbered from --start-id; an existing id is
overwritten. The store is created with the file's dimension if DIR holds
none; a store of another dimension is refused.

The whole input is checked first (sizes, every record's dimension, every value
finite, the id count): a malformed or truncated file is refused before
anything is written. Files are streamed, so they may be larger than memory.

Durability: by default (none) the import writes without a log and
checkpoints once at the end: fast, and all or nothing: if the import fails
or is killed, the store returns to its state before the import. With fsync
or flush every batch is logged and kept as it is written, so a failure
leaves the batches already written.",
        },
        run: transfer::import,
    },
    Command {
        spec: Spec {
            name: "export",
            args: &["DIR", "FILE"],
            opts: &[Opt {
                long: "ids",
                short: None,
                value: Some("IDS"),
                help: IDS_HELP,
                required: false,
            }],
            summary: "Write every vector to an .fvecs or .npy file (like mdb_dump).",
            details: "\
Opens the store read-only and writes its vectors bit for bit, in storage
order, to FILE (.fvecs or .npy by extension) and their ids, in the same
order, to IDS if given. An .ivecs file holds ids up to 2^31-1; a larger id
fails the export (use a .u64 file). Files are written under a temporary
name and appear only when complete.",
        },
        run: transfer::export,
    },
    Command {
        spec: Spec {
            name: "search",
            args: &["DIR"],
            opts: &[
                Opt {
                    long: "query",
                    short: Some('q'),
                    value: Some("FILE"),
                    help: "queries, one vector per row (.fvecs or .npy)",
                    required: true,
                },
                Opt {
                    long: "k",
                    short: Some('k'),
                    value: Some("N"),
                    help: "neighbours per query (default 10)",
                    required: false,
                },
                Opt {
                    long: "metric",
                    short: None,
                    value: Some("METRIC"),
                    help: "l2 (squared), dot (negative inner product) or cosine (default l2)",
                    required: false,
                },
            ],
            summary: "Find the nearest stored vectors of each query (exact search).",
            details: "\
Prints, for each query, a line '# query I' and then one line per neighbour,
closest first: the id and the distance, separated by a tab. Blocks are
separated by a blank line. Smaller distances are closer for every metric.",
        },
        run: search,
    },
    Command {
        spec: Spec {
            name: "compact",
            args: &["DIR"],
            opts: &[],
            summary: "Reclaim the space of overwritten and deleted vectors.",
            details: "\
Opens the store for writing, moves the live vectors out of segments with dead
slots, and deletes those segments. Readers may keep using the store meanwhile
(in other processes, through read-only handles opened before).",
        },
        run: compact,
    },
    Command {
        spec: Spec {
            name: "checkpoint",
            args: &["DIR"],
            opts: &[],
            summary: "Write the index and trim the log, so the next open is instant.",
            details: "\
Opens the store for writing (which replays the log left by a writer that did
not close the store) and writes a checkpoint, leaving the log empty.",
        },
        run: checkpoint,
    },
];

fn stat(_spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let store = open_read_only(dir)?;
    let s = store.stats();
    let segments = segment_files(dir)
        .map_err(|e| Failure::new(code::OTHER, format!("{}: {e}", dir.display())))?;
    let fields: [(&str, String); 9] = [
        ("dimension", s.dimension.to_string()),
        ("vectors", s.vectors.to_string()),
        ("data_bytes", s.data_bytes.to_string()),
        ("log_bytes", s.log_bytes.to_string()),
        ("live_bytes", s.live_bytes.to_string()),
        ("fragmentation", s.fragmentation.to_string()),
        ("segments", segments.to_string()),
        ("format_version", vecstore::FORMAT_VERSION.to_string()),
        ("library_version", json_string(&library_version())),
    ];
    let mut out = String::new();
    if p.flag("json") {
        out.push_str(&format!(
            "{{\"path\": {}",
            json_string(&dir.display().to_string())
        ));
        for (name, value) in &fields {
            let _ = write!(out, ", \"{name}\": {value}");
        }
        out.push_str("}\n");
    } else {
        let _ = writeln!(out, "Store: {}", dir.display());
        for (name, value) in &fields {
            let value = match *name {
                "fragmentation" => format!("{:.2}%", s.fragmentation * 100.0),
                "library_version" => library_version(),
                _ => value.clone(),
            };
            let _ = writeln!(out, "  {:<16} {value}", name.replace('_', " "));
        }
    }
    Ok(Report::ok(out))
}

fn verify(_spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let mut out = format!("store: {}\n", dir.display());
    let store = match open_read_only(dir) {
        Ok(store) => store,
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            let _ = writeln!(
                out,
                "problem: {}\nresult: damaged (the store does not open)",
                e.message()
            );
            return Ok(Report {
                out,
                code: code::PROBLEMS,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let report = store.verify();
    let _ = writeln!(out, "dimension: {}", store.dimension());
    let _ = writeln!(
        out,
        "segments: {} ({} slots used, {} dead)",
        report.segments, report.slots_used, report.dead_slots
    );
    let mut problems = report.problems.clone();
    let mut progress = Progress::new("reading", report.vectors);
    let mut cursor = store.cursor();
    let (mut read, mut unreadable) = (0u64, 0u64);
    loop {
        match cursor.next() {
            Ok(Some(_)) => read += 1,
            Ok(None) => break,
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                unreadable += 1;
                problems.push(format!("read: {}", e.message()));
            }
            Err(e) => return Err(e.into()),
        }
        progress.add(1);
    }
    progress.finish();
    if read + unreadable != report.vectors {
        problems.push(format!(
            "the index has {} vectors but a scan finds {} live slots",
            report.vectors,
            read + unreadable
        ));
    }
    let _ = writeln!(
        out,
        "vectors: {} in the index, {read} read through a cursor, {unreadable} unreadable",
        report.vectors
    );
    for problem in &problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    if problems.is_empty() {
        out.push_str("result: sound\n");
        Ok(Report::ok(out))
    } else {
        let _ = writeln!(out, "result: damaged ({} problems)", problems.len());
        Ok(Report {
            out,
            code: code::PROBLEMS,
        })
    }
}

fn search(spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let query = p.value("query").expect("required option");
    let k: usize = p.number(spec, "k", 10)?;
    let metric = p.choice(
        spec,
        "metric",
        &[
            ("l2", Metric::L2),
            ("dot", Metric::Dot),
            ("cosine", Metric::Cosine),
        ],
        Metric::L2,
    )?;
    if k == 0 {
        return Err(usage_error(spec, "-k must be at least 1"));
    }
    let store = open_read_only(dir)?;
    let (dim, queries) = formats::read_all(Path::new(query))?;
    if queries.is_empty() {
        return Err(Failure::input(format!("{query}: holds no query")));
    }
    if dim != store.dimension() {
        return Err(Failure::input(format!(
            "{query}: queries have dimension {dim}, the store has dimension {}",
            store.dimension()
        )));
    }
    let mut out = String::new();
    for (i, neighbours) in store.search_batch(&queries, k, metric)?.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "# query {i}");
        for n in neighbours {
            let _ = writeln!(out, "{}\t{}", n.id, n.distance);
        }
    }
    Ok(Report::ok(out))
}

fn compact(_spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let store = open_writer(dir, Durability::Fsync)?;
    let before = store.stats();
    let reclaimed = store.compact()?;
    let after = store.stats();
    store.close()?;
    Ok(Report::ok(format!(
        "compacted {}: reclaimed {reclaimed} bytes; data {} -> {} bytes; fragmentation {:.2}% -> {:.2}%\n",
        dir.display(),
        before.data_bytes,
        after.data_bytes,
        before.fragmentation * 100.0,
        after.fragmentation * 100.0
    )))
}

fn checkpoint(_spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let store = open_writer(dir, Durability::Fsync)?;
    store.checkpoint()?;
    let log = store.stats().log_bytes;
    store.close()?;
    Ok(Report::ok(format!(
        "checkpointed {}: {log} log bytes left\n",
        dir.display()
    )))
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            super::json_string("a\"b\\c\n\u{1}é"),
            r#""a\"b\\c\n\u0001é""#
        );
    }
}
