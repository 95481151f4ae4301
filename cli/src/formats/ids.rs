//! Id files: `.ivecs` (records of dimension 1 holding an int32 id, so ids up
//! to 2^31-1) or `.u64` (raw little-endian u64 ids, any id).

use std::path::Path;

use super::{fvecs, Input, Output};
use crate::fail::{code, Failure};

enum Kind {
    Ivecs,
    U64,
}

fn id_format(path: &Path) -> Result<Kind, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ivecs") => Ok(Kind::Ivecs),
        Some("u64") => Ok(Kind::U64),
        _ => Err(Failure::usage(format!(
            "{}: an id file must end in .ivecs or .u64",
            path.display()
        ))),
    }
}

/// Streams the ids of an id file.
pub struct IdReader {
    input: Input,
    kind: Kind,
    count: u64,
    next: u64,
    words: Vec<i32>,
}

/// Opens an id file, checking its size.
pub fn open_ids(path: &Path) -> Result<IdReader, Failure> {
    let kind = id_format(path)?;
    let mut input = Input::open(path)?;
    let count = match kind {
        Kind::Ivecs => match fvecs::layout(&mut input)? {
            (0 | 1, n) => n,
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
        Kind::U64 => input.len() / 8,
    };
    Ok(IdReader {
        input,
        kind,
        count,
        next: 0,
        words: Vec::new(),
    })
}

impl IdReader {
    /// Ids in the file.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends up to `max` ids to `out`; returns how many, 0 at the end.
    pub fn read_ids(&mut self, out: &mut Vec<u64>, max: usize) -> Result<usize, Failure> {
        let n = (self.count - self.next).min(max as u64) as usize;
        for _ in 0..n {
            let id = match self.kind {
                Kind::Ivecs => {
                    self.words.clear();
                    fvecs::read_record(
                        &mut self.input,
                        1,
                        self.next,
                        &mut self.words,
                        i32::from_le_bytes,
                    )?;
                    u64::try_from(self.words[0]).map_err(|_| {
                        self.input.bad(format!(
                            "record {} holds id {}; ids are non-negative",
                            self.next, self.words[0]
                        ))
                    })?
                }
                Kind::U64 => {
                    let mut b = [0u8; 8];
                    self.input.read_exact(&mut b)?;
                    u64::from_le_bytes(b)
                }
            };
            out.push(id);
            self.next += 1;
        }
        Ok(n)
    }
}

/// Writes an id file.
pub struct IdWriter {
    output: Output,
    kind: Kind,
}

/// Creates an id file.
pub fn create_ids(path: &Path) -> Result<IdWriter, Failure> {
    let kind = id_format(path)?;
    Ok(IdWriter {
        output: Output::create(path)?,
        kind,
    })
}

impl IdWriter {
    pub fn write_id(&mut self, id: u64) -> Result<(), Failure> {
        match self.kind {
            Kind::Ivecs => {
                let id = i32::try_from(id).map_err(|_| {
                    Failure::new(code::OTHER, format!(
                        "id {id} does not fit an .ivecs file (int32); write the ids to a .u64 file instead"
                    ))
                })?;
                self.output.write(&1i32.to_le_bytes())?;
                self.output.write(&id.to_le_bytes())
            }
            Kind::U64 => self.output.write(&id.to_le_bytes()),
        }
    }

    pub fn finish(self) -> Result<(), Failure> {
        self.output.commit()
    }
}
