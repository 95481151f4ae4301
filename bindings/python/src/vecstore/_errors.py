"""Exceptions: one class per vecstore_status, all subclasses of Error."""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _ffi


class Error(Exception):
    """A vecstore call failed. ``status`` is the C status code,
    ``status_name`` its name (``"VECSTORE_NOT_FOUND"``...), and the message
    is vecstore_last_error()'s for that very call."""

    status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message

    @property
    def status_name(self) -> str:
        return str(_ffi.lib.vecstore_status_str(self.status).decode())

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class NotFound(Error, KeyError):
    """No vector with that id, or no store at that path (VECSTORE_NOT_FOUND)."""

    status = _ffi.NOT_FOUND


class InvalidArgument(Error, ValueError):
    """A bad argument: NaN or infinity, an unknown option, a closed store...
    (VECSTORE_INVALID_ARGUMENT)."""

    status = _ffi.INVALID_ARGUMENT


class DimensionMismatch(Error, ValueError):
    """A vector's length differs from the store's dimension
    (VECSTORE_DIMENSION_MISMATCH)."""

    status = _ffi.DIMENSION_MISMATCH


class IOFailure(Error, OSError):
    """An OS call failed; the message carries the OS error (VECSTORE_IO)."""

    status = _ffi.IO


class Corrupt(Error):
    """On-disk data failed validation; nothing was modified (VECSTORE_CORRUPT)."""

    status = _ffi.CORRUPT


class Locked(Error):
    """Another read-write handle has the store open (VECSTORE_LOCKED)."""

    status = _ffi.LOCKED


class ReadOnly(Error):
    """A change through a read-only handle (VECSTORE_READ_ONLY)."""

    status = _ffi.READ_ONLY


class NoSpace(Error, OSError):
    """Disk full or a file-size limit; the store stays usable (VECSTORE_NO_SPACE)."""

    status = _ffi.NO_SPACE


class VersionMismatch(Error):
    """The files were written by an incompatible format version
    (VECSTORE_VERSION_MISMATCH)."""

    status = _ffi.VERSION_MISMATCH


class Internal(Error):
    """A bug in the library; the handle is poisoned (VECSTORE_INTERNAL)."""

    status = _ffi.INTERNAL


BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (
        NotFound,
        InvalidArgument,
        DimensionMismatch,
        IOFailure,
        Corrupt,
        Locked,
        ReadOnly,
        NoSpace,
        VersionMismatch,
        Internal,
    )
}


def from_status(status: int) -> Error:
    """The exception for a status other than OK, with this thread's
    vecstore_last_error() message; call it right after the failed call."""
    message = _ffi.lib.vecstore_last_error().decode("utf-8", "replace")
    cls = BY_STATUS.get(status, Error)
    if not message:
        message = _ffi.lib.vecstore_status_str(status).decode()
    return cls(message, status)
