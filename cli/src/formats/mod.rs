//! Vector and id files: `.fvecs`, `.npy`, `.npz` and `.jsonl` for vectors,
//! `.ivecs`, `.u64` and `.npy` for ids; `-` is standard input or output.
//! Readers stream (a file larger than memory is fine; standard input is
//! first spooled to an unlinked temporary file, so that it can be checked
//! before anything is written and read again); file writers write to a
//! temporary file that replaces the target only once complete.

mod fvecs;
mod ids;
mod jsonl;
mod npy;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::cli::Format;
use crate::fail::{code, Failure};

pub use ids::{check_id_path, create_ids, open_ids, IdReader};

/// A streaming reader of vectors, one row per vector.
pub trait VectorReader {
    /// Floats per vector.
    fn dim(&self) -> u32;
    /// Vectors in the file (known from its size and header, or a first scan).
    fn rows(&self) -> u64;
    /// Appends up to `max` rows to `rows` (and, for formats that carry
    /// them, their ids to `ids`); returns how many, 0 at the end.
    fn read_rows(
        &mut self,
        rows: &mut Vec<f32>,
        ids: &mut Vec<u64>,
        max: usize,
    ) -> Result<usize, Failure>;
}

/// A writer of vectors into an [`Output`]; `finish` completes the file (the
/// output's `commit` then makes it appear).
pub trait VectorWriter {
    fn write_row(&mut self, id: u64, row: &[f32]) -> Result<(), Failure>;
    fn finish(self: Box<Self>) -> Result<(), Failure>;
}

/// Where a file argument points: a path, or standard input/output (`-`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Path(PathBuf),
    Std,
}

impl Place {
    pub fn new(arg: &Path) -> Place {
        if arg.as_os_str() == "-" {
            Place::Std
        } else {
            Place::Path(arg.to_path_buf())
        }
    }

    /// How messages name it.
    pub fn name(&self, reading: bool) -> String {
        match (self, reading) {
            (Place::Path(p), _) => p.display().to_string(),
            (Place::Std, true) => "standard input".into(),
            (Place::Std, false) => "standard output".into(),
        }
    }

    fn extension(&self) -> Option<&str> {
        match self {
            Place::Path(p) => p.extension().and_then(|e| e.to_str()),
            Place::Std => None,
        }
    }
}

/// The format of a vector file: `--format`, else the extension.
pub fn vector_format(place: &Place, given: Option<Format>) -> Result<Format, Failure> {
    if let Some(format) = given {
        return Ok(format);
    }
    match place.extension() {
        Some("fvecs") => Ok(Format::Fvecs),
        Some("npy") => Ok(Format::Npy),
        Some("npz") => Ok(Format::Npz),
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        _ if *place == Place::Std => Err(Failure::usage(
            "standard input or output ('-') needs --format fvecs, npy, npz or jsonl",
        )),
        _ => Err(Failure::usage(format!(
            "{}: a vector file must end in .fvecs, .npy, .npz or .jsonl (or give --format)",
            place.name(true)
        ))),
    }
}

/// A vector file opened for reading: checks its header and size.
pub struct VectorFile {
    file: InputFile,
    format: Format,
    /// The `.npz` archive the vectors come from.
    archive: Option<InputFile>,
}

impl VectorFile {
    pub fn open(place: &Place, format: Format) -> Result<VectorFile, Failure> {
        let input = InputFile::open(place)?;
        if format != Format::Npz {
            return Ok(VectorFile {
                file: input,
                format,
                archive: None,
            });
        }
        let file = npy::npz_member(&input, &["vectors"], true)?
            .ok_or_else(|| Failure::input(format!("{}: holds no arrays", place.name(true))))?;
        Ok(VectorFile {
            file,
            format,
            archive: Some(input),
        })
    }

    /// A reader from the first vector on (each call starts again).
    pub fn reader(&self) -> Result<Box<dyn VectorReader>, Failure> {
        let input = self.file.input()?;
        Ok(match self.format {
            Format::Fvecs => Box::new(fvecs::Reader::new(input)?),
            Format::Npy | Format::Npz => Box::new(npy::Reader::new(input)?),
            Format::Jsonl => Box::new(jsonl::Reader::new(input)?),
        })
    }

    /// A note for the user about the file (a conversion), if any.
    pub fn note(&self) -> Result<Option<String>, Failure> {
        match self.format {
            Format::Npy | Format::Npz => npy::conversion_note(self.file.input()?),
            _ => Ok(None),
        }
    }

    /// For `.npz` input: the archive's `ids` array, if it has one.
    pub fn npz_ids(&self) -> Result<Option<InputFile>, Failure> {
        match &self.archive {
            Some(archive) => npy::npz_member(archive, &["ids"], false),
            None => Ok(None),
        }
    }
}

