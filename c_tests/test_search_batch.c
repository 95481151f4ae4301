/* vecstore_search_batch, against its contract in vecstore.h:
 *  - row layout: query i's results start at element i * k, out_counts[i] =
 *    min(k, len), the rest of a row (and anything past query_count * k) is
 *    left untouched; for query counts below and above the packed-kernel
 *    threshold (6) and k = 1, 5, len, k > len; each row has the same ids as
 *    vecstore_search() for that query alone and as a brute-force reference
 *    computed here in double (ties by smaller id), for L2, DOT and COSINE;
 *  - output arrays sized by vecstore_len() with k = SIZE_MAX (search, and a
 *    batch of one query); a batch of two with k = SIZE_MAX is refused;
 *  - every error path: documented status, non-empty vecstore_last_error()
 *    (checked by CHECK_STATUS), outputs untouched; k = 0 with NULL arrays;
 *  - finite inputs of extreme magnitude (overflowing float) never give NaN
 *    and rank where their true distances put them, single and batch;
 *  - an empty store gives a count of 0 in every row.
 *
 * The data are multiples of 1/8 with small magnitudes, so every L2 and DOT
 * distance is exact in float whatever the summation order: those distances
 * must equal the reference exactly. Cosine is not exact; the data are
 * checked to have no near-ties except exact ones that float computes
 * identically in any order (power-of-two multiples of the same vector, and
 * orthogonal vectors), so ids must still match exactly. */
#include "test_util.h"

#define DIM 7
#define NB 50  /* base vectors */
#define N 300  /* stored vectors: base i % NB scaled by 1, 2, 4, 1, 2, 4 */
#define MAXQ 13
#define EXTRA 8 /* elements past query_count * k that must stay untouched */

#define ID_SENT 0xABCDEFull
#define D_SENT (-12345.0f)
#define C_SENT ((size_t)999)

static const uint32_t METRICS[3] = {VECSTORE_METRIC_L2, VECSTORE_METRIC_DOT, VECSTORE_METRIC_COSINE};
static const char *const METRIC_NAMES[3] = {"L2", "DOT", "COSINE"};

static uint64_t g_ids[N];
static float g_vecs[N * DIM];
static size_t g_base[N];
static float g_queries[MAXQ * DIM];

/* ------------------------------------------------------------ data ---- */

/* A multiple of 1/8 in [-1, 1]. */
static float eighth(uint64_t *st) { return (float)((int)(vt_splitmix64(st) % 17) - 8) / 8.0f; }

static void make_data(void) {
  float base[NB * DIM];
  uint64_t st = 20240611;
  size_t i, j;
  for (i = 0; i < NB * DIM; i++) base[i] = eighth(&st);
  for (i = 0; i < N; i++) {
    float scale = (float)(1u << ((i / NB) % 3));
    g_base[i] = i % NB;
    /* Unique ids in an order unrelated to insertion order. */
    g_ids[i] = (uint64_t)((i * 7919u) % 1009u) + 1;
    for (j = 0; j < DIM; j++) g_vecs[i * DIM + j] = base[g_base[i] * DIM + j] * scale;
  }
  for (i = 0; i < MAXQ * DIM; i++) g_queries[i] = eighth(&st);
}

static vecstore_t *open_store(const char *tag, uint32_t dim) {
  vecstore_options o = vecstore_options_default();
  o.durability = VECSTORE_DURABILITY_NONE;
  return vt_open(vt_tmpdir(tag), dim, &o);
}

static vecstore_t *open_filled_store(const char *tag) {
  vecstore_t *s = open_store(tag, DIM);
  CHECK_OK(vecstore_put_batch(s, g_ids, g_vecs, N, DIM));
  CHECK_EQ_U64(vecstore_len(s), N);
  return s;
}

/* ------------------------------------------------------- reference ---- */

typedef struct {
  double d;
  uint64_t id;
  size_t idx;
} ref_hit;

