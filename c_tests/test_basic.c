/* Round trips: open/put/get/get_batch/contains/len/dimension/delete/reopen.
 * Also built against the static library (test_basic_static). */
#include "test_util.h"

#include <float.h>

#define DIM 16

static void check_empty_store(const char *dir) {
  vecstore_t *s = vt_open(dir, DIM, NULL); /* opts may be NULL */
  float buf[DIM];
  CHECK_EQ_U64(vecstore_dimension(s), DIM);
  CHECK_EQ_U64(vecstore_len(s), 0);
  CHECK(!vecstore_contains(s, 0));
  CHECK(!vecstore_contains(s, 1));
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_get(s, 1, buf, DIM));
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_delete(s, 1));
  CHECK_OK(vecstore_close(s));
  CHECK(vt_path_exists(dir));
}

static void check_round_trip(const char *dir) {
  static const uint64_t ids[] = {0, 1, 2, 42, 0x8000000000000000ull, UINT64_MAX - 1, UINT64_MAX};
  const size_t nids = sizeof ids / sizeof ids[0];
  vecstore_t *s = vt_open(dir, DIM, NULL);
  float v[DIM], out[DIM];
  size_t i;

  for (i = 0; i < nids; i++) {
    vt_fill(v, DIM, ids[i], 0);
    CHECK_OK(vecstore_put(s, ids[i], v, DIM));
    CHECK(vecstore_contains(s, ids[i]));
    CHECK_EQ_U64(vecstore_len(s), i + 1);
  }
  for (i = 0; i < nids; i++) CHECK_STORED(s, ids[i], DIM, 0);

  /* Awkward but finite values survive bit-for-bit: -0.0, denormals, extremes. */
  {
    float odd[DIM];
    size_t j;
    odd[0] = -0.0f;
    odd[1] = 0.0f;
    odd[2] = FLT_MIN;
    odd[3] = FLT_MIN / 4.0f; /* subnormal */
    odd[4] = -FLT_MIN / 1024.0f;
    odd[5] = FLT_MAX;
    odd[6] = -FLT_MAX;
    odd[7] = FLT_EPSILON;
    for (j = 8; j < DIM; j++) odd[j] = (float)j * -1.5f;
    CHECK_OK(vecstore_put(s, 777, odd, DIM));
    memset(out, 0xAB, sizeof out);
    CHECK_OK(vecstore_get(s, 777, out, DIM));
    CHECK(vt_same_bits(out, odd, DIM));
    CHECK(signbit(out[0]) && out[0] == 0.0f);
    CHECK_OK(vecstore_delete(s, 777));
  }

  /* put replaces: len unchanged, new value visible. */
  vt_fill(v, DIM, 42, 1);
  CHECK_OK(vecstore_put(s, 42, v, DIM));
  CHECK_EQ_U64(vecstore_len(s), nids);
  CHECK_STORED(s, 42, DIM, 1);

  /* get of an absent id leaves the output untouched (outputs only on OK). */
  memset(out, 0x5A, sizeof out);
  {
    unsigned char before[sizeof out];
    memcpy(before, out, sizeof out);
    CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_get(s, 987654321, out, DIM));
    CHECK_LAST_ERROR_MENTIONS("987654321"); /* "on which path or id" */
    CHECK(memcmp(before, out, sizeof out) == 0);
  }
  CHECK_OK(vecstore_close(s));
}

