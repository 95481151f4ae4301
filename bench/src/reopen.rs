//! Reopen after a checkpoint and a clean close, warm page cache: the median
//! of several opens of the same closed store, through `Store::open`
//! (read-write, FLUSH), through the C ABI (`vecstore_open`, read-write,
//! FLUSH), and as a read-only handle; LMDB's peer figure is its
//! `EnvOpenOptions::open` plus opening the database in a write transaction
//! (the adapter's `open`, as the `reopen after checkpoint` row).
//!
//! One untimed open of each kind first (it warms the cache and pays for
//! anything a first open after the close does), then rounds of one timed open
//! of each kind, so drift on a shared machine hits every kind alike. Each
//! handle is closed (untimed) before the next open: the store has one writer.

use std::path::Path;

use vecstore::{Durability, Options, Store};

use crate::cabi::CStore;
use crate::engines::lmdb::Lmdb;
use crate::engines::{Column, Engine, Mode, Result};
use crate::results::Results;
use crate::util::{median, sync_all, timed};

/// Opens of one kind: opens the store, closes the handle it got.
struct Kind<'a> {
    key: &'static str,
    column: Column,
    open_close: Box<dyn Fn() -> Result<f64> + 'a>,
    secs: Vec<f64>,
}

fn kind<'a, T>(
    key: &'static str,
    column: Column,
    open: impl Fn() -> Result<T> + 'a,
    close: impl Fn(T) -> Result<()> + 'a,
) -> Kind<'a> {
    Kind {
        key,
        column,
        open_close: Box::new(move || {
            let (handle, secs) = timed(&open);
            close(handle?)?;
            Ok(secs)
        }),
        secs: Vec::new(),
    }
}

/// Times `runs` opens of each kind of the closed stores in `vecstore` and
/// (if given) `lmdb`; rows `reopen_med`, `reopen_cabi`, `reopen_ro`.
pub fn run(
    vecstore: &Path,
    lmdb: Option<&Path>,
    dim: usize,
    runs: usize,
    res: &mut Results,
) -> Result<()> {
    let writer = Options {
        durability: Durability::Flush,
        create_if_missing: false,
        ..Options::default()
    };
    let read_only = Options {
        read_only: true,
        create_if_missing: false,
        ..Options::default()
    };
    let mut kinds = vec![
        kind(
            "reopen_med",
            Column::Vecstore,
            || Ok(Store::open(vecstore, dim as u32, &writer)?),
            |store| Ok(store.close()?),
        ),
        kind(
            "reopen_cabi",
            Column::Vecstore,
            || CStore::open(vecstore, dim, false),
            CStore::close,
        ),
        kind(
            "reopen_ro",
            Column::Vecstore,
            || Ok(Store::open(vecstore, dim as u32, &read_only)?),
            |store| Ok(store.close()?),
        ),
    ];
    if let Some(dir) = lmdb {
        kinds.push(kind(
            "reopen_med",
            Column::Lmdb,
            move || Lmdb::open(dir, dim, Mode::Flush),
            Lmdb::close,
        ));
    }
    sync_all();
    for k in &kinds {
        (k.open_close)()?;
    }
    for _ in 0..runs {
        for k in &mut kinds {
            let secs = (k.open_close)()?;
            k.secs.push(secs);
        }
    }
    for k in kinds {
        res.set(k.key, k.column as usize, median(k.secs) * 1e3);
    }
    Ok(())
}