static int cmp_ref_hit(const void *a, const void *b) {
  const ref_hit *x = (const ref_hit *)a, *y = (const ref_hit *)b;
  if (x->d < y->d) return -1;
  if (x->d > y->d) return 1;
  return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

static double ref_dot(const float *q, const float *v, size_t dim) {
  double s = 0;
  size_t j;
  for (j = 0; j < dim; j++) s += (double)q[j] * v[j];
  return s;
}

/* The distance from q to v in double. */
static double ref_distance(uint32_t metric, const float *q, const float *v, size_t dim) {
  double l2 = 0, dot = ref_dot(q, v, dim), qq = ref_dot(q, q, dim), vv = ref_dot(v, v, dim);
  size_t j;
  for (j = 0; j < dim; j++) l2 += ((double)q[j] - v[j]) * ((double)q[j] - v[j]);
  if (metric == VECSTORE_METRIC_L2) return l2;
  if (metric == VECSTORE_METRIC_DOT) return -dot;
  return qq == 0 || vv == 0 ? 1.0 : 1.0 - dot / (sqrt(qq) * sqrt(vv));
}

/* Every stored vector ranked for query q: closest first, ties by smaller id. */
static void ref_rank(uint32_t metric, const float *q, ref_hit *out) {
  size_t i;
  for (i = 0; i < N; i++) {
    out[i].d = ref_distance(metric, q, &g_vecs[i * DIM], DIM);
    out[i].id = g_ids[i];
    out[i].idx = i;
  }
  qsort(out, N, sizeof out[0], cmp_ref_hit);
}

/* The data must not have cosine near-ties that float rounding could order
 * either way: two vectors within 1e-5 must be multiples of the same base or
 * both orthogonal to the query (distance exactly 1). A property of the fixed
 * data, checked so that a change of generator cannot silently weaken the
 * exact id comparisons below. */
static void check_data_has_no_cosine_near_ties(void) {
  size_t q, i, j;
  for (q = 0; q < MAXQ; q++) {
    const float *qv = &g_queries[q * DIM];
    CHECK(ref_dot(qv, qv, DIM) > 0);
    for (i = 0; i < N; i++) {
      double di = ref_distance(VECSTORE_METRIC_COSINE, qv, &g_vecs[i * DIM], DIM);
      double doti = ref_dot(qv, &g_vecs[i * DIM], DIM);
      for (j = i + 1; j < N; j++) {
        double dj = ref_distance(VECSTORE_METRIC_COSINE, qv, &g_vecs[j * DIM], DIM);
        double dotj = ref_dot(qv, &g_vecs[j * DIM], DIM);
        if (g_base[i] == g_base[j] || (doti == 0 && dotj == 0)) continue;
        CHECK_MSG(fabs(di - dj) > 1e-5,
                  "test data: query %zu has a cosine near-tie between vectors %zu and %zu "
                  "(%.17g vs %.17g); change the generator's seed",
                  q, i, j, di, dj);
      }
    }
  }
}

/* ------------------------------------------------------- helpers ---- */

static bool near_rel(float a, float b) { return fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b)); }

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static void fill_sentinels(uint64_t *ids, float *d, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (ids) ids[i] = ID_SENT;
    if (d) d[i] = D_SENT;
  }
}

static void fill_counts(size_t *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) c[i] = C_SENT;
}

/* Elements [from, to) of ids and d still hold their sentinels. */
static void expect_untouched(int line, const char *what, const uint64_t *ids, const float *d, size_t from,
                             size_t to) {
  size_t i;
  for (i = from; i < to; i++)
    if (ids[i] != ID_SENT || d[i] != D_SENT)
      vt_fail_(__FILE__, line, "%s: element %zu was written (id %llu, distance %.9g)", what, i,
               (unsigned long long)ids[i], d[i]);
}

static void expect_counts_untouched(int line, const char *what, const size_t *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (c[i] != C_SENT) vt_fail_(__FILE__, line, "%s: out_counts[%zu] was written (%zu)", what, i, c[i]);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  CHECK(p != NULL);
  return p;
}

/* ------------------------------------------- 1. row layout and ranking -- */

