/* Bad input: NULL pointers, zero/wrong dimension, non-finite values, bad enums,
 * bad paths. Every error must give the right status, a non-empty
 * vecstore_last_error(), leave outputs untouched and change nothing. */
#include "test_util.h"

#include <fcntl.h>

#define DIM 8

static vecstore_t *const SENTINEL_STORE = (vecstore_t *)(uintptr_t)0x5151;

static void check_open_errors(void) {
  vecstore_t *out = SENTINEL_STORE;
  vecstore_options o = vecstore_options_default();
  const char *missing = vt_tmppath("err-open", "does-not-exist");

  /* NULL path / NULL out */
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(NULL, DIM, NULL, &out));
  CHECK(out == SENTINEL_STORE);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(missing, DIM, NULL, NULL));
  CHECK(!vt_path_exists(missing));

  /* dimension 0 on a missing store: NOT_FOUND, even with create_if_missing. */
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(missing, 0, NULL, &out));
  CHECK(out == SENTINEL_STORE);
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(missing, 0, &o, &out));
  CHECK(out == SENTINEL_STORE);

  /* create_if_missing = false on a missing dir: NOT_FOUND, nothing created. */
  o.create_if_missing = false;
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(missing, DIM, &o, &out));
  CHECK(out == SENTINEL_STORE);
  CHECK(!vt_path_exists(missing));
  /* ... and on an existing but empty dir: there is no store there either. */
  {
    const char *empty = vt_tmpdir("err-empty");
    CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_open(empty, DIM, &o, &out));
    CHECK(out == SENTINEL_STORE);
  }

  /* Unknown durability values. */
  o = vecstore_options_default();
  {
    static const uint32_t bad[] = {3, 4, 99, 0x80000000u, UINT32_MAX};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      o.durability = bad[i];
      CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(missing, DIM, &o, &out));
      CHECK(out == SENTINEL_STORE);
    }
  }

  /* A path that is a regular file: an error (IO: mkdir/open fail with
     EEXIST/ENOTDIR; INVALID_ARGUMENT also accepted), naming the path, and
     the file is left alone. */
  {
    const char *file = vt_tmppath("err-file", "plain-file");
    static const char content[] = "not a vector store\n";
    char back[64];
    vecstore_status st;
    int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, content, sizeof content - 1) == (ssize_t)(sizeof content - 1));
    CHECK(close(fd) == 0);
    st = vecstore_open(file, DIM, NULL, &out);
    CHECK_MSG(st == VECSTORE_IO || st == VECSTORE_INVALID_ARGUMENT,
              "open(regular file) gave %s, want VECSTORE_IO", vt_status_name(st));
    CHECK(vecstore_last_error()[0] != '\0');
    CHECK_LAST_ERROR_MENTIONS(file);
    CHECK(out == SENTINEL_STORE);
    st = vecstore_open(file, 0, NULL, &out);
    CHECK_MSG(st != VECSTORE_OK, "open(regular file, dim 0) succeeded");
    CHECK(out == SENTINEL_STORE);
    fd = open(file, O_RDONLY);
    CHECK(fd >= 0);
    memset(back, 0, sizeof back);
    CHECK(read(fd, back, sizeof back) == (ssize_t)(sizeof content - 1));
    CHECK(close(fd) == 0);
    CHECK_STREQ(back, content);
  }
}

