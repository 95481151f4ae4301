"""The exception classes, their statuses and messages, and the statuses that
need damaged files or a full disk to appear."""

import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import vecstore
from vecstore import _errors, _ffi

from conftest import vectors

CLASSES = {
    _ffi.NOT_FOUND: (vecstore.NotFound, KeyError),
    _ffi.INVALID_ARGUMENT: (vecstore.InvalidArgument, ValueError),
    _ffi.DIMENSION_MISMATCH: (vecstore.DimensionMismatch, ValueError),
    _ffi.IO: (vecstore.IOFailure, OSError),
    _ffi.CORRUPT: (vecstore.Corrupt, vecstore.Error),
    _ffi.LOCKED: (vecstore.Locked, vecstore.Error),
    _ffi.READ_ONLY: (vecstore.ReadOnly, vecstore.Error),
    _ffi.NO_SPACE: (vecstore.NoSpace, OSError),
    _ffi.VERSION_MISMATCH: (vecstore.VersionMismatch, vecstore.Error),
    _ffi.INTERNAL: (vecstore.Internal, vecstore.Error),
}


@pytest.mark.parametrize("status", sorted(CLASSES))
def test_one_class_per_status(status):
    cls, also = CLASSES[status]
    assert issubclass(cls, vecstore.Error) and issubclass(cls, also)
    assert _errors.BY_STATUS[status] is cls and cls.status == status
    e = cls("message", status)
    assert str(e) == "message"  # not quoted, KeyError or not
    assert e.status_name == _ffi.lib.vecstore_status_str(status).decode()
    assert e.status_name.startswith("VECSTORE_")


def test_message_is_the_librarys_for_that_call(store):
    with pytest.raises(vecstore.NotFound) as e:
        store.get(12345)
    assert "vecstore_get" in str(e.value) and "12345" in str(e.value)
    assert e.value.status == 1 and e.value.status_name == "VECSTORE_NOT_FOUND"
    with pytest.raises(vecstore.DimensionMismatch) as e:
        store.put(1, np.zeros(3))
    assert "dimension" in str(e.value) and "vecstore_put" in str(e.value)


def test_last_error_is_per_thread(store):
    import threading

    msgs = {}

    def fail(i):
        try:
            store.get(1000 + i)
        except vecstore.NotFound as e:
            msgs[i] = str(e)

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, m in msgs.items():
        assert str(1000 + i) in m
    assert len(msgs) == 8


def damaged_copy(path, tmp_path, damage):
    """A copy of the store at `path` whose data file (one .vec) went through
    damage(file opened r+b)."""
    os.makedirs(tmp_path / "copy")
    dst = str(tmp_path / "copy" / "store")
    subprocess.run(["cp", "-a", path, dst], check=True)
    (seg,) = [f for f in os.listdir(dst) if f.endswith(".vec")]
    with open(os.path.join(dst, seg), "r+b") as f:
        damage(f)
    return dst


def test_corrupt_vector_bytes(path, tmp_path):
    data = vectors(20, 8, seed=9)
    with vecstore.open(path, 8) as s:
        s.put_batch(np.arange(20), data)

    def flip(f):
        raw = f.read()
        at = raw.index(data[7].tobytes()) + 5
        f.seek(at)
        f.write(bytes([raw[at] ^ 1]))

    dst = damaged_copy(path, tmp_path, flip)
    with vecstore.open(dst) as s:
        with pytest.raises(vecstore.Corrupt) as e:
            s.get(7)
        assert "checksum" in str(e.value).lower() or "corrupt" in str(e.value).lower()
        assert np.array_equal(s.get(6), data[6])
        got = {}
        with pytest.raises(vecstore.Corrupt):
            for i, v in s.items():
                got[i] = v
        cur = s.items()
        rest = []
        while True:  # a Corrupt vector is skipped by the next next()
            try:
                rest.append(next(cur)[0])
            except vecstore.Corrupt:
                continue
            except StopIteration:
                break
        assert sorted(rest) == [i for i in range(20) if i != 7]


def header_length(raw):
    """Length of a file header: magic, version, dimension, body, then a CRC-32
    of all of it (src/codec.rs)."""
    for n in range(20, min(len(raw), 4096) + 1):
        if zlib.crc32(raw[: n - 4]) == struct.unpack_from("<I", raw, n - 4)[0]:
            return n
    raise AssertionError("no header checksum found")


def old_version(f):
    raw = bytearray(f.read(8192))
    n = header_length(raw)
    struct.pack_into("<I", raw, 8, 2)  # written by "format version 2"
    struct.pack_into("<I", raw, n - 4, zlib.crc32(bytes(raw[: n - 4])))
    f.seek(0)
    f.write(raw[:n])


def garbage_header(f):
    f.write(b"\xa5" * 32)


@pytest.mark.parametrize("damage,cls", [(old_version, vecstore.VersionMismatch), (garbage_header, vecstore.Corrupt)])
def test_damaged_header_at_open(path, tmp_path, damage, cls):
    with vecstore.open(path, 8) as s:
        s.put(1, np.ones(8))
    dst = damaged_copy(path, tmp_path, damage)
    with pytest.raises(cls) as e:
        vecstore.open(dst)
    assert "vecstore_open" in str(e.value)


NOSPACE = """
import resource, signal, sys
import numpy as np
import vecstore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
with vecstore.open(sys.argv[1], 64, durability="flush", initial_capacity=16) as s:
    s.put_batch(np.arange(10), np.ones((10, 64)))
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, resource.RLIM_INFINITY))
    try:
        s.reserve(1_000_000)
    except vecstore.NoSpace as e:
        assert isinstance(e, OSError)
        print("NoSpace:", e)
    try:
        s.put_batch(np.arange(10, 100_010), np.ones((100_000, 64)))
    except vecstore.NoSpace as e:
        print("NoSpace:", e)
    assert len(s) == 10, len(s)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    s.put_batch(np.arange(10, 1010), np.ones((1000, 64)))  # works again
    print("len", len(s))
"""


def test_no_space_from_the_file_size_limit(path):
    out = subprocess.run([sys.executable, "-c", NOSPACE, path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("NoSpace:") == 2 and "len 1010" in out.stdout, out.stdout


def test_io_failure():
    # as root, permissions stop nothing: a directory that cannot be made
    with pytest.raises(vecstore.IOFailure) as e:
        vecstore.open("/proc/self/vecstore-cannot-exist", 4)
    assert isinstance(e.value, OSError) and "os error" in str(e.value)
