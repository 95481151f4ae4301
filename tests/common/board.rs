//! A page of counters shared by the processes of one test (a file outside
//! the store, mapped by each of them), through which a writer child tells
//! reader children what it has begun and acknowledged, and the parent tells
//! readers to stop. Readers load the counters around each read, which gives
//! every read exact bounds: it must show at least what was acknowledged
//! before it started and nothing begun after it ended.
//!
//! A pipe could not do this: a line reaches its reader only when the reader
//! looks, long after the read it would have to bound.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

/// The last operation (by number) whose acknowledgement obliges readers to
/// see it: any acknowledged write in a logged mode, a barrier in NONE mode.
pub const ACKED: usize = 0;
/// The last operation begun (its number is stored before it starts).
pub const BEGUN: usize = 1;
/// Non-zero: readers stop, after one more (final) read.
pub const STOP: usize = 2;

const LEN: usize = 4096;
/// Each counter on its own cache line.
const STRIDE: usize = 64;

pub struct Board {
    map: MmapMut,
}

impl Board {
    /// Makes a zeroed board at `path` (replacing any) and maps it.
    pub fn create(path: &Path) -> Board {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .unwrap();
        file.set_len(LEN as u64).unwrap();
        Board::map(&file)
    }

    /// Maps the board another process made.
    pub fn open(path: &Path) -> Board {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        Board::map(&file)
    }

    fn map(file: &std::fs::File) -> Board {
        // SAFETY: a shared mapping of a file of LEN bytes that no process
        // truncates; every access to it, in every process, goes through
        // the atomics below.
        let map = unsafe { memmap2::MmapOptions::new().len(LEN).map_mut(file) }.unwrap();
        Board { map }
    }

    fn counter(&self, i: usize) -> &AtomicU64 {
        assert!(i * STRIDE + 8 <= LEN);
        // SAFETY: in bounds (above), 8-aligned in a page-aligned mapping
        // that lives as long as `self`; only ever accessed atomically.
        unsafe { &*(self.map.as_ptr().add(i * STRIDE) as *const AtomicU64) }
    }

    pub fn get(&self, i: usize) -> u64 {
        self.counter(i).load(Ordering::SeqCst)
    }

    pub fn set(&self, i: usize, value: u64) {
        self.counter(i).store(value, Ordering::SeqCst);
    }
}
