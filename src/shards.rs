//! Per-thread shards of what every read updates, so that threads reading at
//! once never write to the same cache line: a reader-writer lock whose
//! readers lock their thread's shard only, and reference counts kept one
//! per shard. (A single lock word or `Arc` count that every reading thread
//! increments bounces between their caches and serializes them.)

use std::cell::{Cell, UnsafeCell};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shards of each sharded thing: more than the threads that usually read at once.
pub(crate) const SHARDS: usize = 16;

/// The calling thread's shard, assigned round-robin at its first read, so
/// that a handful of threads get a shard each.
pub(crate) fn current() -> usize {
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SHARD.with(|shard| match shard.get() {
        usize::MAX => {
            let assigned = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
            shard.set(assigned);
            assigned
        }
        assigned => assigned,
    })
}

/// A value on a cache line pair of its own (128 bytes: adjacent-line
/// prefetchers fetch lines in pairs).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub T);

/// `Arc`s of one value, one per shard: cloning the calling thread's shard
/// touches only that shard's count. Each keeps the value alive.
pub(crate) struct ShardedArc<T> {
    shards: Box<[Arc<Padded<T>>]>,
}

impl<T: Clone> ShardedArc<T> {
    pub(crate) fn new(value: T) -> ShardedArc<T> {
        ShardedArc {
            shards: (0..SHARDS)
                .map(|_| Arc::new(Padded(value.clone())))
                .collect(),
        }
    }
}

impl<T> ShardedArc<T> {
    /// A reference for the calling thread's shard.
    pub(crate) fn clone_for_thread(&self) -> Arc<Padded<T>> {
        self.shards[current()].clone()
    }

    /// References held outside `self`, over all shards.
    pub(crate) fn held_elsewhere(&self) -> u64 {
        self.shards
            .iter()
            .map(|a| (Arc::strong_count(a) - 1) as u64)
            .sum()
    }
}

/// A reader-writer lock whose readers take their thread's shard only; a
/// writer takes every shard, in order.
pub(crate) struct ShardedLock<T> {
    shards: Box<[Padded<RwLock<()>>]>,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is reached only through the guards below: shared while
// some shard's read lock is held (no writer can hold all shards then),
// exclusive while every shard's write lock is held. These are the bounds
// `RwLock<T>` has.
unsafe impl<T: Send> Send for ShardedLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for ShardedLock<T> {}

impl<T> ShardedLock<T> {
    pub(crate) fn new(value: T) -> ShardedLock<T> {
        ShardedLock {
            shards: (0..SHARDS).map(|_| Padded(RwLock::new(()))).collect(),
            value: UnsafeCell::new(value),
        }
    }

    pub(crate) fn read(&self) -> ShardedReadGuard<'_, T> {
        let guard = self.shards[current()].0.read();
        ShardedReadGuard {
            _shard: guard,
            // SAFETY: a shard's read lock is held for the guard's life (see
            // the `Sync` impl).
            value: unsafe { &*self.value.get() },
        }
    }

    pub(crate) fn write(&self) -> ShardedWriteGuard<'_, T> {
        let shards = std::array::from_fn(|i| self.shards[i].0.write());
        ShardedWriteGuard {
            _shards: shards,
            // SAFETY: every shard's write lock is held for the guard's life.
            value: unsafe { &mut *self.value.get() },
        }
    }

    pub(crate) fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

pub(crate) struct ShardedReadGuard<'a, T> {
    _shard: RwLockReadGuard<'a, ()>,
    value: &'a T,
}

impl<T> Deref for ShardedReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

pub(crate) struct ShardedWriteGuard<'a, T> {
    _shards: [RwLockWriteGuard<'a, ()>; SHARDS],
    value: &'a mut T,
}

impl<T> Deref for ShardedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> DerefMut for ShardedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_on_many_threads_and_a_writer_agree() {
        let lock = Arc::new(ShardedLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        *lock.write() += 1;
                        let seen = *lock.read();
                        assert!(seen >= 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.read(), 40_000);
    }

    #[test]
    fn sharded_arcs_count_what_is_held() {
        let arcs = ShardedArc::new(5u32);
        let a = arcs.clone_for_thread();
        let b = std::thread::spawn({
            let b = arcs.clone_for_thread();
            move || b.0
        })
        .join()
        .unwrap();
        assert_eq!((a.0, b), (5, 5));
        assert_eq!(arcs.held_elsewhere(), 1);
        drop(a);
        assert_eq!(arcs.held_elsewhere(), 0);
    }
}
