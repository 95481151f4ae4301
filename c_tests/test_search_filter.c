/* vecstore_search_filter, vecstore_search_ids, vecstore_search_by_id and
 * vecstore_set_search_threads through the C ABI: results against a brute
 * force in double, the filter's context, absent and duplicate candidates,
 * "more like this" leaving the id itself out, and the statuses of bad calls. */
#include "test_util.h"

#include <stdatomic.h>

#define DIM 8
#define N 3000
#define K 10

static float data[N][DIM];

/* Accepts ids whose remainder by `modulus` is `remainder`; counts calls. */
typedef struct {
  uint64_t modulus, remainder;
  atomic_ulong calls;
} residue;

static bool accept_residue(uint64_t id, void *ctx) {
  residue *r = (residue *)ctx;
  atomic_fetch_add(&r->calls, 1);
  return id % r->modulus == r->remainder;
}

static bool accept_nothing(uint64_t id, void *ctx) {
  (void)id;
  (void)ctx;
  return false;
}

static double l2(const float *a, const float *b) {
  double s = 0;
  for (int d = 0; d < DIM; d++) s += ((double)a[d] - b[d]) * ((double)a[d] - b[d]);
  return s;
}

/* The K nearest ids (by L2, ties by id) among ids i with keep[i], into out;
 * returns how many. */
static size_t brute(const float *q, const bool *keep, uint64_t *out) {
  size_t n = 0;
  double best[K];
  for (uint64_t i = 0; i < N; i++) {
    if (!keep[i]) continue;
    double d = l2(q, data[i]);
    size_t at = n < K ? n : K;
    while (at > 0 && (best[at - 1] > d || (best[at - 1] == d && out[at - 1] > i))) {
      if (at < K) {
        best[at] = best[at - 1];
        out[at] = out[at - 1];
      }
      at--;
    }
    if (at < K) {
      best[at] = d;
      out[at] = i;
      if (n < K) n++;
    }
  }
  return n;
}

static void expect_ids(int line, const uint64_t *got, size_t n, const uint64_t *want, size_t m) {
  if (n != m) vt_fail_(__FILE__, line, "%zu results, expected %zu", n, m);
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i])
      vt_fail_(__FILE__, line, "result %zu: id %llu, expected %llu", i, (unsigned long long)got[i],
               (unsigned long long)want[i]);
}

int main(void) {
  vecstore_options o = vecstore_options_default();
  o.durability = VECSTORE_DURABILITY_NONE;
  vecstore_t *s = vt_open(vt_tmpdir("search_filter"), DIM, &o);
  static uint64_t ids[N];
  static bool keep[N];
  uint64_t out[K], want[K];
  float dist[K];
  size_t n = 0, m;
  float q[DIM];

  for (uint64_t i = 0; i < N; i++) {
    ids[i] = i;
    vt_fill(data[i], DIM, i, 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, &data[0][0], N, DIM));
  vt_fill(q, DIM, 77777, 0);

  for (uint32_t threads = 0; threads <= 2; threads++) {
    CHECK_OK(vecstore_set_search_threads(s, threads));

    /* A filter with its context: one id in 7. */
    residue r = {7, 3, 0};
    CHECK_OK(vecstore_search_filter(s, q, DIM, K, VECSTORE_METRIC_L2, accept_residue, &r, out, dist, &n));
    for (uint64_t i = 0; i < N; i++) keep[i] = i % 7 == 3;
    m = brute(q, keep, want);
    expect_ids(__LINE__, out, n, want, m);
    CHECK(atomic_load(&r.calls) >= K);

    /* A filter that accepts nothing. */
    n = 99;
    CHECK_OK(vecstore_search_filter(s, q, DIM, K, VECSTORE_METRIC_L2, accept_nothing, NULL, out, dist, &n));
    CHECK_EQ_U64(n, 0);

    /* Candidates: duplicates once, absent ids skipped. */
    {
      uint64_t cand[] = {5, 17, 17, 2999, 123456789, 40, 5, 41, 42, 43, 44, 45, 46, 47};
      size_t count = sizeof cand / sizeof cand[0];
      memset(keep, 0, sizeof keep);
      for (size_t i = 0; i < count; i++)
        if (cand[i] < N) keep[cand[i]] = true;
      m = brute(q, keep, want);
      CHECK_OK(vecstore_search_ids(s, q, DIM, cand, count, K, VECSTORE_METRIC_L2, out, dist, &n));
      expect_ids(__LINE__, out, n, want, m);
      n = 99;
      CHECK_OK(vecstore_search_ids(s, q, DIM, NULL, 0, K, VECSTORE_METRIC_L2, out, dist, &n));
      CHECK_EQ_U64(n, 0);
    }

    /* More like this: the id itself is left out. */
    for (uint64_t i = 0; i < N; i++) keep[i] = i != 1234;
    m = brute(data[1234], keep, want);
    CHECK_OK(vecstore_search_by_id(s, 1234, K, VECSTORE_METRIC_L2, out, dist, &n));
    expect_ids(__LINE__, out, n, want, m);
  }

  /* Bad calls. */
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_search_by_id(s, N + 5, K, VECSTORE_METRIC_L2, out, dist, &n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search_filter(s, q, DIM, K, VECSTORE_METRIC_L2, NULL, NULL, out, dist, &n));
  CHECK(strstr(vecstore_last_error(), "filter is NULL") != NULL);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search_ids(s, q, DIM, NULL, 3, K, VECSTORE_METRIC_L2, out, dist, &n));
  CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH,
               vecstore_search_ids(s, q, DIM - 1, ids, 3, K, VECSTORE_METRIC_L2, out, dist, &n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search_by_id(s, 1, K, (vecstore_metric)77, out, dist, &n));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_search_by_id(s, 1, K, VECSTORE_METRIC_L2, out, dist, NULL));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_set_search_threads(NULL, 1));

  CHECK_OK(vecstore_close(s));
  VT_PASS("test_search_filter");
  return 0;
}
