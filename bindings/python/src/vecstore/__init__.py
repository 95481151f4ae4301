"""vecstore: an embeddable, crash-safe, memory-mapped vector store.

A thin binding of the C library (include/vecstore.h), which the package
carries inside it::

    import numpy as np
    import vecstore

    with vecstore.open("my-vectors", 384) as store:
        store.put_batch(np.arange(3, dtype=np.uint64), np.random.rand(3, 384).astype(np.float32))
        ids, distances = store.search(np.random.rand(384).astype(np.float32), k=2, metric="cosine")
        with store.get_ref(int(ids[0])) as v:   # a read-only view of the mapped file
            print(v[:4])

See the package README (bindings/python/README.md) and the comments in
vecstore.h, which are the contract.
"""

from __future__ import annotations

from . import _ffi
from ._errors import (
    Corrupt,
    DimensionMismatch,
    Error,
    Internal,
    InvalidArgument,
    IOFailure,
    Locked,
    NoSpace,
    NotFound,
    ReadOnly,
    VersionMismatch,
)
from ._store import NO_ID, Cursor, Ref, Store, open

#: The package version: the version of the crate its library was built from.
__version__: str = _ffi.lib.vecstore_version().decode()

__all__ = [
    "open",
    "Store",
    "Ref",
    "Cursor",
    "NO_ID",
    "Error",
    "NotFound",
    "InvalidArgument",
    "DimensionMismatch",
    "IOFailure",
    "Corrupt",
    "Locked",
    "ReadOnly",
    "NoSpace",
    "VersionMismatch",
    "Internal",
    "library_version",
    "library_path",
    "include_dir",
]


def library_version() -> str:
    """The version of the C library the package carries ("MAJOR.MINOR.PATCH")."""
    return str(_ffi.lib.vecstore_version().decode())


def library_path() -> str:
    """The path of the libvecstore.so the package carries and uses."""
    return _ffi.LIBRARY_PATH


def include_dir() -> str:
    """The directory holding the vecstore.h the package's library was built
    with, for C code that links :func:`library_path`."""
    return _ffi.INCLUDE_DIR
