"""Store, Ref and Cursor: the Python face of include/vecstore.h."""

from __future__ import annotations

import ctypes
import operator
import os
import threading
import weakref
from typing import Any, Callable, Dict, Iterator, Literal, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from . import _ffi
from ._errors import Error, InvalidArgument, from_status

lib = _ffi.lib

#: The id that pads search_batch rows shorter than k (with distance +inf).
#: It is also a valid id: use ``return_counts=True`` where that matters.
NO_ID: int = 2**64 - 1

_DURABILITY = {
    "fsync": _ffi.DURABILITY_FSYNC,
    "flush": _ffi.DURABILITY_FLUSH,
    "none": _ffi.DURABILITY_NONE,
}
_METRIC = {"l2": _ffi.METRIC_L2, "dot": _ffi.METRIC_DOT, "cosine": _ffi.METRIC_COSINE}

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ArrayLike = npt.ArrayLike
F32Array = npt.NDArray[np.float32]
U64Array = npt.NDArray[np.uint64]


# ---- argument checks -------------------------------------------------------


def _check(status: int) -> None:
    if status:
        raise from_status(status)


def _uint(value: Any, what: str, limit: int = 2**64) -> int:
    """An integer in 0..limit-1 (ctypes would wrap a negative one silently)."""
    try:
        i = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not 0 <= i < limit:
        raise ValueError(f"{what} {i} is outside 0..{limit - 1}")
    return i


def _id(value: Any) -> int:
    return _uint(value, "id")


