"""Threads: the GIL is released during the C calls, concurrent calls are
safe, and close waits for calls in progress."""

import threading
import time

import numpy as np
import pytest

import vecstore

from conftest import hold_refs, vectors


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("big") / "store")
    s = vecstore.open(path, 64, durability="none")
    data = vectors(200_000, 64, seed=5)
    for start in range(0, len(data), 50_000):
        s.put_batch(np.arange(start, start + 50_000), data[start : start + 50_000])
    s.flush()
    yield s
    s.close()


def test_gil_is_released_during_search_batch(big):
    queries = vectors(64, 64, seed=6)
    big.search_batch(queries, 10)  # warm
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.3 or n < 2:
        big.search_batch(queries, 10)
        n += 1
    per_call = (time.perf_counter() - t0) / n
    # make each call long enough to tell a held GIL from a released one
    reps = max(1, int(0.15 / per_call) + 1)
    queries = np.concatenate([queries] * reps)

    done = threading.Event()
    durations = []

    def worker():
        for _ in range(3):
            t = time.perf_counter()
            big.search_batch(queries, 10)
            durations.append(time.perf_counter() - t)
        done.set()

    th = threading.Thread(target=worker)
    th.start()
    gaps, last = [], time.perf_counter()
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    th.join()
    call = min(durations)
    # With the GIL held through a call, this thread would stall for the whole
    # call; released, it runs on (a few switch intervals at worst).
    assert call > 0.05
    assert max(gaps) < call / 2, (max(gaps), call)
    assert len(gaps) > 1000


def test_concurrent_writers_and_readers(path):
    with vecstore.open(path, 16, durability="flush") as s:
        errors = []
        stop = threading.Event()

        def writer(w):
            try:
                for b in range(20):
                    ids = np.arange(100, dtype=np.uint64) + w * 1_000_000 + b * 100
                    s.put_batch(ids, np.full((100, 16), float(w), dtype=np.float32))
            except Exception as e:  # pragma: no cover
                errors.append(e)

        def reader():
            try:
                q = np.zeros((8, 16), dtype=np.float32)
                while not stop.is_set():
                    ids, dist, counts = s.search_batch(q, 5, return_counts=True)
                    got, found = s.get_batch(ids[0][: counts[0]])
                    assert found.all()
                    for i, v in zip(ids[0][: counts[0]], got):
                        assert (v == float(int(i) // 1_000_000)).all()
                    len(s)
                    s.stats()
            except Exception as e:  # pragma: no cover
                errors.append(e)

        writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        readers = [threading.Thread(target=reader) for _ in range(2)]
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join()
        stop.set()
        for t in readers:
            t.join()
        assert not errors, errors
        assert len(s) == 4 * 20 * 100
        for w in range(4):
            assert np.array_equal(s.get(w * 1_000_000 + 1999), np.full(16, float(w), dtype=np.float32))


def test_close_waits_for_calls_in_progress(big, tmp_path):
    path = str(tmp_path / "s")
    s = vecstore.open(path, 64, durability="none")
    s.put_batch(np.arange(50_000), vectors(50_000, 64))
    started = threading.Event()
    outcome = []

    def searcher():
        q = vectors(200, 64, seed=2)
        started.set()
        try:
            while True:
                s.search_batch(q, 10)
        except vecstore.InvalidArgument as e:
            outcome.append(str(e))

    th = threading.Thread(target=searcher)
    th.start()
    started.wait()
    time.sleep(0.05)
    s.close()  # waits for the search in progress, then releases the handle
    th.join(timeout=30)
    assert outcome and "closed" in outcome[0]


def test_guards_released_from_other_threads(store):
    store.put_batch(np.arange(10), vectors(10, 8))
    arrays = hold_refs(store, range(10))
    assert store.stats()["guards_outstanding"] == 10

    def drop():
        arrays.clear()

    th = threading.Thread(target=drop)
    th.start()
    th.join()
    assert store.stats()["guards_outstanding"] == 0
