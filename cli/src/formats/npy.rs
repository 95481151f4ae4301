//! NumPy files through the `npyz` crate: `.npy` vectors (shape `(n, d)` or
//! `(d,)`, C order; float32, or float64 and float16 converted to float32),
//! `.npy` ids (int64, uint64, int32 or uint32), and the arrays of an `.npz`
//! archive (read with the `zip` crate).

use std::fs::File;
use std::io::BufReader;

use half::f16;
use npyz::{DType, NpyFile, NpyHeader, NpyReader, NpyWriter, Order, TypeChar, WriterBuilder};

use super::{
    bad, read_failure, write_failure, Input, InputFile, Output, VectorReader, VectorWriter,
};
use crate::fail::Failure;

type Data<T> = NpyReader<T, BufReader<File>>;

/// A parsed header whose data size matches the file's.
struct Opened {
    header: NpyHeader,
    input: Input,
    /// `(type character, bytes per value)` of a plain dtype.
    kind: (TypeChar, u64),
}

/// Reads and checks the header; the input is left at the first value.
fn open(mut input: Input) -> Result<Opened, Failure> {
    if input.len() == 0 {
        return Err(input.bad("the file is empty: no .npy header"));
    }
    let header = NpyHeader::from_reader(&mut input.reader).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            input.bad("the file is truncated inside its .npy header")
        } else {
            input.bad(format!("not a valid .npy file: {e}"))
        }
    })?;
    let DType::Plain(ty) = header.dtype() else {
        return Err(input.bad(format!(
            "dtype {} is a structured type; save a plain numeric array",
            header.dtype().descr()
        )));
    };
    let kind = (ty.type_char(), ty.size_field());
    if header.order() == Order::Fortran && header.shape().iter().filter(|&&n| n > 1).count() > 1 {
        return Err(input
            .bad("the array is in Fortran order: save a C-order copy (numpy.ascontiguousarray)"));
    }
    let start = input.position()?;
    let expected = header
        .shape()
        .iter()
        .try_fold(ty.size_field(), |n, &d| n.checked_mul(d))
        .ok_or_else(|| input.bad("shape is too large"))?;
    let found = input.len() - start;
    if found != expected {
        return Err(input.bad(format!(
            "shape {:?} of {} needs {expected} bytes of data, the file has {found}: {}",
            header.shape(),
            ty,
            if found < expected {
                "the file is truncated"
            } else {
                "trailing bytes after the data"
            }
        )));
    }
    Ok(Opened {
        header,
        input,
        kind,
    })
}

impl Opened {
    /// The values as `T`, and the input's name.
    fn data<T: npyz::Deserialize>(self) -> Result<(Data<T>, String), Failure> {
        let Opened { header, input, .. } = self;
        let name = input.name;
        let data = NpyFile::with_header(header, input.reader)
            .data::<T>()
            .map_err(|e| bad(&name, e))?;
        Ok((data, name))
    }
}

/// The vectors' values, of whichever float type the file holds.
enum Values {
    F32(Data<f32>),
    F64(Data<f64>),
    F16(Data<f16>),
}

impl Values {
    fn next(&mut self) -> Option<std::io::Result<f32>> {
        match self {
            Values::F32(d) => d.next(),
            Values::F64(d) => d.next().map(|r| r.map(|v| v as f32)),
            Values::F16(d) => d.next().map(|r| r.map(f32::from)),
        }
    }
}

/// Streams the rows of an `.npy` file of vectors.
pub(super) struct Reader {
    values: Values,
    name: String,
    dim: u32,
    rows: u64,
    next: u64,
}

