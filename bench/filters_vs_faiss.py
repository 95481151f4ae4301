#!/usr/bin/env python3
"""Search for retrieval: vecstore's filtered, listed and concurrent single
queries (through its C library) against numpy's brute force and FAISS flat
with ID selectors, on the same data, in one run.

    cargo build --release
    python bench/filters_vs_faiss.py --lib target/release/libvecstore.so
        [--n 1000000] [--dim 128] [--seed 42] [--rounds 3] [--min-seconds 1]
        [--json FILE]

Data: standard-normal float32 vectors from numpy's default_rng(seed), ids
0..n-1, in a fresh store (durability NONE, batches of 10000, then a
checkpoint); FAISS IndexFlatL2 and numpy get the same array. k = 10, L2.

Measured (queries per second, median of --rounds rounds, each running for
at least --min-seconds; the engines alternate within a round):
  - unfiltered single queries: vecstore_search; numpy's brute force (one
    matrix-vector product and an argpartition, OpenBLAS on --threads
    threads); FAISS IndexFlatL2.search;
  - a candidate list of 1% of the ids (random, fixed): vecstore_search_ids;
    FAISS with IDSelectorBatch and with IDSelectorBitmap;
  - a filter accepting 50% (a bitmap looked up by a C function compiled
    here, as a C program would pass it): vecstore_search_filter; FAISS with
    IDSelectorBitmap of the same ids;
  - 8 threads each running single unfiltered queries on one handle, against
    the best of 1 and 2 threads (throughput: queries per second in total).
Checked, not timed: every filtered and listed result equals numpy's brute
force over the same subset (ids, allowing ties within float rounding).

Timings are printed, never asserted; the exit code is non-zero only when a
check or a call fails.
"""

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

K = 10
PUT_BATCH = 10000
DURABILITY_NONE = 2
METRIC_L2 = 0

FILTER_C = r"""
#include <stdbool.h>
#include <stdint.h>
/* Accepts ids whose bit is set in the bitmap `ctx`. */
bool bitmap_filter(uint64_t id, void *ctx) {
  const uint8_t *bits = (const uint8_t *)ctx;
  return (bits[id >> 3] >> (id & 7)) & 1;
}
"""


class Options(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("durability", ctypes.c_uint32),
        ("read_only", ctypes.c_bool),
        ("create_if_missing", ctypes.c_bool),
        ("initial_capacity", ctypes.c_uint64),
    ]


FILTER_FN = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_uint64, ctypes.c_void_p)


