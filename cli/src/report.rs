//! What a command that succeeded hands back to `main`: its own module, below
//! `commands` and `transfer`, so that both return it and neither imports the
//! other for it.

use crate::fail::code;

/// What a command that ran prints on stdout and stderr, and its exit code.
pub struct Report {
    pub out: String,
    /// Notes and warnings for stderr (printed before `out`).
    pub err: String,
    pub code: u8,
}

impl Report {
    pub fn ok(out: String) -> Report {
        Report {
            out,
            err: String::new(),
            code: code::OK,
        }
    }
}