/* One batch (metric, query_count, k) against single searches and the reference. */
static void check_batch(vecstore_t *s, size_t mi, size_t qc, size_t k) {
  const uint32_t metric = METRICS[mi];
  const size_t cap = qc * k + EXTRA, want = min_size(k, N);
  uint64_t *ids = (uint64_t *)xmalloc(cap * sizeof *ids);
  float *d = (float *)xmalloc(cap * sizeof *d);
  uint64_t *ids1 = (uint64_t *)xmalloc((k + EXTRA) * sizeof *ids1);
  float *d1 = (float *)xmalloc((k + EXTRA) * sizeof *d1);
  size_t counts[MAXQ + 1];
  static ref_hit ref[N];
  size_t q, r;

  fill_sentinels(ids, d, cap);
  fill_counts(counts, MAXQ + 1);
  CHECK_OK(vecstore_search_batch(s, g_queries, qc, DIM, k, metric, ids, d, counts));
  expect_untouched(__LINE__, "batch: past query_count * k", ids, d, qc * k, cap);
  expect_counts_untouched(__LINE__, "batch: past query_count", counts + qc, MAXQ + 1 - qc);

  for (q = 0; q < qc; q++) {
    const float *qv = &g_queries[q * DIM];
    size_t n1 = C_SENT;
    CHECK_MSG(counts[q] == want, "%s qc %zu k %zu: out_counts[%zu] = %zu, expected %zu",
              METRIC_NAMES[mi], qc, k, q, counts[q], want);
    /* The rest of row q (k > len) is untouched. */
    for (r = want; r < k; r++)
      CHECK_MSG(ids[q * k + r] == ID_SENT && d[q * k + r] == D_SENT,
                "%s qc %zu k %zu: row %zu element %zu past its count was written", METRIC_NAMES[mi], qc,
                k, q, r);

    fill_sentinels(ids1, d1, k + EXTRA);
    CHECK_OK(vecstore_search(s, qv, DIM, k, metric, ids1, d1, &n1));
    CHECK_MSG(n1 == want, "%s k %zu: vecstore_search count %zu, expected %zu", METRIC_NAMES[mi], k, n1,
              want);
    expect_untouched(__LINE__, "single search: past its count", ids1, d1, n1, k + EXTRA);

    ref_rank(metric, qv, ref);
    for (r = 0; r < want; r++) {
      const uint64_t bid = ids[q * k + r];
      const float bd = d[q * k + r];
      const float rd = (float)ref[r].d;
      CHECK_MSG(bid == ids1[r],
                "%s qc %zu k %zu query %zu result %zu: batch id %llu (%.9g), single id %llu (%.9g)",
                METRIC_NAMES[mi], qc, k, q, r, (unsigned long long)bid, bd,
                (unsigned long long)ids1[r], d1[r]);
      CHECK_MSG(ids1[r] == ref[r].id,
                "%s k %zu query %zu result %zu: id %llu (%.9g), reference id %llu (%.17g)",
                METRIC_NAMES[mi], k, q, r, (unsigned long long)ids1[r], d1[r],
                (unsigned long long)ref[r].id, ref[r].d);
      if (metric == VECSTORE_METRIC_COSINE) {
        CHECK_MSG(near_rel(bd, d1[r]), "COSINE qc %zu k %zu query %zu result %zu: batch %.9g, single %.9g",
                  qc, k, q, r, bd, d1[r]);
        CHECK_MSG(fabs(d1[r] - ref[r].d) <= 1e-5 * (1 + fabs(ref[r].d)),
                  "COSINE query %zu result %zu: distance %.9g, reference %.17g", q, r, d1[r], ref[r].d);
      } else {
        /* Exact data: every summation order gives the same float. */
        CHECK_MSG(bd == rd && d1[r] == rd,
                  "%s qc %zu k %zu query %zu result %zu: batch %.9g, single %.9g, exact %.9g",
                  METRIC_NAMES[mi], qc, k, q, r, bd, d1[r], rd);
      }
    }
  }
  free(ids);
  free(d);
  free(ids1);
  free(d1);
}

