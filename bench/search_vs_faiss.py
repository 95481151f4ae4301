#!/usr/bin/env python3
"""Exact k-NN search: vecstore (through its Python package, over the C
library) against FAISS flat indexes and numpy, on the same data, the same
queries and the same thread count, in one run.

    pip install ./bindings/python -r bench/requirements.txt
    python bench/search_vs_faiss.py [--quick]
        [--sizes 1000000x128,200000x384] [--seed 42] [--threads N] [--rounds 3]
        [--json FILE]

Data: standard-normal float32 vectors from numpy's default_rng(seed), ids
0..n-1, loaded into a fresh vecstore store with Store.put_batch (batches
of 10000, durability "none") and Store.flush; FAISS IndexFlatL2/IndexFlatIP
and numpy get the same array. Queries are drawn from the same generator.

Measured per size and metric (k=10; L2 = squared Euclidean, IP = inner
product; vecstore's METRIC_DOT is the negative inner product, so its smallest
distance is FAISS IndexFlatIP's largest score):
  - single queries, one call per query;
  - one batch of 100 queries per call (Store.search_batch, FAISS
    index.search with 100 rows, numpy Q @ X.T + argpartition over blocks).
Each measurement runs for at least --min-seconds; the engines alternate in
--rounds rounds and the median round is reported, so a load spike on the
shared machine hits one round of one engine, not the whole comparison.

GB/s scanned = bytes of the data set (n * d * 4) read per second: one pass
per single query, one pass per batch of 100.

Recall check: for every query, vecstore's top-10 ids against FAISS's; a
difference is accepted only when the distances (recomputed in float64) of
the differing ids tie with the 10th distance to within float32 rounding.

Timings are printed, never asserted; the exit code is non-zero only when the
recall check fails or a call fails.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

# OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE once, when it is loaded.
# numpy's OpenBLAS (current) picks its best kernel by itself, and is slowed by
# a forced core type; FAISS's wheel bundles an older OpenBLAS that does not
# know recent CPUs (it falls back to "Barcelona", SSE only, on AMD family 26),
# so it gets the core type. Each library is loaded under its own setting;
# --faiss-openblas-coretype overrides FAISS's (the machine's value, else Haswell).
_OB_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_OB_ORIG = {v: os.environ.get(v) for v in _OB_VARS}
for _v in _OB_VARS:
    os.environ.pop(_v, None)
import numpy as np  # noqa: E402  (numpy's OpenBLAS: auto-detected kernel)
import vecstore  # noqa: E402  (pip install ./bindings/python)

K = 10
BATCH = 100
PUT_BATCH = 10000


# ---- vecstore, through its Python package ----------------------------------


def put_all(store, data, batch=PUT_BATCH):
    """Ids 0..n-1 with Store.put_batch in batches of `batch`, then the barrier."""
    n = data.shape[0]
    for start in range(0, n, batch):
        rows = data[start : start + batch]
        store.put_batch(np.arange(start, start + rows.shape[0], dtype=np.uint64), rows)
    store.flush()


# ---- numpy brute force -----------------------------------------------------


class NumpyKnn:
    """Matrix product + argpartition, over blocks of the data set (so a batch
    never materialises a 100 x n matrix). Squared norms of the data set are
    computed once, as an index would."""

    BLOCK = 131072

    def __init__(self, data):
        self.data = data
        self.norms = np.einsum("ij,ij->i", data, data)

    def search(self, queries, k, metric):
        """Rows of ids and distances (L2: squared distance, ascending; IP:
        inner product, descending), like FAISS."""
        q = np.atleast_2d(queries)
        nq = q.shape[0]
        best_d = np.empty((nq, 0), dtype=np.float32)
        best_i = np.empty((nq, 0), dtype=np.int64)
        qn = np.einsum("ij,ij->i", q, q)[:, None] if metric == "L2" else None
        for start in range(0, self.data.shape[0], self.BLOCK):
            block = self.data[start : start + self.BLOCK]
            s = q @ block.T
            if metric == "L2":
                # smaller is closer: d = |x|^2 - 2 q.x + |q|^2
                s *= -2.0
                s += self.norms[start : start + block.shape[0]]
                s += qn
            else:
                s = -s  # smaller is closer
            kk = min(k, s.shape[1])
            part = np.argpartition(s, kk - 1, axis=1)[:, :kk]
            best_d = np.concatenate([best_d, np.take_along_axis(s, part, 1)], axis=1)
            best_i = np.concatenate([best_i, part + start], axis=1)
            if best_d.shape[1] > k:
                part = np.argpartition(best_d, k - 1, axis=1)[:, :k]
                best_d = np.take_along_axis(best_d, part, 1)
                best_i = np.take_along_axis(best_i, part, 1)
        order = np.lexsort((best_i, best_d), axis=1)  # distance, then smaller id
        best_d = np.take_along_axis(best_d, order, 1)
        best_i = np.take_along_axis(best_i, order, 1)
        if metric == "IP":
            best_d = -best_d
        return best_d, best_i


# ---- timing ----------------------------------------------------------------


def timed_rate(fn, items_per_call, min_seconds, min_calls):
    """Calls fn() at least min_calls times and for at least min_seconds;
    returns items per second."""
    calls = 0
    t0 = time.perf_counter()
    while True:
        fn(calls)
        calls += 1
        elapsed = time.perf_counter() - t0
        if calls >= min_calls and elapsed >= min_seconds:
            return calls * items_per_call / elapsed


def fmt(x):
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


# ---- recall ------------------------------------------------------------------


def exact_dist64(data, q, ids, metric):
    v = data[ids].astype(np.float64)
    q = q.astype(np.float64)
    if metric == "L2":
        return ((v - q) ** 2).sum(axis=1)
    return -(v @ q)  # smaller is closer, like vecstore


def compare_topk(data, queries, ids_a, ids_b, metric):
    """(identical lists, same set but other order among ties, differing only
    at ties, real mismatches, worst description)."""
    same = reordered = tie_only = bad = 0
    worst = None
    for qi in range(queries.shape[0]):
        a = [int(x) for x in ids_a[qi]]
        b = [int(x) for x in ids_b[qi]]
        if a == b:
            same += 1
            continue
        q = queries[qi]
        da = exact_dist64(data, q, np.array(a), metric)
        db = exact_dist64(data, q, np.array(b), metric)
        # float32 evaluation of the distance carries a relative error of a
        # few ulps of the operands' magnitudes; allow that much.
        scale = np.abs(data[np.array(a + b)].astype(np.float64)).sum(axis=1).max() * np.abs(q).max()
        tol = max(1e-5 * scale, 1e-6)
        if set(a) == set(b):
            # same neighbours; the order may differ only between equal distances
            ok = all(abs(x - y) <= tol for x, y in zip(sorted(da), da)) and np.allclose(
                np.sort(da), np.sort(db), atol=tol, rtol=0
            )
            if ok:
                reordered += 1
                continue
        kth = max(da.max(), db.max())
        only_a = [d for i, d in zip(a, da) if i not in b]
        only_b = [d for i, d in zip(b, db) if i not in a]
        if all(abs(d - kth) <= tol for d in only_a + only_b) and np.allclose(np.sort(da), np.sort(db), atol=tol, rtol=0):
            tie_only += 1
        else:
            bad += 1
            if worst is None:
                worst = f"query {qi}: vecstore {a} ({np.round(da, 4).tolist()}) vs faiss {b} ({np.round(db, 4).tolist()})"
    return same, reordered, tie_only, bad, worst


# ---- machine -----------------------------------------------------------------


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return ",".join(x for x in ("avx512f", "avx2", "fma") if x in flags)
    except OSError:
        pass
    return "?"


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: i.get(k) for k in ("internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")}
            for i in threadpool_info()
        ]
    except Exception as e:  # threadpoolctl is optional
        return [{"error": str(e)}]


# ---- main ----------------------------------------------------------------------


def parse_sizes(s):
    out = []
    for part in s.split(","):
        n, d = part.lower().split("x")
        out.append((int(n), int(d)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=None, help="NxD,... (default 1000000x128,200000x384; --quick 50000x128,20000x384)")
    ap.add_argument("--quick", action="store_true", help="small sizes and short timings (under a minute)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None, help="CPUs for every engine (default: all; sets the affinity)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of alternating engines (default 3, --quick 1)")
    ap.add_argument("--min-seconds", type=float, default=None, help="per measurement (default 2, --quick 0.3)")
    ap.add_argument("--single-queries", type=int, default=20, help="distinct single queries (recall-checked)")
    ap.add_argument("--dir", default=None, help="parent of the temporary store directory (default $TMPDIR)")
    ap.add_argument(
        "--faiss-openblas-coretype",
        default=None,
        help="OPENBLAS_CORETYPE for FAISS's bundled OpenBLAS (default: the environment's, else Haswell; 'auto' = none)",
    )
    ap.add_argument("--json", default=None, help="write the figures to this file")
    args = ap.parse_args()

    sizes = parse_sizes(args.sizes) if args.sizes else ([(50000, 128), (20000, 384)] if args.quick else [(1000000, 128), (200000, 384)])
    rounds = args.rounds or (1 if args.quick else 3)
    min_seconds = args.min_seconds if args.min_seconds is not None else (0.3 if args.quick else 2.0)

    # One thread count for all: vecstore uses available_parallelism (which
    # follows the CPU affinity), FAISS OpenMP and numpy's BLAS are set to it.
    if args.threads:
        cpus = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cpus)
    threads = len(os.sched_getaffinity(0))

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    faiss_coretype = args.faiss_openblas_coretype or _OB_ORIG["OPENBLAS_CORETYPE"] or "Haswell"
    if faiss_coretype != "auto":
        os.environ["OPENBLAS_CORETYPE"] = faiss_coretype
        if _OB_ORIG["OPENBLAS_L2_SIZE"]:
            os.environ["OPENBLAS_L2_SIZE"] = _OB_ORIG["OPENBLAS_L2_SIZE"]
    import faiss  # FAISS's OpenBLAS, loaded now under the settings above

    for _v in _OB_VARS:
        os.environ.pop(_v, None)
    faiss.omp_set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)  # again: FAISS brought its own pools
    except ImportError:
        pass

    load = os.getloadavg()
    machine = {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpus_used": threads,
        "nproc": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "faiss_omp_max_threads": faiss.omp_get_max_threads(),
        "vecstore": vecstore.library_version(),
        "vecstore_package": os.path.dirname(vecstore.__file__),
        "vecstore_threads": threads,
        "blas": blas_info(),
        "faiss_openblas_coretype": faiss_coretype,
        "faiss_simd": faiss.get_compile_options(),
    }
    print("machine:", json.dumps(machine))
    print(
        f"threads: vecstore {threads} (available_parallelism = CPUs in the affinity mask), "
        f"FAISS omp_get_max_threads() = {faiss.omp_get_max_threads()}, numpy BLAS as listed"
    )
    print(f"sizes {sizes}, seed {args.seed}, k={K}, batch={BATCH}, rounds {rounds}, min {min_seconds}s per measurement")

    all_results = {"machine": machine, "sizes": []}
    failed = False
    parent = args.dir or tempfile.gettempdir()

    for n, d in sizes:
        t_size = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        data = rng.standard_normal((n, d), dtype=np.float32)
        singles = rng.standard_normal((args.single_queries, d), dtype=np.float32)
        batch = rng.standard_normal((BATCH, d), dtype=np.float32)
        nbytes = n * d * 4
        print(f"\n=== {n} x {d}  ({nbytes / 1e9:.3f} GB of vectors) ===")

        tmp = tempfile.mkdtemp(prefix="vecstore-vs-faiss-", dir=parent)
        store = None
        try:
            store = vecstore.open(os.path.join(tmp, "store"), d, durability="none", initial_capacity=n)
            t0 = time.perf_counter()
            put_all(store, data)
            load_s = time.perf_counter() - t0
            assert len(store) == n, (len(store), n)
            t0 = time.perf_counter()
            fl2 = faiss.IndexFlatL2(d)
            fl2.add(data)
            fip = faiss.IndexFlatIP(d)
            fip.add(data)
            faiss_add_s = time.perf_counter() - t0
            npk = NumpyKnn(data)
            print(f"load: vecstore put_batch x{PUT_BATCH} + flush {load_s:.2f} s ({n / load_s:,.0f} vec/s); FAISS add (both) {faiss_add_s:.2f} s")

            size_res = {"n": n, "d": d, "bytes": nbytes, "load_s": load_s, "metrics": {}}
            for metric, vmetric, findex in (("L2", "l2", fl2), ("IP", "dot", fip)):
                engines_single = {
                    "vecstore": lambda i, m=vmetric: store.search(singles[i % len(singles)], K, m),
                    "faiss": lambda i, f=findex: f.search(singles[i % len(singles)][None, :], K),
                    "numpy": lambda i, m=metric: npk.search(singles[i % len(singles)], K, m),
                }
                engines_batch = {
                    "vecstore": lambda i, m=vmetric: store.search_batch(batch, K, m),
                    "faiss": lambda i, f=findex: f.search(batch, K),
                    "numpy": lambda i, m=metric: npk.search(batch, K, m),
                }
                # warm up (page cache, thread pools, code)
                for e in list(engines_single.values()) + list(engines_batch.values()):
                    e(0)
                rates = {(kind, e): [] for kind in ("single", "batch") for e in engines_single}
                for r in range(rounds):
                    for e in engines_single:
                        rates[("single", e)].append(
                            timed_rate(engines_single[e], 1, min_seconds, min(len(singles), 10))
                        )
                    for e in engines_batch:
                        rates[("batch", e)].append(timed_rate(engines_batch[e], BATCH, min_seconds, 2))
                med = {key: statistics.median(v) for key, v in rates.items()}

                # recall: vecstore against FAISS, singles and the batch
                v_single = np.stack([store.search(q, K, vmetric)[0].astype(np.int64) for q in singles])
                f_single = findex.search(singles, K)[1]
                v_batch = store.search_batch(batch, K, vmetric)[0].astype(np.int64)
                f_batch = findex.search(batch, K)[1]
                n_batch = npk.search(batch, K, metric)[1]
                allq = np.concatenate([singles, batch])
                same, reord, ties, bad, worst = compare_topk(
                    data, allq, np.concatenate([v_single, v_batch]), np.concatenate([f_single, f_batch]), metric
                )
                nsame, nreord, nties, nbad, _ = compare_topk(data, batch, v_batch, n_batch, metric)
                # the single-query path and the batch path must agree
                v_b_of_singles = store.search_batch(singles, K, vmetric)[0].astype(np.int64)
                path_agree = int((v_b_of_singles == v_single).all(axis=1).sum())
                total = allq.shape[0]
                ok = bad == 0 and nbad == 0 and path_agree == len(singles)
                failed |= not ok

                rows = []
                for kind in ("single", "batch"):
                    v, f, nump = med[(kind, "vecstore")], med[(kind, "faiss")], med[(kind, "numpy")]
                    passes = 1 if kind == "single" else BATCH
                    rows.append(
                        {
                            "workload": f"k={K} {metric}, " + ("1 query per call" if kind == "single" else f"batch of {BATCH}"),
                            "kind": kind,
                            "vecstore_qps": v,
                            "faiss_qps": f,
                            "numpy_qps": nump,
                            "vecstore_gbs": v / passes * nbytes / 1e9,
                            "faiss_gbs": f / passes * nbytes / 1e9,
                            "numpy_gbs": nump / passes * nbytes / 1e9,
                            "vecstore_over_faiss": v / f,
                            "vecstore_over_numpy": v / nump,
                            "rounds": {e: [round(x, 2) for x in rates[(kind, e)]] for e in ("vecstore", "faiss", "numpy")},
                        }
                    )
                size_res["metrics"][metric] = {
                    "rows": rows,
                    "recall": {
                        "queries": total,
                        "identical": same,
                        "same_set_reordered_ties": reord,
                        "differ_only_at_ties": ties,
                        "mismatches": bad,
                        "first_mismatch": worst,
                        "numpy_batch_identical": nsame,
                        "numpy_batch_mismatches": nbad,
                        "single_vs_batch_path_identical": path_agree,
                    },
                }
            all_results["sizes"].append(size_res)
        finally:
            if store is not None:
                store.close()
            shutil.rmtree(tmp, ignore_errors=True)

        # table for this size
        print(f"\n{n} x {d}: queries/s and GB/s scanned (median of {rounds} round(s)); {threads} threads for every engine")
        hdr = ["workload", "vecstore q/s", "FAISS q/s", "numpy q/s", "vecstore GB/s", "FAISS GB/s", "numpy GB/s", "vecstore/FAISS", "vecstore/numpy"]
        lines = []
        for metric in ("L2", "IP"):
            for r in size_res["metrics"][metric]["rows"]:
                lines.append(
                    [
                        r["workload"],
                        fmt(r["vecstore_qps"]),
                        fmt(r["faiss_qps"]),
                        fmt(r["numpy_qps"]),
                        f"{r['vecstore_gbs']:.2f}",
                        f"{r['faiss_gbs']:.2f}",
                        f"{r['numpy_gbs']:.2f}",
                        f"{r['vecstore_over_faiss']:.2f}x",
                        f"{r['vecstore_over_numpy']:.2f}x",
                    ]
                )
        widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(hdr)]
        print("| " + " | ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(hdr)) + " |")
        print("| " + " | ".join("-" * widths[0] if i == 0 else "-" * (widths[i] - 1) + ":" for i in range(len(hdr))) + " |")
        for l in lines:
            print("| " + " | ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(l)) + " |")
        print("\nper-round q/s:")
        for metric in ("L2", "IP"):
            for r in size_res["metrics"][metric]["rows"]:
                print(f"  {r['workload']}: {r['rounds']}")
        print("\nrecall (vecstore top-10 ids vs FAISS, singles + batch):")
        for metric in ("L2", "IP"):
            rc = size_res["metrics"][metric]["recall"]
            print(
                f"  {metric}: {rc['identical']}/{rc['queries']} identical, {rc['same_set_reordered_ties']} same ids reordered within ties, "
                f"{rc['differ_only_at_ties']} differ only at ties, {rc['mismatches']} mismatches; "
                f"vs numpy (batch): {rc['numpy_batch_identical']}/{BATCH} identical, {rc['numpy_batch_mismatches']} mismatches; "
                f"vecstore single vs batch path: {rc['single_vs_batch_path_identical']}/{args.single_queries} identical"
            )
            if rc["first_mismatch"]:
                print(f"    first mismatch: {rc['first_mismatch']}")
        print("\ntargets:")
        for metric in ("L2", "IP"):
            s, b = size_res["metrics"][metric]["rows"]
            t1 = s["vecstore_over_faiss"] >= 1.0
            t2 = b["vecstore_over_faiss"] >= 5.0
            print(f"  {metric} single query >= FAISS flat: {s['vecstore_over_faiss']:.2f}x -> {'met' if t1 else 'MISSED'}")
            print(f"  {metric} batch of {BATCH} >= 5x FAISS flat: {b['vecstore_over_faiss']:.2f}x -> {'met' if t2 else 'MISSED'}")
        size_res["seconds"] = time.perf_counter() - t_size
        print(f"({size_res['seconds']:.0f} s for this size; load average now {os.getloadavg()[0]:.2f})")
        del data, npk, fl2, fip

    all_results["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average at start {machine['loadavg_at_start']}, at end {all_results['loadavg_at_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_results, f, indent=1)
    print("recall check:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
