//! Open-time options and durability modes.

/// When an acknowledged write becomes durable. Later versions may add modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// A write is on stable storage (fdatasync of the log) when its call returns.
    /// Concurrent writers share one fdatasync (group commit).
    Fsync,
    /// A write has reached the operating system when its call returns: it survives
    /// a crash of the process, not a power loss.
    Flush,
    /// No log: only `flush`/`checkpoint` make writes durable; a crash returns the
    /// store to the last of those barriers.
    None,
}

impl Durability {
    /// Whether writes in this mode go through the write-ahead log.
    pub(crate) fn logged(self) -> bool {
        self != Durability::None
    }
}

/// Options for [`crate::Store::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Durability mode; changeable later with `set_durability`.
    pub durability: Durability,
    /// Open without writing anything; refuses writes with `ReadOnly`.
    pub read_only: bool,
    /// Create the directory and the store when missing.
    pub create_if_missing: bool,
    /// Vectors to pre-allocate room for; 0 = library default.
    pub initial_capacity: u64,
    /// A write that leaves more than this many bytes of log behind runs a
    /// checkpoint (as SQLite's `wal_autocheckpoint` does), which bounds the
    /// log's size and the time a reopen spends replaying it; 0 = library
    /// default (512 MiB). A failed automatic checkpoint does not fail the
    /// write that triggered it: the write was applied, and the next one tries
    /// again (unless a file failed to sync, after which every change is
    /// refused until the store is reopened).
    pub auto_checkpoint_log_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            durability: Durability::Fsync,
            read_only: false,
            create_if_missing: true,
            initial_capacity: 0,
            auto_checkpoint_log_bytes: 0,
        }
    }
}