static void check_layout(void) {
  static const size_t qcs[] = {1, 3, 6, 7, 13};
  const size_t ks[] = {1, 5, N, N + 3};
  vecstore_t *s = open_filled_store("batch-layout");
  size_t mi, a, b;
  for (mi = 0; mi < 3; mi++)
    for (a = 0; a < sizeof qcs / sizeof qcs[0]; a++)
      for (b = 0; b < sizeof ks / sizeof ks[0]; b++) check_batch(s, mi, qcs[a], ks[b]);
  CHECK_OK(vecstore_close(s));
}

/* ------------------------------------------ 2. sizing by vecstore_len -- */

/* ids/d (count n) are every stored vector ranked for query q. */
static void expect_full_ranking(int line, const char *what, size_t mi, const float *q, const uint64_t *ids,
                                const float *d, size_t n) {
  static ref_hit ref[N];
  size_t r;
  if (n != N) vt_fail_(__FILE__, line, "%s %s: %zu results, expected %d", what, METRIC_NAMES[mi], n, N);
  ref_rank(METRICS[mi], q, ref);
  for (r = 0; r < N; r++) {
    bool dist_ok = METRICS[mi] == VECSTORE_METRIC_COSINE
                       ? fabs(d[r] - ref[r].d) <= 1e-5 * (1 + fabs(ref[r].d))
                       : d[r] == (float)ref[r].d;
    if (ids[r] != ref[r].id || !dist_ok)
      vt_fail_(__FILE__, line, "%s %s result %zu: id %llu distance %.9g, reference id %llu distance %.17g",
               what, METRIC_NAMES[mi], r, (unsigned long long)ids[r], d[r], (unsigned long long)ref[r].id,
               ref[r].d);
  }
}

static void check_sizing_by_len(void) {
  vecstore_t *s = open_filled_store("batch-len");
  const size_t len = (size_t)vecstore_len(s);
  /* Exactly len elements, so ASan/valgrind catch a write past them. */
  uint64_t *ids = (uint64_t *)xmalloc(len * sizeof *ids);
  float *d = (float *)xmalloc(len * sizeof *d);
  uint64_t *ids2 = (uint64_t *)xmalloc((2 * len + EXTRA) * sizeof *ids2);
  float *d2 = (float *)xmalloc((2 * len + EXTRA) * sizeof *d2);
  size_t counts[3], n, mi;
  const float *q = &g_queries[2 * DIM];

  CHECK_EQ_U64(len, N);
  for (mi = 0; mi < 3; mi++) {
    n = C_SENT;
    CHECK_OK(vecstore_search(s, q, DIM, SIZE_MAX, METRICS[mi], ids, d, &n));
    expect_full_ranking(__LINE__, "vecstore_search k=SIZE_MAX", mi, q, ids, d, n);

    fill_counts(counts, 3);
    fill_sentinels(ids, d, len);
    CHECK_OK(vecstore_search_batch(s, q, 1, DIM, SIZE_MAX, METRICS[mi], ids, d, counts));
    expect_full_ranking(__LINE__, "vecstore_search_batch(1 query) k=SIZE_MAX", mi, q, ids, d, counts[0]);
    expect_counts_untouched(__LINE__, "batch of 1, k=SIZE_MAX", counts + 1, 2);
  }

  /* Two rows of SIZE_MAX elements cannot exist: refused, nothing written. */
  for (mi = 0; mi < 3; mi++) {
    fill_counts(counts, 3);
    fill_sentinels(ids2, d2, 2 * len + EXTRA);
    CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
                 vecstore_search_batch(s, g_queries, 2, DIM, SIZE_MAX, METRICS[mi], ids2, d2, counts));
    expect_counts_untouched(__LINE__, "batch of 2, k=SIZE_MAX", counts, 3);
    expect_untouched(__LINE__, "batch of 2, k=SIZE_MAX", ids2, d2, 0, 2 * len + EXTRA);
  }
  /* ... and the store is still fine afterwards. */
  n = C_SENT;
  CHECK_OK(vecstore_search(s, q, DIM, SIZE_MAX, VECSTORE_METRIC_L2, ids, d, &n));
  expect_full_ranking(__LINE__, "vecstore_search after the refusal", 0, q, ids, d, n);

  free(ids);
  free(d);
  free(ids2);
  free(d2);
  CHECK_OK(vecstore_close(s));
}