static void check_null_arguments(vecstore_t *s) {
  float v[DIM];
  uint64_t ids[2] = {1, 2};
  float vs[2 * DIM];
  uint8_t found[2];
  uint64_t out_ids[4];
  float out_d[4];
  size_t out_n = 77;
  vecstore_guard_t *g = NULL;
  vecstore_cursor_t *c = NULL;
  vecstore_stats st;
  uint64_t n;

  st.size = sizeof st;
  vt_fill(v, DIM, 1, 0);
  vt_fill(vs, DIM, 1, 0);
  vt_fill(vs + DIM, DIM, 2, 0);
  CHECK_OK(vecstore_put(s, 1, v, DIM));
  n = vecstore_len(s);

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put(NULL, 1, v, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put(s, 1, NULL, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put_batch(NULL, ids, vs, 2, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put_batch(s, NULL, vs, 2, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put_batch(s, ids, NULL, 2, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_delete(NULL, 1));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_delete_batch(NULL, ids, 2, NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_delete_batch(s, NULL, 2, NULL));
  CHECK_EQ_U64(vecstore_len(s), n);
  CHECK(vecstore_contains(s, 1));

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get(NULL, 1, v, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get(s, 1, NULL, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_batch(NULL, ids, 2, vs, DIM, found));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_batch(s, NULL, 2, vs, DIM, found));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_batch(s, ids, 2, NULL, DIM, found));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_batch(s, ids, 2, vs, DIM, NULL));

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_ref(NULL, 1, &g, NULL));
  CHECK(g == NULL);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_ref(s, 1, NULL, NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_cursor_open(NULL, &c));
  CHECK(c == NULL);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_cursor_open(s, NULL));
  {
    uint64_t id;
    const float *data;
    CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_cursor_next(NULL, &id, &data));
  }

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_flush(NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_checkpoint(NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_set_durability(NULL, VECSTORE_DURABILITY_FSYNC));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_reserve(NULL, 10));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_compact(NULL, NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_stats_get(NULL, &st));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_stats_get(s, NULL));

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(NULL, v, DIM, 4, VECSTORE_METRIC_L2, out_ids, out_d, &out_n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(s, NULL, DIM, 4, VECSTORE_METRIC_L2, out_ids, out_d, &out_n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(s, v, DIM, 4, VECSTORE_METRIC_L2, NULL, out_d, &out_n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(s, v, DIM, 4, VECSTORE_METRIC_L2, out_ids, NULL, &out_n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(s, v, DIM, 4, VECSTORE_METRIC_L2, out_ids, out_d, NULL));
  CHECK_EQ_U64(out_n, 77);

  /* Non-status functions: NULL never crashes, and gives the neutral value. */
  CHECK(!vecstore_contains(NULL, 1));
  CHECK_EQ_U64(vecstore_len(NULL), 0);
  CHECK_EQ_U64(vecstore_dimension(NULL), 0);
  CHECK(vecstore_guard_data(NULL) == NULL);
  CHECK_EQ_U64(vecstore_guard_len(NULL), 0);
  (void)vecstore_guard_id(NULL);

  /* Release/close accept NULL as a no-op. */
  vecstore_guard_release(NULL);
  vecstore_cursor_close(NULL);
  CHECK_OK(vecstore_close(NULL));

  CHECK_EQ_U64(vecstore_len(s), n);
  CHECK_STORED(s, 1, DIM, 0);
}

static void check_dimension_errors(vecstore_t *s) {
  float v[DIM + 1], out[2 * (DIM + 1)];
  uint64_t ids[2] = {50, 51};
  float vs[2 * (DIM + 1)];
  uint8_t found[2] = {9, 9};
  uint64_t out_ids[4];
  float out_d[4];
  size_t out_n = 77;
  uint64_t n = vecstore_len(s);
  size_t bad_dims[3] = {DIM - 1, DIM + 1, 1};
  size_t i;

  vt_fill(v, DIM + 1, 50, 0);
  vt_fill(vs, 2 * (DIM + 1), 50, 0);
  CHECK_OK(vecstore_put(s, 60, v, DIM));

  for (i = 0; i < 3; i++) {
    size_t d = bad_dims[i];
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_put(s, 50, v, d));
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_put(s, 60, v, d)); /* existing id */
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_put_batch(s, ids, vs, 2, d));
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_get(s, 60, out, d));
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_get_batch(s, ids, 2, out, d, found));
    CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH,
                 vecstore_search(s, v, d, 4, VECSTORE_METRIC_L2, out_ids, out_d, &out_n));
  }
  CHECK_EQ_U64(found[0], 9);
  CHECK_EQ_U64(out_n, 77);
  CHECK(!vecstore_contains(s, 50) && !vecstore_contains(s, 51));
  CHECK_EQ_U64(vecstore_len(s), n + 1);
  {
    float expect[DIM];
    vt_fill(expect, DIM, 50, 0); /* what was put as id 60 */
    CHECK_OK(vecstore_get(s, 60, out, DIM));
    CHECK(vt_same_bits(out, expect, DIM));
  }
}

static void check_non_finite(vecstore_t *s) {
  enum { N = 10 };
  const float bad_values[3] = {NAN, INFINITY, -INFINITY};
  float v[DIM];
  uint64_t ids[N];
  float vs[N * DIM];
  uint64_t n0;
  size_t b, pos;
  uint64_t out_ids[4];
  float out_d[4];
  size_t out_n = 77;

  /* An existing vector that the rejected writes try to replace. */
  vt_fill(v, DIM, 100, 0);
  CHECK_OK(vecstore_put(s, 100, v, DIM));
  n0 = vecstore_len(s);

  for (b = 0; b < 3; b++) {
    for (pos = 0; pos < DIM; pos += DIM - 1) {
      vt_fill(v, DIM, 100, 1);
      v[pos] = bad_values[b];
      CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put(s, 100, v, DIM));
      CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put(s, 101, v, DIM));
      CHECK(!vecstore_contains(s, 101));
      CHECK_STORED(s, 100, DIM, 0);
      /* A query is a vector too. */
      CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
                   vecstore_search(s, v, DIM, 4, VECSTORE_METRIC_L2, out_ids, out_d, &out_n));
      CHECK_EQ_U64(out_n, 77);
    }
  }

  /* A batch with one bad vector (first, middle, last) stores nothing,
     and does not replace the existing id 100 it also contains. */
  for (b = 0; b < 3; b++) {
    size_t where[3] = {0, N / 2, N - 1};
    size_t w;
    for (w = 0; w < 3; w++) {
      size_t i;
      for (i = 0; i < N; i++) {
        ids[i] = (i == 3) ? 100 : 200 + i;
        vt_fill(vs + i * DIM, DIM, ids[i], 7);
      }
      vs[where[w] * DIM + (w * 3) % DIM] = bad_values[b];
      CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put_batch(s, ids, vs, N, DIM));
      CHECK_EQ_U64(vecstore_len(s), n0);
      for (i = 0; i < N; i++)
        if (ids[i] != 100) CHECK_MSG(!vecstore_contains(s, ids[i]), "batch id %zu stored", i);
      CHECK_STORED(s, 100, DIM, 0);
    }
  }

  /* The same store still accepts good data afterwards. */
  {
    size_t i;
    for (i = 0; i < N; i++) {
      ids[i] = 200 + i;
      vt_fill(vs + i * DIM, DIM, ids[i], 7);
    }
    CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
    for (i = 0; i < N; i++) CHECK_STORED(s, ids[i], DIM, 7);
    CHECK_OK(vecstore_delete_batch(s, ids, N, NULL));
  }
}

