//! Vector and id files: `.fvecs` and `.npy` for vectors, `.ivecs` and `.u64`
//! for ids. Readers stream (a file larger than memory is fine); writers write
//! to a temporary file that replaces the target only once complete.

mod fvecs;
mod ids;
mod npy;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::fail::{code, Failure};

pub use ids::{create_ids, open_ids, IdReader};

/// A streaming reader of vectors, one row per vector.
pub trait VectorReader {
    /// Floats per vector.
    fn dim(&self) -> u32;
    /// Vectors in the file (known from its size and header).
    fn rows(&self) -> u64;
    /// Appends up to `max` rows to `out`; returns how many, 0 at the end.
    fn read_rows(&mut self, out: &mut Vec<f32>, max: usize) -> Result<usize, Failure>;
}

/// A writer of vectors; `finish` makes the file appear at its path.
pub trait VectorWriter {
    fn write_row(&mut self, row: &[f32]) -> Result<(), Failure>;
    fn finish(self: Box<Self>) -> Result<(), Failure>;
}

/// Opens a `.fvecs` or `.npy` file, checking its header and size.
pub fn open_vectors(path: &Path) -> Result<Box<dyn VectorReader>, Failure> {
    let format = vector_format(path)?;
    let input = Input::open(path)?;
    Ok(match format {
        Format::Fvecs => Box::new(fvecs::Reader::new(input)?),
        Format::Npy => Box::new(npy::Reader::new(input)?),
    })
}

/// Creates a `.fvecs` or `.npy` file for `rows` vectors of `dim` floats.
pub fn create_vectors(path: &Path, dim: u32, rows: u64) -> Result<Box<dyn VectorWriter>, Failure> {
    let format = vector_format(path)?;
    let output = Output::create(path)?;
    Ok(match format {
        Format::Fvecs => Box::new(fvecs::Writer::new(output, dim)?),
        Format::Npy => Box::new(npy::Writer::new(output, dim, rows)?),
    })
}

/// Reads a whole (small) vector file: for queries. Returns `(dim, rows)`.
pub fn read_all(path: &Path) -> Result<(u32, Vec<f32>), Failure> {
    let mut reader = open_vectors(path)?;
    let mut rows = Vec::new();
    let mut done = 0u64;
    loop {
        let first = rows.len();
        let n = reader.read_rows(&mut rows, 1024)?;
        if n == 0 {
            return Ok((reader.dim(), rows));
        }
        check_finite(path, &rows[first..], reader.dim(), done)?;
        done += n as u64;
    }
}

/// Fails unless every value of `rows` (the rows from index `first_row` on) is finite.
pub fn check_finite(path: &Path, rows: &[f32], dim: u32, first_row: u64) -> Result<(), Failure> {
    match rows.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(at) => Err(Failure::input(format!(
            "{}: vector {} has a non-finite value ({}) at index {}; vecstore stores finite floats only",
            path.display(),
            first_row + (at / dim as usize) as u64,
            rows[at],
            at % dim as usize
        ))),
    }
}

enum Format {
    Fvecs,
    Npy,
}

fn vector_format(path: &Path) -> Result<Format, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("fvecs") => Ok(Format::Fvecs),
        Some("npy") => Ok(Format::Npy),
        _ => Err(Failure::usage(format!(
            "{}: a vector file must end in .fvecs or .npy",
            path.display()
        ))),
    }
}

/// A buffered input file whose errors name it.
pub(crate) struct Input {
    path: PathBuf,
    len: u64,
    reader: BufReader<File>,
    scratch: Vec<u8>,
}

impl Input {
    fn open(path: &Path) -> Result<Input, Failure> {
        let file = File::open(path).map_err(|e| Failure::input_io(path, &e))?;
        let meta = file.metadata().map_err(|e| Failure::input_io(path, &e))?;
        if !meta.is_file() {
            return Err(Failure::input(format!(
                "{}: not a regular file",
                path.display()
            )));
        }
        Ok(Input {
            path: path.to_path_buf(),
            len: meta.len(),
            reader: BufReader::with_capacity(1 << 20, file),
            scratch: Vec::new(),
        })
    }

    fn len(&self) -> u64 {
        self.len
    }

    /// A failure naming this file.
    fn bad(&self, what: impl std::fmt::Display) -> Failure {
        Failure::input(format!("{}: {what}", self.path.display()))
    }

    /// Goes back to the start of the file.
    fn rewind(&mut self) -> Result<(), Failure> {
        self.reader
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|e| Failure::input_io(&self.path, &e))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Failure> {
        self.reader
            .read_exact(buf)
            .map_err(|e| Failure::input_io(&self.path, &e))
    }

    fn read_u32(&mut self) -> Result<u32, Failure> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Reads `n` little-endian 4-byte values, appending `decode` of each to `out`.
    fn read_words<T>(
        &mut self,
        n: usize,
        out: &mut Vec<T>,
        decode: fn([u8; 4]) -> T,
    ) -> Result<(), Failure> {
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.resize(n * 4, 0);
        let read = self.read_exact(&mut bytes);
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| decode(c.try_into().expect("4 bytes"))),
        );
        self.scratch = bytes;
        read
    }

    /// Reads `n` floats, bit for bit.
    fn read_f32s(&mut self, n: usize, out: &mut Vec<f32>) -> Result<(), Failure> {
        self.read_words(n, out, f32::from_le_bytes)
    }
}

/// An output file written under a temporary name and renamed into place by
/// `commit`; dropped uncommitted, the temporary file is removed.
pub(crate) struct Output {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl Output {
    fn create(path: &Path) -> Result<Output, Failure> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let tmp = path.with_file_name(name);
        let file = File::create(&tmp).map_err(|e| Failure::output_io(&tmp, &e))?;
        Ok(Output {
            path: path.to_path_buf(),
            tmp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let writer = self.writer.as_mut().expect("not committed");
        writer
            .write_all(bytes)
            .map_err(|e| Failure::output_io(&self.tmp, &e))
    }

    fn write_f32s(&mut self, values: &[f32]) -> Result<(), Failure> {
        for v in values {
            self.write(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Flushes, syncs and renames the file into place.
    fn commit(mut self) -> Result<(), Failure> {
        let writer = self.writer.take().expect("committed once");
        let done = writer
            .into_inner()
            .map_err(|e| Failure::output_io(&self.tmp, e.error()))
            .and_then(|file| {
                file.sync_all()
                    .map_err(|e| Failure::output_io(&self.tmp, &e))
            })
            .and_then(|()| {
                std::fs::rename(&self.tmp, &self.path).map_err(|e| {
                    Failure::new(
                        code::OTHER,
                        format!(
                            "rename {} to {}: {e}",
                            self.tmp.display(),
                            self.path.display()
                        ),
                    )
                })
            });
        if done.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        done
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