def _ids(ids: Any) -> U64Array:
    """A 1-D C-contiguous uint64 array: the caller's own when it already is one."""
    arr = ids if isinstance(ids, np.ndarray) else np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
    kind = arr.dtype.kind
    if arr.size == 0:
        return np.empty(0, dtype=np.uint64)
    if kind == "u":
        pass
    elif kind == "i":
        if arr.min() < 0:
            raise ValueError("ids must be in 0..2**64-1; got a negative id")
    elif kind == "O" or (kind == "f" and not isinstance(ids, np.ndarray)):
        # Python ints of both halves of the range make numpy pick object or
        # float64: convert them one by one (a real float is refused there)
        return np.array([_id(x) for x in (ids if kind == "f" else arr)], dtype=np.uint64)
    else:
        raise TypeError(f"ids must be integers (uint64 is taken as is), not dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def _floats(values: Any, ndim: int, what: str) -> F32Array:
    """A C-contiguous float32 array of `ndim` dimensions: the caller's own
    (no copy) when it already is one; other real dtypes and layouts are
    converted; anything else is refused."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{what} must hold real numbers (float32 is taken without a copy), not dtype {arr.dtype}"
        )
    if arr.ndim != ndim:
        shape = "(dimension,)" if ndim == 1 else "(n, dimension)"
        raise ValueError(f"{what} must be {ndim}-D {shape}, got shape {arr.shape}")
    if arr.dtype == np.float32:
        return np.ascontiguousarray(arr)
    with np.errstate(over="ignore"):  # beyond float32: inf, which the library refuses
        return np.ascontiguousarray(arr, dtype=np.float32)


def _addr(arr: np.ndarray) -> int:
    return int(arr.__array_interface__["data"][0])


def _durability(mode: Any) -> int:
    if isinstance(mode, str) and mode.lower() in _DURABILITY:
        return _DURABILITY[mode.lower()]
    raise ValueError(f"durability must be one of {sorted(_DURABILITY)}, not {mode!r}")


def _metric(metric: Any) -> int:
    if isinstance(metric, str) and metric.lower() in _METRIC:
        return _METRIC[metric.lower()]
    raise ValueError(f"metric must be one of 'l2', 'dot', 'cosine', not {metric!r}")


def _closed() -> Error:
    return InvalidArgument("vecstore: the store is closed", _ffi.INVALID_ARGUMENT)


# ---- open --------------------------------------------------------------------


def open(  # noqa: A001  (vecstore.open, as gzip.open)
    path: PathLike,
    dimension: int = 0,
    *,
    durability: str = "fsync",
    read_only: bool = False,
    create: bool = True,
    initial_capacity: int = 0,
) -> "Store":
    """Opens the store in directory `path` (vecstore_open).

    Args:
        path: the store's directory; created with the store when missing
            and `create` is true.
        dimension: floats per vector; 0 opens an existing store with its own.
        durability: when a write is durable: ``"fsync"`` (on stable storage
            when the call returns; the default), ``"flush"`` (survives a
            crash of the process, not a power loss) or ``"none"`` (only
            :meth:`Store.flush`, :meth:`Store.checkpoint`,
            :meth:`Store.compact` and close make writes durable).
        read_only: open without writing anything, beside one writer and any
            number of readers in any processes.
        create: create the directory and the store when missing.
        initial_capacity: vectors to pre-allocate room for (0: default).

    Raises:
        NotFound: no store there and `create` is false (or `dimension` is 0).
        DimensionMismatch: the store exists with another dimension.
        Locked: another read-write handle has the store.
        Corrupt, VersionMismatch, IOFailure, NoSpace, ReadOnly, InvalidArgument.
    """
    opts = lib.vecstore_options_default()
    opts.durability = _durability(durability)
    opts.read_only = bool(read_only)
    opts.create_if_missing = bool(create)
    opts.initial_capacity = _uint(initial_capacity, "initial_capacity")
    dim = _uint(dimension, "dimension")
    handle = ctypes.c_void_p()
    raw = os.fsencode(path)
    _check(lib.vecstore_open(raw, dim, ctypes.byref(opts), ctypes.byref(handle)))
    return Store(handle.value or 0, os.fsdecode(raw), bool(read_only))


# ---- Store ---------------------------------------------------------------------


class Store:
    """An open store. Use :func:`vecstore.open` to make one.

    Safe to use from any number of threads at once; every call that scans or
    writes (search, batches, flush, checkpoint, compact...) runs without the
    GIL. :meth:`close` waits for the calls in progress on other threads, and
    later calls raise :class:`InvalidArgument`. A store that is garbage
    collected unclosed is closed then; prefer ``with vecstore.open(...) as s:``.

    Vectors go in as numpy arrays: float32 and C-contiguous ones are passed
    to the library as they are, without a copy; other real dtypes and
    layouts are converted first. Ids are integers in 0..2**64-1 (arrays:
    uint64 taken as is, other integer dtypes converted).
    """

    def __init__(self, handle: int, path: str, read_only: bool) -> None:
        if not handle:
            raise ValueError("use vecstore.open() to open a store")
        self._h: Optional[int] = handle
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._calls = 0
        self._path = path
        self._read_only = read_only
        self._dim = int(lib.vecstore_dimension(handle))
        self._finalizer = weakref.finalize(self, lib.vecstore_close, handle)

    # -- handle bookkeeping: no call may run on the handle during or after close

    def _enter(self) -> int:
        with self._lock:
            h = self._h
            if h is None:
                raise _closed()
            self._calls += 1
            return h

    def _leave(self) -> None:
        with self._lock:
            self._calls -= 1
            if self._calls == 0:
                self._idle.notify_all()

    def close(self) -> None:
        """Makes every acknowledged write durable (a checkpoint) and releases
        the handle (vecstore_close). Idempotent. Guards (:meth:`get_ref`
        arrays) and cursors (:meth:`items`) stay valid after it.

        Raises:
            NoSpace, IOFailure: the handle is released, but the final
                checkpoint failed (see vecstore_close in vecstore.h).
        """
        with self._lock:
            h = self._h
            if h is None:
                return
            self._h = None
            while self._calls:
                self._idle.wait()
        self._finalizer.detach()
        _check(lib.vecstore_close(h))

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._h is None else f"dimension={self._dim}"
        mode = ", read_only" if self._read_only else ""
        return f"<vecstore.Store {self._path!r} {state}{mode}>"

    @property
    def closed(self) -> bool:
        return self._h is None

    @property
    def path(self) -> str:
        return self._path

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def dimension(self) -> int:
        """Floats per vector."""
        return self._dim

    # -- writes

    def put(self, id: int, vector: ArrayLike) -> None:
        """Stores one vector under `id`, replacing any vector with that id.

        Raises:
            DimensionMismatch: ``len(vector) != dimension``.
            InvalidArgument: a value is NaN or infinite.
            ReadOnly, NoSpace, IOFailure, Corrupt.
        """
        i = _id(id)
        v = _floats(vector, 1, "vector")
        h = self._enter()
        try:
            _check(lib.vecstore_put(h, i, _addr(v), v.shape[0]))
        finally:
            self._leave()

    def put_batch(self, ids: ArrayLike, vectors: ArrayLike) -> None:
        """Stores ``vectors[i]`` under ``ids[i]`` for every i, atomically
        (all or nothing, also across a crash). A later duplicate id wins.

        `vectors` is a 2-D (n, dimension) array; a float32 C-contiguous one
        and a uint64 `ids` are handed to the library without a copy.

        Raises:
            ValueError: ``len(ids) != len(vectors)``, or a wrong shape.
            TypeError: a dtype that is not a real number (ids: an integer).
            DimensionMismatch, InvalidArgument (NaN, inf), ReadOnly, NoSpace...
        """
        idv = _ids(ids)
        v = _floats(vectors, 2, "vectors")
        if idv.shape[0] != v.shape[0]:
            raise ValueError(f"{idv.shape[0]} ids for {v.shape[0]} vectors")
        h = self._enter()
        try:
            _check(lib.vecstore_put_batch(h, _addr(idv), _addr(v), v.shape[0], v.shape[1]))
        finally:
            self._leave()

    def delete(self, id: int) -> None:
        """Deletes the vector `id`.

        Raises:
            NotFound: no vector `id` (also a KeyError).
        """
        i = _id(id)
        h = self._enter()
        try:
            _check(lib.vecstore_delete(h, i))
        finally:
            self._leave()

    def delete_batch(self, ids: ArrayLike) -> int:
        """Deletes every listed id that exists, atomically; returns how many
        existed. Absent and duplicate ids are not an error."""
        idv = _ids(ids)
        deleted = ctypes.c_uint64()
        h = self._enter()
        try:
            _check(lib.vecstore_delete_batch(h, _addr(idv), idv.shape[0], ctypes.byref(deleted)))
        finally:
            self._leave()
        return deleted.value

    # -- reads

    def get(self, id: int) -> F32Array:
        """A copy of the vector `id` (1-D float32).

        Raises:
            NotFound: no vector `id` (also a KeyError).
            Corrupt: its bytes fail their checksum.
        """
        i = _id(id)
        out = np.empty(self._dim, dtype=np.float32)
        h = self._enter()
        try:
            _check(lib.vecstore_get(h, i, _addr(out), self._dim))
        finally:
            self._leave()
        return out

    def get_batch(
        self, ids: ArrayLike, *, out: Optional[F32Array] = None
    ) -> Tuple[F32Array, npt.NDArray[np.bool_]]:
        """Copies of the vectors of `ids`, from one consistent state.

        Returns:
            ``(vectors, found)``: a (len(ids), dimension) float32 array whose
            row i is ``ids[i]``'s vector, and a bool array, false where
            ``ids[i]`` does not exist (that row is then zeros).

        `out`, when given, is a float32 C-contiguous (len(ids), dimension)
        array to fill and return instead of a new one.
        """
        idv = _ids(ids)
        n = idv.shape[0]
        if out is None:
            out = np.empty((n, self._dim), dtype=np.float32)
        elif not (
            isinstance(out, np.ndarray)
            and out.dtype == np.float32
            and out.shape == (n, self._dim)
            and out.flags.c_contiguous
            and out.flags.writeable
        ):
            raise ValueError(f"out must be a writeable C-contiguous float32 array of shape {(n, self._dim)}")
        found = np.empty(n, dtype=np.uint8)
        h = self._enter()
        try:
            _check(lib.vecstore_get_batch(h, _addr(idv), n, _addr(out), self._dim, _addr(found)))
        finally:
            self._leave()
        found_b = found.view(np.bool_)
        if not found_b.all():
            out[~found_b] = 0.0
        return out, found_b

    def __contains__(self, id: object) -> bool:
        try:
            i = _id(id)
        except ValueError:
            return False
        h = self._enter()
        try:
            return bool(lib.vecstore_contains(h, i))
        finally:
            self._leave()

    def __len__(self) -> int:
        h = self._enter()
        try:
            return int(lib.vecstore_len(h))
        finally:
            self._leave()

    def get_ref(self, id: int) -> "Ref":
        """Borrows the vector `id` without copying (vecstore_get_ref).

        Use it as a context manager::

            with store.get_ref(7) as v:      # v: read-only float32 view of the mapped file
                total = float(v.sum())

        The array is a view of the store's memory-mapped file, and keeps the
        guard alive: the guard is released when the ``with`` block exits,
        or, if the array (or a view of it) is still referenced then, when
        the last such reference goes away. So the array never points at
        released memory; holding it pins the vector (and, after a
        compaction, its data file) as the C guard does. The bytes never
        change while it exists, whatever puts, deletes, compactions or a
        close do meanwhile. The array is read-only; numpy refuses writes to
        it and refuses to make it writeable.

        Raises:
            NotFound: no vector `id` (also a KeyError).
        """
        i = _id(id)
        guard = ctypes.c_void_p()
        data = ctypes.c_void_p()
        h = self._enter()
        try:
            _check(lib.vecstore_get_ref(h, i, ctypes.byref(guard), ctypes.byref(data)))
        finally:
            self._leave()
        return Ref(guard.value or 0, data.value or 0, self._dim)

    def items(self) -> "Cursor":
        """Iterates over a snapshot of the live vectors, taken now, in
        unspecified order, yielding ``(id, vector)`` with `vector` a copy.
        Writes made after this call are not seen. The snapshot pins its
        vectors until the iteration ends or the cursor is closed (it is a
        context manager too)."""
        return self._cursor(with_vectors=True)

    def __iter__(self) -> Iterator[int]:
        """The ids of a snapshot of the live vectors (as :meth:`items`)."""
        return self._cursor(with_vectors=False)

    def _cursor(self, with_vectors: bool) -> "Cursor":
        cur = ctypes.c_void_p()
        h = self._enter()
        try:
            _check(lib.vecstore_cursor_open(h, ctypes.byref(cur)))
        finally:
            self._leave()
        return Cursor(cur.value or 0, self._dim, with_vectors)

    # -- search

    def search(self, query: ArrayLike, k: int, metric: str = "l2") -> Tuple[U64Array, F32Array]:
        """Exact k nearest neighbours of one query (vecstore_search).

        Args:
            query: 1-D, ``dimension`` finite values.
            k: results wanted.
            metric: ``"l2"`` (squared Euclidean), ``"dot"`` (negative inner
                product) or ``"cosine"`` (1 - cosine similarity); smaller is
                closer for all three.

        Returns:
            ``(ids, distances)``, uint64 and float32, closest first (ties:
            smaller id first), of length ``min(k, len(store))``: no padding.
        """
        q = _floats(query, 1, "query")
        kk = _uint(k, "k")
        m = _metric(metric)
        ids = np.empty(kk, dtype=np.uint64)
        dist = np.empty(kk, dtype=np.float32)
        count = ctypes.c_size_t()
        h = self._enter()
        try:
            _check(lib.vecstore_search(h, _addr(q), q.shape[0], kk, m, _addr(ids), _addr(dist), ctypes.byref(count)))
        finally:
            self._leave()
        n = count.value
        if n == kk:
            return ids, dist
        return ids[:n].copy(), dist[:n].copy()

    @overload
    def search_batch(
        self, queries: ArrayLike, k: int, metric: str = ..., *, return_counts: Literal[False] = ...
    ) -> Tuple[U64Array, F32Array]: ...

    @overload
    def search_batch(
        self, queries: ArrayLike, k: int, metric: str = ..., *, return_counts: Literal[True]
    ) -> Tuple[U64Array, F32Array, npt.NDArray[np.int64]]: ...

    def search_batch(
        self, queries: ArrayLike, k: int, metric: str = "l2", *, return_counts: bool = False
    ) -> Any:
        """Exact k nearest neighbours of every row of `queries` in one pass
        over the store (vecstore_search_batch).

        Returns:
            ``(ids, distances)`` of shape (n, k), each row closest first. A
            row with fewer than k results (the store holds fewer than k
            vectors) is padded with ids :data:`NO_ID` (2**64-1) and
            distances ``+inf``. Since 2**64-1 is also a valid id, pass
            ``return_counts=True`` to get ``(ids, distances, counts)``,
            counts[i] being row i's number of real results.

        A large batch sums in another order than :meth:`search`: distances
        may differ from single-query ones by float rounding. A batch of 0
        queries returns empty (0, k) arrays.
        """
        q = _floats(queries, 2, "queries")
        kk = _uint(k, "k")
        m = _metric(metric)
        nq = q.shape[0]
        ids = np.empty((nq, kk), dtype=np.uint64)
        dist = np.empty((nq, kk), dtype=np.float32)
        counts = np.zeros(nq, dtype=np.uintp)
        if nq:
            h = self._enter()
            try:
                _check(
                    lib.vecstore_search_batch(
                        h, _addr(q), nq, q.shape[1], kk, m, _addr(ids), _addr(dist), _addr(counts)
                    )
                )
            finally:
                self._leave()
            if kk and counts.min() < kk:
                pad = np.arange(kk) >= counts[:, None]
                ids[pad] = NO_ID
                dist[pad] = np.inf
        if return_counts:
            return ids, dist, counts.astype(np.int64)
        return ids, dist

    def _search_one(self, call: Callable[[Any, int, Any, Any, Any], int], k: int) -> Tuple[U64Array, F32Array]:
        """Runs one single-query search call into arrays of k; unpadded."""
        ids = np.empty(k, dtype=np.uint64)
        dist = np.empty(k, dtype=np.float32)
        count = ctypes.c_size_t()
        h = self._enter()
        try:
            _check(call(h, k, _addr(ids), _addr(dist), ctypes.byref(count)))
        finally:
            self._leave()
        n = count.value
        if n == k:
            return ids, dist
        return ids[:n].copy(), dist[:n].copy()

    def search_filter(
        self, query: ArrayLike, k: int, accept: Callable[[int], bool], metric: str = "l2"
    ) -> Tuple[U64Array, F32Array]:
        """:meth:`search` among the vectors whose id ``accept(id)`` is true for
        (vecstore_search_filter). ``accept`` is called only for vectors close
        enough to enter the results, from the library's search threads
        (holding the GIL while it runs), possibly more than once for an id.
        An exception it raises is re-raised after the search, which treats
        that id as rejected.
        """
        q = _floats(query, 1, "query")
        kk = _uint(k, "k")
        m = _metric(metric)
        raised: list = []

        def trampoline(id_: int, _ctx: Any) -> bool:
            try:
                return bool(accept(id_))
            except BaseException as e:  # must not unwind into C
                raised.append(e)
                return False

        fn = _ffi.FILTER(trampoline)
        found = self._search_one(
            lambda h, k, ids, dist, n: lib.vecstore_search_filter(h, _addr(q), q.shape[0], k, m, fn, None, ids, dist, n),
            kk,
        )
        if raised:
            raise raised[0]
        return found

    def search_ids(
        self, query: ArrayLike, candidates: ArrayLike, k: int, metric: str = "l2"
    ) -> Tuple[U64Array, F32Array]:
        """:meth:`search` among the listed ids only (vecstore_search_ids):
        absent ids are skipped, a duplicate counts once, and only the listed
        vectors are read."""
        q = _floats(query, 1, "query")
        cand = _ids(candidates)
        kk = _uint(k, "k")
        m = _metric(metric)
        return self._search_one(
            lambda h, k, ids, dist, n: lib.vecstore_search_ids(
                h, _addr(q), q.shape[0], _addr(cand), cand.shape[0], k, m, ids, dist, n),
            kk,
        )

    def search_by_id(self, id: int, k: int, metric: str = "l2") -> Tuple[U64Array, F32Array]:  # noqa: A002
        """The k vectors nearest to the stored vector ``id``, which is itself
        left out (vecstore_search_by_id). Raises :class:`NotFound` if there
        is no vector ``id``."""
        i = _id(id)
        kk = _uint(k, "k")
        m = _metric(metric)
        return self._search_one(
            lambda h, k, ids, dist, n: lib.vecstore_search_by_id(h, i, k, m, ids, dist, n), kk
        )

    def set_search_threads(self, threads: int) -> None:
        """Threads a search on this handle may use, itself included: 0 (the
        default) one per core, 1 the calling thread only."""
        self._simple(lib.vecstore_set_search_threads, _uint(threads, "threads", 2**32))

    def copy(self, dest: PathLike) -> None:
        """Online backup (vecstore_copy): a consistent, checkpointed,
        fsynced copy of the store as of this call into ``dest``, a directory
        that does not exist or is empty. Writers may go on meanwhile."""
        self._simple(lib.vecstore_copy, os.fsencode(dest))

    # -- barriers and maintenance

    def _simple(self, fn: Any, *args: Any) -> None:
        h = self._enter()
        try:
            _check(fn(h, *args))
        finally:
            self._leave()

    def flush(self) -> None:
        """Barrier: every write acknowledged so far is durable on return."""
        self._simple(lib.vecstore_flush)

    def checkpoint(self) -> None:
        """A flush that also persists the id index and trims the log, so the
        next open replays nothing."""
        self._simple(lib.vecstore_checkpoint)

    def set_durability(self, mode: str) -> None:
        """Changes the durability of this handle's later writes:
        ``"fsync"``, ``"flush"`` or ``"none"`` (see :func:`vecstore.open`)."""
        self._simple(lib.vecstore_set_durability, _durability(mode))

    def reserve(self, n: int) -> None:
        """Pre-allocates room on disk for `n` more vectors."""
        self._simple(lib.vecstore_reserve, _uint(n, "n"))

    def compact(self) -> int:
        """Rewrites data files holding dead slots and deletes them; returns
        the bytes of disk given back. Ends with a checkpoint."""
        out = ctypes.c_uint64()
        self._simple(lib.vecstore_compact, ctypes.byref(out))
        return out.value

    def stats(self) -> Dict[str, Union[int, float]]:
        """The store's statistics as of now, keyed by the field names of
        ``struct vecstore_stats``: vectors, dimension, data_bytes, log_bytes,
        live_bytes, fragmentation, guards_outstanding, capacity_grows,
        grow_p50_ns, grow_p99_ns (only those the library filled in)."""
        st = _ffi.Stats()
        st.size = ctypes.sizeof(_ffi.Stats)
        self._simple(lib.vecstore_stats_get, ctypes.byref(st))
        out: Dict[str, Union[int, float]] = {}
        for spec in _ffi.Stats._fields_[1:]:
            name = spec[0]
            field = getattr(_ffi.Stats, name)
            if field.offset + field.size <= st.size:
                out[name] = getattr(st, name)
        return out


# ---- guards -------------------------------------------------------------------


class _GuardMemory:
    """Owner of a guard: the base object of the arrays that view its vector.
    Releases the guard when the last reference to it goes away."""

    __slots__ = ("__array_interface__", "finalizer", "__weakref__")

    def __init__(self, guard: int, data: int, dim: int) -> None:
        self.__array_interface__ = {
            "shape": (dim,),
            "typestr": "<f4",
            "data": (data, True),  # read-only
            "version": 3,
        }
        self.finalizer = weakref.finalize(self, lib.vecstore_guard_release, guard)


class Ref:
    """A borrowed vector (vecstore_get_ref), from :meth:`Store.get_ref`.

    ``with store.get_ref(id) as v:`` binds `v` to :attr:`array`, a read-only
    1-D float32 array over the mapped file. The array keeps the guard alive:
    leaving the block (or :meth:`release`) drops this object's hold, and the
    C guard is released as soon as no array refers to it any more.
    """

    __slots__ = ("_mem", "_array", "_finalizer", "id", "address")

    def __init__(self, guard: int, data: int, dim: int) -> None:
        mem = _GuardMemory(guard, data, dim)
        self._finalizer = mem.finalizer
        #: The id the guard was taken for (vecstore_guard_id).
        self.id: int = int(lib.vecstore_guard_id(guard))
        #: The guard's pointer (vecstore_guard_data): the array's buffer address.
        self.address: int = int(lib.vecstore_guard_data(guard) or 0)
        self._array: Optional[F32Array] = np.asarray(mem)
        self._mem: Optional[_GuardMemory] = mem
        if self._array.ctypes.data != self.address or self._array.flags.writeable:
            raise AssertionError("vecstore: a guard's array is not a read-only view of its memory")

    @property
    def array(self) -> F32Array:
        """The vector: a read-only view of the mapped file, not a copy."""
        if self._array is None:
            raise ValueError("vecstore: this Ref was released")
        return self._array

    @property
    def released(self) -> bool:
        """True once the C guard is released (no array refers to it any more)."""
        return not self._finalizer.alive

    def release(self) -> None:
        """Drops this Ref's hold on the guard; the guard is released now if
        no array taken from it is still referenced, else when the last one
        goes away."""
        self._array = None
        self._mem = None

    def __enter__(self) -> F32Array:
        return self.array

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<vecstore.Ref id={self.id} {'released' if self.released else 'held'}>"


# ---- cursors ---------------------------------------------------------------------


class Cursor:
    """A scan of a snapshot (vecstore_cursor_open), from :meth:`Store.items`:
    an iterator of ``(id, vector copy)`` and a context manager. Closed when
    exhausted, by :meth:`close`, or when garbage collected. A vector whose
    bytes fail their checksum raises :class:`Corrupt` from ``next()``; the
    next ``next()`` goes on past it."""

    def __init__(self, cursor: int, dim: int, with_vectors: bool) -> None:
        self._cur: Optional[int] = cursor
        self._dim = dim
        self._with_vectors = with_vectors
        self._lock = threading.Lock()  # a cursor is used by one thread at a time
        self._id = ctypes.c_uint64()
        self._data = ctypes.c_void_p()
        self._finalizer = weakref.finalize(self, lib.vecstore_cursor_close, cursor)

    def __iter__(self) -> "Cursor":
        return self

    def __next__(self) -> Any:
        with self._lock:
            if self._cur is None:
                raise StopIteration
            if self._with_vectors:
                st = lib.vecstore_cursor_next(self._cur, ctypes.byref(self._id), ctypes.byref(self._data))
            else:
                st = lib.vecstore_cursor_next(self._cur, ctypes.byref(self._id), None)
            if st == _ffi.NOT_FOUND:
                self._close_locked()
                raise StopIteration
            _check(st)
            if not self._with_vectors:
                return self._id.value
            # valid until the next call: copy it
            vec = np.empty(self._dim, dtype=np.float32)
            ctypes.memmove(vec.ctypes.data, self._data.value or 0, self._dim * 4)
            return self._id.value, vec

    def _close_locked(self) -> None:
        if self._cur is not None:
            self._cur = None
            self._finalizer()

    def close(self) -> None:
        """Releases the cursor and the snapshot it pins. Idempotent."""
        with self._lock:
            self._close_locked()

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
