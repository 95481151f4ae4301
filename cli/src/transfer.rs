//! `import` and `export`: streaming vectors between files (or standard
//! input and output) and a store.

use std::path::PathBuf;

use vecstore::{Durability, ErrorKind, Options, Store};

use crate::cli::{ExportArgs, Format, ImportArgs};
use crate::fail::{code, Failure};
use crate::formats::{
    self, check_finite, check_id_path, create_ids, open_ids, IdReader, InputFile, Output, Place,
    VectorFile, VectorReader,
};
use crate::progress::Progress;
use crate::report::Report;
use crate::store::{open, open_read_only};

/// Where the ids of imported vectors come from.
enum IdSpec {
    /// An id file.
    File(PathBuf),
    /// An `.npz` archive's `ids` array.
    Npz(InputFile),
    /// The vector file's own (`.jsonl`).
    Embedded,
    /// Numbered from this one on.
    Sequential(u64),
}

enum Ids {
    Reader(Box<IdReader>),
    Embedded,
    Sequential(u64),
}

/// Vectors and their ids, read in step.
struct Source {
    vectors: Box<dyn VectorReader>,
    ids: Ids,
    name: String,
    done: u64,
}

impl Source {
    fn open(file: &VectorFile, name: &str, spec: &IdSpec) -> Result<Source, Failure> {
        let vectors = file.reader()?;
        let ids = match spec {
            IdSpec::File(_) | IdSpec::Npz(_) => {
                let (reader, what) = match spec {
                    IdSpec::File(path) => (open_ids(path)?, path.display().to_string()),
                    IdSpec::Npz(ids) => (IdReader::npy(ids)?, ids.name().to_string()),
                    _ => unreachable!("matched above"),
                };
                if reader.count() != vectors.rows() {
                    return Err(Failure::input(format!(
                        "{what} holds {} ids for the {} vectors of {name}",
                        reader.count(),
                        vectors.rows(),
                    )));
                }
                Ids::Reader(Box::new(reader))
            }
            IdSpec::Embedded => Ids::Embedded,
            IdSpec::Sequential(start) => {
                if vectors.rows() > 0 && start.checked_add(vectors.rows() - 1).is_none() {
                    return Err(Failure::input(format!(
                        "{} vectors from id {start} would pass the largest id",
                        vectors.rows()
                    )));
                }
                Ids::Sequential(*start)
            }
        };
        Ok(Source {
            vectors,
            ids,
            name: name.to_string(),
            done: 0,
        })
    }

    /// Replaces `rows` and `ids` with up to `max` next vectors (all finite);
    /// returns how many.
    fn next_batch(
        &mut self,
        rows: &mut Vec<f32>,
        ids: &mut Vec<u64>,
        max: usize,
    ) -> Result<usize, Failure> {
        rows.clear();
        ids.clear();
        let n = self.vectors.read_rows(rows, ids, max)?;
        check_finite(&self.name, rows, self.vectors.dim(), self.done)?;
        match &mut self.ids {
            Ids::Reader(reader) => {
                reader.read_ids(ids, n)?;
            }
            Ids::Embedded => {}
            Ids::Sequential(next) => {
                ids.extend(*next..*next + n as u64);
                *next += n as u64;
            }
        }
        self.done += n as u64;
        Ok(n)
    }

    /// Reads everything, calling `each` on every batch, with a progress bar.
    fn for_each_batch(
        &mut self,
        label: &'static str,
        batch: usize,
        mut each: impl FnMut(&[u64], &[f32]) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let progress = Progress::new(label, self.vectors.rows());
        let (mut rows, mut ids) = (Vec::new(), Vec::new());
        loop {
            let n = self.next_batch(&mut rows, &mut ids, batch)?;
            if n == 0 {
                progress.finish();
                return Ok(());
            }
            each(&ids, &rows)?;
            progress.add(n as u64);
        }
    }
}

