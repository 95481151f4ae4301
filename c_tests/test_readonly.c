/* Read-only opens: reads work, writes give VECSTORE_READ_ONLY, and nothing in
 * the directory is modified ("open without writing anything"). */
#include "test_util.h"


#define DIM 12
#define N 200

int main(void) {
  const char *missing = vt_tmppath("ro-missing", "nothing-here");
  const char *dir = vt_tmpdir("ro");
  vecstore_options ro = vecstore_options_default();
  vecstore_t *s, *out = (vecstore_t *)(uintptr_t)0x99;
  uint64_t ids[N];
  float vs[N * DIM];
  uint64_t digest;
  size_t i;

  ro.read_only = true;

  /* Read-only never creates: NOT_FOUND on a missing dir, nothing made. */
  CHECK(ro.create_if_missing);
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(missing, DIM, &ro, &out));
  CHECK(out == (vecstore_t *)(uintptr_t)0x99);
  CHECK(!vt_path_exists(missing));
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(missing, 0, &ro, &out));
  CHECK(!vt_path_exists(missing));

  /* Make a store with some history (puts, replaces, deletes). */
  s = vt_open(dir, DIM, NULL);
  for (i = 0; i < N; i++) {
    ids[i] = i * 3 + 1;
    vt_fill(vs + i * DIM, DIM, ids[i], 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
  for (i = 0; i < N; i += 10) CHECK_OK(vecstore_delete(s, ids[i]));
  CHECK_OK(vecstore_close(s));
  digest = vt_dir_digest(dir);

  /* Wrong dimension is still a mismatch. */
  CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_open(dir, DIM + 2, &ro, &out));

  s = vt_open(dir, 0, &ro);
  CHECK_EQ_U64(vecstore_dimension(s), DIM);
  CHECK_EQ_U64(vecstore_len(s), N - N / 10);
  for (i = 0; i < N; i++) {
    if (i % 10 == 0)
      CHECK(!vecstore_contains(s, ids[i]));
    else
      CHECK_STORED(s, ids[i], DIM, 0);
  }
  /* Zero-copy reads, cursors and search work read-only. */
  {
    vecstore_guard_t *g = NULL;
    const float *data = NULL;
    vecstore_cursor_t *c = NULL;
    uint64_t id, seen = 0;
    uint64_t out_ids[3];
    float out_d[3];
    size_t cnt = 0;
    CHECK_OK(vecstore_get_ref(s, ids[1], &g, &data));
    CHECK(vt_is_vec(data, DIM, ids[1], 0));
    vecstore_guard_release(g);
    CHECK_OK(vecstore_cursor_open(s, &c));
    while (vecstore_cursor_next(c, &id, &data) == VECSTORE_OK) seen++;
    vecstore_cursor_close(c);
    CHECK_EQ_U64(seen, N - N / 10);
    CHECK_OK(vecstore_search(s, vs + DIM, DIM, 3, VECSTORE_METRIC_L2, out_ids, out_d, &cnt));
    CHECK_EQ_U64(cnt, 3);
    CHECK_EQ_U64(out_ids[0], ids[1]);
  }

  /* Every write: READ_ONLY, nothing changes. */
  {
    float v[DIM];
    uint64_t deleted = 42;
    vt_fill(v, DIM, 5, 9);
    CHECK_STATUS(VECSTORE_READ_ONLY, vecstore_put(s, 5, v, DIM));
    CHECK_STATUS(VECSTORE_READ_ONLY, vecstore_put(s, ids[1], v, DIM));
    CHECK_STATUS(VECSTORE_READ_ONLY, vecstore_put_batch(s, ids, vs, 4, DIM));
    CHECK_STATUS(VECSTORE_READ_ONLY, vecstore_delete(s, ids[1]));
    CHECK_STATUS(VECSTORE_READ_ONLY, vecstore_delete_batch(s, ids, 4, &deleted));
    CHECK_EQ_U64(deleted, 42);
    CHECK(!vecstore_contains(s, 5));
    CHECK_STORED(s, ids[1], DIM, 0);
    CHECK_EQ_U64(vecstore_len(s), N - N / 10);
  }
  /* Maintenance calls: either a harmless OK or READ_ONLY (the contract leaves
     it open); whichever, the files must not change (checked below). */
  {
    vecstore_status st;
    st = vecstore_flush(s);
    CHECK_MSG(st == VECSTORE_OK || st == VECSTORE_READ_ONLY, "flush: %s", vt_status_name(st));
    st = vecstore_checkpoint(s);
    CHECK_MSG(st == VECSTORE_OK || st == VECSTORE_READ_ONLY, "checkpoint: %s", vt_status_name(st));
    st = vecstore_compact(s, NULL);
    CHECK_MSG(st == VECSTORE_OK || st == VECSTORE_READ_ONLY, "compact: %s", vt_status_name(st));
    st = vecstore_reserve(s, 100000);
    CHECK_MSG(st == VECSTORE_OK || st == VECSTORE_READ_ONLY, "reserve: %s", vt_status_name(st));
  }
  CHECK_OK(vecstore_close(s));

  CHECK_MSG(vt_dir_digest(dir) == digest,
            "a read-only session modified files in %s", dir);

  /* And a normal open afterwards still works and sees the same data. */
  s = vt_open(dir, DIM, NULL);
  CHECK_EQ_U64(vecstore_len(s), N - N / 10);
  CHECK_STORED(s, ids[N - 1], DIM, 0);
  CHECK_OK(vecstore_close(s));
  VT_PASS("test_readonly");
  return 0;
}
