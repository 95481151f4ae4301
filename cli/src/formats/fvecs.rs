//! The `.fvecs` family (`.fvecs`, `.ivecs`): records of a little-endian i32
//! dimension `d` followed by `d` little-endian 4-byte values, all records of
//! one file sharing `d`.

use super::{Input, Output, VectorReader, VectorWriter};
use crate::fail::Failure;

/// Reads the first record's dimension and checks that the file is a whole
/// number of records of it; returns `(dim, records)` and rewinds. An empty
/// file is `(0, 0)`.
pub(super) fn layout(input: &mut Input) -> Result<(u32, u64), Failure> {
    if input.len() == 0 {
        return Ok((0, 0));
    }
    let dim = input.read_u32()? as i32;
    if dim <= 0 {
        return Err(input.bad(format!(
            "the first record has dimension {dim}; not an .fvecs/.ivecs file?"
        )));
    }
    let record = 4 + 4 * dim as u64;
    if !input.len().is_multiple_of(record) {
        return Err(input.bad(format!(
            "{} bytes is not a whole number of {record}-byte records of dimension {dim}: \
             the file is truncated, or its records differ in dimension",
            input.len()
        )));
    }
    input.rewind()?;
    Ok((dim as u32, input.len() / record))
}

/// Reads record number `index`, which must have dimension `dim`, appending
/// `decode` of each value to `out`.
pub(super) fn read_record<T>(
    input: &mut Input,
    dim: u32,
    index: u64,
    out: &mut Vec<T>,
    decode: fn([u8; 4]) -> T,
) -> Result<(), Failure> {
    let found = input.read_u32()?;
    if found != dim {
        return Err(input.bad(format!(
            "record {index} has dimension {}, the first record has {dim}",
            found as i32
        )));
    }
    input.read_words(dim as usize, out, decode)
}

/// Streams the vectors of an `.fvecs` file.
pub(super) struct Reader {
    input: Input,
    dim: u32,
    rows: u64,
    next: u64,
}

impl Reader {
    pub(super) fn new(mut input: Input) -> Result<Reader, Failure> {
        let (dim, rows) = layout(&mut input)?;
        Ok(Reader {
            input,
            dim,
            rows,
            next: 0,
        })
    }
}

impl VectorReader for Reader {
    fn dim(&self) -> u32 {
        self.dim
    }

    fn rows(&self) -> u64 {
        self.rows
    }

    fn read_rows(
        &mut self,
        out: &mut Vec<f32>,
        _ids: &mut Vec<u64>,
        max: usize,
    ) -> Result<usize, Failure> {
        let n = (self.rows - self.next).min(max as u64) as usize;
        for _ in 0..n {
            read_record(
                &mut self.input,
                self.dim,
                self.next,
                out,
                f32::from_le_bytes,
            )?;
            self.next += 1;
        }
        Ok(n)
    }
}

/// Writes an `.fvecs` file.
pub(super) struct Writer<'a> {
    output: &'a mut Output,
    dim_prefix: [u8; 4],
    bytes: Vec<u8>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(output: &'a mut Output, dim: u32) -> Result<Writer<'a>, Failure> {
        let dim = i32::try_from(dim).map_err(|_| {
            Failure::input(format!("dimension {dim} does not fit an .fvecs record"))
        })?;
        Ok(Writer {
            output,
            dim_prefix: dim.to_le_bytes(),
            bytes: Vec::new(),
        })
    }
}

impl VectorWriter for Writer<'_> {
    fn write_row(&mut self, _id: u64, row: &[f32]) -> Result<(), Failure> {
        self.bytes.clear();
        self.bytes.extend_from_slice(&self.dim_prefix);
        for v in row {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.output.write_bytes(&self.bytes)
    }

    fn finish(self: Box<Self>) -> Result<(), Failure> {
        Ok(())
    }
}
