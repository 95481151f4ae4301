//! vecstore: an embeddable, crash-safe, memory-mapped vector store.
//!
//! The engine (every module but `ffi`) knows nothing of C; the `ffi` module is
//! a thin `extern "C"` layer over [`Store`] and knows nothing of files.
//! See ARCHITECTURE.md for the on-disk format and invariants.

#[cfg(not(target_endian = "little"))]
compile_error!("vecstore maps its files as native floats and supports little-endian targets only");
#[cfg(not(target_pointer_width = "64"))]
compile_error!("vecstore maps whole files and supports 64-bit targets only");

mod changes;
mod checkpoint;
mod codec;
mod compaction;
mod copy;
mod error;
mod files;
mod follow;
mod guard;
mod index;
mod log;
mod options;
mod recovery;
mod search;
mod segment;
mod shards;
mod store;
mod verify;

pub mod ffi;
/// The on-disk layout, for tools and tests; not a stable API.
///
/// Kept out of the C header (include/vecstore.h) by this annotation for cbindgen:
/// cbindgen:ignore
pub mod layout;

pub use codec::FORMAT_VERSION;
pub use error::{Error, ErrorKind, Result};
pub use guard::{Cursor, VectorGuard};
pub use options::{Durability, Options};
pub use search::{search_kernel, Metric, Neighbor};
pub use store::{Stats, Store};
pub use verify::Verification;
