//! The machine's limits, measured in the same run as the stores.

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::data::Dataset;
use crate::util::timed;

pub struct Limits {
    /// memcpy of a buffer of the data's size, GB/s.
    pub memcpy_gbs: f64,
    /// Single-threaded sequential read (sum) of the data, GB/s.
    pub read_gbs: f64,
    /// Appends of a 512-byte record, each followed by fdatasync, per second
    /// (the median of the measurements taken during the run).
    pub fdatasync_per_s: f64,
    /// Random reads of one whole row of the data, ns each.
    pub dram_row_ns: f64,
}

impl Limits {
    pub fn measure(
        data: &Dataset,
        dir: &Path,
        syncs: usize,
        reads: usize,
    ) -> std::io::Result<Limits> {
        Ok(Limits {
            memcpy_gbs: memcpy_gbs(&data.flat),
            read_gbs: read_gbs(&data.flat),
            fdatasync_per_s: fdatasync_rate(dir, syncs)?,
            dram_row_ns: random_row_ns(data, reads),
        })
    }
}

/// Best of three copies of `src` into a buffer already faulted in.
fn memcpy_gbs(src: &[f32]) -> f64 {
    let mut dst = vec![1f32; src.len()];
    let best = (0..3)
        .map(|_| timed(|| dst.copy_from_slice(black_box(src))).1)
        .fold(f64::INFINITY, f64::min);
    black_box(&dst);
    std::mem::size_of_val(src) as f64 / best / 1e9
}

/// Best of three passes summing `data` with 16 independent lanes.
fn read_gbs(data: &[f32]) -> f64 {
    let best = (0..3)
        .map(|_| timed(|| black_box(lane_sum(black_box(data)))).1)
        .fold(f64::INFINITY, f64::min);
    std::mem::size_of_val(data) as f64 / best / 1e9
}

pub fn lane_sum(data: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = data.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Appends of 512 bytes to a log file, each made durable by fdatasync.
pub fn fdatasync_rate(dir: &Path, count: usize) -> std::io::Result<f64> {
    let path = dir.join("limit-append.log");
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .mode(0o644)
        .open(&path)?;
    let record = [0x5Au8; 512];
    let (result, secs) = timed(|| -> std::io::Result<()> {
        for _ in 0..count {
            file.write_all(&record)?;
            file.sync_data()?;
        }
        Ok(())
    });
    result?;
    std::fs::remove_file(&path)?;
    Ok(count as f64 / secs)
}

/// Sums whole rows at random positions of the data (already in memory).
fn random_row_ns(data: &Dataset, count: usize) -> f64 {
    let ids = data.random_ids(count, 0x11);
    let (sum, secs) = timed(|| {
        ids.iter()
            .map(|&id| lane_sum(data.row(id as usize)))
            .sum::<f32>()
    });
    black_box(sum);
    secs * 1e9 / count as f64
}
