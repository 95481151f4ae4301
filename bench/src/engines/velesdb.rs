//! velesdb-core 1.14.4 `MmapStorage` (vectors only).
//!
//! What its source says, and how this adapter uses it:
//! - `store`/`store_batch` write the mmap and append to a `BufWriter` over the
//!   WAL; nothing reaches the kernel's copy of the WAL, let alone the disk,
//!   until `flush()`, whatever the durability mode.
//! - `flush()` msyncs the whole data mapping, then flushes the WAL buffer and,
//!   in `Fsync` mode, fsyncs the WAL. It does not write the id index.
//! - `flush_full()` is `flush()` plus writing and fsyncing `vectors.idx`. In
//!   `None` mode there is no WAL, so only `flush_full()` leaves anything
//!   recoverable: it is the barrier there.
//! - The WAL is truncated only when an open replays it: `flush_full()` does
//!   not trim it, so every open of a logged store replays its whole WAL.
//! - Writes and `compact` take `&mut self`; the adapter puts the storage in an
//!   `RwLock` (writers and compaction exclusive, reads shared), which is what
//!   a program sharing it between threads has to do.
//!
//! So `put_one` in `Fsync` and `Flush` modes is `store` + `flush()`: the only
//! way to get vecstore's guarantee on return.

use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use velesdb_core::storage::{DurabilityMode, MmapStorage, VectorStorage};

use super::{Column, Engine, Mode, Reader, Result};

pub struct Velesdb {
    storage: RwLock<MmapStorage>,
    mode: Mode,
}

impl Velesdb {
    fn write(&self) -> RwLockWriteGuard<'_, MmapStorage> {
        self.storage.write().expect("velesdb lock poisoned")
    }

    fn sync(&self, storage: &mut MmapStorage) -> Result<()> {
        match self.mode {
            Mode::None => storage.flush_full()?,
            Mode::Fsync | Mode::Flush => storage.flush()?,
        }
        Ok(())
    }
}

impl Engine for Velesdb {
    const NAME: &'static str = "velesdb-core";
    const COLUMN: Column = Column::Velesdb;
    const LOG_FILE: Option<&'static str> = Some("vectors.wal");
    type Reader<'a> = VelesdbReader<'a>;

    /// One store entry per vector: op, id, length, data, CRC (17 + 4·dim).
    fn logged_vectors(bytes: u64, dim: usize) -> f64 {
        bytes as f64 / (17.0 + 4.0 * dim as f64)
    }

    fn open(dir: &Path, dim: usize, mode: Mode) -> Result<Self> {
        let durability = match mode {
            Mode::Fsync => DurabilityMode::Fsync,
            Mode::Flush => DurabilityMode::FlushOnly,
            Mode::None => DurabilityMode::None,
        };
        Ok(Velesdb {
            storage: RwLock::new(MmapStorage::new_with_durability(dir, dim, durability)?),
            mode,
        })
    }

    fn put_batch(&self, ids: &[u64], flat: &[f32]) -> Result<()> {
        let dim = flat.len() / ids.len();
        let pairs: Vec<(u64, &[f32])> = ids.iter().copied().zip(flat.chunks_exact(dim)).collect();
        self.write().store_batch(&pairs)?;
        Ok(())
    }

    fn put_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        let mut storage = self.write();
        storage.store(id, vector)?;
        if self.mode != Mode::None {
            storage.flush()?;
        }
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        let mut storage = self.write();
        self.sync(&mut storage)
    }

    fn reader(&self) -> Result<VelesdbReader<'_>> {
        Ok(VelesdbReader {
            storage: self.storage.read().expect("velesdb lock poisoned"),
        })
    }

    fn delete_batch(&self, ids: &[u64]) -> Result<()> {
        let mut storage = self.write();
        for &id in ids {
            storage.delete(id)?;
        }
        Ok(())
    }

    fn compact(&self) -> Result<Option<u64>> {
        Ok(Some(self.write().compact()? as u64))
    }

    fn checkpoint(&self) -> Result<bool> {
        self.write().flush_full()?;
        Ok(true)
    }

    fn close(self) -> Result<()> {
        let mut storage = self.storage.into_inner().expect("velesdb lock poisoned");
        storage.flush()?;
        Ok(())
    }
}

pub struct VelesdbReader<'a> {
    storage: RwLockReadGuard<'a, MmapStorage>,
}

impl Reader for VelesdbReader<'_> {
    fn first_float(&mut self, id: u64) -> Result<f32> {
        let guard = self.storage.retrieve_ref(id)?.ok_or("missing id")?;
        Ok(guard.as_slice()?[0])
    }

    fn copy(&mut self, id: u64, _out: &mut [f32]) -> Result<f32> {
        // `retrieve` is velesdb's copying read: it returns a fresh Vec.
        let v = self.storage.retrieve(id)?.ok_or("missing id")?;
        Ok(v[0])
    }

    fn copy_batch(&mut self, ids: &[u64], out: &mut [f32]) -> Result<()> {
        let dim = out.len() / ids.len();
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(dim)) {
            let v = self.storage.retrieve(id)?.ok_or("missing id")?;
            row.copy_from_slice(&v);
        }
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, f64)> {
        // No iterator: list the ids, then borrow each vector (zero-copy).
        let (mut count, mut sum) = (0u64, 0f64);
        for id in self.storage.ids() {
            let guard = self.storage.retrieve_ref(id)?.ok_or("missing id")?;
            count += 1;
            sum += f64::from(guard.as_slice()?[0]);
        }
        Ok((count, sum))
    }
}
