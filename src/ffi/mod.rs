//! The C ABI: opaque handles and `extern "C"` functions over [`crate::Store`].
//!
//! Every entry point checks its pointers, catches panics, maps errors to
//! status codes and records the message for `vecstore_last_error`. No logic
//! lives here; the doc comments below become `include/vecstore.h`.
//!
//! Pointer arguments come from C: their validity is the caller's side of the
//! contract documented at each declaration, so the entry points are safe Rust
//! functions that check for NULL and otherwise trust the pointer, as every C
//! library does. The dereferences live in `boundary` and in the release
//! functions, each with a `SAFETY:` note.
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod functions;
mod types;

pub use functions::*;
pub use types::*;
