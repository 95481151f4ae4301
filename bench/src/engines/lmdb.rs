//! LMDB through heed 0.22: one database, id (big-endian u64, so iteration is
//! in id order) → the vector's bytes.
//!
//! Modes: `Fsync` = default flags (a commit syncs); `Flush` = `NO_SYNC` (a
//! commit `pwrite`s its pages: they are in the kernel); `None` = `NO_SYNC |
//! NO_META_SYNC | WRITE_MAP` (pages written through the shared mapping). The
//! barrier is `force_sync` (a no-op need in `Fsync` mode, where every commit
//! already synced).

use std::path::Path;

use heed::byteorder::BigEndian;
use heed::types::{Bytes, U64};
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RoTxn, WithoutTls};

use super::{first_float_of, Column, Engine, Mode, Reader, Result};

type Db = Database<U64<BigEndian>, Bytes>;

/// Address space reserved for the map; the file grows only as pages are used.
const MAP_SIZE: usize = 64 << 30;

pub struct Lmdb {
    env: Env<WithoutTls>,
    db: Db,
    mode: Mode,
}

impl Engine for Lmdb {
    const NAME: &'static str = "LMDB";
    const COLUMN: Column = Column::Lmdb;
    const LOG_FILE: Option<&'static str> = None;
    type Reader<'a> = LmdbReader<'a>;

    fn open(dir: &Path, _dim: usize, mode: Mode) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options.map_size(MAP_SIZE).max_dbs(1);
        let flags = match mode {
            Mode::Fsync => EnvFlags::empty(),
            Mode::Flush => EnvFlags::NO_SYNC,
            Mode::None => EnvFlags::NO_SYNC | EnvFlags::NO_META_SYNC | EnvFlags::WRITE_MAP,
        };
        // SAFETY: the unsafety of these flags is losing durability on a crash
        // (NO_SYNC, NO_META_SYNC) and stray writes through the map reaching the
        // file (WRITE_MAP); the harness wants exactly that weaker durability,
        // syncs with `force_sync` before it relies on the data, and writes
        // only through heed's safe put/delete.
        unsafe {
            options.flags(flags);
        }
        // SAFETY: `dir` is a fresh directory private to this process; nothing
        // else opens, truncates or writes its files while this `Env` lives,
        // and the harness closes an env (waiting for the close) before it
        // opens the same path again, so the mapping never sees its file
        // change underneath it.
        let env = unsafe { options.open(dir)? };
        let mut txn = env.write_txn()?;
        let db: Db = env.create_database(&mut txn, None)?;
        txn.commit()?;
        Ok(Lmdb { env, db, mode })
    }

    fn put_batch(&self, ids: &[u64], flat: &[f32]) -> Result<()> {
        let dim = flat.len() / ids.len();
        let mut txn = self.env.write_txn()?;
        for (&id, v) in ids.iter().zip(flat.chunks_exact(dim)) {
            self.db.put(&mut txn, &id, as_bytes(v))?;
        }
        txn.commit()?;
        Ok(())
    }

    fn put_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        let mut txn = self.env.write_txn()?;
        self.db.put(&mut txn, &id, as_bytes(vector))?;
        txn.commit()?;
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        if self.mode != Mode::Fsync {
            self.env.force_sync()?;
        }
        Ok(())
    }

    fn reader(&self) -> Result<LmdbReader<'_>> {
        Ok(LmdbReader {
            txn: self.env.read_txn()?,
            db: self.db,
        })
    }

    fn delete_batch(&self, ids: &[u64]) -> Result<()> {
        let mut txn = self.env.write_txn()?;
        for id in ids {
            self.db.delete(&mut txn, id)?;
        }
        txn.commit()?;
        Ok(())
    }

    fn compact(&self) -> Result<Option<u64>> {
        Ok(None) // freed pages are reused in place; there is no compaction
    }

    fn checkpoint(&self) -> Result<bool> {
        Ok(false)
    }

    fn close(self) -> Result<()> {
        self.barrier()?;
        let Lmdb { env, .. } = self;
        env.prepare_for_closing().wait();
        Ok(())
    }
}

pub struct LmdbReader<'a> {
    txn: RoTxn<'a, WithoutTls>,
    db: Db,
}

impl LmdbReader<'_> {
    fn bytes(&self, id: u64) -> Result<&[u8]> {
        Ok(self.db.get(&self.txn, &id)?.ok_or("missing id")?)
    }
}

impl Reader for LmdbReader<'_> {
    fn first_float(&mut self, id: u64) -> Result<f32> {
        Ok(first_float_of(self.bytes(id)?))
    }

    fn copy(&mut self, id: u64, out: &mut [f32]) -> Result<f32> {
        copy_floats(self.bytes(id)?, out);
        Ok(out[0])
    }

    fn copy_batch(&mut self, ids: &[u64], out: &mut [f32]) -> Result<()> {
        let dim = out.len() / ids.len();
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(dim)) {
            copy_floats(self.bytes(id)?, row);
        }
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, f64)> {
        let (mut count, mut sum) = (0u64, 0f64);
        for entry in self.db.iter(&self.txn)? {
            let (_, bytes) = entry?;
            count += 1;
            sum += f64::from(first_float_of(bytes));
        }
        Ok((count, sum))
    }
}

/// The bytes of a vector (native little-endian floats).
fn as_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: any f32 is 4 initialized bytes with no padding; the byte slice
    // covers exactly the floats' memory and borrows `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// LMDB values need not be 4-byte aligned: decode rather than cast.
fn copy_floats(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
}
