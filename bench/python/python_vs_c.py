#!/usr/bin/env python3
"""The vecstore Python package against the C library it wraps: the same
calls on the same data, timed the same way, to show what the binding adds.

    pip install ./bindings/python
    python bench/python/python_vs_c.py [--sizes 200000x128,1000000x128]
        [--rounds 5] [--batch 10000] [--queries 100] [--k 10] [--singles 20000]
        [--dir DIR] [--json FILE]

Per size, one data set (standard-normal float32 from numpy's
default_rng(seed)) in numpy arrays that both sides read. Each round runs
bench/python/vs_c.c (compiled here with cc -O2 against the header and the
library that the installed package carries, as a shared library loaded into
this process: both sides run in one process, on the same input buffers and
the very same libvecstore.so) and the same calls from Python, alternating
which goes first, each into a new store (durability "none", initial
capacity n), after one warm-up pass of each side that is not reported:

  put_batch     ids 0..n-1 in batches of --batch (uint64 ids and float32
                rows handed over as they are)
  get_batch     every id, in a random order, in batches of --batch: a first
                pass (the process's first read of each vector: its checksum
                is verified), then warm passes. C fills one reused array;
                Python makes the same two passes into the same reused array
                with out=, then a third, warm, returning new arrays per call
                (the default; also compared with C's second pass). The difference
                between the two Python ways is the cost of new result
                memory (page faults, small pages), not of the binding.
  search_batch  --queries queries in one call, k = --k, L2
  get, search   single calls (--singles gets; --queries searches, k = 1):
                the per-call cost of Python and ctypes, shown for scale

Only the time inside the calls is summed (not the loop's slicing), on both
sides. Reported: the median over rounds per side, and Python / C of the
medians and of the minima (the least disturbed round of each side, on a
shared machine the better estimate of what the binding adds).
"""

import argparse
import ctypes
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import vecstore

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = ["put_batch", "flush", "get_batch_first", "get_batch_out", "get_batch", "search_batch", "get", "search"]


C_OPS = ["put_batch", "flush", "get_batch_first", "get_batch", "search_batch", "get", "search"]


def build_c(out_dir):
    """vs_c.c as a shared library, compiled against the package's header and
    library, loaded into this process: its calls go to the very
    libvecstore.so the package loaded (the loader matches the SONAME)."""
    lib = vecstore.library_path()
    so = os.path.join(out_dir, "libvs_c.so")
    cc = os.environ.get("CC", "cc")
    subprocess.run(
        [cc, "-std=c11", "-O2", "-shared", "-fPIC", "-I", vecstore.include_dir(), os.path.join(HERE, "vs_c.c"),
         "-o", so, lib],
        check=True,
    )
    c = ctypes.CDLL(so)
    p = ctypes.c_void_p
    sz = ctypes.c_size_t
    c.vs_c_run.restype = ctypes.c_int
    c.vs_c_run.argtypes = [ctypes.c_char_p, p, p, sz, sz, p, sz, p, sz, sz, sz, sz, p, p]
    return c


def run_c(clib, work, data, ids, queries, get_ids, out, batch, k, singles):
    path = os.path.join(work, "c-store")
    seconds = np.zeros(len(C_OPS), dtype=np.float64)
    n, d = data.shape
    st = clib.vs_c_run(
        path.encode(), data.ctypes.data, ids.ctypes.data, n, d, queries.ctypes.data, len(queries),
        get_ids.ctypes.data, len(get_ids), batch, k, singles, out.ctypes.data, seconds.ctypes.data,
    )
    if st != 0:
        raise RuntimeError(f"vs_c_run failed: {st}")
    shutil.rmtree(path)
    return dict(zip(C_OPS, seconds.tolist()))


