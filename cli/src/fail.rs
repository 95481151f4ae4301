//! Exit codes and the one error type every command returns.

use std::fmt;
use std::path::Path;

use vecstore::ErrorKind;

/// The process exit codes, documented in the top-level `--help`.
pub mod code {
    /// Success.
    pub const OK: u8 = 0;
    /// `verify` found the store damaged.
    pub const PROBLEMS: u8 = 1;
    /// Bad command line.
    pub const USAGE: u8 = 2;
    /// No store in the directory.
    pub const NOT_FOUND: u8 = 3;
    /// Another process holds the store's write lock.
    pub const LOCKED: u8 = 4;
    /// The store is damaged or written by an incompatible format version.
    pub const CORRUPT: u8 = 5;
    /// The input file is missing, malformed, truncated, or of the wrong dimension.
    pub const BAD_INPUT: u8 = 6;
    /// Anything else: I/O errors, a full disk, an unwritable output file.
    pub const OTHER: u8 = 7;
    /// `get`, `delete`: the store holds no vector with that id.
    pub const NO_ID: u8 = 8;
}

/// The exit-code table, shown once, at the end of the top-level `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  verify: the store is damaged (each problem is listed);
     export --skip-damaged: damaged vectors were skipped (their ids are listed)
  2  usage error (unknown command or option, missing or bad argument)
  3  no vecstore store in DIR
  4  the store is locked: another handle holds its write lock
  5  the store is damaged or has an unsupported format version
  6  bad input: a file missing, malformed or truncated, non-finite values, a
     dimension that differs from the store's, a bad copy destination
  7  any other error (I/O, disk full, output file not writable)
  8  get, delete: the store holds no vector with that id";

/// A failed command: what to tell the user and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(code::USAGE, message)
    }

    pub fn input(message: impl Into<String>) -> Failure {
        Failure::new(code::BAD_INPUT, message)
    }

    /// A problem reading the input file at `path`.
    pub fn input_io(path: &Path, err: &std::io::Error) -> Failure {
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            return Failure::input(format!("{}: file is truncated", path.display()));
        }
        Failure::input(format!("{}: {err}", path.display()))
    }

    /// A problem writing the output file at `path`.
    pub fn output_io(path: &Path, err: &std::io::Error) -> Failure {
        Failure::new(code::OTHER, format!("{}: {err}", path.display()))
    }
}

impl From<vecstore::Error> for Failure {
    fn from(err: vecstore::Error) -> Failure {
        let (code, prefix) = match err.kind() {
            ErrorKind::NotFound => (code::NOT_FOUND, ""),
            ErrorKind::Locked => (code::LOCKED, "the store is locked: "),
            ErrorKind::Corrupt => (code::CORRUPT, "the store is damaged: "),
            ErrorKind::VersionMismatch => (code::CORRUPT, "unsupported store format: "),
            ErrorKind::DimensionMismatch | ErrorKind::InvalidArgument => (code::BAD_INPUT, ""),
            _ => (code::OTHER, ""),
        };
        Failure::new(code, format!("{prefix}{}", err.message()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
