"""The C ABI of libvecstore (include/vecstore.h), declared for ctypes.

Every function of the header is declared here with its exact parameter and
result types; tests/test_header.py parses the header shipped in the wheel and
fails if a function is missing, or a struct's size or field offsets differ
from the C compiler's. Handles are passed as ``c_void_p``, arrays as their
addresses (``ndarray.ctypes.data``), so no argument is ever copied.

``ctypes.CDLL`` releases the GIL for the whole of every call, so a search, a
batch, a flush or a compaction on one thread never stops other Python threads.
"""

from __future__ import annotations

import ctypes
import os

VERSION_MAJOR = 0
VERSION_MINOR = 2
#: VECSTORE_VERSION_NUMBER of the header these declarations follow.
VERSION_NUMBER = 2000

# vecstore_status
OK = 0
NOT_FOUND = 1
INVALID_ARGUMENT = 2
DIMENSION_MISMATCH = 3
IO = 4
CORRUPT = 5
LOCKED = 6
READ_ONLY = 7
NO_SPACE = 8
VERSION_MISMATCH = 9
INTERNAL = 99

# vecstore_durability
DURABILITY_FSYNC = 0
DURABILITY_FLUSH = 1
DURABILITY_NONE = 2

# vecstore_metric
METRIC_L2 = 0
METRIC_DOT = 1
METRIC_COSINE = 2


class Options(ctypes.Structure):
    """struct vecstore_options."""

    _fields_ = [
        ("size", ctypes.c_size_t),
        ("durability", ctypes.c_int),  # int-sized enum
        ("read_only", ctypes.c_bool),
        ("create_if_missing", ctypes.c_bool),
        ("initial_capacity", ctypes.c_uint64),
    ]


class Stats(ctypes.Structure):
    """struct vecstore_stats."""

    _fields_ = [
        ("size", ctypes.c_size_t),
        ("vectors", ctypes.c_uint64),
        ("dimension", ctypes.c_size_t),
        ("data_bytes", ctypes.c_uint64),
        ("log_bytes", ctypes.c_uint64),
        ("live_bytes", ctypes.c_uint64),
        ("fragmentation", ctypes.c_double),
        ("guards_outstanding", ctypes.c_uint64),
        ("capacity_grows", ctypes.c_uint64),
        ("grow_p50_ns", ctypes.c_uint64),
        ("grow_p99_ns", ctypes.c_uint64),
    ]


#: vecstore_filter_fn: bool (*)(uint64_t id, void *ctx).
FILTER = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_uint64, ctypes.c_void_p)

_p = ctypes.c_void_p  # handles and arrays (passed as addresses)
_st = ctypes.c_int  # vecstore_status, vecstore_metric, vecstore_durability
_sz = ctypes.c_size_t
_u64 = ctypes.c_uint64

#: name -> (result type, parameter types), in the header's order.
FUNCTIONS = {
    # store
    "vecstore_options_default": (Options, []),
    "vecstore_options_init": (_st, [ctypes.POINTER(Options), _sz]),
    "vecstore_open": (_st, [ctypes.c_char_p, _sz, ctypes.POINTER(Options), ctypes.POINTER(_p)]),
    "vecstore_close": (_st, [_p]),
    "vecstore_stats_get": (_st, [_p, ctypes.POINTER(Stats)]),
    # writes
    "vecstore_put": (_st, [_p, _u64, _p, _sz]),
    "vecstore_put_batch": (_st, [_p, _p, _p, _sz, _sz]),
    "vecstore_delete": (_st, [_p, _u64]),
    "vecstore_delete_batch": (_st, [_p, _p, _sz, ctypes.POINTER(_u64)]),
    # reads
    "vecstore_get": (_st, [_p, _u64, _p, _sz]),
    "vecstore_get_batch": (_st, [_p, _p, _sz, _p, _sz, _p]),
    "vecstore_contains": (ctypes.c_bool, [_p, _u64]),
    "vecstore_len": (_u64, [_p]),
    "vecstore_dimension": (_sz, [_p]),
    # guards and cursors
    "vecstore_get_ref": (_st, [_p, _u64, ctypes.POINTER(_p), ctypes.POINTER(_p)]),
    "vecstore_guard_data": (_p, [_p]),
    "vecstore_guard_len": (_sz, [_p]),
    "vecstore_guard_id": (_u64, [_p]),
    "vecstore_guard_release": (None, [_p]),
    "vecstore_cursor_open": (_st, [_p, ctypes.POINTER(_p)]),
    "vecstore_cursor_next": (_st, [_p, ctypes.POINTER(_u64), ctypes.POINTER(_p)]),
    "vecstore_cursor_close": (None, [_p]),
    # barriers and maintenance
    "vecstore_flush": (_st, [_p]),
    "vecstore_checkpoint": (_st, [_p]),
    "vecstore_set_durability": (_st, [_p, _st]),
    "vecstore_reserve": (_st, [_p, _u64]),
    "vecstore_compact": (_st, [_p, ctypes.POINTER(_u64)]),
    "vecstore_copy": (_st, [_p, ctypes.c_char_p]),
    # search
    "vecstore_search": (_st, [_p, _p, _sz, _sz, _st, _p, _p, ctypes.POINTER(_sz)]),
    "vecstore_search_batch": (_st, [_p, _p, _sz, _sz, _sz, _st, _p, _p, _p]),
    "vecstore_search_filter": (
        _st, [_p, _p, _sz, _sz, _st, FILTER, _p, _p, _p, ctypes.POINTER(_sz)]),
    "vecstore_search_ids": (_st, [_p, _p, _sz, _p, _sz, _sz, _st, _p, _p, ctypes.POINTER(_sz)]),
    "vecstore_search_by_id": (_st, [_p, _u64, _sz, _st, _p, _p, ctypes.POINTER(_sz)]),
    "vecstore_set_search_threads": (_st, [_p, ctypes.c_uint32]),
    # errors and versions
    "vecstore_last_error": (ctypes.c_char_p, []),
    "vecstore_status_str": (ctypes.c_char_p, [_st]),
    "vecstore_version": (ctypes.c_char_p, []),
    "vecstore_version_number": (ctypes.c_uint32, []),
}

LIBRARY_NAME = "libvecstore.so"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
LIBRARY_PATH = os.path.join(PACKAGE_DIR, LIBRARY_NAME)
INCLUDE_DIR = os.path.join(PACKAGE_DIR, "include")


def load(path: str = LIBRARY_PATH) -> ctypes.CDLL:
    """Loads the library the package carries and declares every function."""
    if not os.path.exists(path):
        raise ImportError(
            f"vecstore: {path} is missing; the package was not built with its library "
            "(install it with `pip install ./bindings/python`, which runs cargo)"
        )
    lib = ctypes.CDLL(path)
    for name, (restype, argtypes) in FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    number = lib.vecstore_version_number()
    if number // 1000 != VERSION_NUMBER // 1000:
        raise ImportError(
            f"vecstore: {path} is version {lib.vecstore_version().decode()} "
            f"({number}); this package needs {VERSION_MAJOR}.{VERSION_MINOR}.x"
        )
    return lib


lib = load()
