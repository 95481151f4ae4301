//! The engine's one error type. Each kind maps one-to-one onto a C status code.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// What went wrong, as a category the caller can act on. Later versions may
/// add kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No vector with that id, no store at that path, or the end of a cursor.
    NotFound,
    /// A bad argument: zero dimension, a non-finite value, an unknown option, a path that is not a directory.
    InvalidArgument,
    /// A vector or buffer whose length is not the store's dimension.
    DimensionMismatch,
    /// An operating-system call failed.
    Io,
    /// On-disk data failed validation.
    Corrupt,
    /// Another handle (in this or another process) has the store open for writing.
    Locked,
    /// A write was attempted on a store opened read-only.
    ReadOnly,
    /// The disk is full or a file-size limit was hit.
    NoSpace,
    /// The files were written by an incompatible format version.
    VersionMismatch,
}

/// An error with a message naming what failed (path, id, dimensions, OS error
/// text), and, for a failed OS call, the `io::Error` itself as its
/// [`source`](std::error::Error::source).
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Shared so that an error stays `Clone` (a store repeats the error of a
    /// failed fsync to every later change).
    cause: Option<Arc<io::Error>>,
}

/// Two errors are equal when their kind and message are: the message already
/// names the OS error.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

/// Result type used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Makes an error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An error of the same kind and cause, with another message (one that
    /// quotes this error).
    pub(crate) fn context(&self, message: String) -> Error {
        Error {
            kind: self.kind,
            message,
            cause: self.cause.clone(),
        }
    }

    /// The OS error number, when an OS call failed.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.cause.as_ref().and_then(|e| e.raw_os_error())
    }

    /// Wraps an OS error from `what` on `path`, classifying a full disk as
    /// `NoSpace`. The error is kept as the source: an OS error as its errno,
    /// any other with its kind and text.
    pub fn io(what: &str, path: &Path, err: &io::Error) -> Error {
        let kind = match err.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EFBIG) | Some(libc::EDQUOT) => ErrorKind::NoSpace,
            _ => ErrorKind::Io,
        };
        let cause = match err.raw_os_error() {
            Some(errno) => io::Error::from_raw_os_error(errno),
            None => io::Error::new(err.kind(), err.to_string()),
        };
        Error {
            kind,
            message: format!("{what} {}: {err}", path.display()),
            cause: Some(Arc::new(cause)),
        }
    }

    pub(crate) fn corrupt(path: &Path, what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Corrupt, format!("{}: {what}", path.display()))
    }

    /// `NotFound`: `dir` holds no store.
    pub(crate) fn no_store(dir: &Path) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("{}: no vecstore store here", dir.display()),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn dimension(expected: u32, actual: usize) -> Error {
        Error::new(
            ErrorKind::DimensionMismatch,
            format!(
                "dimension mismatch: the store has dimension {expected}, the call gave {actual}"
            ),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_os_error_keeps_its_errno_as_the_source() {
        let err = Error::io(
            "open",
            Path::new("/x"),
            &io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));
        let source = err.source().expect("a source");
        let io = source.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.message().starts_with("open /x: "), "{}", err.message());
        // A full disk is its own kind, with the errno kept.
        let full = Error::io(
            "write",
            Path::new("/x"),
            &io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(
            (full.kind(), full.raw_os_error()),
            (ErrorKind::NoSpace, Some(libc::ENOSPC))
        );
        // Errors that are not an OS call's have no source.
        assert!(Error::invalid("bad").source().is_none());
    }
}
