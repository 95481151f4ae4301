#!/usr/bin/env python3
"""The vecstore Python package against the C library it wraps: the same
calls on the same data, timed the same way, to show what the binding adds.

    pip install ./bindings/python
    python bench/python/python_vs_c.py [--sizes 200000x128,1000000x128]
        [--rounds 5] [--batch 10000] [--queries 100] [--k 10] [--singles 20000]
        [--dir DIR] [--json FILE]

Per size, one data set (standard-normal float32 from numpy's
default_rng(seed)) is written to files that both sides read. Each round
runs bench/python/vs_c.c (compiled here with cc -O2 against the header and
the library that the installed package carries, so both sides run the very
same libvecstore.so) and the same calls from Python, alternating which goes
first, each into a new store (durability "none", initial capacity n),
after one warm-up pass on each side that is not reported:

  put_batch     ids 0..n-1 in batches of --batch (uint64 ids and float32
                rows handed over as they are)
  get_batch     every id, in a random order, in batches of --batch; C reuses
                one buffer; Python both ways: new result arrays per call
                (the default) and out= (a reused array, as C)
  search_batch  --queries queries in one call, k = --k, L2
  get, search   single calls (--singles gets; --queries searches, k = 1):
                the per-call cost of Python and ctypes, shown for scale

Only the time inside the calls is summed (not the loop's slicing), on both
sides. Reported: the median over rounds per side, and Python / C.
"""

import argparse
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
OPS = ["put_batch", "flush", "get_batch", "get_batch_out", "search_batch", "get", "search"]


def build_c(out_dir):
    """vs_c.c, compiled against the package's header and library. The
    program asks the loader for the library's SONAME (libvecstore.so.MAJOR):
    a link of that name to the package's file sits on its rpath."""
    lib = vecstore.library_path()
    soname = subprocess.run(["readelf", "-d", lib], check=True, capture_output=True, text=True).stdout
    soname = soname.split("Library soname: [", 1)[1].split("]", 1)[0]
    lib_dir = os.path.join(out_dir, "lib")
    os.makedirs(lib_dir, exist_ok=True)
    os.symlink(lib, os.path.join(lib_dir, soname))
    exe = os.path.join(out_dir, "vs_c")
    cc = os.environ.get("CC", "cc")
    subprocess.run(
        [cc, "-std=c11", "-O2", "-I", vecstore.include_dir(), os.path.join(HERE, "vs_c.c"), "-o", exe, lib,
         f"-Wl,-rpath,{lib_dir}"],
        check=True,
    )
    return exe


def run_c(exe, work, n, d, nq, ng, batch, k, singles):
    out = subprocess.run(
        [exe, work, str(n), str(d), str(nq), str(ng), str(batch), str(k), str(singles)],
        check=True, capture_output=True, text=True,
    ).stdout
    res = {}
    for line in out.splitlines():
        rec = json.loads(line)
        res[rec["op"]] = rec["seconds"]
    shutil.rmtree(os.path.join(work, "c-store"))
    shutil.rmtree(os.path.join(work, "c-store-warm"))
    return res


def run_python(work, data, queries, get_ids, batch, k, singles):
    n, d = data.shape
    ids = np.arange(n, dtype=np.uint64)
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
        for i in range(0, len(get_ids), batch):
            chunk_ids = get_ids[i : i + batch]
            t = clock()
            _, found = s.get_batch(chunk_ids)
            res["get_batch"] += clock() - t
            assert found.all()
        out = np.empty((batch, d), dtype=np.float32)
        for i in range(0, len(get_ids), batch):
            chunk_ids = get_ids[i : i + batch]
            target = out if len(chunk_ids) == batch else out[: len(chunk_ids)]
            t = clock()
            _, found = s.get_batch(chunk_ids, out=target)
            res["get_batch_out"] += clock() - t
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
        exe = build_c(work)
        for part in args.sizes.split(","):
            n, d = (int(x) for x in part.lower().split("x"))
            rng = np.random.default_rng(args.seed)
            data = rng.standard_normal((n, d), dtype=np.float32)
            queries = rng.standard_normal((args.queries, d), dtype=np.float32)
            get_ids = rng.permutation(n).astype(np.uint64)
            singles = min(args.singles, n)
            data.tofile(os.path.join(work, "data.f32"))
            queries.tofile(os.path.join(work, "queries.f32"))
            get_ids.tofile(os.path.join(work, "get_ids.u64"))
            print(f"\n=== {n} x {d} ({n * d * 4 / 1e6:.0f} MB), batch {args.batch}, {args.queries} queries, k={args.k}, {args.rounds} rounds ===")
            runs = {"c": [], "python": []}
            # warm-up pass (not reported), as vs_c makes one per process
            run_python(work, data, queries, get_ids, args.batch, args.k, singles)
            for r in range(args.rounds):
                order = ("c", "python") if r % 2 == 0 else ("python", "c")
                for side in order:
                    if side == "c":
                        res = run_c(exe, work, n, d, args.queries, n, args.batch, args.k, singles)
                    else:
                        res = run_python(work, data, queries, get_ids, args.batch, args.k, singles)
                    runs[side].append(res)
                print(f"  round {r + 1}: C " + " ".join(f"{op}={runs['c'][-1][op]:.4f}" for op in runs["c"][-1])
                      + " | Python " + " ".join(f"{op}={runs['python'][-1][op]:.4f}" for op in OPS))
            rows = []
            print(f"\n| call | C (median s) | Python (median s) | Python / C | per call, C | per call, Python |")
            print("|---|---:|---:|---:|---:|---:|")
            for op in OPS:
                c_op = "get_batch" if op == "get_batch_out" else op
                c = statistics.median(x[c_op] for x in runs["c"])
                p = statistics.median(x[op] for x in runs["python"])
                calls = {"put_batch": -(-n // args.batch), "get_batch": -(-n // args.batch),
                         "get_batch_out": -(-n // args.batch), "search_batch": 1, "flush": 1,
                         "get": singles, "search": args.queries}[op]
                label = {"get_batch": "get_batch (new arrays)", "get_batch_out": "get_batch (out=)",
                         "get": f"get x{singles}", "search": f"search x{args.queries} (k=1)"}.get(op, op)
                rows.append({"op": op, "c_s": c, "python_s": p, "ratio": p / c if c else None, "calls": calls,
                             "c_runs": [x[c_op] for x in runs["c"]], "python_runs": [x[op] for x in runs["python"]]})
                print(f"| {label} | {c:.4f} | {p:.4f} | {p / c:.3f} | {c / calls * 1e6:.1f} us | {p / calls * 1e6:.1f} us |")
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
