//! The three stores behind one interface, so every workload is written once.
//!
//! Each engine maps the harness's three durability modes onto its own and
//! gives, when a call returns, the same guarantee as vecstore in that mode
//! (see each module for what that costs it).

use std::path::Path;

pub mod lmdb;
pub mod vecstore;
pub mod velesdb;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// Durability modes, named after vecstore's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An acknowledged write is on stable storage.
    Fsync,
    /// An acknowledged write is in the kernel (survives a process kill).
    Flush,
    /// Only the barrier makes writes durable.
    None,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Fsync, Mode::Flush, Mode::None];

    pub fn key(self) -> &'static str {
        match self {
            Mode::Fsync => "fsync",
            Mode::Flush => "flush",
            Mode::None => "none",
        }
    }
}

/// Which column of the report an engine fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Vecstore = 0,
    Velesdb = 1,
    Lmdb = 2,
}

/// A store under test.
pub trait Engine: Sized + Send + Sync {
    const NAME: &'static str;
    const COLUMN: Column;
    /// The write-ahead log's file name in the store directory, if any.
    const LOG_FILE: Option<&'static str>;
    type Reader<'a>: Reader
    where
        Self: 'a;

    /// How many vectors a bulk-load log of `bytes` holds (from the format).
    fn logged_vectors(_bytes: u64, _dim: usize) -> f64 {
        0.0
    }

    /// Opens (creating if needed) the store in `dir`; `dim` floats per vector.
    fn open(dir: &Path, dim: usize, mode: Mode) -> Result<Self>;
    /// Stores `ids.len()` vectors (row-major `flat`) in one call or transaction.
    fn put_batch(&self, ids: &[u64], flat: &[f32]) -> Result<()>;
    /// Stores one vector; on return it has the guarantee of the open mode.
    fn put_one(&self, id: u64, vector: &[f32]) -> Result<()>;
    /// Makes every acknowledged write durable.
    fn barrier(&self) -> Result<()>;
    /// A read session (a read transaction, a shared lock) for a loop of reads.
    fn reader(&self) -> Result<Self::Reader<'_>>;
    /// Deletes the listed ids (all exist).
    fn delete_batch(&self, ids: &[u64]) -> Result<()>;
    /// Reclaims the space of deleted vectors; `None` if the engine has no such
    /// operation, else the bytes reclaimed.
    fn compact(&self) -> Result<Option<u64>>;
    /// Writes the state that makes the next open fast; `false` if the engine
    /// has no such operation.
    fn checkpoint(&self) -> Result<bool>;
    /// Closes cleanly, releasing the directory for a reopen.
    fn close(self) -> Result<()>;
}

/// Reads inside one session.
pub trait Reader {
    /// Zero-copy read of `id`, returning its first float.
    fn first_float(&mut self, id: u64) -> Result<f32>;
    /// Copying read of `id` (through the engine's copying API); returns a
    /// float of the copy so the work cannot be skipped.
    fn copy(&mut self, id: u64, out: &mut [f32]) -> Result<f32>;
    /// Copying read of many ids into consecutive rows of `out`.
    fn copy_batch(&mut self, ids: &[u64], out: &mut [f32]) -> Result<()>;
    /// Visits every stored vector; returns the count and the sum of first floats.
    fn scan(&mut self) -> Result<(u64, f64)>;
}

/// Reads the first float of an unaligned little-endian vector image.
pub fn first_float_of(bytes: &[u8]) -> f32 {
    f32::from_le_bytes(bytes[..4].try_into().expect("a vector has a float"))
}
