"""search_filter, search_ids, search_by_id, set_search_threads and copy,
against numpy's brute force (squared L2 in float64, ties by smaller id)."""

import os
import threading

import numpy as np
import pytest

import vecstore


def nearest(data, ids, q, k, keep):
    """The k ids nearest to q (squared L2 in float64) among ids keep accepts."""
    d = ((data.astype(np.float64) - q) ** 2).sum(axis=1)
    order = sorted((dist, i) for dist, i in zip(d.tolist(), ids.tolist()) if keep(i))
    return [i for _, i in order[:k]]


@pytest.fixture(params=[2_000, 40_000], ids=["one thread", "pool threads"])
def loaded(request, tmp_path):
    """A store large enough (40000 x 128) for the library's own threads, or not."""
    n, dim = request.param, 128
    data = np.random.default_rng(5).standard_normal((n, dim), dtype=np.float32)
    ids = np.arange(n, dtype=np.uint64) * 3
    with vecstore.open(str(tmp_path / "s"), dim, durability="none") as s:
        s.put_batch(ids, data)
        yield s, ids, data


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_filter_ids_and_by_id_equal_the_brute_force(loaded, threads):
    s, ids, data = loaded
    s.set_search_threads(threads)
    q = data[17]
    calls = []
    lock = threading.Lock()

    def even(i):
        with lock:
            calls.append(i)
        return i % 2 == 0

    got, dist = s.search_filter(q, 10, even)
    assert got.tolist() == nearest(data, ids, q, 10, even)
    assert len(calls) >= 10
    assert s.search_filter(q, 10, lambda i: False)[0].tolist() == []

    listed = [ids[5], ids[5], ids[900], 1, 10**12, ids[17], ids[1000]]
    wanted = {int(i) for i in listed}
    got, _ = s.search_ids(q, np.array(listed, dtype=np.uint64), 10)
    assert got.tolist() == nearest(data, ids, q, 10, lambda i: i in wanted)
    assert s.search_ids(q, np.array([], dtype=np.uint64), 10)[0].tolist() == []

    got, _ = s.search_by_id(int(ids[17]), 10)
    assert got.tolist() == nearest(data, ids, q, 10, lambda i: i != ids[17])


def test_an_exception_in_the_filter_is_raised_after_the_search(loaded):
    s, ids, data = loaded

    def picky(i):
        if i > ids[100]:
            raise LookupError("no such tenant")
        return True

    with pytest.raises(LookupError, match="no such tenant"):
        s.search_filter(data[3], 10, picky)
    assert s.search(data[3], 1)[0].tolist() == [ids[3]]  # still usable


def test_bad_calls(store):
    store.put_batch([1, 2], np.eye(2, 8))
    with pytest.raises(vecstore.NotFound):
        store.search_by_id(99, 3)
    with pytest.raises(vecstore.DimensionMismatch):
        store.search_ids(np.ones(7), [1], 3)
    with pytest.raises(ValueError):
        store.set_search_threads(-1)


def test_copy_is_a_store_of_its_own(store, tmp_path):
    store.put_batch([1, 2, 3], np.eye(3, 8))
    store.delete(2)
    dest = str(tmp_path / "backup")
    store.copy(dest)
    with vecstore.open(dest, read_only=True) as b:
        assert len(b) == 2 and 1 in b and 3 in b and 2 not in b
        assert b.get(3).tolist() == np.eye(3, 8)[2].tolist()
    with pytest.raises(vecstore.InvalidArgument):
        store.copy(dest)  # not empty
    assert os.path.isdir(dest)