pub fn import(a: &ImportArgs) -> Result<Report, Failure> {
    let dir = a.dir.as_path();
    let place = Place::new(&a.file);
    let format = formats::vector_format(&place, a.format)?;
    let batch = usize::try_from(a.batch).unwrap_or(usize::MAX);
    let durability = a.durability.durability();
    if let Some(ids) = &a.ids {
        check_id_path(ids)?;
    }
    if format == Format::Jsonl && (a.ids.is_some() || a.start_id.is_some()) {
        return Err(Failure::usage(
            "a .jsonl file carries its own ids: --ids and --start-id do not apply",
        ));
    }
    let options = Options {
        durability,
        create_if_missing: false,
        ..Options::default()
    };
    // An existing store is opened first, so that a lock or a dimension
    // mismatch is reported before the file is read.
    let existing = match open(dir, &options) {
        Ok(store) => Some(store),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let name = place.name(true);
    let file = VectorFile::open(&place, format)?;
    let spec = match (&a.ids, format) {
        (Some(path), _) => IdSpec::File(path.clone()),
        (None, Format::Jsonl) => IdSpec::Embedded,
        (None, Format::Npz) if a.start_id.is_none() => match file.npz_ids()? {
            Some(ids) => IdSpec::Npz(ids),
            None => IdSpec::Sequential(0),
        },
        (None, _) => IdSpec::Sequential(a.start_id.unwrap_or(0)),
    };
    let mut source = Source::open(&file, &name, &spec)?;
    let (dim, rows) = (source.vectors.dim(), source.vectors.rows());
    if let Some(store) = &existing {
        if rows > 0 && store.dimension() != dim {
            return Err(Failure::input(format!(
                "{name} holds vectors of dimension {dim}, the store {} has dimension {}",
                dir.display(),
                store.dimension()
            )));
        }
    }
    if rows == 0 {
        if existing.is_none() {
            return Err(Failure::input(format!(
                "{name} holds no vectors; no store was created"
            )));
        }
        return Ok(Report::ok(format!(
            "{name} holds no vectors; nothing was imported\n"
        )));
    }
    let note = file.note()?;
    if let Some(note) = &note {
        eprintln!("{note}");
    }
    // Nothing is written until the whole input is known to be sound.
    source.for_each_batch("checking", batch, |_, _| Ok(()))?;
    let store = match existing {
        Some(store) => store,
        None => Store::open(
            dir,
            dim,
            &Options {
                create_if_missing: true,
                ..options
            },
        )?,
    };
    let mut source = Source::open(&file, &name, &spec)?;
    let loaded = load(&store, &mut source, batch);
    if let Err(mut failure) = loaded {
        if durability == Durability::None {
            // Nothing of this import is durable yet: dropping the handle would
            // checkpoint the batches written so far, so leak it instead and
            // let the next open return to the state before the import.
            std::mem::forget(store);
            failure
                .message
                .push_str("\nnothing was imported: the store is as it was before");
        }
        return Err(failure);
    }
    store.close()?;
    Ok(Report::ok(format!(
        "imported {rows} vectors of dimension {dim} from {name} into {}\n",
        dir.display()
    )))
}

/// Writes every vector of `source`, then makes it durable.
fn load(store: &Store, source: &mut Source, batch: usize) -> Result<(), Failure> {
    // Room for the whole file at once (one segment, and a full disk is
    // found before anything is written), unless it exceeds a segment's limit.
    let rows = source.vectors.rows();
    if rows <= u64::from(u32::MAX) {
        store.reserve(rows)?;
    }
    source.for_each_batch("importing", batch, |ids, rows| {
        store.put_batch(ids, rows).map_err(Failure::from)
    })?;
    store.checkpoint()?;
    Ok(())
}

pub fn export(a: &ExportArgs) -> Result<Report, Failure> {
    let dir = a.dir.as_path();
    let place = Place::new(&a.file);
    let format = formats::vector_format(&place, a.format)?;
    if format == Format::Npz {
        return Err(Failure::usage(
            "export writes .fvecs, .npy or .jsonl, not .npz",
        ));
    }
    if let Some(ids) = &a.ids {
        check_id_path(ids)?;
    }
    let store = open_read_only(dir)?;
    // The count, then the cursor: on a store being written they may differ,
    // which only an .npy on standard output refuses (its header announces
    // the count before the first vector; a file's header is written last).
    let total = store.len();
    let mut cursor = store.cursor();
    let mut output = Output::create(&place)?;
    let mut id_output = match &a.ids {
        Some(path) => Some((path.as_path(), Output::create(&Place::Path(path.clone()))?)),
        None => None,
    };
    let mut written = 0u64;
    let mut damaged = Vec::new();
    {
        let mut vectors = formats::create_vectors(&mut output, format, store.dimension(), total)?;
        let mut ids = match &mut id_output {
            Some((path, out)) => Some(create_ids(path, out)?),
            None => None,
        };
        let progress = Progress::new("exporting", total);
        loop {
            match cursor.next() {
                Ok(Some((id, row))) => {
                    vectors.write_row(id, row)?;
                    if let Some(ids) = &mut ids {
                        ids.write_id(id)?;
                    }
                    written += 1;
                }
                Ok(None) => break,
                Err(e) if a.skip_damaged && e.kind() == ErrorKind::Corrupt => {
                    damaged.push(e.message().to_string());
                }
                Err(e) => return Err(e.into()),
            }
            progress.add(1);
        }
        progress.finish();
        vectors.finish()?;
        if let Some(ids) = ids {
            ids.finish()?;
        }
    }
    output.commit()?;
    if let Some((_, out)) = id_output {
        out.commit()?;
    }
    let summary = format!(
        "exported {written} vectors of dimension {} from {} to {}\n",
        store.dimension(),
        dir.display(),
        place.name(false)
    );
    // Standard output holds the data: the summary is not printed there.
    let out = if place == Place::Std {
        String::new()
    } else {
        summary
    };
    if damaged.is_empty() {
        return Ok(Report::ok(out));
    }
    Ok(Report {
        out,
        err: damage_report(&store, &damaged),
        code: code::PROBLEMS,
    })
}

/// The stderr report of an export that skipped damaged vectors: their ids
/// (from a verification, which knows which id each damaged slot held) and
/// the cursor's messages.
fn damage_report(store: &Store, damaged: &[String]) -> String {
    let mut ids: Vec<u64> = store
        .verify()
        .problems
        .iter()
        .filter_map(|p| p.strip_prefix("id ")?.split(':').next()?.parse().ok())
        .collect();
    ids.sort_unstable();
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    let mut err = format!(
        "skipped {} damaged vectors (every intact vector was exported)\n",
        damaged.len()
    );
    if !ids.is_empty() {
        err.push_str(&format!("damaged ids: {}\n", ids.join(" ")));
    }
    for message in damaged {
        err.push_str(&format!("damaged: {message}\n"));
    }
    err
}
