//! Helpers shared by the integration tests (each test file is its own crate,
//! and not every one uses every helper).
#![allow(dead_code)]

pub mod board;
pub mod child;
pub mod faultinject;
pub mod observe;
pub mod ops;
pub mod peer;
pub mod shim;

use std::path::Path;

use vecstore::Durability;

/// Tiny deterministic generator (xorshift64) so failures replay from the
/// printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The vector of `dim` floats written for `id` at `version`: distinct for
/// every write, exactly representable, so a test can tell which put a vector
/// came from.
pub fn versioned_vector(id: u64, version: u64, dim: usize) -> Vec<f32> {
    (0..dim as u64)
        .map(|i| ((id * 1_000_003 + version * 7919 + i * 31) % 1_000_033) as f32 * 0.25 - 1000.0)
        .collect()
}

/// A vector's bit patterns, for bit-exact comparisons.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

pub fn mode_name(m: Durability) -> &'static str {
    match m {
        Durability::Fsync => "fsync",
        Durability::Flush => "flush",
        Durability::None => "none",
        other => unimplemented!("a durability mode the tests do not know: {other:?}"),
    }
}

/// The inverse of [`mode_name`]; panics on anything else.
pub fn parse_mode(s: &str) -> Durability {
    match s {
        "fsync" => Durability::Fsync,
        "flush" => Durability::Flush,
        "none" => Durability::None,
        other => panic!("unknown mode {other}"),
    }
}

/// `VECSTORE_SOAK=1` asks for the long version of a randomized test.
pub fn soak() -> bool {
    std::env::var("VECSTORE_SOAK").is_ok_and(|v| v == "1")
}

/// A number from the environment, if set and valid.
pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The seed named by `name`, or a fresh one from the clock (printed by the
/// caller so that a failure can be replayed).
pub fn seed_from_env(name: &str) -> u64 {
    env_u64(name).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    })
}

/// A scratch directory on tmpfs when there is one (these tests do not depend
/// on fsync, and tmpfs keeps thousands of small stores fast);
/// `VECSTORE_TEST_TMPDIR` overrides.
pub fn test_root(prefix: &str) -> tempfile::TempDir {
    let base = std::env::var_os("VECSTORE_TEST_TMPDIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let shm = std::path::PathBuf::from("/dev/shm");
            tempfile::tempdir_in(&shm).ok().map(|_| shm)
        })
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(base)
        .unwrap()
}

/// Copies the files of the flat directory `from` into `to` (created if
/// needed).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Options of `durability`, read-only or not, otherwise the defaults.
pub fn opts(durability: vecstore::Durability, read_only: bool) -> vecstore::Options {
    vecstore::Options {
        durability,
        read_only,
        ..vecstore::Options::default()
    }
}

/// Runs `f` on a thread; `None` if it has not returned after `secs` (the
/// thread is left running: for calls that may hang).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs)).ok()
}

/// CRC-32 (IEEE) of `parts` in order, as every vecstore checksum is: for
/// tests that craft files with valid checksums.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}
