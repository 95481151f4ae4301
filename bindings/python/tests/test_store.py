"""Every Store call: results, statuses and argument checks."""

import os

import numpy as np
import pytest

import vecstore
from vecstore import _store

from conftest import vectors


# ---- open, close, options


def test_open_creates_and_reopens_with_dimension_zero(path):
    with vecstore.open(path, 4) as s:
        assert s.dimension == 4 and len(s) == 0 and not s.closed and not s.read_only
        s.put(1, [1, 2, 3, 4])
    assert s.closed
    with vecstore.open(path) as s:
        assert s.dimension == 4 and len(s) == 1
        assert s.get(1).tolist() == [1, 2, 3, 4]


def test_open_accepts_pathlike(tmp_path):
    with vecstore.open(tmp_path / "p", 2) as s:
        assert s.path == str(tmp_path / "p")


@pytest.mark.parametrize("durability", ["fsync", "flush", "none", "FSYNC"])
def test_open_durability_modes(path, durability):
    with vecstore.open(path, 2, durability=durability, initial_capacity=100) as s:
        s.put(1, [1, 2])
    with vecstore.open(path, 2) as s:
        assert 1 in s


def test_open_errors(path, tmp_path):
    with pytest.raises(vecstore.NotFound) as e:
        vecstore.open(path, 4, create=False)
    assert isinstance(e.value, KeyError) and "vecstore_open" in str(e.value)
    with pytest.raises(vecstore.NotFound):
        vecstore.open(path)  # dimension 0 and nothing to take it from
    vecstore.open(path, 4).close()
    with pytest.raises(vecstore.DimensionMismatch) as e:
        vecstore.open(path, 5)
    assert isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match="durability"):
        vecstore.open(path, 4, durability="sometimes")
    with pytest.raises(ValueError):
        vecstore.open(path, -1)
    with pytest.raises(TypeError):
        vecstore.open(path, 4.0)
    with pytest.raises(vecstore.InvalidArgument):
        vecstore.open(path, 2**32)  # above 2^32-1
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(vecstore.InvalidArgument):
        vecstore.open(str(afile), 4)


def test_one_writer_and_read_only_handles(path):
    with vecstore.open(path, 3) as w:
        with pytest.raises(vecstore.Locked) as e:
            vecstore.open(path, 3)
        assert e.value.status_name == "VECSTORE_LOCKED"
        w.put(1, [1, 2, 3])
        with vecstore.open(path, read_only=True) as r:
            assert r.read_only and len(r) == 1
            w.put(2, [4, 5, 6])  # FSYNC: seen once durable, i.e. now
            assert r.get(2).tolist() == [4, 5, 6]
            for call in (lambda: r.put(3, [1, 2, 3]), lambda: r.delete(1), r.flush, r.checkpoint,
                         lambda: r.compact(), lambda: r.reserve(10), lambda: r.set_durability("none"),
                         lambda: r.put_batch([9], [[1, 2, 3]]), lambda: r.delete_batch([1])):
                with pytest.raises(vecstore.ReadOnly):
                    call()
            assert r.stats()["vectors"] == 2


def test_closed_store_refuses_calls(path):
    s = vecstore.open(path, 2)
    s.close()
    s.close()  # idempotent
    assert "closed" in repr(s)
    for call in (lambda: s.put(1, [1, 2]), lambda: s.get(1), lambda: len(s), lambda: 1 in s,
                 s.flush, s.stats, lambda: s.search([1, 2], 1), lambda: s.items()):
        with pytest.raises(vecstore.InvalidArgument, match="closed"):
            call()


def test_unclosed_store_is_closed_when_collected(path):
    s = vecstore.open(path, 2)
    s.put(1, [1, 2])
    del s
    import gc

    gc.collect()
    with vecstore.open(path, 2) as s:  # not Locked: the handle was released
        assert 1 in s


# ---- writes and reads


def test_put_get_overwrite_delete(store):
    v = np.arange(8, dtype=np.float32)
    store.put(7, v)
    got = store.get(7)
    assert got.dtype == np.float32 and got.shape == (8,) and np.array_equal(got, v)
    assert got.flags.writeable and got.ctypes.data != v.ctypes.data  # a copy
    store.put(7, v * 2)
    assert np.array_equal(store.get(7), v * 2)
    store.put(2**64 - 1, v)  # any uint64 is an id
    assert 2**64 - 1 in store and np.uint64(7) in store
    store.delete(7)
    assert 7 not in store and len(store) == 1
    with pytest.raises(vecstore.NotFound) as e:
        store.delete(7)
    assert isinstance(e.value, KeyError) and "7" in str(e.value)
    with pytest.raises(KeyError):
        store.get(7)


