//! What a command that succeeded hands back to `main`: its own module, below
//! `commands` and `transfer`, so that both return it and neither imports the
//! other for it.

use crate::fail::code;

/// What a successful command prints on stdout, and its exit code.
pub struct Report {
    pub out: String,
    pub code: u8,
}

impl Report {
    pub fn ok(out: String) -> Report {
        Report {
            out,
            code: code::OK,
        }
    }
}
