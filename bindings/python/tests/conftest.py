"""Shared fixtures. The tests import the *installed* vecstore package (run
them with bindings/python/test.sh, which installs it into a venv first)."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import vecstore

HERE = os.path.dirname(os.path.abspath(__file__))
#: The repository root, when the tests run from a checkout (for bench/ scripts).
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def pytest_report_header(config):
    return f"vecstore {vecstore.__version__} from {os.path.dirname(vecstore.__file__)}"


@pytest.fixture
def path(tmp_path):
    """A path for a new store (the directory does not exist yet)."""
    return str(tmp_path / "store")


@pytest.fixture
def store(path):
    with vecstore.open(path, 8, durability="none") as s:
        yield s


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def vectors(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def hold_refs(store, ids):
    """get_ref arrays of `ids`, kept after their blocks exit (so each keeps
    its guard)."""
    arrays = []
    for i in ids:
        with store.get_ref(i) as v:
            arrays.append(v)
    return arrays


@pytest.fixture(scope="session")
def cc():
    """A C compiler, or skip."""
    for name in ("cc", "gcc", "clang"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("no C compiler")


def soname(library):
    """The SONAME recorded in a shared library (readelf, from binutils)."""
    out = subprocess.run(["readelf", "-d", library], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.+?)\]", out)
    assert m, out
    return m.group(1)


def compile_c(cc, source, out_dir, name="prog"):
    """Compiles `source` against the header and library the package carries;
    returns the executable's path. The wheel has the library as
    libvecstore.so; a program linked with it asks the loader for its SONAME
    (libvecstore.so.MAJOR), so a link of that name to the package's file goes
    into a directory on the program's rpath."""
    src = os.path.join(out_dir, name + ".c")
    exe = os.path.join(out_dir, name)
    with open(src, "w") as f:
        f.write(source)
    lib_dir = os.path.join(out_dir, "lib")
    os.makedirs(lib_dir, exist_ok=True)
    link = os.path.join(lib_dir, soname(vecstore.library_path()))
    if not os.path.exists(link):
        os.symlink(vecstore.library_path(), link)
    cmd = [
        cc, "-std=c11", "-Wall", "-Werror", "-O1",
        "-I", vecstore.include_dir(),
        src, "-o", exe,
        vecstore.library_path(), f"-Wl,-rpath,{lib_dir}",
    ]
    subprocess.run(cmd, check=True)
    return exe
