"""get_ref: a read-only numpy view of the mapped file that keeps its guard
alive; put_batch and search hand numpy's own buffers to C."""

import gc
import os

import numpy as np
import pytest

import vecstore

from conftest import hold_refs, vectors


def mapping_of(address):
    """(permissions, path) of the /proc/self/maps line holding `address`."""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= address < hi:
                return fields[1], (fields[5] if len(fields) > 5 else "")
    raise AssertionError(f"{address:#x} is not mapped")


def outstanding(store):
    return store.stats()["guards_outstanding"]


def test_get_ref_is_a_view_of_the_mapped_file(path):
    data = vectors(10, 16)
    with vecstore.open(path, 16) as s:
        s.put_batch(np.arange(10), data)
        ref = s.get_ref(4)
        with ref as v:
            assert ref.id == 4
            assert isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (16,)
            # the array's buffer is the guard's pointer (vecstore_guard_data)...
            assert v.ctypes.data == ref.address == v.__array_interface__["data"][0]
            # ...inside a read-only mapping of one of the store's data files
            perms, mapped = mapping_of(ref.address)
            assert perms.startswith("r-") and os.path.dirname(mapped) == os.path.realpath(path), (perms, mapped)
            assert np.array_equal(v, data[4])
            assert outstanding(s) == 1
            del v
        assert ref.released and outstanding(s) == 0


def test_get_ref_array_is_read_only(store):
    store.put(1, np.ones(8))
    with store.get_ref(1) as v:
        assert not v.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            v[0] = 2.0
        with pytest.raises(ValueError, match="read-only"):
            v += 1
        with pytest.raises(ValueError):
            np.copyto(v, np.zeros(8, dtype=np.float32))
        with pytest.raises(ValueError):
            v.flags.writeable = True  # numpy refuses: the memory is not ours to write
        view = v[2:5]
        assert not view.flags.writeable
        with pytest.raises(ValueError):
            view.flags.writeable = True
        del v, view
    assert store.get(1).tolist() == [1.0] * 8


def take_sum(store, id):
    with store.get_ref(id) as v:
        return float(v.sum())


def test_guard_is_released_when_the_block_exits(store):
    store.put(1, np.arange(8))
    assert take_sum(store, 1) == 28.0
    assert outstanding(store) == 0  # the function's `v` is gone with its frame
    ref = store.get_ref(1)
    assert not ref.released and outstanding(store) == 1
    ref.release()
    assert ref.released and outstanding(store) == 0
    with pytest.raises(ValueError, match="released"):
        ref.array


def test_an_array_that_outlives_the_block_keeps_the_guard(path):
    s = vecstore.open(path, 8)
    s.put(1, np.arange(8))
    with s.get_ref(1) as v:
        pass
    ref_view = v[1:3]
    del v
    # The block has exited, but arrays still refer to the guard: it is held,
    # and the bytes stay valid and unchanged whatever happens meanwhile.
    assert outstanding(s) == 1
    s.put(1, np.zeros(8))
    s.delete(1)
    s.put_batch(np.arange(100, 2000), vectors(1900, 8))
    s.compact()
    assert ref_view.tolist() == [1.0, 2.0]
    s.close()  # the guard outlives the store handle, too
    assert ref_view.tolist() == [1.0, 2.0]
    with vecstore.open(path) as s2:
        assert outstanding(s2) == 0  # stats are per handle
    del ref_view
    gc.collect()


def test_released_guard_count_returns_to_zero(store):
    store.put_batch(np.arange(50), vectors(50, 8))
    arrays = hold_refs(store, range(50))
    assert outstanding(store) == 50
    del arrays
    assert outstanding(store) == 0


def test_get_ref_missing(store):
    with pytest.raises(vecstore.NotFound):
        store.get_ref(5)
    assert outstanding(store) == 0


def test_get_is_a_copy_and_get_ref_is_not(store):
    store.put(3, np.arange(8))
    a, b = store.get(3), store.get(3)
    assert a.ctypes.data != b.ctypes.data and a.flags.writeable and a.base is None
    with store.get_ref(3) as r1, store.get_ref(3) as r2:
        assert r1.ctypes.data == r2.ctypes.data  # both views of the one stored copy
        del r1, r2


def test_buffers_go_to_c_as_they_are(store, monkeypatch):
    """put_batch, get_batch and search_batch pass the caller's arrays (and
    their own result arrays) to C by address: record the addresses."""
    from vecstore import _store

    seen = {}
    real = _store.lib

    class Spy:
        def __getattr__(self, name):
            fn = getattr(real, name)

            def call(*args):
                seen[name] = args
                return fn(*args)

            return call

    monkeypatch.setattr(_store, "lib", Spy())
    ids = np.arange(100, dtype=np.uint64)
    data = vectors(100, 8)
    store.put_batch(ids, data)
    assert seen["vecstore_put_batch"][1:3] == (ids.ctypes.data, data.ctypes.data)
    out = np.empty((100, 8), dtype=np.float32)
    store.get_batch(ids, out=out)
    assert seen["vecstore_get_batch"][1] == ids.ctypes.data and seen["vecstore_get_batch"][3] == out.ctypes.data
    q = data[:7]
    res_ids, res_dist = store.search_batch(q, 5)
    args = seen["vecstore_search_batch"]
    assert args[1] == q.ctypes.data and args[6] == res_ids.ctypes.data and args[7] == res_dist.ctypes.data
    store.put(5, data[3])
    assert seen["vecstore_put"][2] == data[3].ctypes.data
