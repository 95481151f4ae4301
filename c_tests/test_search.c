/* Exact k-NN search: L2 (squared), DOT (negative inner product), COSINE
 * (1 - cos) on hand-checkable data; closest first; ties by smaller id;
 * k > len gives len results; deleted/replaced vectors; a brute-force check. */
#include "test_util.h"

#define EPS 1e-5f

static bool near(float a, float b) { return fabsf(a - b) <= EPS * (1.0f + fabsf(b)); }

/* Runs a search and compares against the expected ids and distances. Also
 * checks that slots past the result count are left alone. */
static void expect_search(int line, vecstore_t *s, const float *q, size_t dim, size_t k, uint32_t metric,
                          size_t n_expect, const uint64_t *ids, const float *dists) {
  uint64_t out_ids[64];
  float out_d[64];
  size_t n = 999, i;
  CHECK(k <= 64 || n_expect < 64);
  for (i = 0; i < 64; i++) {
    out_ids[i] = 0xABCDEFu;
    out_d[i] = -12345.0f;
  }
  CHECK_OK(vecstore_search(s, q, dim, k, metric, out_ids, out_d, &n));
  if (n != n_expect) vt_fail_(__FILE__, line, "search: %zu results, expected %zu", n, n_expect);
  for (i = 0; i < n; i++) {
    if (out_ids[i] != ids[i] || !near(out_d[i], dists[i]))
      vt_fail_(__FILE__, line, "search result %zu: id %llu dist %.7g, expected id %llu dist %.7g", i,
               (unsigned long long)out_ids[i], out_d[i], (unsigned long long)ids[i], dists[i]);
  }
  for (i = n; i < 64 && i < k; i++)
    if (out_ids[i] != 0xABCDEFu || out_d[i] != -12345.0f)
      vt_fail_(__FILE__, line, "search wrote past its result count (slot %zu)", i);
}

static void put2(vecstore_t *s, uint64_t id, float x, float y) {
  float v[2];
  v[0] = x;
  v[1] = y;
  CHECK_OK(vecstore_put(s, id, v, 2));
}

static void check_hand_data(void) {
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  const float origin[2] = {0, 0}, q11[2] = {1, 1}, qx[2] = {1, 0}, q34[2] = {3, 4};
  o.durability = VECSTORE_DURABILITY_NONE;
  s = vt_open(vt_tmpdir("search"), 2, &o);

  /* Empty store: no results. */
  expect_search(__LINE__, s, origin, 2, 5, VECSTORE_METRIC_L2, 0, NULL, NULL);

  put2(s, 40, 3, 4);
  put2(s, 10, 0, 0);
  put2(s, 30, 0, 2);
  put2(s, 20, 1, 0);

  /* L2 = squared distance. */
  {
    const uint64_t ids[4] = {10, 20, 30, 40};
    const float d[4] = {0, 1, 4, 25};
    expect_search(__LINE__, s, origin, 2, 4, VECSTORE_METRIC_L2, 4, ids, d);
    expect_search(__LINE__, s, origin, 2, 2, VECSTORE_METRIC_L2, 2, ids, d);
    expect_search(__LINE__, s, origin, 2, 1, VECSTORE_METRIC_L2, 1, ids, d);
    /* k > len: len results. */
    expect_search(__LINE__, s, origin, 2, 10, VECSTORE_METRIC_L2, 4, ids, d);
    expect_search(__LINE__, s, origin, 2, 0, VECSTORE_METRIC_L2, 0, ids, d);
  }
  {
    /* From (3,4): 40 (0), 30 (9+4=13), 20 (4+16=20), 10 (25). */
    const uint64_t ids[4] = {40, 30, 20, 10};
    const float d[4] = {0, 13, 20, 25};
    expect_search(__LINE__, s, q34, 2, 4, VECSTORE_METRIC_L2, 4, ids, d);
  }
  /* DOT = -<q, v>: from (1,1): 40 (-7), 30 (-2), 20 (-1), 10 (0). */
  {
    const uint64_t ids[4] = {40, 30, 20, 10};
    const float d[4] = {-7, -2, -1, 0};
    expect_search(__LINE__, s, q11, 2, 4, VECSTORE_METRIC_DOT, 4, ids, d);
    expect_search(__LINE__, s, q11, 2, 100, VECSTORE_METRIC_DOT, 4, ids, d);
  }
  /* Ties broken by the smaller id: three copies of (1,0) under ids 7, 3, 5,
     inserted in that order, tie with 20 too. */
  put2(s, 7, 1, 0);
  put2(s, 3, 1, 0);
  put2(s, 5, 1, 0);
  {
    const uint64_t ids[5] = {3, 5, 7, 20, 10};
    const float d[5] = {0, 0, 0, 0, 1};
    expect_search(__LINE__, s, qx, 2, 5, VECSTORE_METRIC_L2, 5, ids, d);
    /* With k cutting through the tie, the smallest ids win. */
    expect_search(__LINE__, s, qx, 2, 2, VECSTORE_METRIC_L2, 2, ids, d);
  }
  {
    /* DOT from (1,0): 40 (-3), then 3,5,7,20 (-1), then 10, 30 (0). */
    const uint64_t ids[7] = {40, 3, 5, 7, 20, 10, 30};
    const float d[7] = {-3, -1, -1, -1, -1, 0, 0};
    expect_search(__LINE__, s, qx, 2, 7, VECSTORE_METRIC_DOT, 7, ids, d);
  }

  /* Deleted vectors are never returned; replaced ones use the new value. */
  CHECK_OK(vecstore_delete(s, 3));
  CHECK_OK(vecstore_delete(s, 20));
  put2(s, 7, 10, 10);
  {
    const uint64_t ids[3] = {5, 10, 30};
    const float d[3] = {0, 1, 5};
    expect_search(__LINE__, s, qx, 2, 3, VECSTORE_METRIC_L2, 3, ids, d);
  }
  CHECK_OK(vecstore_close(s));
}