/* ------------------------------------------------- 3. error paths ---- */

#define EK 5
#define EQ 13
#define ECAP (EQ * EK + EXTRA)

typedef struct {
  uint64_t ids[ECAP];
  float d[ECAP];
  size_t counts[EQ + 1];
} outs;

static void outs_reset(outs *o) {
  fill_sentinels(o->ids, o->d, ECAP);
  fill_counts(o->counts, EQ + 1);
}

static void outs_expect_untouched(int line, const char *what, const outs *o) {
  expect_untouched(line, what, o->ids, o->d, 0, ECAP);
  expect_counts_untouched(line, what, o->counts, EQ + 1);
}

/* CHECK_STATUS also checks that vecstore_last_error() is non-empty. */
#define EXPECT_REFUSED(status, what, call) \
  do {                                     \
    outs_reset(&o);                        \
    CHECK_STATUS((status), call);          \
    outs_expect_untouched(__LINE__, (what), &o); \
  } while (0)

static void check_nonfinite_queries(vecstore_t *s) {
  static const size_t qcs[] = {1, 3, 7, 13};
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  float qs[MAXQ * DIM];
  outs o;
  size_t a, q, b, t;
  for (a = 0; a < sizeof qcs / sizeof qcs[0]; a++) {
    const size_t qc = qcs[a];
    for (q = 0; q < qc; q++) {
      /* First, last, and a middle component of query q. */
      const size_t js[3] = {0, (q + 3) % DIM, DIM - 1};
      for (t = 0; t < 3; t++)
        for (b = 0; b < 3; b++) {
          memcpy(qs, g_queries, sizeof qs);
          qs[q * DIM + js[t]] = bad[b];
          outs_reset(&o);
          CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
                       vecstore_search_batch(s, qs, qc, DIM, EK, METRICS[(q + t) % 3], o.ids, o.d, o.counts));
          outs_expect_untouched(__LINE__, "non-finite query value", &o);
        }
    }
  }
}

