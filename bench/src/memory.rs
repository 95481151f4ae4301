//! Anonymous memory per stored vector, measured in a fresh child process so
//! that nothing the parent allocated earlier hides or inflates the figure.
//! Vector bytes live in mapped files (RssFile); anonymous memory is what the
//! engine keeps beside them: its id index, buffers.

use std::path::Path;
use std::process::Command;

use crate::data::Rng;
use crate::engines::lmdb::Lmdb;
use crate::engines::vecstore::Vecstore;
use crate::engines::velesdb::Velesdb;
use crate::engines::{Column, Engine, Mode, Result};
use crate::util::{child_output, rss_anon_bytes, TempDir};

/// The flag that makes the binary run [`child_main`].
pub const CHILD_FLAG: &str = "--rss-child";

/// Runs a child that loads `n` vectors into `column`'s engine; returns its
/// anonymous-memory growth per vector, in bytes.
pub fn measure(column: Column, n: usize, dim: usize, seed: u64, root: &Path) -> Result<f64> {
    let text = child_output(
        "memory",
        Command::new(std::env::current_exe()?)
            .arg(CHILD_FLAG)
            .args([
                (column as usize).to_string(),
                n.to_string(),
                dim.to_string(),
                seed.to_string(),
            ])
            .arg(root),
    )?;
    Ok(text.trim().parse()?)
}

/// Child side: `column n dim seed root`; prints bytes per vector.
pub fn child_main(args: &[String]) -> Result<()> {
    let [column, n, dim, seed, root] = args else {
        return Err("usage: --rss-child COLUMN N DIM SEED ROOT".into());
    };
    let (n, dim, seed): (usize, usize, u64) = (n.parse()?, dim.parse()?, seed.parse()?);
    let root = Path::new(root);
    let per_vector = match column.as_str() {
        "0" => load::<Vecstore>(n, dim, seed, root)?,
        "1" => load::<Velesdb>(n, dim, seed, root)?,
        "2" => load::<Lmdb>(n, dim, seed, root)?,
        other => return Err(format!("no engine {other}").into()),
    };
    println!("{per_vector}");
    Ok(())
}

fn load<E: Engine>(n: usize, dim: usize, seed: u64, root: &Path) -> Result<f64> {
    let dir = TempDir::new(root, &format!("{}-rss", E::NAME.to_lowercase()))?;
    let mut rng = Rng::new(seed);
    let mut ids = Vec::with_capacity(1000);
    let mut batch = vec![0f32; 1000 * dim];
    let before = rss_anon_bytes();
    let engine = E::open(dir.path(), dim, Mode::Flush)?;
    for first in (0..n).step_by(1000) {
        let count = 1000.min(n - first);
        ids.clear();
        ids.extend(first as u64..(first + count) as u64);
        batch.iter_mut().for_each(|x| *x = rng.unit_f32());
        engine.put_batch(&ids, &batch[..count * dim])?;
    }
    engine.barrier()?;
    let grown = rss_anon_bytes().saturating_sub(before);
    engine.close()?;
    Ok(grown as f64 / n as f64)
}
