//! The search threads: one pool per process, started as searches need it
//! and shared by every search of every store.
//!
//! A search splits its scan into parts that any thread claims, one at a time:
//! the calling thread and the pool's threads it asked for help. The caller
//! never waits for a part nobody has started (it claims it itself), so
//! searches from many threads at once share the cores instead of each
//! starting a thread per core, and a pool thread the OS refuses costs only
//! speed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

/// Work that several threads may help with.
pub(super) trait Job: Send + Sync {
    /// Claims parts of the work and does them, until none is left.
    fn help(&self);
}

/// The process's search threads and the work offered to them.
pub(super) struct Pool {
    /// The process that started the pool: a child made by `fork` has none
    /// of its threads, and may have inherited its locks held.
    pid: u32,
    offered: Mutex<VecDeque<Arc<dyn Job>>>,
    wake: Condvar,
    /// Threads started.
    threads: AtomicUsize,
    /// Held while starting threads, so two searches do not both start them.
    starting: Mutex<()>,
}

/// The process's pool. A child made by `fork` gets a new one (the parent's
/// is left alone, never freed: its locks may be held by threads the child
/// does not have).
pub(super) fn pool() -> &'static Pool {
    static POOL: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());
    let pid = std::process::id();
    let current = POOL.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in POOL comes from `Box::leak` below and is
    // never freed.
    if let Some(pool) = unsafe { current.as_ref() } {
        if pool.pid == pid {
            return pool;
        }
    }
    let fresh: &'static Pool = Box::leak(Box::new(Pool {
        pid,
        offered: Mutex::new(VecDeque::new()),
        wake: Condvar::new(),
        threads: AtomicUsize::new(0),
        starting: Mutex::new(()),
    }));
    let fresh_ptr = fresh as *const Pool as *mut Pool;
    match POOL.compare_exchange(current, fresh_ptr, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        // Another thread of this process installed one first: use it (the
        // spare, never shared, is a few bytes leaked once).
        // SAFETY: as above.
        Err(installed) => unsafe { &*installed },
    }
}

/// The cores this process may run on.
pub(super) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Pool {
    /// Asks up to `helpers` pool threads to help with `job`; the caller helps
    /// too, then calls [`Pool::withdraw`]. The pool holds at most one thread
    /// per core but the caller's; it starts those it lacks, as far as the OS
    /// allows (a refusal is retried by a later search).
    pub(super) fn offer(&'static self, job: &Arc<dyn Job>, helpers: usize) {
        let helpers = helpers.min(self.start(helpers));
        if helpers == 0 {
            return;
        }
        let mut offered = self.offered.lock();
        for _ in 0..helpers {
            offered.push_back(Arc::clone(job));
        }
        drop(offered);
        for _ in 0..helpers {
            self.wake.notify_one();
        }
    }

    /// Takes back the offers of `job` no thread has taken yet (its work is
    /// done): they would keep its snapshot alive for nothing.
    pub(super) fn withdraw(&self, job: &Arc<dyn Job>) {
        self.offered.lock().retain(|j| !Arc::ptr_eq(j, job));
    }

    /// Starts threads until there are `wanted` (at most one per core but
    /// one); returns how many there are.
    fn start(&'static self, wanted: usize) -> usize {
        let wanted = wanted.min(cores().saturating_sub(1));
        let running = self.threads.load(Ordering::Acquire);
        if running >= wanted {
            return running;
        }
        let _starting = self.starting.lock();
        while self.threads.load(Ordering::Acquire) < wanted {
            let n = self.threads.load(Ordering::Acquire);
            let started = std::thread::Builder::new()
                .name(format!("vecstore-search-{n}"))
                .spawn(move || self.serve());
            if started.is_err() {
                break;
            }
            self.threads.fetch_add(1, Ordering::AcqRel);
        }
        self.threads.load(Ordering::Acquire)
    }

    /// A pool thread: helps with whatever is offered, for the life of the
    /// process.
    fn serve(&self) {
        loop {
            let job = {
                let mut offered = self.offered.lock();
                loop {
                    if let Some(job) = offered.pop_front() {
                        break job;
                    }
                    self.wake.wait(&mut offered);
                }
            };
            job.help();
        }
    }
}