static void check_errors(void) {
  static const uint32_t bad_metrics[] = {3, 4, 99, 0x80000000u, UINT32_MAX};
  vecstore_t *s = open_filled_store("batch-err");
  const uint32_t L2 = VECSTORE_METRIC_L2;
  outs o;
  size_t i;

  EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL store",
                 vecstore_search_batch(NULL, g_queries, 7, DIM, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL queries",
                 vecstore_search_batch(s, NULL, 7, DIM, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "query_count 0",
                 vecstore_search_batch(s, g_queries, 0, DIM, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_DIMENSION_MISMATCH, "dimension + 1",
                 vecstore_search_batch(s, g_queries, 7, DIM + 1, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_DIMENSION_MISMATCH, "dimension - 1",
                 vecstore_search_batch(s, g_queries, 7, DIM - 1, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_DIMENSION_MISMATCH, "dimension SIZE_MAX",
                 vecstore_search_batch(s, g_queries, 7, SIZE_MAX, EK, L2, o.ids, o.d, o.counts));
  EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "dimension 0",
                 vecstore_search_batch(s, g_queries, 7, 0, EK, L2, o.ids, o.d, o.counts));
  for (i = 0; i < sizeof bad_metrics / sizeof bad_metrics[0]; i++) {
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "unknown metric",
                   vecstore_search_batch(s, g_queries, 7, DIM, EK, bad_metrics[i], o.ids, o.d, o.counts));
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "unknown metric, 1 query",
                   vecstore_search_batch(s, g_queries, 1, DIM, EK, bad_metrics[i], o.ids, o.d, o.counts));
  }
  check_nonfinite_queries(s);
  for (i = 0; i < 3; i++) {
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL out_ids",
                   vecstore_search_batch(s, g_queries, 7, DIM, EK, METRICS[i], NULL, o.d, o.counts));
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL out_distances",
                   vecstore_search_batch(s, g_queries, 7, DIM, EK, METRICS[i], o.ids, NULL, o.counts));
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL out_ids and out_distances",
                   vecstore_search_batch(s, g_queries, 3, DIM, 1, METRICS[i], NULL, NULL, o.counts));
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL out_counts",
                   vecstore_search_batch(s, g_queries, 7, DIM, EK, METRICS[i], o.ids, o.d, NULL));
    EXPECT_REFUSED(VECSTORE_INVALID_ARGUMENT, "NULL out_counts, k 0",
                   vecstore_search_batch(s, g_queries, 7, DIM, 0, METRICS[i], NULL, NULL, NULL));
  }

  /* k = 0: success with NULL result arrays; every count 0. */
  for (i = 0; i < 3; i++) {
    size_t qc;
    for (qc = 1; qc <= EQ; qc += 6) {
      size_t q;
      outs_reset(&o);
      CHECK_OK(vecstore_search_batch(s, g_queries, qc, DIM, 0, METRICS[i], NULL, NULL, o.counts));
      for (q = 0; q < qc; q++) CHECK_MSG(o.counts[q] == 0, "k 0: out_counts[%zu] = %zu", q, o.counts[q]);
      expect_counts_untouched(__LINE__, "k 0: past query_count", o.counts + qc, EQ + 1 - qc);
      /* Non-NULL arrays are not written either. */
      outs_reset(&o);
      CHECK_OK(vecstore_search_batch(s, g_queries, qc, DIM, 0, METRICS[i], o.ids, o.d, o.counts));
      for (q = 0; q < qc; q++) CHECK_MSG(o.counts[q] == 0, "k 0: out_counts[%zu] = %zu", q, o.counts[q]);
      expect_untouched(__LINE__, "k 0", o.ids, o.d, 0, ECAP);
    }
  }
  /* The failures changed nothing and the handle still works. */
  CHECK_EQ_U64(vecstore_len(s), N);
  outs_reset(&o);
  CHECK_OK(vecstore_search_batch(s, g_queries, 7, DIM, EK, L2, o.ids, o.d, o.counts));
  CHECK_EQ_U64(o.counts[6], EK);
  CHECK_OK(vecstore_close(s));
}

/* ------------------------------------------- 4. extreme magnitudes ---- */

#define XA 10 /* {1e20, 1e20} */
#define XB 40 /* {1, 1} */
#define XC 50 /* {1e20, -1e20} */
#define XD 30 /* {1e-25, 0} */
#define XE 20 /* {0, 0} */
#define XN 5

/* Results sorted, ties by smaller id, no NaN. */
static void expect_sorted_no_nan(int line, const char *what, const uint64_t *ids, const float *d, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (isnan(d[i])) vt_fail_(__FILE__, line, "%s: result %zu (id %llu) has a NaN distance", what, i,
                              (unsigned long long)ids[i]);
    if (i > 0 && (d[i - 1] > d[i] || (d[i - 1] == d[i] && ids[i - 1] >= ids[i])))
      vt_fail_(__FILE__, line, "%s: results %zu (id %llu, %.9g) and %zu (id %llu, %.9g) out of order", what,
               i - 1, (unsigned long long)ids[i - 1], d[i - 1], i, (unsigned long long)ids[i], d[i]);
  }
}

