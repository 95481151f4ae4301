"""A store written by a C program (compiled here against the header and the
library the package carries) read from Python, and the reverse."""

import os
import subprocess

import numpy as np

import vecstore

from conftest import compile_c

WRITER = r"""
#include <stdio.h>
#include <vecstore.h>

#define DIM 5
#define N 100

int main(int argc, char **argv) {
  vecstore_t *s;
  vecstore_options o = vecstore_options_default();
  uint64_t ids[N];
  float v[N * DIM];
  vecstore_status st;
  if (argc != 2) return 2;
  if (vecstore_version_number() != VECSTORE_VERSION_NUMBER) return 3;
  o.durability = VECSTORE_DURABILITY_FLUSH;
  st = vecstore_open(argv[1], DIM, &o, &s);
  if (st != VECSTORE_OK) { fprintf(stderr, "open: %s\n", vecstore_last_error()); return 1; }
  for (int i = 0; i < N; i++) {
    ids[i] = (uint64_t)i * 7;
    for (int j = 0; j < DIM; j++) v[i * DIM + j] = (float)i + (float)j / 10.0f;
  }
  if (vecstore_put_batch(s, ids, v, N, DIM) != VECSTORE_OK) return 1;
  if (vecstore_delete(s, 14) != VECSTORE_OK) return 1;
  float big[DIM] = {1e30f, -1e30f, 0.5f, 0.25f, 3.0f};
  if (vecstore_put(s, UINT64_MAX, big, DIM) != VECSTORE_OK) return 1;
  return vecstore_close(s) == VECSTORE_OK ? 0 : 1;
}
"""

READER = r"""
#include <stdio.h>
#include <vecstore.h>

int main(int argc, char **argv) {
  vecstore_t *s;
  vecstore_options o = vecstore_options_default();
  vecstore_cursor_t *c;
  uint64_t id;
  const float *data;
  double sum = 0;
  o.read_only = true;
  if (vecstore_open(argv[1], 0, &o, &s) != VECSTORE_OK) { fprintf(stderr, "%s\n", vecstore_last_error()); return 1; }
  size_t d = vecstore_dimension(s);
  if (vecstore_cursor_open(s, &c) != VECSTORE_OK) return 1;
  while (vecstore_cursor_next(c, &id, &data) == VECSTORE_OK)
    for (size_t j = 0; j < d; j++) sum += (double)data[j] * (double)(id % 1000);
  vecstore_cursor_close(c);
  printf("%llu %zu %.6f\n", (unsigned long long)vecstore_len(s), d, sum);
  return vecstore_close(s) == VECSTORE_OK ? 0 : 1;
}
"""


def test_a_store_written_from_c_is_read_from_python(cc, tmp_path):
    exe = compile_c(cc, WRITER, str(tmp_path), "writer")
    # the program runs on the library the wheel carries
    ldd = subprocess.run(["ldd", exe], check=True, capture_output=True, text=True).stdout
    (line,) = [x for x in ldd.splitlines() if "libvecstore" in x]
    assert os.path.realpath(line.split("=>")[1].split("(")[0].strip()) == os.path.realpath(vecstore.library_path())
    path = str(tmp_path / "store")
    subprocess.run([exe, path], check=True)
    with vecstore.open(path, read_only=True) as s:
        assert s.dimension == 5 and len(s) == 100
        assert 14 not in s and 21 in s
        expect = np.arange(5, dtype=np.float32) / 10 + 3
        assert np.array_equal(s.get(21), expect)
        with s.get_ref(2**64 - 1) as v:
            assert v.tolist() == [1e30, -1e30, 0.5, 0.25, 3.0] or np.allclose(v, [1e30, -1e30, 0.5, 0.25, 3.0])
            del v
        ids, dist = s.search(expect, 3)
        assert ids[0] == 21 and dist[0] == 0.0
        got = dict(s.items())
        assert len(got) == 100 and np.array_equal(got[693], np.arange(5, dtype=np.float32) / 10 + 99)


def test_a_store_written_from_python_is_read_from_c(cc, tmp_path):
    exe = compile_c(cc, READER, str(tmp_path), "reader")
    path = str(tmp_path / "store")
    data = np.arange(60, dtype=np.float32).reshape(20, 3)
    with vecstore.open(path, 3) as s:
        s.put_batch(np.arange(20) * 3, data)
        s.delete(0)
        # read while the writer is open: a read-only handle beside it
        out = subprocess.run([exe, path], check=True, capture_output=True, text=True).stdout.split()
    expect = sum(float(data[i].sum()) * (i * 3) for i in range(1, 20))
    assert out[0] == "19" and out[1] == "3" and abs(float(out[2]) - expect) < 1e-6
