//! Online backup (`Store::copy_to`, `vecstore_copy`, `vecstore copy`)
//! against its limit: `cp -r` of the same store directory followed by
//! `sync`, in the same run, on the same file system, from the same warm
//! page cache. The copy is timed from a read-only open of the source (what
//! `vecstore copy` does) to its return, when the copy is checkpointed and
//! fsynced; `cp -r` + `sync` copies every file (dead slots and free room
//! included) and flushes all dirty data of the machine.
//!
//! Rounds alternate the two, so drift on a shared machine hits both alike;
//! the medians are reported (ms), and the target is the copy within 1.5x
//! of `cp -r` + `sync`.

use std::path::Path;
use std::process::Command;

use vecstore::{Durability, Options, Store};

use crate::data::Dataset;
use crate::engines::{Column, Result};
use crate::results::{Results, LIMIT};
use crate::util::{median, sync_all, timed};

/// Loads `data` into a new store under `root`, then times `rounds` copies of
/// each kind; rows `copy` (vecstore, limit) and `copy_ratio`.
pub fn run(data: &Dataset, root: &Path, rounds: usize, res: &mut Results) -> Result<()> {
    let src = root.join("copy-src");
    let store = Store::open(
        &src,
        data.dim as u32,
        &Options {
            durability: Durability::None,
            ..Options::default()
        },
    )?;
    store.reserve(data.n as u64)?;
    let ids: Vec<u64> = (0..data.n as u64).collect();
    for (chunk, first) in ids.chunks(10_000).zip((0..).step_by(10_000)) {
        store.put_batch(chunk, data.rows(first, chunk.len()))?;
    }
    store.close()?;
    sync_all();
    let read_only = Options {
        read_only: true,
        create_if_missing: false,
        ..Options::default()
    };
    let (mut ours, mut cp) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let dest = root.join(format!("copy-{round}"));
        let (copied, secs) = timed(|| -> Result<u64> {
            let source = Store::open(&src, 0, &read_only)?;
            Ok(source.copy_to(&dest)?)
        });
        if copied? != data.n as u64 {
            return Err("the copy holds another number of vectors".into());
        }
        ours.push(secs);
        std::fs::remove_dir_all(&dest)?;
        sync_all();

        let dest = root.join(format!("cp-{round}"));
        let ((), secs) = timed(|| {
            let status = Command::new("cp").arg("-r").arg(&src).arg(&dest).status();
            assert!(status.is_ok_and(|s| s.success()), "cp -r failed");
            sync_all();
        });
        cp.push(secs);
        std::fs::remove_dir_all(&dest)?;
        sync_all();
    }
    std::fs::remove_dir_all(&src)?;
    let (ours, cp) = (median(ours) * 1e3, median(cp) * 1e3);
    res.set("copy", Column::Vecstore as usize, ours);
    res.set("copy", LIMIT, cp);
    res.set("copy_ratio", Column::Vecstore as usize, ours / cp);
    res.notes.push(format!(
        "copy: Store::copy_to from a read-only open, median of {rounds}, vs cp -r + sync \
         of the same directory (limit column): {ours:.0} ms vs {cp:.0} ms"
    ));
    Ok(())
}