static void check_batches(const char *dir) {
  enum { N = 300 };
  vecstore_t *s = vt_open(dir, DIM, NULL);
  uint64_t *ids = (uint64_t *)malloc(N * sizeof *ids);
  float *vecs = (float *)malloc(N * DIM * sizeof *vecs);
  uint64_t before = vecstore_len(s);
  size_t i;
  CHECK(ids && vecs);
  for (i = 0; i < N; i++) {
    ids[i] = 1000000 + i * 7;
    vt_fill(vecs + i * DIM, DIM, ids[i], 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vecs, N, DIM));
  CHECK_EQ_U64(vecstore_len(s), before + N);
  for (i = 0; i < N; i++) CHECK_STORED(s, ids[i], DIM, 0);

  /* put_batch over existing ids replaces them. */
  for (i = 0; i < N; i += 2) vt_fill(vecs + i * DIM, DIM, ids[i], 5);
  CHECK_OK(vecstore_put_batch(s, ids, vecs, N, DIM));
  CHECK_EQ_U64(vecstore_len(s), before + N);
  for (i = 0; i < N; i++) CHECK_STORED(s, ids[i], DIM, (i % 2 == 0) ? 5 : 0);

  /* get_batch: mixed present/absent; absent rows untouched. */
  {
    uint64_t q[6] = {ids[0], 5, ids[1], ids[N - 1], 999, ids[10]};
    uint64_t qv[6] = {5, 0, 0, 0, 0, 5};
    bool present[6] = {true, false, true, true, false, true};
    float out[6 * DIM];
    uint8_t found[6];
    float sentinel[DIM];
    size_t k;
    memset(out, 0x7F, sizeof out);
    memcpy(sentinel, out, sizeof sentinel);
    memset(found, 0xEE, sizeof found);
    CHECK_OK(vecstore_get_batch(s, q, 6, out, DIM, found));
    for (k = 0; k < 6; k++) {
      CHECK_MSG(found[k] == (present[k] ? 1 : 0), "out_found[%zu] = %u", k, (unsigned)found[k]);
      if (present[k])
        CHECK_MSG(vt_is_vec(out + k * DIM, DIM, q[k], qv[k]), "get_batch row %zu wrong", k);
      else
        CHECK_MSG(vt_same_bits(out + k * DIM, sentinel, DIM), "absent row %zu was written", k);
    }
  }

  /* delete / delete_batch */
  CHECK_OK(vecstore_delete(s, ids[0]));
  CHECK(!vecstore_contains(s, ids[0]));
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_delete(s, ids[0]));
  CHECK_EQ_U64(vecstore_len(s), before + N - 1);
  {
    uint64_t del[5] = {ids[0] /* already gone */, ids[1], ids[2], 123456789 /* never existed */,
                       ids[3]};
    uint64_t deleted = 999;
    CHECK_OK(vecstore_delete_batch(s, del, 5, &deleted));
    CHECK_EQ_U64(deleted, 3);
    CHECK_EQ_U64(vecstore_len(s), before + N - 4);
    CHECK(!vecstore_contains(s, ids[1]) && !vecstore_contains(s, ids[2]) &&
          !vecstore_contains(s, ids[3]));
    /* out_deleted may be NULL */
    del[0] = ids[4];
    CHECK_OK(vecstore_delete_batch(s, del, 1, NULL));
    CHECK(!vecstore_contains(s, ids[4]));
    /* Nothing of it exists any more: OK with 0. */
    deleted = 999;
    CHECK_OK(vecstore_delete_batch(s, del, 5, &deleted));
    CHECK_EQ_U64(deleted, 0);
  }
  CHECK_EQ_U64(vecstore_len(s), before + N - 5);
  for (i = 5; i < N; i++) CHECK_STORED(s, ids[i], DIM, (i % 2 == 0) ? 5 : 0);

  /* Deleted then put again: comes back. */
  CHECK_OK(vecstore_put(s, ids[0], vecs, DIM));
  CHECK(vecstore_contains(s, ids[0]));
  CHECK_STORED(s, ids[0], DIM, 5);
  CHECK_OK(vecstore_close(s));
  free(ids);
  free(vecs);
}

static void check_reopen(const char *dir, uint64_t expect_len) {
  vecstore_t *s;
  vecstore_t *sentinel = (vecstore_t *)(uintptr_t)0x1234;
  vecstore_t *out = sentinel;
  size_t i;

  /* dimension 0 adopts the stored dimension. */
  s = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_dimension(s), DIM);
  CHECK_EQ_U64(vecstore_len(s), expect_len);
  CHECK_STORED(s, 0, DIM, 0);
  CHECK_STORED(s, UINT64_MAX, DIM, 0);
  CHECK_STORED(s, 42, DIM, 1);
  CHECK(!vecstore_contains(s, 777));
  for (i = 5; i < 300; i++) CHECK_STORED(s, 1000000 + i * 7, DIM, (i % 2 == 0) ? 5 : 0);
  CHECK_OK(vecstore_close(s));

  /* Same non-zero dimension: fine. */
  s = vt_open(dir, DIM, NULL);
  CHECK_EQ_U64(vecstore_len(s), expect_len);
  CHECK_OK(vecstore_close(s));

  /* A different dimension: DIMENSION_MISMATCH, out untouched, data untouched. */
  CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_open(dir, DIM + 1, NULL, &out));
  CHECK(out == sentinel);
  CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_open(dir, 1, NULL, &out));
  CHECK(out == sentinel);
  s = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_dimension(s), DIM);
  CHECK_EQ_U64(vecstore_len(s), expect_len);
  CHECK_OK(vecstore_close(s));
}

static void check_large_dimension(void) {
  enum { D = 1536 };
  const char *dir = vt_tmpdir("basic-large");
  vecstore_t *s = vt_open(dir, D, NULL);
  static float v[D];
  uint64_t id;
  for (id = 0; id < 50; id++) {
    vt_fill(v, D, id, 0);
    CHECK_OK(vecstore_put(s, id, v, D));
  }
  CHECK_OK(vecstore_close(s));
  s = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_dimension(s), D);
  for (id = 0; id < 50; id++) CHECK_STORED(s, id, D, 0);
  CHECK_OK(vecstore_close(s));
}

static void check_dimension_one(void) {
  const char *dir = vt_tmpdir("basic-dim1");
  vecstore_t *s = vt_open(dir, 1, NULL);
  float x = 3.25f, y = 0;
  CHECK_OK(vecstore_put(s, 9, &x, 1));
  CHECK_OK(vecstore_get(s, 9, &y, 1));
  CHECK(y == 3.25f);
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  const char *dir = vt_tmpdir("basic");
  check_empty_store(dir);
  check_round_trip(dir);
  check_batches(dir);
  /* 7 ids + 300 batch - 5 deleted + 1 re-put */
  check_reopen(dir, 7 + 300 - 5 + 1);
  check_large_dimension();
  check_dimension_one();
  VT_PASS("test_basic");
  return 0;
}
