//! vecstore through its public API.

use std::path::Path;

use vecstore::{Durability, Options, Store};

use super::{Column, Engine, Mode, Reader, Result};

/// Bytes of a log record before its payload (log format 2).
pub const RECORD_HEADER: u64 = 56;

/// Bytes a vector takes in a `PUTS` record's payload: a slot reference (8)
/// and a slot image (16 + 4·dim).
pub fn vector_log_bytes(dim: usize) -> u64 {
    24 + 4 * dim as u64
}

pub struct Vecstore {
    pub store: Store,
}

impl Engine for Vecstore {
    const NAME: &'static str = "vecstore";
    const COLUMN: Column = Column::Vecstore;
    const LOG_FILE: Option<&'static str> = Some("wal.log");
    type Reader<'a> = VecstoreReader<'a>;

    /// A `PUTS` record of 1000: the header, then 1000 vectors; no padding
    /// (1000 such vectors are a multiple of 8 bytes).
    fn logged_vectors(bytes: u64, dim: usize) -> f64 {
        bytes as f64 / (vector_log_bytes(dim) as f64 + RECORD_HEADER as f64 / 1000.0)
    }

    fn open(dir: &Path, dim: usize, mode: Mode) -> Result<Self> {
        let durability = match mode {
            Mode::Fsync => Durability::Fsync,
            Mode::Flush => Durability::Flush,
            Mode::None => Durability::None,
        };
        let options = Options {
            durability,
            ..Options::default()
        };
        Ok(Vecstore {
            store: Store::open(dir, dim as u32, &options)?,
        })
    }

    fn put_batch(&self, ids: &[u64], flat: &[f32]) -> Result<()> {
        Ok(self.store.put_batch(ids, flat)?)
    }

    fn put_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        Ok(self.store.put(id, vector)?)
    }

    fn barrier(&self) -> Result<()> {
        Ok(self.store.flush()?)
    }

    fn reader(&self) -> Result<VecstoreReader<'_>> {
        Ok(VecstoreReader {
            store: &self.store,
            found: Vec::new(),
        })
    }

    fn delete_batch(&self, ids: &[u64]) -> Result<()> {
        self.store.delete_batch(ids)?;
        Ok(())
    }

    fn compact(&self) -> Result<Option<u64>> {
        Ok(Some(self.store.compact()?))
    }

    fn checkpoint(&self) -> Result<bool> {
        self.store.checkpoint()?;
        Ok(true)
    }

    fn close(self) -> Result<()> {
        Ok(self.store.close()?)
    }
}

pub struct VecstoreReader<'a> {
    store: &'a Store,
    found: Vec<bool>,
}

impl Reader for VecstoreReader<'_> {
    fn first_float(&mut self, id: u64) -> Result<f32> {
        Ok(self.store.get_ref(id)?.data()[0])
    }

    fn copy(&mut self, id: u64, out: &mut [f32]) -> Result<f32> {
        self.store.get(id, out)?;
        Ok(out[0])
    }

    fn copy_batch(&mut self, ids: &[u64], out: &mut [f32]) -> Result<()> {
        self.found.resize(ids.len(), false);
        Ok(self.store.get_batch(ids, out, &mut self.found)?)
    }

    fn scan(&mut self) -> Result<(u64, f64)> {
        let mut cursor = self.store.cursor();
        let (mut count, mut sum) = (0u64, 0f64);
        while let Some((_, v)) = cursor.next()? {
            count += 1;
            sum += f64::from(v[0]);
        }
        Ok((count, sum))
    }
}