def test_put_batch_get_batch_delete_batch(store):
    data = vectors(100, 8)
    ids = np.arange(100, dtype=np.uint64) * 3
    store.put_batch(ids, data)
    assert len(store) == 100
    got, found = store.get_batch(ids)
    assert np.array_equal(got, data) and found.all() and found.dtype == np.bool_
    got, found = store.get_batch([0, 1, 3, 2**64 - 1])
    assert found.tolist() == [True, False, True, False]
    assert np.array_equal(got[0], data[0]) and np.array_equal(got[2], data[1])
    assert not got[1].any() and not got[3].any()  # absent rows are zeros
    out = np.full((2, 8), 7, dtype=np.float32)
    got, found = store.get_batch([3, 4], out=out)
    assert got is out and np.array_equal(out[0], data[1]) and not out[1].any()
    with pytest.raises(ValueError, match="out"):
        store.get_batch([3, 4], out=np.empty((2, 8), dtype=np.float64))
    got, found = store.get_batch([])
    assert got.shape == (0, 8) and found.shape == (0,)
    assert store.delete_batch([0, 3, 3, 1, 2]) == 2  # absent and duplicate ids are no error
    assert store.delete_batch(np.array([], dtype=np.uint64)) == 0
    assert len(store) == 98
    store.put_batch(np.empty(0, dtype=np.uint64), np.empty((0, 8), dtype=np.float32))
    assert len(store) == 98


def test_put_batch_later_duplicate_wins(store):
    store.put_batch([5, 5], np.stack([np.zeros(8), np.ones(8)]))
    assert store.get(5).tolist() == [1.0] * 8 and len(store) == 1


def test_bad_values_store_nothing(store):
    data = vectors(10, 8)
    data[7, 3] = np.nan
    with pytest.raises(vecstore.InvalidArgument) as e:
        store.put_batch(np.arange(10), data)
    assert isinstance(e.value, ValueError)
    assert len(store) == 0
    for bad in (np.inf, -np.inf, np.nan):
        v = np.zeros(8, dtype=np.float32)
        v[0] = bad
        with pytest.raises(vecstore.InvalidArgument):
            store.put(1, v)
    with pytest.raises(vecstore.InvalidArgument):
        store.put(1, np.full(8, 1e300))  # float64 beyond float32 becomes inf
    assert len(store) == 0


def test_dimension_mismatch(store):
    with pytest.raises(vecstore.DimensionMismatch, match="dimension"):
        store.put(1, np.zeros(7, dtype=np.float32))
    with pytest.raises(vecstore.DimensionMismatch):
        store.put_batch([1, 2], np.zeros((2, 9), dtype=np.float32))
    with pytest.raises(vecstore.DimensionMismatch):
        store.search(np.zeros(3, dtype=np.float32), 1)
    with pytest.raises(vecstore.DimensionMismatch):
        store.search_batch(np.zeros((2, 3), dtype=np.float32), 1)


# ---- dtypes, layouts and shapes


def test_float32_c_contiguous_arrays_are_taken_without_a_copy():
    v = np.zeros((4, 8), dtype=np.float32)
    assert _store._floats(v, 2, "vectors") is v
    assert _store._floats(v[1], 1, "vector") is v[1] or _store._floats(v[1], 1, "vector").ctypes.data == v[1].ctypes.data
    ids = np.arange(4, dtype=np.uint64)
    assert _store._ids(ids) is ids


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.astype(np.float64),
        lambda a: a.astype(np.float16),
        lambda a: np.asfortranarray(a),
        lambda a: a.astype(">f4"),
        lambda a: np.repeat(a, 2, axis=1)[:, ::2],  # strided
        lambda a: a.tolist(),
    ],
    ids=["float64", "float16", "fortran", "big-endian", "strided", "list"],
)
def test_other_dtypes_and_layouts_are_converted(store, make):
    data = np.arange(32, dtype=np.float32).reshape(4, 8) / 4
    store.put_batch(np.arange(4, dtype=np.int32), make(data))
    got, found = store.get_batch(np.arange(4))
    assert found.all() and np.array_equal(got, data)
    store.put(9, make(data)[1])
    assert np.array_equal(store.get(9), data[1])


