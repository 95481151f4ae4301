//! Scratch directories, process memory, timing helpers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::engines::Result;

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory `name` under the run's scratch root.
    pub fn new(root: &Path, name: &str) -> std::io::Result<TempDir> {
        let path = root.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A copy of this directory (`cp -r`, so sparse files stay sparse) named `name`.
    pub fn copy_to(&self, name: &str) -> std::io::Result<TempDir> {
        let target = self.0.with_file_name(name);
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        let status = Command::new("cp")
            .arg("-r")
            .arg(&self.0)
            .arg(&target)
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("cp -r failed: {status}")));
        }
        Ok(TempDir(target))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `df -T` of `path`: the filesystem the stores live on.
pub fn filesystem_of(path: &Path) -> String {
    Command::new("df")
        .arg("-T")
        .arg(path)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .nth(1)
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `lscpu`'s model name and the core count.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_kib = proc_field("/proc/meminfo", "MemTotal:").unwrap_or(0);
    format!(
        "{model}, {cores} cores, {:.1} GiB RAM",
        mem_kib as f64 / (1 << 20) as f64
    )
}

/// Anonymous resident memory of this process, in bytes.
pub fn rss_anon_bytes() -> u64 {
    proc_field("/proc/self/status", "RssAnon:").unwrap_or(0) * 1024
}

/// The first number after `key` in a `/proc` file of `key value kB` lines.
fn proc_field(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Runs `child` (this binary in a child mode, see `main`) and returns what
/// it printed; `what` names it in the error if it fails.
pub fn child_output(what: &str, child: &mut Command) -> Result<String> {
    let output = child.output()?;
    if !output.status.success() {
        return Err(format!(
            "{what} child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Flushes the page cache's dirty pages, so a timed open does not pay for
/// writing back bytes a copy (not the store) dirtied.
pub fn sync_all() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Runs `f` once and returns its result and the seconds it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// Value at percentile `p` (0–100) of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[rank]
}

/// Median of `values` (NaN if there are none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of the
/// machine, so timestamps taken in two processes can be subtracted.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
