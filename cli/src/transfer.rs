//! `import` and `export`: streaming vectors between files and a store.

use std::path::Path;

use vecstore::{Durability, ErrorKind, Options, Store};

use crate::args::{usage_error, Parsed, Spec};
use crate::fail::Failure;
use crate::formats::{self, check_finite, IdReader, VectorReader};
use crate::progress::Progress;
use crate::report::Report;
use crate::store::{open, open_read_only};

pub const DURABILITIES: &[(&str, Durability)] = &[
    ("fsync", Durability::Fsync),
    ("flush", Durability::Flush),
    ("none", Durability::None),
];

/// Where the ids of imported vectors come from.
enum Ids {
    File(IdReader),
    Sequential(u64),
}

/// Vectors and their ids, read in step.
struct Source {
    vectors: Box<dyn VectorReader>,
    ids: Ids,
    path: String,
    done: u64,
}

impl Source {
    fn open(file: &Path, ids: Option<&Path>, start_id: u64) -> Result<Source, Failure> {
        let vectors = formats::open_vectors(file)?;
        let ids = match ids {
            Some(path) => {
                let reader = formats::open_ids(path)?;
                if reader.count() != vectors.rows() {
                    return Err(Failure::input(format!(
                        "{} holds {} ids for the {} vectors of {}",
                        path.display(),
                        reader.count(),
                        vectors.rows(),
                        file.display()
                    )));
                }
                Ids::File(reader)
            }
            None => {
                if vectors.rows() > 0 && start_id.checked_add(vectors.rows() - 1).is_none() {
                    return Err(Failure::input(format!(
                        "{} vectors from id {start_id} would pass the largest id",
                        vectors.rows()
                    )));
                }
                Ids::Sequential(start_id)
            }
        };
        Ok(Source {
            vectors,
            ids,
            path: file.display().to_string(),
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
        let n = self.vectors.read_rows(rows, max)?;
        check_finite(Path::new(&self.path), rows, self.vectors.dim(), self.done)?;
        match &mut self.ids {
            Ids::File(reader) => {
                reader.read_ids(ids, n)?;
            }
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
        let mut progress = Progress::new(label, self.vectors.rows());
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

pub fn import(spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let file = Path::new(p.arg(1));
    let ids_file = p.value("ids").map(Path::new);
    let batch: usize = p.number(spec, "batch", 1000)?;
    let start_id: u64 = p.number(spec, "start-id", 0)?;
    let durability = p.choice(spec, "durability", DURABILITIES, Durability::None)?;
    if batch == 0 {
        return Err(usage_error(spec, "--batch must be at least 1"));
    }
    if ids_file.is_some() && p.value("start-id").is_some() {
        return Err(usage_error(spec, "give --ids or --start-id, not both"));
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
    let mut source = Source::open(file, ids_file, start_id)?;
    let (dim, rows) = (source.vectors.dim(), source.vectors.rows());
    if let Some(store) = &existing {
        if rows > 0 && store.dimension() != dim {
            return Err(Failure::input(format!(
                "{} holds vectors of dimension {dim}, the store {} has dimension {}",
                file.display(),
                dir.display(),
                store.dimension()
            )));
        }
    }
    if rows == 0 {
        if existing.is_none() {
            return Err(Failure::input(format!(
                "{} holds no vectors; no store was created",
                file.display()
            )));
        }
        return Ok(Report::ok(format!(
            "{} holds no vectors; nothing was imported\n",
            file.display()
        )));
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
    let mut source = Source::open(file, ids_file, start_id)?;
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
        "imported {rows} vectors of dimension {dim} from {} into {}\n",
        file.display(),
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

pub fn export(_spec: &Spec, p: &Parsed) -> Result<Report, Failure> {
    let dir = Path::new(p.arg(0));
    let file = Path::new(p.arg(1));
    let store = open_read_only(dir)?;
    let total = store.len();
    let mut vectors = formats::create_vectors(file, store.dimension(), total)?;
    let mut ids = p
        .value("ids")
        .map(|f| formats::create_ids(Path::new(f)))
        .transpose()?;
    let mut progress = Progress::new("exporting", total);
    let mut cursor = store.cursor();
    while let Some((id, row)) = cursor.next()? {
        vectors.write_row(row)?;
        if let Some(ids) = &mut ids {
            ids.write_id(id)?;
        }
        progress.add(1);
    }
    progress.finish();
    vectors.finish()?;
    if let Some(ids) = ids {
        ids.finish()?;
    }
    Ok(Report::ok(format!(
        "exported {total} vectors of dimension {} from {} to {}\n",
        store.dimension(),
        dir.display(),
        file.display()
    )))
}