impl Reader {
    pub(super) fn new(input: Input) -> Result<Reader, Failure> {
        let opened = open(input)?;
        let (rows, dim) = match opened.header.shape() {
            &[dim] => (1, dim),
            &[rows, dim] => (rows, dim),
            shape => {
                return Err(opened
                    .input
                    .bad(format!("shape {shape:?} is not 2-D (vectors, dimension)")))
            }
        };
        let dim = u32::try_from(dim).ok().filter(|&d| d > 0).ok_or_else(|| {
            opened
                .input
                .bad(format!("dimension {dim} is not between 1 and {}", u32::MAX))
        })?;
        let (values, name) = match opened.kind {
            (TypeChar::Float, 4) => {
                let (d, i) = opened.data()?;
                (Values::F32(d), i)
            }
            (TypeChar::Float, 8) => {
                let (d, i) = opened.data()?;
                (Values::F64(d), i)
            }
            (TypeChar::Float, 2) => {
                let (d, i) = opened.data()?;
                (Values::F16(d), i)
            }
            _ => {
                return Err(opened.input.bad(format!(
                    "dtype {} is not supported: vectors are float32, float64 or float16 \
                     (e.g. array.astype('<f4'))",
                    opened.header.dtype().descr()
                )))
            }
        };
        Ok(Reader {
            values,
            name,
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
        out.reserve(n * self.dim as usize);
        for _ in 0..n * self.dim as usize {
            match self.values.next() {
                Some(Ok(v)) => out.push(v),
                Some(Err(e)) => return Err(read_failure(&self.name, &e)),
                None => return Err(bad(&self.name, "the file is truncated")),
            }
        }
        self.next += n as u64;
        Ok(n)
    }
}

/// What the import tells of a conversion the file's dtype needs.
pub(super) fn conversion_note(input: Input) -> Result<Option<String>, Failure> {
    let opened = open(input)?;
    let name = &opened.input.name;
    Ok(match opened.kind {
        (TypeChar::Float, 8) => Some(format!(
            "note: {name} holds float64 values; they are converted to float32 \
             (rounded to the nearest float32)"
        )),
        (TypeChar::Float, 2) => Some(format!(
            "note: {name} holds float16 values; they are converted to float32 (exactly)"
        )),
        _ => None,
    })
}

/// Ids of an `.npy` file, of whichever integer type it holds.
pub(super) enum Ids {
    I64(Data<i64>),
    U64(Data<u64>),
    I32(Data<i32>),
    U32(Data<u32>),
}

impl Ids {
    /// Opens an `.npy` id file: `(ids, their count, the file's name)`.
    pub(super) fn open(input: Input) -> Result<(Ids, u64, String), Failure> {
        let opened = open(input)?;
        let count = match opened.header.shape() {
            &[n] => n,
            &[n, 1] => n,
            shape => {
                return Err(opened
                    .input
                    .bad(format!("shape {shape:?} is not a list of ids (n,)")))
            }
        };
        let (ids, name) = match opened.kind {
            (TypeChar::Int, 8) => {
                let (d, i) = opened.data()?;
                (Ids::I64(d), i)
            }
            (TypeChar::Uint, 8) => {
                let (d, i) = opened.data()?;
                (Ids::U64(d), i)
            }
            (TypeChar::Int, 4) => {
                let (d, i) = opened.data()?;
                (Ids::I32(d), i)
            }
            (TypeChar::Uint, 4) => {
                let (d, i) = opened.data()?;
                (Ids::U32(d), i)
            }
            _ => {
                return Err(opened.input.bad(format!(
                    "dtype {} is not supported for ids: save int64 or uint64",
                    opened.header.dtype().descr()
                )))
            }
        };
        Ok((ids, count, name))
    }

    /// The next id, number `index` (negative ids are refused).
    pub(super) fn next(&mut self, name: &str, index: u64) -> Result<u64, Failure> {
        let signed = |r: Option<std::io::Result<i64>>| -> Result<u64, Failure> {
            let v = r
                .ok_or_else(|| bad(name, "the file is truncated"))?
                .map_err(|e| read_failure(name, &e))?;
            u64::try_from(v)
                .map_err(|_| bad(name, format!("id {index} is {v}; ids are non-negative")))
        };
        let unsigned = |r: Option<std::io::Result<u64>>| -> Result<u64, Failure> {
            r.ok_or_else(|| bad(name, "the file is truncated"))?
                .map_err(|e| read_failure(name, &e))
        };
        match self {
            Ids::I64(d) => signed(d.next()),
            Ids::I32(d) => signed(d.next().map(|r| r.map(i64::from))),
            Ids::U64(d) => unsigned(d.next()),
            Ids::U32(d) => unsigned(d.next().map(|r| r.map(u64::from))),
        }
    }
}

/// Writes an `.npy` file of float32 rows: into a file, whose shape is
/// written at the end; into standard output, with `rows` announced up front.
pub(super) struct Writer<'a> {
    npy: NpyWriter<f32, &'a mut Output>,
    name: String,
    seekable: bool,
    /// The rows announced up front (standard output only).
    announced: Option<u64>,
    written: u64,
}

impl<'a> Writer<'a> {
    pub(super) fn new(output: &'a mut Output, dim: u32, rows: u64) -> Result<Writer<'a>, Failure> {
        let name = output.name.clone();
        let seekable = output.seekable();
        let started = if seekable {
            npyz::WriteOptions::new()
                .default_dtype()
                .writer(output)
                .begin_2d(u64::from(dim))
        } else {
            npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[rows, u64::from(dim)])
                .writer(output)
                .begin_nd()
        };
        let npy = started.map_err(|e| write_failure(&name, seekable, &e))?;
        Ok(Writer {
            npy,
            name,
            seekable,
            announced: (!seekable).then_some(rows),
            written: 0,
        })
    }
}

impl VectorWriter for Writer<'_> {
    fn write_row(&mut self, _id: u64, row: &[f32]) -> Result<(), Failure> {
        self.written += 1;
        if self.announced.is_some_and(|n| self.written > n) {
            return Err(self.mismatch());
        }
        for v in row {
            self.npy
                .push(v)
                .map_err(|e| write_failure(&self.name, self.seekable, &e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), Failure> {
        if self.announced.is_some_and(|n| self.written != n) {
            return Err(self.mismatch());
        }
        let (name, seekable) = (self.name.clone(), self.seekable);
        self.npy
            .finish()
            .map_err(|e| write_failure(&name, seekable, &e))
    }
}

impl Writer<'_> {
    fn mismatch(&self) -> Failure {
        Failure::new(
            crate::fail::code::OTHER,
            format!(
                "{}: the .npy header announced {} vectors but {} were written (the store \
                 changed during the export, or damaged vectors were skipped); standard \
                 output needs the count up front: write to a file, or use --format fvecs or jsonl",
                self.name,
                self.announced.unwrap_or(0),
                self.written
            ),
        )
    }
}

/// An array of an `.npz` archive, spooled into a temporary file: the member
/// named by the first of `names` found (`NAME.npy`); or, if `only` and none
/// is found, the archive's only array other than `ids`. `None` if neither.
pub(super) fn npz_member(
    archive: &InputFile,
    names: &[&str],
    only: bool,
) -> Result<Option<InputFile>, Failure> {
    let input = archive.input()?;
    let bad = |e: &dyn std::fmt::Display| input.bad(format!("not a valid .npz archive: {e}"));
    let mut zip = zip::ZipArchive::new(input.reader.get_ref().try_clone().map_err(|e| bad(&e))?)
        .map_err(|e| bad(&e))?;
    let members: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&e))?;
    let wanted = names
        .iter()
        .map(|n| format!("{n}.npy"))
        .find(|n| members.contains(n))
        .or_else(|| {
            let arrays: Vec<&String> = members.iter().filter(|m| *m != "ids.npy").collect();
            (only && arrays.len() == 1).then(|| arrays[0].clone())
        });
    let Some(member) = wanted else {
        if only && members.iter().filter(|m| *m != "ids.npy").count() > 1 {
            return Err(input.bad(format!(
                "holds several arrays ({}): name the vectors' array 'vectors'",
                members.join(", ")
            )));
        }
        return Ok(None);
    };
    let entry = zip.by_name(&member).map_err(|e| bad(&e))?;
    let name = format!("{}[{}]", archive.name(), member.trim_end_matches(".npy"));
    InputFile::from_reader(name, entry).map(Some)
}