static void check_bad_enums(vecstore_t *s) {
  static const uint32_t bad[] = {3, 4, 17, 0x80000000u, UINT32_MAX};
  float q[DIM];
  uint64_t out_ids[4];
  float out_d[4];
  size_t out_n = 77;
  size_t i;
  vt_fill(q, DIM, 1, 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_set_durability(s, bad[i]));
    CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
                 vecstore_search(s, q, DIM, 4, bad[i], out_ids, out_d, &out_n));
    CHECK_EQ_U64(out_n, 77);
  }
  CHECK_OK(vecstore_set_durability(s, VECSTORE_DURABILITY_NONE));
  CHECK_OK(vecstore_set_durability(s, VECSTORE_DURABILITY_FLUSH));
  CHECK_OK(vecstore_set_durability(s, VECSTORE_DURABILITY_FSYNC));
  CHECK_OK(vecstore_search(s, q, DIM, 4, VECSTORE_METRIC_COSINE, out_ids, out_d, &out_n));
}

/* Outputs are written only on OK: a failing get_ref/stats leaves them alone. */
static void check_outputs_untouched(vecstore_t *s) {
  vecstore_guard_t *g = (vecstore_guard_t *)(uintptr_t)0x77;
  const float *data = (const float *)(uintptr_t)0x88;
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_get_ref(s, 424242, &g, &data));
  CHECK_LAST_ERROR_MENTIONS("424242");
  CHECK(g == (vecstore_guard_t *)(uintptr_t)0x77);
  CHECK(data == (const float *)(uintptr_t)0x88);
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_delete(s, 535353));
  CHECK_LAST_ERROR_MENTIONS("535353");
}

/* Zero dimension in a call: the contract lists "zero dimension" under
 * VECSTORE_INVALID_ARGUMENT ("NULL pointer, zero dimension, non-finite value,
 * bad enum"), and open() gives dimension 0 its own meaning, so the per-call
 * dimension is where a zero is invalid. Run last, so that a library that
 * answers DIMENSION_MISMATCH here does not hide the other checks. */
static void check_zero_dimension(void) {
  vecstore_t *s = vt_open(vt_tmpdir("err-zero"), DIM, NULL);
  float v[DIM], out[2 * DIM];
  uint64_t ids[2] = {50, 51};
  float vs[2 * DIM];
  uint8_t found[2] = {9, 9};
  uint64_t out_ids[4];
  float out_d[4];
  size_t out_n = 77;
  vt_fill(v, DIM, 50, 0);
  vt_fill(vs, 2 * DIM, 50, 0);
  CHECK_OK(vecstore_put(s, 60, v, DIM));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put(s, 50, v, 0));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_put_batch(s, ids, vs, 2, 0));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get(s, 60, out, 0));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_get_batch(s, ids, 2, out, 0, found));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search(s, v, 0, 4, VECSTORE_METRIC_L2, out_ids, out_d, &out_n));
  CHECK_EQ_U64(found[0], 9);
  CHECK_EQ_U64(out_n, 77);
  CHECK_EQ_U64(vecstore_len(s), 1);
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  const char *dir;
  vecstore_t *s;
  check_open_errors();

  dir = vt_tmpdir("errors");
  s = vt_open(dir, DIM, NULL);
  check_null_arguments(s);
  check_dimension_errors(s);
  check_non_finite(s);
  check_bad_enums(s);
  check_outputs_untouched(s);
  CHECK_OK(vecstore_close(s));

  /* Everything rejected above left no trace on disk either. */
  s = vt_open(dir, 0, NULL);
  CHECK(vecstore_contains(s, 1) && vecstore_contains(s, 60) && vecstore_contains(s, 100));
  CHECK(!vecstore_contains(s, 50) && !vecstore_contains(s, 101) && !vecstore_contains(s, 200));
  CHECK_EQ_U64(vecstore_len(s), 3);
  CHECK_STORED(s, 100, DIM, 0);
  CHECK_OK(vecstore_close(s));
  check_zero_dimension();
  VT_PASS("test_errors");
  return 0;
}
