//! The inspection, record and maintenance commands (`import` and `export`
//! live in `transfer`). JSON output is built with `serde_json`.

use std::fmt::Write;
use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use vecstore::{Durability, ErrorKind, Store};

use crate::cli::{Mode, SearchArgs};
use crate::fail::{code, Failure};
use crate::formats::{self, Place};
use crate::progress::Progress;
use crate::report::Report;
use crate::store::{library_version, open_read_only, open_writer, segment_files, unreplayed_log};

pub fn stat(dir: &Path, as_json: bool) -> Result<Report, Failure> {
    let store = open_read_only(dir)?;
    let s = store.stats();
    let segments = segment_files(dir)
        .map_err(|e| Failure::new(code::OTHER, format!("{}: {e}", dir.display())))?;
    // A read-only handle keeps no log: what a writer's open would replay
    // is read from the files (after a crash, what the writer left).
    let (log_bytes, log_records) = unreplayed_log(dir).map_err(|e| {
        Failure::new(
            code::OTHER,
            format!("{}: reading the log: {e}", dir.display()),
        )
    })?;
    let mut out = String::new();
    if as_json {
        let value = json!({
            "path": dir.display().to_string(),
            "dimension": s.dimension,
            "vectors": s.vectors,
            "data_bytes": s.data_bytes,
            "log_bytes": log_bytes,
            "log_records": log_records,
            "live_bytes": s.live_bytes,
            "fragmentation": s.fragmentation,
            "segments": segments,
            "format_version": vecstore::FORMAT_VERSION,
            "library_version": library_version(),
        });
        let _ = writeln!(out, "{value}");
    } else {
        let _ = writeln!(out, "Store: {}", dir.display());
        let log = if log_records == 0 {
            "0".to_string()
        } else {
            format!("{log_bytes} ({log_records} records the next read-write open replays)")
        };
        for (name, value) in [
            ("dimension", s.dimension.to_string()),
            ("vectors", s.vectors.to_string()),
            ("data bytes", s.data_bytes.to_string()),
            ("log bytes", log),
            ("live bytes", s.live_bytes.to_string()),
            ("fragmentation", format!("{:.2}%", s.fragmentation * 100.0)),
            ("segments", segments.to_string()),
            ("format version", vecstore::FORMAT_VERSION.to_string()),
            ("library version", library_version()),
        ] {
            let _ = writeln!(out, "  {name:<16} {value}");
        }
    }
    Ok(Report::ok(out))
}

