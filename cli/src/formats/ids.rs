//! Id files: `.ivecs` (records of dimension 1 holding an int32 id, so ids up
//! to 2^31-1), `.u64` (raw little-endian u64 ids, any id) or `.npy` (int64
//! or uint64, read through `npyz`; uint64 written).

use std::path::Path;

use npyz::{NpyWriter, WriterBuilder};

use super::npy::Ids;
use super::{fvecs, write_failure, Input, InputFile, Output, Place};
use crate::fail::{code, Failure};

#[derive(Clone, Copy)]
enum Kind {
    Ivecs,
    U64,
    Npy,
}

fn id_format(path: &Path) -> Result<Kind, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ivecs") => Ok(Kind::Ivecs),
        Some("u64") => Ok(Kind::U64),
        Some("npy") => Ok(Kind::Npy),
        _ => Err(Failure::usage(format!(
            "{}: an id file must end in .ivecs, .u64 or .npy",
            path.display()
        ))),
    }
}

enum Source {
    Ivecs { input: Input, words: Vec<i32> },
    U64(Input),
    Npy { ids: Ids, name: String },
}

/// Streams the ids of an id file.
pub struct IdReader {
    source: Source,
    count: u64,
    next: u64,
}

/// Opens an id file, checking its size.
pub fn open_ids(path: &Path) -> Result<IdReader, Failure> {
    let kind = id_format(path)?;
    let file = InputFile::open(&Place::Path(path.to_path_buf()))?;
    IdReader::new(&file, kind)
}

impl IdReader {
    /// The ids of an `.npy` file (an `.npz` archive's `ids` array).
    pub fn npy(file: &InputFile) -> Result<IdReader, Failure> {
        IdReader::new(file, Kind::Npy)
    }

    fn new(file: &InputFile, kind: Kind) -> Result<IdReader, Failure> {
        let mut input = file.input()?;
        let (source, count) = match kind {
            Kind::Ivecs => match fvecs::layout(&mut input)? {
                (0 | 1, n) => (
                    Source::Ivecs {
                        input,
                        words: Vec::new(),
                    },
                    n,
                ),
                (d, _) => {
                    return Err(input.bad(format!(
                        "records have dimension {d}; an id file has one id per record"
                    )))
                }
            },
            Kind::U64 if !input.len().is_multiple_of(8) => {
                return Err(input.bad(format!(
                    "{} bytes is not a whole number of 8-byte ids: the file is truncated",
                    input.len()
                )))
            }
            Kind::U64 => {
                let n = input.len() / 8;
                (Source::U64(input), n)
            }
            Kind::Npy => {
                let (ids, n, name) = Ids::open(input)?;
                (Source::Npy { ids, name }, n)
            }
        };
        Ok(IdReader {
            source,
            count,
            next: 0,
        })
    }

    /// Ids in the file.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends up to `max` ids to `out`; returns how many, 0 at the end.
    pub fn read_ids(&mut self, out: &mut Vec<u64>, max: usize) -> Result<usize, Failure> {
        let n = (self.count - self.next).min(max as u64) as usize;
        for _ in 0..n {
            let id = match &mut self.source {
                Source::Ivecs { input, words } => {
                    words.clear();
                    fvecs::read_record(input, 1, self.next, words, i32::from_le_bytes)?;
                    u64::try_from(words[0]).map_err(|_| {
                        input.bad(format!(
                            "record {} holds id {}; ids are non-negative",
                            self.next, words[0]
                        ))
                    })?
                }
                Source::U64(input) => {
                    let mut b = [0u8; 8];
                    input.read_exact(&mut b)?;
                    u64::from_le_bytes(b)
                }
                Source::Npy { ids, name } => ids.next(name, self.next)?,
            };
            out.push(id);
            self.next += 1;
        }
        Ok(n)
    }
}

/// Checks that `path` names an id file this tool writes.
pub fn check_id_path(path: &Path) -> Result<(), Failure> {
    id_format(path).map(drop)
}

/// Writes an id file into an [`Output`].
pub enum IdWriter<'a> {
    Ivecs(&'a mut Output),
    U64(&'a mut Output),
    Npy {
        npy: NpyWriter<u64, &'a mut Output>,
        name: String,
    },
}

/// Starts an id file at `path` (its extension says which kind) in `output`.
pub fn create_ids<'a>(path: &Path, output: &'a mut Output) -> Result<IdWriter<'a>, Failure> {
    Ok(match id_format(path)? {
        Kind::Ivecs => IdWriter::Ivecs(output),
        Kind::U64 => IdWriter::U64(output),
        Kind::Npy => {
            let name = path.display().to_string();
            let npy = npyz::WriteOptions::new()
                .default_dtype()
                .writer(output)
                .begin_1d()
                .map_err(|e| write_failure(&name, true, &e))?;
            IdWriter::Npy { npy, name }
        }
    })
}

impl IdWriter<'_> {
    pub fn write_id(&mut self, id: u64) -> Result<(), Failure> {
        match self {
            IdWriter::Ivecs(output) => {
                let id = i32::try_from(id).map_err(|_| {
                    Failure::new(code::OTHER, format!(
                        "id {id} does not fit an .ivecs file (int32); write the ids to a .u64 or .npy file instead"
                    ))
                })?;
                output.write_bytes(&1i32.to_le_bytes())?;
                output.write_bytes(&id.to_le_bytes())
            }
            IdWriter::U64(output) => output.write_bytes(&id.to_le_bytes()),
            IdWriter::Npy { npy, name } => npy.push(&id).map_err(|e| write_failure(name, true, &e)),
        }
    }

    /// Completes the file (the output's `commit` then makes it appear).
    pub fn finish(self) -> Result<(), Failure> {
        match self {
            IdWriter::Npy { npy, name } => npy.finish().map_err(|e| write_failure(&name, true, &e)),
            _ => Ok(()),
        }
    }
}