class Vecstore:
    """The C library through ctypes (which releases the GIL during calls)."""

    def __init__(self, lib_path):
        lib = ctypes.CDLL(lib_path)
        p, sz, u64p = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint64)
        f32p, szp, st = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_size_t), ctypes.c_int
        sigs = {
            "vecstore_last_error": (ctypes.c_char_p, []),
            "vecstore_options_default": (Options, []),
            "vecstore_open": (st, [ctypes.c_char_p, sz, ctypes.POINTER(Options), ctypes.POINTER(p)]),
            "vecstore_close": (st, [p]),
            "vecstore_put_batch": (st, [p, u64p, f32p, sz, sz]),
            "vecstore_checkpoint": (st, [p]),
            "vecstore_search": (st, [p, f32p, sz, sz, ctypes.c_uint32, u64p, f32p, szp]),
            "vecstore_search_ids": (
                st, [p, f32p, sz, u64p, sz, sz, ctypes.c_uint32, u64p, f32p, szp]),
            "vecstore_search_filter": (
                st, [p, f32p, sz, sz, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p,
                     u64p, f32p, szp]),
            "vecstore_set_search_threads": (st, [p, ctypes.c_uint32]),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.lib = lib
        self.handle = None

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: status {status}: {self.lib.vecstore_last_error().decode()}")

    def open(self, path, dim):
        opts = self.lib.vecstore_options_default()
        opts.durability = DURABILITY_NONE
        h = ctypes.c_void_p()
        self.check(self.lib.vecstore_open(path.encode(), dim, ctypes.byref(opts), ctypes.byref(h)), "open")
        self.handle = h

    def load(self, data):
        n, d = data.shape
        ids = np.arange(n, dtype=np.uint64)
        for at in range(0, n, PUT_BATCH):
            rows = np.ascontiguousarray(data[at:at + PUT_BATCH])
            part = ids[at:at + PUT_BATCH]
            self.check(self.lib.vecstore_put_batch(self.handle, ptr(part, ctypes.c_uint64),
                                                   ptr(rows, ctypes.c_float), len(part), d), "put_batch")
        self.check(self.lib.vecstore_checkpoint(self.handle), "checkpoint")

    def outputs(self):
        return np.empty(K, np.uint64), np.empty(K, np.float32), ctypes.c_size_t()

    def search(self, q, out):
        ids, dist, n = out
        self.check(self.lib.vecstore_search(self.handle, ptr(q, ctypes.c_float), len(q), K, METRIC_L2,
                                            ptr(ids, ctypes.c_uint64), ptr(dist, ctypes.c_float),
                                            ctypes.byref(n)), "search")
        return ids[:n.value]

    def search_ids(self, q, candidates, out):
        ids, dist, n = out
        self.check(self.lib.vecstore_search_ids(
            self.handle, ptr(q, ctypes.c_float), len(q), ptr(candidates, ctypes.c_uint64),
            len(candidates), K, METRIC_L2, ptr(ids, ctypes.c_uint64), ptr(dist, ctypes.c_float),
            ctypes.byref(n)), "search_ids")
        return ids[:n.value]

    def search_filter(self, q, filter_fn, ctx, out):
        ids, dist, n = out
        self.check(self.lib.vecstore_search_filter(
            self.handle, ptr(q, ctypes.c_float), len(q), K, METRIC_L2, filter_fn, ctx,
            ptr(ids, ctypes.c_uint64), ptr(dist, ctypes.c_float), ctypes.byref(n)), "search_filter")
        return ids[:n.value]

    def close(self):
        self.check(self.lib.vecstore_close(self.handle), "close")


def ptr(array, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def rate(fn, queries, min_seconds):
    """Queries per second of fn(q), cycling through `queries`."""
    done, start = 0, time.perf_counter()
    while True:
        fn(queries[done % len(queries)])
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and done >= 3:
            return done / elapsed


def rate_threads(fn, queries, threads, min_seconds):
    """Total queries per second of `threads` threads each calling fn(q, out)."""
    counts = [0] * threads
    stop = threading.Event()

    def run(t):
        out = None
        i = t
        while not stop.is_set():
            out = fn(queries[i % len(queries)], out)
            i += threads
            counts[t] += 1

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(min_seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def brute(data, norms, q, keep=None):
    """numpy's k nearest (squared L2), optionally among the rows `keep`."""
    if keep is None:
        d = norms - 2.0 * (data @ q)
        top = np.argpartition(d, K)[:K]
        return top[np.argsort(d[top], kind="stable")]
    d = norms[keep] - 2.0 * (data[keep] @ q)
    top = np.argpartition(d, min(K, len(keep) - 1))[:K]
    return keep[top[np.argsort(d[top], kind="stable")]]


def same_neighbours(data, q, got, want):
    """Equal ids, or differing ids that tie with the k-th distance in float64."""
    got, want = np.asarray(got, np.int64), np.asarray(want, np.int64)
    if len(got) != len(want):
        return False
    if np.array_equal(got, want):
        return True
    d = lambda ids: ((data[ids].astype(np.float64) - q) ** 2).sum(axis=1)
    kth = max(d(want).max(), d(got).max())
    diff = np.setxor1d(got, want)
    return bool(np.all(np.abs(d(diff) - kth) <= 1e-5 * kth))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dir", default=None, help="where the store goes (default: a temp dir)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import faiss  # after numpy: see bench/search_vs_faiss.py on OpenBLAS
    faiss.omp_set_num_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    n, dim = args.n, args.dim
    data = rng.standard_normal((n, dim), dtype=np.float32)
    norms = (data.astype(np.float32) ** 2).sum(axis=1)
    queries = rng.standard_normal((64, dim), dtype=np.float32)
    candidates = np.sort(rng.choice(n, n // 100, replace=False)).astype(np.uint64)
    half = np.nonzero(rng.random(n) < 0.5)[0].astype(np.uint64)
    bitmap = np.zeros((n + 7) // 8, np.uint8)
    np.bitwise_or.at(bitmap, (half >> 3).astype(np.int64), (1 << (half & 7)).astype(np.uint8))

    work = tempfile.mkdtemp(prefix="vecstore-filters-", dir=args.dir)
    try:
        so = os.path.join(work, "filter.so")
        src = os.path.join(work, "filter.c")
        with open(src, "w") as f:
            f.write(FILTER_C)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", so, src], check=True)
        bitmap_filter = ctypes.cast(ctypes.CDLL(so).bitmap_filter, ctypes.c_void_p)
        bitmap_ctx = bitmap.ctypes.data_as(ctypes.c_void_p)

        vs = Vecstore(args.lib)
        vs.open(os.path.join(work, "store"), dim)
        t0 = time.perf_counter()
        vs.load(data)
        print(f"loaded {n} x {dim} in {time.perf_counter() - t0:.1f} s", flush=True)

        index = faiss.IndexFlatL2(dim)
        index.add(data)
        sel_batch = faiss.IDSelectorBatch(len(candidates), faiss.swig_ptr(candidates.astype(np.int64)))
        cand_bitmap = np.zeros((n + 7) // 8, np.uint8)
        np.bitwise_or.at(cand_bitmap, (candidates >> 3).astype(np.int64),
                         (1 << (candidates & 7)).astype(np.uint8))
        sel_cand_bitmap = faiss.IDSelectorBitmap(n, faiss.swig_ptr(cand_bitmap))
        sel_half = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))

        def faiss_search(q, sel=None):
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
            return index.search(q[None, :], K, params=params)[1][0]

        # Checks: every vecstore result equals numpy's over the same subset.
        out = vs.outputs()
        cand_rows = candidates.astype(np.int64)
        half_rows = half.astype(np.int64)
        for q in queries[:8]:
            for got, want, what in [
                (vs.search(q, out).copy(), brute(data, norms, q), "search"),
                (vs.search_ids(q, candidates, out).copy(), brute(data, norms, q, cand_rows), "search_ids"),
                (vs.search_filter(q, bitmap_filter, bitmap_ctx, out).copy(),
                 brute(data, norms, q, half_rows), "search_filter"),
            ]:
                if not same_neighbours(data, q, got, want):
                    print(f"CHECK FAILED: {what}: {got} != {want}", file=sys.stderr)
                    return 1
        print("checks: vecstore's results equal numpy's brute force", flush=True)

        cases = {
            "vecstore search": lambda q: vs.search(q, out),
            "numpy brute force": lambda q: brute(data, norms, q),
            "faiss flat": lambda q: faiss_search(q),
            "vecstore search_ids 1%": lambda q: vs.search_ids(q, candidates, out),
            "faiss IDSelectorBatch 1%": lambda q: faiss_search(q, sel_batch),
            "faiss IDSelectorBitmap 1%": lambda q: faiss_search(q, sel_cand_bitmap),
            "vecstore search_filter 50%": lambda q: vs.search_filter(q, bitmap_filter, bitmap_ctx, out),
            "faiss IDSelectorBitmap 50%": lambda q: faiss_search(q, sel_half),
        }
        rounds = {name: [] for name in cases}
        for name in ["vecstore 1 thread", "vecstore 2 threads", "vecstore 8 threads"]:
            rounds[name] = []

        def concurrent(q, o):
            o = o or vs.outputs()
            vs.search(q, o)
            return o

        for r in range(args.rounds):
            for name, fn in cases.items():
                rounds[name].append(rate(fn, queries, args.min_seconds))
            for threads in (1, 2, 8):
                rounds[f"vecstore {threads} thread{'s' if threads > 1 else ''}"].append(
                    rate_threads(concurrent, queries, threads, args.min_seconds))
            print(f"round {r + 1} of {args.rounds} done", flush=True)

        med = {name: statistics.median(v) for name, v in rounds.items()}
        gbs = n * dim * 4 / 1e9
        print(f"\n{n} x {dim}, k={K}, L2, queries per second (median of {args.rounds} rounds)")
        for name, v in med.items():
            print(f"  {name:30s} {v:10.1f} q/s")
        ratios = {
            "single query: vecstore / numpy": med["vecstore search"] / med["numpy brute force"],
            "single query GB/s: vecstore": med["vecstore search"] * gbs,
            "single query GB/s: numpy": med["numpy brute force"] * gbs,
            "1% list: vecstore search_ids / vecstore search": med["vecstore search_ids 1%"] / med["vecstore search"],
            "1% list: vecstore / faiss IDSelectorBatch": med["vecstore search_ids 1%"] / med["faiss IDSelectorBatch 1%"],
            "1% list: vecstore / faiss IDSelectorBitmap": med["vecstore search_ids 1%"] / med["faiss IDSelectorBitmap 1%"],
            "50% filter: time / unfiltered time": med["vecstore search"] / med["vecstore search_filter 50%"],
            "50% filter: vecstore / faiss IDSelectorBitmap": med["vecstore search_filter 50%"] / med["faiss IDSelectorBitmap 50%"],
            "8 callers / best of 1 and 2 callers": med["vecstore 8 threads"] / max(med["vecstore 1 thread"], med["vecstore 2 threads"]),
        }
        for name, v in ratios.items():
            print(f"  {name:50s} {v:8.2f}")
        vs.close()
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"n": n, "dim": dim, "k": K, "rounds": rounds, "median": med,
                           "ratios": ratios, "threads": args.threads, "faiss": faiss.__version__,
                           "numpy": np.__version__}, f, indent=1)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