pub fn verify(dir: &Path, as_json: bool) -> Result<Report, Failure> {
    let store = match open_read_only(dir) {
        Ok(store) => store,
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            let out = if as_json {
                format!(
                    "{}\n",
                    json!({
                        "path": dir.display().to_string(),
                        "result": "damaged",
                        "opens": false,
                        "problems": [e.message()],
                    })
                )
            } else {
                format!(
                    "store: {}\nproblem: {}\nresult: damaged (the store does not open)\n",
                    dir.display(),
                    e.message()
                )
            };
            return Ok(Report {
                out,
                err: String::new(),
                code: code::PROBLEMS,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let report = store.verify();
    let mut problems = report.problems.clone();
    let progress = Progress::new("reading", report.vectors);
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
    let sound = problems.is_empty();
    let mut out = String::new();
    if as_json {
        let value = json!({
            "path": dir.display().to_string(),
            "result": if sound { "sound" } else { "damaged" },
            "opens": true,
            "dimension": store.dimension(),
            "segments": report.segments,
            "slots_used": report.slots_used,
            "dead_slots": report.dead_slots,
            "vectors": report.vectors,
            "read": read,
            "unreadable": unreadable,
            "problems": problems,
        });
        let _ = writeln!(out, "{value}");
    } else {
        let _ = writeln!(out, "store: {}", dir.display());
        let _ = writeln!(out, "dimension: {}", store.dimension());
        let _ = writeln!(
            out,
            "segments: {} ({} slots used, {} dead)",
            report.segments, report.slots_used, report.dead_slots
        );
        let _ = writeln!(
            out,
            "vectors: {} in the index, {read} read through a cursor, {unreadable} unreadable",
            report.vectors
        );
        for problem in &problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        if sound {
            out.push_str("result: sound\n");
        } else {
            let _ = writeln!(out, "result: damaged ({} problems)", problems.len());
        }
    }
    Ok(Report {
        out,
        err: String::new(),
        code: if sound { code::OK } else { code::PROBLEMS },
    })
}

pub fn search(a: &SearchArgs) -> Result<Report, Failure> {
    let store = open_read_only(&a.dir)?;
    let place = Place::new(&a.query);
    let format = formats::vector_format(&place, a.format)?;
    let name = place.name(true);
    let (dim, queries) = formats::read_all(&place, format)?;
    if queries.is_empty() {
        return Err(Failure::input(format!("{name}: holds no query")));
    }
    if dim != store.dimension() {
        return Err(Failure::input(format!(
            "{name}: queries have dimension {dim}, the store has dimension {}",
            store.dimension()
        )));
    }
    let k = usize::try_from(a.k).unwrap_or(usize::MAX);
    let mut out = String::new();
    for (i, neighbours) in store
        .search_batch(&queries, k, a.metric.metric())?
        .iter()
        .enumerate()
    {
        if a.json {
            let list: Vec<Value> = neighbours
                .iter()
                .map(|n| json!({"id": n.id, "distance": n.distance}))
                .collect();
            let _ = writeln!(out, "{}", json!({"query": i, "neighbors": list}));
            continue;
        }
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

pub fn get(dir: &Path, id: u64, as_json: bool) -> Result<Report, Failure> {
    let store = open_read_only(dir)?;
    let mut vector = vec![0f32; store.dimension() as usize];
    match store.get(id, &mut vector) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Failure::new(
                code::NO_ID,
                format!("{}: no vector with id {id}", dir.display()),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let out = if as_json {
        format!("{}\n", json!({"id": id, "vector": vector}))
    } else {
        // serde_json writes each float as the shortest decimal that reads
        // back to the same float32.
        let values: Vec<String> = vector
            .iter()
            .map(|v| serde_json::to_string(v).expect("a finite float"))
            .collect();
        format!("{}\n", values.join(" "))
    };
    Ok(Report::ok(out))
}

pub fn put(dir: &Path, id: u64, values: &[f32], mode: Mode) -> Result<Report, Failure> {
    let store = open_writer(dir, mode.durability())?;
    let vector = if values.is_empty() {
        read_vector_from_stdin()?
    } else {
        values.to_vec()
    };
    if vector.len() != store.dimension() as usize {
        return Err(Failure::input(format!(
            "the vector has {} values, the store {} has dimension {}",
            vector.len(),
            dir.display(),
            store.dimension()
        )));
    }
    store.put(id, &vector)?;
    finish_write(store, mode)?;
    Ok(Report::ok(format!("put id {id} into {}\n", dir.display())))
}

/// A vector from standard input: a JSON array, or numbers separated by
/// spaces, commas or newlines.
fn read_vector_from_stdin() -> Result<Vec<f32>, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::input(format!("standard input: {e}")))?;
    let text = text.trim();
    if text.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| {
            Failure::input(format!("standard input: not a JSON array of numbers: {e}"))
        });
    }
    let vector: Vec<f32> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.parse()
                .map_err(|_| Failure::input(format!("standard input: '{w}' is not a number")))
        })
        .collect::<Result<_, _>>()?;
    if vector.is_empty() {
        return Err(Failure::input(
            "no values given: pass them as arguments or on standard input",
        ));
    }
    Ok(vector)
}

pub fn delete(dir: &Path, ids: &[u64], mode: Mode) -> Result<Report, Failure> {
    let store = open_writer(dir, mode.durability())?;
    // This handle is the only writer: what it holds now is what the delete
    // finds.
    let missing: Vec<String> = ids
        .iter()
        .filter(|&&id| !store.contains(id))
        .map(u64::to_string)
        .collect();
    let deleted = store.delete_batch(ids)?;
    finish_write(store, mode)?;
    let out = format!("deleted {deleted} vectors from {}\n", dir.display());
    if missing.is_empty() {
        return Ok(Report::ok(out));
    }
    Ok(Report {
        out,
        err: format!("no vector with id {}\n", missing.join(", ")),
        code: code::NO_ID,
    })
}

/// Ends a one-record write. Under a logged mode the record is durable
/// (fsync) or in the kernel (flush) already, and stays in the log for the
/// next writer's open or checkpoint to take in, as any writer's records do:
/// the handle is released without the close's checkpoint, which would
/// rewrite the whole index for one record. Without a log, the close's
/// checkpoint is what makes the write durable.
fn finish_write(store: Store, mode: Mode) -> Result<(), Failure> {
    if mode.durability() == Durability::None {
        store.close()?;
    } else {
        std::mem::forget(store);
    }
    Ok(())
}

pub fn copy(src: &Path, dest: &Path) -> Result<Report, Failure> {
    let store = open_read_only(src)?;
    let copied = store.copy_to(dest).map_err(|e| {
        let failure = Failure::from(e);
        Failure::new(
            failure.code,
            format!("copying to {}: {}", dest.display(), failure.message),
        )
    })?;
    Ok(Report::ok(format!(
        "copied {copied} vectors of dimension {} from {} to {}\n",
        store.dimension(),
        src.display(),
        dest.display()
    )))
}

pub fn compact(dir: &Path) -> Result<Report, Failure> {
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

pub fn checkpoint(dir: &Path) -> Result<Report, Failure> {
    let store = open_writer(dir, Durability::Fsync)?;
    store.checkpoint()?;
    let log = store.stats().log_bytes;
    store.close()?;
    Ok(Report::ok(format!(
        "checkpointed {}: {log} log bytes left\n",
        dir.display()
    )))
}