def test_integer_vectors_are_converted(store):
    store.put(1, np.arange(8))
    assert store.get(1).tolist() == list(range(8))


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 8), dtype=np.complex64), np.zeros((2, 8), dtype=bool), [["a"] * 8] * 2], ids=["complex", "bool", "str"]
)
def test_non_numeric_vectors_are_refused_with_type_error(store, bad):
    with pytest.raises(TypeError, match="real numbers"):
        store.put_batch([1, 2], bad)
    with pytest.raises(TypeError):
        store.put(1, np.asarray(bad)[0])
    with pytest.raises(TypeError):
        store.search(np.asarray(bad)[0], 1)


def test_shapes_are_checked(store):
    with pytest.raises(ValueError, match="2-D"):
        store.put_batch([1], np.zeros(8, dtype=np.float32))
    with pytest.raises(ValueError, match="1-D"):
        store.put(1, np.zeros((1, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="1-D"):
        store.search(np.zeros((1, 8), dtype=np.float32), 1)
    with pytest.raises(ValueError, match="2-D"):
        store.search_batch(np.zeros(8, dtype=np.float32), 1)
    with pytest.raises(ValueError, match="3 ids for 2 vectors"):
        store.put_batch([1, 2, 3], np.zeros((2, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="ids must be 1-D"):
        store.get_batch([[1, 2]])


def test_ids_are_checked(store):
    with pytest.raises(ValueError):
        store.put(-1, np.zeros(8))
    with pytest.raises(ValueError):
        store.put(2**64, np.zeros(8))
    with pytest.raises(TypeError, match="integer"):
        store.put(1.5, np.zeros(8))
    with pytest.raises(TypeError, match="integer"):
        store.get("1")
    with pytest.raises(ValueError, match="negative"):
        store.put_batch(np.array([1, -2]), np.zeros((2, 8)))
    with pytest.raises(TypeError, match="integers"):
        store.put_batch(np.array([1.0, 2.0]), np.zeros((2, 8)))
    with pytest.raises(TypeError, match="integers"):
        store.delete_batch(np.array([True]))
    store.put_batch([2**64 - 1, 0], np.zeros((2, 8)))  # Python ints beyond int64
    assert 2**64 - 1 in store
    assert -1 not in store and 2**64 not in store
    with pytest.raises(TypeError):
        "1" in store


# ---- snapshots


def test_items_is_a_snapshot(store):
    data = vectors(50, 8)
    store.put_batch(np.arange(50), data)
    cur = store.items()
    store.put(1000, np.zeros(8))  # after the snapshot: not seen
    store.delete(3)
    seen = dict(cur)
    assert sorted(seen) == list(range(50))
    for i, v in seen.items():
        assert v.dtype == np.float32 and np.array_equal(v, data[i])
    assert sorted(store) == sorted(set(range(50)) - {3} | {1000})
    assert list(cur) == []  # exhausted
    assert store.stats()["guards_outstanding"] == 0  # closed at the end


def test_cursor_close_and_context_manager(store):
    store.put_batch(np.arange(10), vectors(10, 8))
    with store.items() as cur:
        next(cur)
        assert store.stats()["guards_outstanding"] == 1
    assert store.stats()["guards_outstanding"] == 0
    assert list(cur) == []


def test_cursor_outlives_the_store(path):
    s = vecstore.open(path, 8)
    s.put_batch(np.arange(20), vectors(20, 8))
    cur = s.items()
    s.close()
    assert len(list(cur)) == 20


def test_len_and_dimension(store):
    assert len(store) == 0 and store.dimension == 8
    store.put_batch(np.arange(123), vectors(123, 8))
    assert len(store) == 123


# ---- search


def brute(data, q, metric):
    data = data.astype(np.float64)
    q = q.astype(np.float64)
    if metric == "l2":
        return ((data - q) ** 2).sum(axis=1)
    if metric == "dot":
        return -(data @ q)
    return 1 - (data @ q) / (np.linalg.norm(data, axis=1) * np.linalg.norm(q))


@pytest.mark.parametrize("metric", ["l2", "dot", "cosine", "COSINE"])
def test_search_equals_brute_force(store, metric):
    data = vectors(500, 8, seed=3)
    store.put_batch(np.arange(500) + 1000, data)
    queries = vectors(12, 8, seed=4)
    ids_b, dist_b = store.search_batch(queries, 10, metric)
    assert ids_b.shape == (12, 10) and ids_b.dtype == np.uint64 and dist_b.dtype == np.float32
    for qi, q in enumerate(queries):
        exact = brute(data, q, metric.lower())
        order = np.argsort(exact, kind="stable")[:10]
        ids, dist = store.search(q, 10, metric)
        assert ids.tolist() == (order + 1000).tolist()
        assert np.allclose(dist, exact[order], rtol=1e-4, atol=1e-4)
        assert ids_b[qi].tolist() == ids.tolist()
        assert np.allclose(dist_b[qi], dist, rtol=1e-4, atol=1e-4)


def test_search_pads_or_shortens_as_documented(store):
    store.put_batch([1, 2, 3], np.eye(3, 8))
    ids, dist = store.search(np.eye(1, 8)[0], 10)
    assert ids.tolist()[0] == 1 and len(ids) == len(dist) == 3  # no padding for one query
    ids, dist = store.search(np.eye(1, 8)[0], 0)
    assert ids.shape == (0,) and dist.shape == (0,)
    ids, dist = store.search_batch(np.eye(2, 8), 5)
    assert ids[:, 3:].tolist() == [[vecstore.NO_ID] * 2] * 2
    assert np.isinf(dist[:, 3:]).all() and np.isfinite(dist[:, :3]).all()
    ids, dist, counts = store.search_batch(np.eye(2, 8), 5, return_counts=True)
    assert counts.tolist() == [3, 3]
    ids, dist = store.search_batch(np.empty((0, 8), dtype=np.float32), 5)
    assert ids.shape == (0, 5) and dist.shape == (0, 5)


def test_search_empty_store(store):
    ids, dist = store.search(np.ones(8), 3)
    assert len(ids) == 0
    ids, dist, counts = store.search_batch(np.ones((2, 8)), 3, return_counts=True)
    assert counts.tolist() == [0, 0] and (ids == vecstore.NO_ID).all()


def test_search_argument_errors(store):
    store.put(1, np.ones(8))
    with pytest.raises(ValueError, match="metric"):
        store.search(np.ones(8), 1, metric="hamming")
    with pytest.raises(ValueError):
        store.search(np.ones(8), -1)
    q = np.ones(8)
    q[2] = np.nan
    with pytest.raises(vecstore.InvalidArgument):
        store.search(q, 1)
    with pytest.raises(vecstore.InvalidArgument):
        store.search_batch(q[None, :], 1)


# ---- barriers and maintenance


STATS_KEYS = [
    "vectors", "dimension", "data_bytes", "log_bytes", "live_bytes", "fragmentation",
    "guards_outstanding", "capacity_grows", "grow_p50_ns", "grow_p99_ns",
]


def test_stats_flush_checkpoint_compact_reserve(path):
    with vecstore.open(path, 16, durability="flush") as s:
        st = s.stats()
        assert list(st) == STATS_KEYS
        assert st["vectors"] == 0 and st["dimension"] == 16 and isinstance(st["fragmentation"], float)
        s.put_batch(np.arange(1000), vectors(1000, 16))
        assert s.stats()["log_bytes"] > 0 and s.stats()["live_bytes"] == 1000 * 16 * 4
        s.flush()
        s.checkpoint()
        assert s.stats()["log_bytes"] < 1000 * 16 * 4
        s.reserve(50_000)
        assert s.stats()["data_bytes"] >= 50_000 * 16 * 4
        assert s.delete_batch(np.arange(900)) == 900
        assert s.stats()["fragmentation"] > 0.5
        reclaimed = s.compact()
        assert isinstance(reclaimed, int) and reclaimed > 0
        assert s.stats()["fragmentation"] < 0.5 and len(s) == 100
        s.set_durability("none")
        s.put(5000, np.ones(16))
        s.set_durability("fsync")
        with pytest.raises(ValueError):
            s.set_durability("never")
        with pytest.raises(ValueError):
            s.reserve(-1)
        with pytest.raises(vecstore.InvalidArgument):
            s.reserve(2**40)
    with vecstore.open(path) as s:
        assert len(s) == 101 and 5000 in s


def test_durability_none_keeps_writes_up_to_the_barrier(path):
    # The writes after the last barrier of a NONE-mode writer are lost in a
    # crash; seen from a reader, they appear only at the barrier.
    with vecstore.open(path, 2, durability="none") as w, vecstore.open(path, read_only=True) as r:
        w.put(1, [1, 2])
        assert 1 not in r
        w.flush()
        assert 1 in r


def test_repr(store):
    assert "dimension=8" in repr(store) and store.path in repr(store)