def run_python(work, data, ids, queries, get_ids, out, batch, k, singles):
    n, d = data.shape
    res = dict.fromkeys(OPS, 0.0)
    clock = time.perf_counter
    path = os.path.join(work, "py-store")
    with vecstore.open(path, d, durability="none", initial_capacity=n) as s:
        for i in range(0, n, batch):
            chunk_ids, chunk = ids[i : i + batch], data[i : i + batch]
            t = clock()
            s.put_batch(chunk_ids, chunk)
            res["put_batch"] += clock() - t
        t = clock()
        s.flush()
        res["flush"] = clock() - t
        # as C: first read (checksums verified), then warm, both into the
        # reused array; then warm again with new result arrays (the default)
        for op in ("get_batch_first", "get_batch_out", "get_batch"):
            for i in range(0, len(get_ids), batch):
                chunk_ids = get_ids[i : i + batch]
                target = None
                if op != "get_batch":
                    target = out if len(chunk_ids) == batch else out[: len(chunk_ids)]
                t = clock()
                _, found = s.get_batch(chunk_ids, out=target)
                res[op] += clock() - t
                assert found.all()
        t = clock()
        s.search_batch(queries, k)
        res["search_batch"] = clock() - t
        single_ids = [int(x) for x in get_ids[:singles]]
        t = clock()
        for i in single_ids:
            s.get(i)
        res["get"] = clock() - t
        t = clock()
        for q in queries:
            s.search(q, 1)
        res["search"] = clock() - t
    shutil.rmtree(path)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200000x128,1000000x128")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--singles", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dir", default=None, help="parent of the work directory (default $TMPDIR)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    machine = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "vecstore": vecstore.library_version(),
        "library": vecstore.library_path(),
        "nproc": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    print("machine:", json.dumps(machine))
    results = {"machine": machine, "args": vars(args), "sizes": []}
    work = tempfile.mkdtemp(prefix="vecstore-python-vs-c-", dir=args.dir)
    try:
        clib = build_c(work)
        for part in args.sizes.split(","):
            n, d = (int(x) for x in part.lower().split("x"))
            rng = np.random.default_rng(args.seed)
            data = rng.standard_normal((n, d), dtype=np.float32)
            queries = rng.standard_normal((args.queries, d), dtype=np.float32)
            get_ids = rng.permutation(n).astype(np.uint64)
            singles = min(args.singles, n)
            ids = np.arange(n, dtype=np.uint64)
            out = np.zeros((args.batch, d), dtype=np.float32)  # get_batch's reused buffer, both sides
            out.fill(0)  # touched: warm
            print(f"\n=== {n} x {d} ({n * d * 4 / 1e6:.0f} MB), batch {args.batch}, {args.queries} queries, k={args.k}, {args.rounds} rounds ===")
            runs = {"c": [], "python": []}
            # a warm-up pass of each side, not reported
            run_c(clib, work, data, ids, queries, get_ids, out, args.batch, args.k, singles)
            run_python(work, data, ids, queries, get_ids, out, args.batch, args.k, singles)
            for r in range(args.rounds):
                order = ("c", "python") if r % 2 == 0 else ("python", "c")
                for side in order:
                    if side == "c":
                        res = run_c(clib, work, data, ids, queries, get_ids, out, args.batch, args.k, singles)
                    else:
                        res = run_python(work, data, ids, queries, get_ids, out, args.batch, args.k, singles)
                    runs[side].append(res)
                print(f"  round {r + 1}: C " + " ".join(f"{op}={runs['c'][-1][op]:.4f}" for op in runs["c"][-1])
                      + " | Python " + " ".join(f"{op}={runs['python'][-1][op]:.4f}" for op in OPS))
            rows = []
            print("\n| call | C median (s) | Python median (s) | Python / C, medians | Python / C, minima | per call, C | per call, Python |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for op in OPS:
                c_op = "get_batch" if op == "get_batch_out" else op  # C: one reused buffer
                c_runs = [x[c_op] for x in runs["c"]]
                p_runs = [x[op] for x in runs["python"]]
                c, p = statistics.median(c_runs), statistics.median(p_runs)
                batches = -(-n // args.batch)
                calls = {"put_batch": batches, "get_batch_first": batches, "get_batch": batches,
                         "get_batch_out": batches, "search_batch": 1, "flush": 1,
                         "get": singles, "search": args.queries}[op]
                label = {"get_batch_first": "get_batch, first read (out=)", "get_batch": "get_batch, warm (new arrays)",
                         "get_batch_out": "get_batch, warm (out=)",
                         "get": f"get x{singles}", "search": f"search x{args.queries} (k=1)"}.get(op, op)
                rows.append({"op": op, "c_s": c, "python_s": p, "ratio_median": p / c, "ratio_min": min(p_runs) / min(c_runs),
                             "calls": calls, "c_runs": c_runs, "python_runs": p_runs})
                print(f"| {label} | {c:.4f} | {p:.4f} | {p / c:.3f} | {min(p_runs) / min(c_runs):.3f} "
                      f"| {c / calls * 1e6:.1f} us | {p / calls * 1e6:.1f} us |")
            results["sizes"].append({"n": n, "d": d, "rows": rows})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average at start {machine['loadavg_at_start']}, at end {results['loadavg_at_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