static void check_cosine(void) {
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  const float qx[2] = {1, 0}, qx_scaled[2] = {5, 0};
  o.durability = VECSTORE_DURABILITY_NONE;
  s = vt_open(vt_tmpdir("search-cos"), 2, &o);
  put2(s, 1, 1, 0);
  put2(s, 2, 0, 1);
  put2(s, 3, 1, 1);
  put2(s, 4, -1, 0);
  put2(s, 5, 100, 0); /* same direction as 1, different length: cosine ties */
  {
    const uint64_t ids[5] = {1, 5, 3, 2, 4};
    const float d[5] = {0, 0, 1.0f - 0.70710678f, 1, 2};
    expect_search(__LINE__, s, qx, 2, 5, VECSTORE_METRIC_COSINE, 5, ids, d);
    /* Cosine ignores the query's length. */
    expect_search(__LINE__, s, qx_scaled, 2, 5, VECSTORE_METRIC_COSINE, 5, ids, d);
  }
  /* Same data under L2, for contrast: (1,0) to (100,0) is 99^2. */
  {
    const uint64_t ids[5] = {1, 3, 2, 4, 5};
    const float d[5] = {0, 1, 2, 4, 9801};
    expect_search(__LINE__, s, qx, 2, 5, VECSTORE_METRIC_L2, 5, ids, d);
  }
  CHECK_OK(vecstore_close(s));
}

/* Brute force on random data, checked against a reference computed here. */
static void check_brute_force(void) {
  enum { N = 3000, D = 24, K = 10 };
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  static uint64_t ids[N];
  static float vs[N * D];
  static double ref[N];
  float q[D];
  uint64_t out_ids[K];
  float out_d[K];
  uint64_t rng = 12345;
  size_t n, i, j;
  uint32_t metric;

  o.durability = VECSTORE_DURABILITY_NONE;
  s = vt_open(vt_tmpdir("search-bf"), D, &o);
  for (i = 0; i < N; i++) {
    ids[i] = (uint64_t)i * 31 + 1;
    for (j = 0; j < D; j++) vs[i * D + j] = vt_randf(&rng);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, N, D));
  for (j = 0; j < D; j++) q[j] = vt_randf(&rng);

  for (metric = 0; metric < 3; metric++) {
    double qn = 0;
    for (j = 0; j < D; j++) qn += (double)q[j] * q[j];
    for (i = 0; i < N; i++) {
      double dot = 0, l2 = 0, vn = 0;
      for (j = 0; j < D; j++) {
        double a = q[j], b = vs[i * D + j];
        dot += a * b;
        l2 += (a - b) * (a - b);
        vn += b * b;
      }
      ref[i] = metric == VECSTORE_METRIC_L2 ? l2 : metric == VECSTORE_METRIC_DOT ? -dot : 1.0 - dot / sqrt(qn * vn);
    }
    CHECK_OK(vecstore_search(s, q, D, K, metric, out_ids, out_d, &n));
    CHECK_EQ_U64(n, K);
    for (i = 0; i < K; i++) {
      size_t idx = (size_t)((out_ids[i] - 1) / 31);
      size_t better = 0;
      CHECK_MSG((out_ids[i] - 1) % 31 == 0 && idx < N, "metric %u: bogus id %llu", metric,
                (unsigned long long)out_ids[i]);
      CHECK_MSG(fabs(out_d[i] - ref[idx]) <= 1e-4 * (1 + fabs(ref[idx])),
                "metric %u result %zu: distance %.7g, reference %.7g", metric, i, out_d[i], ref[idx]);
      if (i > 0) CHECK_MSG(out_d[i - 1] <= out_d[i], "metric %u: results not sorted at %zu", metric, i);
      /* Exactly i vectors may be (clearly) closer than the i-th result. */
      for (j = 0; j < N; j++)
        if (ref[j] < ref[idx] - 1e-4 * (1 + fabs(ref[idx]))) better++;
      CHECK_MSG(better <= i, "metric %u: result %zu has %zu clearly closer vectors", metric, i, better);
    }
  }
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  check_hand_data();
  check_cosine();
  check_brute_force();
  VT_PASS("test_search");
  return 0;
}