/// Creates a vector writer for `rows` vectors of `dim` floats in `output`.
pub fn create_vectors<'a>(
    output: &'a mut Output,
    format: Format,
    dim: u32,
    rows: u64,
) -> Result<Box<dyn VectorWriter + 'a>, Failure> {
    Ok(match format {
        Format::Fvecs => Box::new(fvecs::Writer::new(output, dim)?),
        Format::Npy => Box::new(npy::Writer::new(output, dim, rows)?),
        Format::Jsonl => Box::new(jsonl::Writer::new(output)),
        Format::Npz => {
            return Err(Failure::usage(
                "export writes .fvecs, .npy or .jsonl, not .npz",
            ))
        }
    })
}

/// Reads a whole (small) vector file: for queries. Returns `(dim, rows)`.
pub fn read_all(place: &Place, format: Format) -> Result<(u32, Vec<f32>), Failure> {
    let file = VectorFile::open(place, format)?;
    let mut reader = file.reader()?;
    let (mut rows, mut ids) = (Vec::new(), Vec::new());
    let mut done = 0u64;
    loop {
        let first = rows.len();
        let n = reader.read_rows(&mut rows, &mut ids, 1024)?;
        if n == 0 {
            return Ok((reader.dim(), rows));
        }
        check_finite(&file.file.name, &rows[first..], reader.dim(), done)?;
        done += n as u64;
    }
}

/// Fails unless every value of `rows` (the rows from index `first_row` on) is finite.
pub fn check_finite(name: &str, rows: &[f32], dim: u32, first_row: u64) -> Result<(), Failure> {
    match rows.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(at) => Err(Failure::input(format!(
            "{name}: vector {} has a non-finite value ({}) at index {}; vecstore stores finite floats only",
            first_row + (at / dim as usize) as u64,
            rows[at],
            at % dim as usize
        ))),
    }
}

/// An input file, or standard input spooled into an unlinked temporary
/// file, which readers read from the start as often as they need.
pub struct InputFile {
    name: String,
    file: File,
    len: u64,
}

impl InputFile {
    pub fn open(place: &Place) -> Result<InputFile, Failure> {
        match place {
            Place::Path(path) => {
                let file = File::open(path).map_err(|e| Failure::input_io(path, &e))?;
                let meta = file.metadata().map_err(|e| Failure::input_io(path, &e))?;
                if !meta.is_file() {
                    return Err(Failure::input(format!(
                        "{}: not a regular file",
                        path.display()
                    )));
                }
                Ok(InputFile {
                    name: path.display().to_string(),
                    file,
                    len: meta.len(),
                })
            }
            Place::Std => {
                let name = "standard input".to_string();
                let mut spool = spool_file()?;
                let len = std::io::copy(&mut std::io::stdin().lock(), &mut spool)
                    .map_err(|e| Failure::input(format!("{name}: {e}")))?;
                Ok(InputFile {
                    name,
                    file: spool,
                    len,
                })
            }
        }
    }

    /// An unlinked temporary file holding `bytes`, named `name` in messages.
    fn from_reader(name: String, mut bytes: impl Read) -> Result<InputFile, Failure> {
        let mut spool = spool_file()?;
        let len = std::io::copy(&mut bytes, &mut spool)
            .map_err(|e| Failure::input(format!("{name}: {e}")))?;
        Ok(InputFile {
            name,
            file: spool,
            len,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A buffered reader from the first byte.
    pub fn input(&self) -> Result<Input, Failure> {
        let mut file = self
            .file
            .try_clone()
            .map_err(|e| Failure::input(format!("{}: {e}", self.name)))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Failure::input(format!("{}: {e}", self.name)))?;
        Ok(Input {
            name: self.name.clone(),
            len: self.len,
            reader: BufReader::with_capacity(1 << 20, file),
            scratch: Vec::new(),
        })
    }
}

/// A new temporary file, already unlinked: it disappears with the process.
fn spool_file() -> Result<File, Failure> {
    let dir = std::env::temp_dir();
    for attempt in 0..100u32 {
        let path = dir.join(format!(".vecstore-spool-{}-{attempt}", std::process::id()));
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                let _ = std::fs::remove_file(&path);
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Failure::new(
                    code::OTHER,
                    format!("a temporary file in {}: {e}", dir.display()),
                ))
            }
        }
    }
    Err(Failure::new(
        code::OTHER,
        format!("no temporary file could be made in {}", dir.display()),
    ))
}

/// A buffered input whose errors name it.
pub struct Input {
    name: String,
    len: u64,
    reader: BufReader<File>,
    scratch: Vec<u8>,
}