/* The expected ranking of the extreme store for query {1e20, 1e20}. */
static void expect_extreme(int line, const char *what, uint32_t metric, const uint64_t *ids, const float *d,
                           size_t n) {
  const float big = 1e20f;
  expect_sorted_no_nan(line, what, ids, d, n);
  if (n != XN) vt_fail_(__FILE__, line, "%s: %zu results, expected %d", what, n, XN);
  if (metric == VECSTORE_METRIC_L2) {
    /* 0, then four distances beyond float's range, tied: by id. */
    const uint64_t want[XN] = {XA, XE, XD, XB, XC};
    size_t i;
    for (i = 0; i < XN; i++)
      if (ids[i] != want[i] || d[i] != (i == 0 ? 0.0f : INFINITY))
        vt_fail_(__FILE__, line, "%s: result %zu: id %llu distance %.9g, expected id %llu distance %s", what,
                 i, (unsigned long long)ids[i], d[i], (unsigned long long)want[i], i == 0 ? "0" : "inf");
  } else if (metric == VECSTORE_METRIC_DOT) {
    /* -2e40 (-inf in float), -2e20, -1e-5, then 0 twice ({0,0}, and
       {1e20,-1e20} whose float sum is inf - inf): by id. */
    const uint64_t want[XN] = {XA, XB, XD, XE, XC};
    const float wd[XN] = {-INFINITY, -2.0f * big, (float)(-(double)big * (double)1e-25f), 0.0f, 0.0f};
    size_t i;
    for (i = 0; i < XN; i++)
      if (ids[i] != want[i] || !(i == 2 ? near_rel(d[i], wd[i]) : d[i] == wd[i]))
        vt_fail_(__FILE__, line, "%s: result %zu: id %llu distance %.9g, expected id %llu distance %.9g", what,
                 i, (unsigned long long)ids[i], d[i], (unsigned long long)want[i], wd[i]);
  } else {
    /* {1e20,1e20} and {1,1} point the query's way (distance 0 up to
       rounding, the overflowed norms recomputed in double), then {1e-25,0}
       at 1 - 1/sqrt(2), then {0,0} and the orthogonal {1e20,-1e20} at 1. */
    const bool first_two = (ids[0] == XA && ids[1] == XB) || (ids[0] == XB && ids[1] == XA);
    const uint64_t want[XN] = {0, 0, XD, XE, XC};
    const float wd[XN] = {0.0f, 0.0f, (float)(1.0 - 1.0 / sqrt(2.0)), 1.0f, 1.0f};
    size_t i;
    if (!first_two || fabsf(d[0]) > 1e-6f || fabsf(d[1]) > 1e-6f)
      vt_fail_(__FILE__, line, "%s: first results id %llu (%.9g), id %llu (%.9g), expected ids %d and %d "
               "at distance 0", what, (unsigned long long)ids[0], d[0], (unsigned long long)ids[1], d[1], XA, XB);
    for (i = 2; i < XN; i++)
      if (ids[i] != want[i] || !(i == 2 ? near_rel(d[i], wd[i]) : d[i] == wd[i]))
        vt_fail_(__FILE__, line, "%s: result %zu: id %llu distance %.9g, expected id %llu distance %.9g",
                 what, i, (unsigned long long)ids[i], d[i], (unsigned long long)want[i], wd[i]);
  }
}

