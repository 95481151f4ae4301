//! The header's enum constants and version macros as Rust consts, for ctest2.
//!
//! ctest2 tests `pub const` items (C value == Rust value, byte by byte) but
//! not enum items, so each variant of the `#[repr(C)]` enums is restated as a
//! const of the enum type whose value is the Rust variant itself: the check
//! compares the header's constant with the real Rust discriminant.
//! Completeness: `exhaustive` below stops compiling when a variant is added
//! to a Rust enum, and build.rs fails unless every enum constant and
//! `VECSTORE_VERSION_*` macro of the header is a const here.
//!
//! The `*_enum` aliases give ctest2 a type item for each enum, so it checks
//! the enum's size and alignment against the C enum (build.rs maps
//! `X_enum` to `enum X`).

use vecstore::ffi::{vecstore_durability, vecstore_metric, vecstore_status};

pub type vecstore_status_enum = vecstore_status;
pub type vecstore_durability_enum = vecstore_durability;
pub type vecstore_metric_enum = vecstore_metric;

pub const VECSTORE_OK: vecstore_status = vecstore_status::VECSTORE_OK;
pub const VECSTORE_NOT_FOUND: vecstore_status = vecstore_status::VECSTORE_NOT_FOUND;
pub const VECSTORE_INVALID_ARGUMENT: vecstore_status = vecstore_status::VECSTORE_INVALID_ARGUMENT;
pub const VECSTORE_DIMENSION_MISMATCH: vecstore_status =
    vecstore_status::VECSTORE_DIMENSION_MISMATCH;
pub const VECSTORE_IO: vecstore_status = vecstore_status::VECSTORE_IO;
pub const VECSTORE_CORRUPT: vecstore_status = vecstore_status::VECSTORE_CORRUPT;
pub const VECSTORE_LOCKED: vecstore_status = vecstore_status::VECSTORE_LOCKED;
pub const VECSTORE_READ_ONLY: vecstore_status = vecstore_status::VECSTORE_READ_ONLY;
pub const VECSTORE_NO_SPACE: vecstore_status = vecstore_status::VECSTORE_NO_SPACE;
pub const VECSTORE_VERSION_MISMATCH: vecstore_status = vecstore_status::VECSTORE_VERSION_MISMATCH;
pub const VECSTORE_INTERNAL: vecstore_status = vecstore_status::VECSTORE_INTERNAL;

pub const VECSTORE_DURABILITY_FSYNC: vecstore_durability =
    vecstore_durability::VECSTORE_DURABILITY_FSYNC;
pub const VECSTORE_DURABILITY_FLUSH: vecstore_durability =
    vecstore_durability::VECSTORE_DURABILITY_FLUSH;
pub const VECSTORE_DURABILITY_NONE: vecstore_durability =
    vecstore_durability::VECSTORE_DURABILITY_NONE;

pub const VECSTORE_METRIC_L2: vecstore_metric = vecstore_metric::VECSTORE_METRIC_L2;
pub const VECSTORE_METRIC_DOT: vecstore_metric = vecstore_metric::VECSTORE_METRIC_DOT;
pub const VECSTORE_METRIC_COSINE: vecstore_metric = vecstore_metric::VECSTORE_METRIC_COSINE;

// VECSTORE_VERSION_MAJOR/MINOR/PATCH/NUMBER, computed by build.rs from the
// version in vecstore's Cargo.toml.
include!(concat!(env!("OUT_DIR"), "/version.rs"));

/// Never runs: fails to compile when a Rust enum gains a variant not listed
/// above (no wildcard arms on purpose).
#[allow(dead_code)]
fn exhaustive(s: vecstore_status, d: vecstore_durability, m: vecstore_metric) {
    use vecstore_durability as D;
    use vecstore_metric as M;
    use vecstore_status as S;
    match s {
        S::VECSTORE_OK
        | S::VECSTORE_NOT_FOUND
        | S::VECSTORE_INVALID_ARGUMENT
        | S::VECSTORE_DIMENSION_MISMATCH
        | S::VECSTORE_IO
        | S::VECSTORE_CORRUPT
        | S::VECSTORE_LOCKED
        | S::VECSTORE_READ_ONLY
        | S::VECSTORE_NO_SPACE
        | S::VECSTORE_VERSION_MISMATCH
        | S::VECSTORE_INTERNAL => {}
    }
    match d {
        D::VECSTORE_DURABILITY_FSYNC
        | D::VECSTORE_DURABILITY_FLUSH
        | D::VECSTORE_DURABILITY_NONE => {}
    }
    match m {
        M::VECSTORE_METRIC_L2 | M::VECSTORE_METRIC_DOT | M::VECSTORE_METRIC_COSINE => {}
    }
}