impl Input {
    fn len(&self) -> u64 {
        self.len
    }

    /// A failure naming this input.
    fn bad(&self, what: impl std::fmt::Display) -> Failure {
        bad(&self.name, what)
    }

    /// A failed read of this input.
    fn io(&self, err: &std::io::Error) -> Failure {
        read_failure(&self.name, err)
    }

    /// Goes back to the start.
    fn rewind(&mut self) -> Result<(), Failure> {
        self.reader
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|e| self.io(&e))
    }

    /// Bytes read so far.
    fn position(&mut self) -> Result<u64, Failure> {
        self.reader.stream_position().map_err(|e| self.io(&e))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Failure> {
        match self.reader.read_exact(buf) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.io(&e)),
        }
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
}

/// A failure of the input `name`.
fn bad(name: &str, what: impl std::fmt::Display) -> Failure {
    Failure::input(format!("{name}: {what}"))
}

/// A failed read of the input `name`.
fn read_failure(name: &str, err: &std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        return bad(name, "the file is truncated");
    }
    bad(name, err)
}

/// Where an output goes: a file written under a temporary name and renamed
/// into place by `commit` (removed if dropped uncommitted), or standard
/// output.
pub struct Output {
    name: String,
    sink: Sink,
}

enum Sink {
    File {
        path: PathBuf,
        tmp: PathBuf,
        writer: Option<BufWriter<File>>,
    },
    Stdout(BufWriter<std::io::Stdout>),
}

impl Output {
    pub fn create(place: &Place) -> Result<Output, Failure> {
        let name = place.name(false);
        let sink = match place {
            Place::Path(path) => {
                let mut file_name = path.file_name().unwrap_or_default().to_os_string();
                file_name.push(".partial");
                let tmp = path.with_file_name(file_name);
                let file = File::create(&tmp).map_err(|e| Failure::output_io(&tmp, &e))?;
                Sink::File {
                    path: path.clone(),
                    tmp,
                    writer: Some(BufWriter::with_capacity(1 << 20, file)),
                }
            }
            Place::Std => Sink::Stdout(BufWriter::with_capacity(1 << 20, std::io::stdout())),
        };
        Ok(Output { name, sink })
    }

    /// Whether the output can seek (a file; standard output cannot).
    pub fn seekable(&self) -> bool {
        matches!(self.sink, Sink::File { .. })
    }

    /// A failure to write this output.
    pub fn failed(&self, err: &std::io::Error) -> Failure {
        write_failure(&self.name, self.seekable(), err)
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.write_all(bytes).map_err(|e| self.failed(&e))
    }

    /// Flushes; a file is synced and renamed into place.
    pub fn commit(mut self) -> Result<(), Failure> {
        let name = self.name.clone();
        match &mut self.sink {
            Sink::Stdout(writer) => {
                let flushed = writer.flush();
                flushed.map_err(|e| write_failure(&name, false, &e))
            }
            Sink::File { path, tmp, writer } => {
                let writer = writer.take().expect("committed once");
                let done = writer
                    .into_inner()
                    .map_err(|e| Failure::output_io(tmp, e.error()))
                    .and_then(|file| file.sync_all().map_err(|e| Failure::output_io(tmp, &e)))
                    .and_then(|()| {
                        std::fs::rename(&*tmp, &*path).map_err(|e| {
                            Failure::new(
                                code::OTHER,
                                format!("rename {} to {}: {e}", tmp.display(), path.display()),
                            )
                        })
                    });
                if done.is_err() {
                    let _ = std::fs::remove_file(&*tmp);
                }
                done
            }
        }
    }
}

/// A failure to write the output `name`.
fn write_failure(name: &str, seekable: bool, err: &std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::BrokenPipe && !seekable {
        // `vecstore export - | head`: the reader had enough.
        return Failure::new(code::OK, String::new());
    }
    Failure::new(code::OTHER, format!("{name}: {err}"))
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::File { writer, .. } => writer.as_mut().expect("not committed").write(buf),
            Sink::Stdout(writer) => writer.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::File { writer, .. } => writer.as_mut().expect("not committed").write_all(buf),
            Sink::Stdout(writer) => writer.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::File { writer, .. } => writer.as_mut().expect("not committed").flush(),
            Sink::Stdout(writer) => writer.flush(),
        }
    }
}

impl Seek for Output {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match &mut self.sink {
            Sink::File { writer, .. } => writer.as_mut().expect("not committed").seek(pos),
            Sink::Stdout(_) => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "standard output cannot seek",
            )),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::File {
            tmp,
            writer: Some(_),
            ..
        } = &self.sink
        {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