static void check_extreme(void) {
  static const size_t qcs[] = {1, 3, 7};
  vecstore_t *s = open_store("batch-extreme", 2);
  const uint64_t ids[XN] = {XA, XB, XC, XD, XE};
  const float vs[XN * 2] = {1e20f, 1e20f, 1, 1, 1e20f, -1e20f, 1e-25f, 0, 0, 0};
  float qs[7 * 2];
  size_t mi, a, q, r;

  for (q = 0; q < 7; q++) qs[q * 2] = qs[q * 2 + 1] = 1e20f;
  CHECK_OK(vecstore_put_batch(s, ids, vs, XN, 2));
  for (mi = 0; mi < 3; mi++) {
    uint64_t ids1[XN + EXTRA];
    float d1[XN + EXTRA];
    size_t n1 = C_SENT;
    char what[96];
    fill_sentinels(ids1, d1, XN + EXTRA);
    CHECK_OK(vecstore_search(s, qs, 2, XN + EXTRA, METRICS[mi], ids1, d1, &n1));
    snprintf(what, sizeof what, "vecstore_search %s", METRIC_NAMES[mi]);
    expect_extreme(__LINE__, what, METRICS[mi], ids1, d1, n1);
    expect_untouched(__LINE__, what, ids1, d1, XN, XN + EXTRA);

    for (a = 0; a < sizeof qcs / sizeof qcs[0]; a++) {
      const size_t qc = qcs[a], k = XN + 1, cap = 7 * (XN + 1) + EXTRA;
      uint64_t bids[7 * (XN + 1) + EXTRA];
      float bd[7 * (XN + 1) + EXTRA];
      size_t counts[8];
      fill_sentinels(bids, bd, cap);
      fill_counts(counts, 8);
      CHECK_OK(vecstore_search_batch(s, qs, qc, 2, k, METRICS[mi], bids, bd, counts));
      for (q = 0; q < qc; q++) {
        snprintf(what, sizeof what, "vecstore_search_batch %s, %zu queries, row %zu", METRIC_NAMES[mi], qc, q);
        expect_extreme(__LINE__, what, METRICS[mi], bids + q * k, bd + q * k, counts[q]);
        expect_untouched(__LINE__, what, bids, bd, q * k + XN, q * k + k);
        for (r = 0; r < XN; r++)
          CHECK_MSG(bids[q * k + r] == ids1[r] &&
                        (bd[q * k + r] == d1[r] || near_rel(bd[q * k + r], d1[r])),
                    "%s result %zu: id %llu (%.9g), single search id %llu (%.9g)", what, r,
                    (unsigned long long)bids[q * k + r], bd[q * k + r], (unsigned long long)ids1[r], d1[r]);
      }
      expect_untouched(__LINE__, "extreme batch: past query_count * k", bids, bd, qc * k, cap);
      expect_counts_untouched(__LINE__, "extreme batch: past query_count", counts + qc, 8 - qc);
    }
  }
  CHECK_OK(vecstore_close(s));
}

/* ---------------------------------------------------- 5. empty store -- */

static void check_empty(void) {
  static const size_t qcs[] = {1, 3, 6, 13};
  static const size_t ks[] = {1, 5, SIZE_MAX};
  vecstore_t *s = open_store("batch-empty", DIM);
  uint64_t ids[MAXQ * 5 + EXTRA];
  float d[MAXQ * 5 + EXTRA];
  size_t counts[MAXQ + 1], mi, a, b, q;
  CHECK_EQ_U64(vecstore_len(s), 0);
  for (mi = 0; mi < 3; mi++)
    for (a = 0; a < sizeof qcs / sizeof qcs[0]; a++)
      for (b = 0; b < sizeof ks / sizeof ks[0]; b++) {
        const size_t qc = qcs[a], k = ks[b];
        if (k == SIZE_MAX && qc > 1) continue; /* refused; checked below */
        fill_sentinels(ids, d, MAXQ * 5 + EXTRA);
        fill_counts(counts, MAXQ + 1);
        CHECK_OK(vecstore_search_batch(s, g_queries, qc, DIM, k, METRICS[mi], ids, d, counts));
        for (q = 0; q < qc; q++)
          CHECK_MSG(counts[q] == 0, "empty store, %s, %zu queries, k %zu: out_counts[%zu] = %zu",
                    METRIC_NAMES[mi], qc, k, q, counts[q]);
        expect_counts_untouched(__LINE__, "empty store: past query_count", counts + qc, MAXQ + 1 - qc);
        expect_untouched(__LINE__, "empty store", ids, d, 0, MAXQ * 5 + EXTRA);
      }
  fill_sentinels(ids, d, MAXQ * 5 + EXTRA);
  fill_counts(counts, MAXQ + 1);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT,
               vecstore_search_batch(s, g_queries, 2, DIM, SIZE_MAX, VECSTORE_METRIC_L2, ids, d, counts));
  expect_counts_untouched(__LINE__, "empty store, 2 queries, k SIZE_MAX", counts, MAXQ + 1);
  expect_untouched(__LINE__, "empty store, 2 queries, k SIZE_MAX", ids, d, 0, MAXQ * 5 + EXTRA);
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  make_data();
  check_data_has_no_cosine_near_ties();
  check_layout();
  check_errors();
  check_extreme();
  check_empty();
  check_sizing_by_len(); /* last: a library panic here would poison its handle */
  VT_PASS("test_search_batch");
  return 0;
}
