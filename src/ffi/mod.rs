//! The C ABI: opaque handles and `extern "C"` functions over [`crate::Store`].
//!
//! Every entry point runs inside one boundary (`boundary`): pointer checks,
//! panic capture, status mapping, and the message for `vecstore_last_error`.
//! No logic lives here; the doc comments below become `include/vecstore.h`,
//! in the order of the modules below (the header's groups).
//!
//! Pointer arguments come from C: their validity is the caller's side of the
//! contract documented at each declaration, so the entry points are safe Rust
//! functions that check for NULL and otherwise trust the pointer, as every C
//! library does. Every dereference lives in `boundary`, with a `SAFETY:` note.
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod types;
mod values;

// The header's groups, in this order (kept apart so rustfmt keeps it).
mod store;

mod writes;

mod reads;

mod guards;

mod maintenance;

mod search;

mod library;

pub use guards::*;
pub use library::*;
pub use maintenance::*;
pub use reads::*;
pub use search::*;
pub use store::*;
pub use types::*;
pub use writes::*;
