//! The values C passes, checked and converted: status names, durability and
//! metric codes, the caller's dimension.

use std::ffi::CStr;

use super::types::*;
use crate::{Durability, Error, Metric};

impl vecstore_status {
    /// Every status with its name.
    const NAMES: [(vecstore_status, &'static CStr); 11] = [
        (Self::VECSTORE_OK, c"VECSTORE_OK"),
        (Self::VECSTORE_NOT_FOUND, c"VECSTORE_NOT_FOUND"),
        (
            Self::VECSTORE_INVALID_ARGUMENT,
            c"VECSTORE_INVALID_ARGUMENT",
        ),
        (
            Self::VECSTORE_DIMENSION_MISMATCH,
            c"VECSTORE_DIMENSION_MISMATCH",
        ),
        (Self::VECSTORE_IO, c"VECSTORE_IO"),
        (Self::VECSTORE_CORRUPT, c"VECSTORE_CORRUPT"),
        (Self::VECSTORE_LOCKED, c"VECSTORE_LOCKED"),
        (Self::VECSTORE_READ_ONLY, c"VECSTORE_READ_ONLY"),
        (Self::VECSTORE_NO_SPACE, c"VECSTORE_NO_SPACE"),
        (
            Self::VECSTORE_VERSION_MISMATCH,
            c"VECSTORE_VERSION_MISMATCH",
        ),
        (Self::VECSTORE_INTERNAL, c"VECSTORE_INTERNAL"),
    ];

    /// The name of the status whose value is `code`, or
    /// "VECSTORE_UNKNOWN_STATUS".
    pub(crate) fn name_of(code: vecstore_status_code) -> &'static CStr {
        Self::NAMES
            .iter()
            .find(|(status, _)| *status as u32 == code)
            .map_or(c"VECSTORE_UNKNOWN_STATUS", |(_, name)| name)
    }
}

/// The engine's value for C value `code`, looked up in `table` of (C
/// value, engine value); `kind` and `names` word the error.
fn lookup<T: Copy>(table: &[(u32, T)], code: u32, kind: &str, names: &str) -> Result<T, Error> {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::invalid(format!("unknown {kind} {code} (expected {names})")))
}

/// The engine's durability for a C value.
pub(crate) fn durability_from(code: vecstore_durability_code) -> Result<Durability, Error> {
    use vecstore_durability::*;
    let table = [
        (VECSTORE_DURABILITY_FSYNC as u32, Durability::Fsync),
        (VECSTORE_DURABILITY_FLUSH as u32, Durability::Flush),
        (VECSTORE_DURABILITY_NONE as u32, Durability::None),
    ];
    lookup(
        &table,
        code,
        "durability",
        "VECSTORE_DURABILITY_FSYNC, _FLUSH or _NONE",
    )
}

/// The engine's metric for a C value.
pub(crate) fn metric_from(code: vecstore_metric_code) -> Result<Metric, Error> {
    use vecstore_metric::*;
    let table = [
        (VECSTORE_METRIC_L2 as u32, Metric::L2),
        (VECSTORE_METRIC_DOT as u32, Metric::Dot),
        (VECSTORE_METRIC_COSINE as u32, Metric::Cosine),
    ];
    lookup(
        &table,
        code,
        "metric",
        "VECSTORE_METRIC_L2, _DOT or _COSINE",
    )
}

impl vecstore_store {
    /// The caller's dimension, checked: 0 is invalid, anything else must be
    /// the store's.
    pub(crate) fn check_dimension(&self, dimension: usize) -> Result<usize, Error> {
        if dimension == 0 {
            return Err(Error::invalid("dimension is 0"));
        }
        let own = self.store.dimension();
        if dimension != own as usize {
            return Err(Error::dimension(own, dimension));
        }
        Ok(dimension)
    }
}
