/* The C side of bench/python/python_vs_c.py: the same calls on the same data
 * as the Python side, timed the same way. Built as a shared library that the
 * Python script loads into its own process and calls once per round, so both
 * sides run in one process, on the very same input buffers and the same
 * libvecstore.so (the one the package carries; the loader shares it by its
 * SONAME). Only the time inside the vecstore calls is summed.
 *
 * put_batch: ids 0..n-1 in batches of `batch` into a new store at `path`
 * (durability NONE, initial capacity n), then flush (timed apart).
 * get_batch: the ng ids of `get_ids` in batches of `batch` into `out`
 * (batch x d floats, warm: the very array the Python side passes as out=, so
 * that both write into the same memory, with the same page sizes), twice: the first pass is the
 * process's first read of each vector, which verifies its checksum; the
 * second is warm. search_batch: the nq queries in one call, k = `k`. get: `singles`
 * single calls of the first ids of `get_ids`; search: nq single-query calls,
 * k = 1 (both: per-call overhead). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vecstore.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                           \
  do {                                                                                        \
    vecstore_status st_ = (call);                                                             \
    if (st_ != VECSTORE_OK) {                                                                 \
      fprintf(stderr, "vs_c: %s: %s: %s\n", #call, vecstore_status_str(st_), vecstore_last_error()); \
      return (int)st_;                                                                        \
    }                                                                                         \
  } while (0)

enum { PUT_BATCH, FLUSH, GET_BATCH_FIRST, GET_BATCH, SEARCH_BATCH, GET, SEARCH, N_OPS };

/* Returns 0, or a status (with the message on stderr). */
int vs_c_run(const char *path, const float *data, const uint64_t *ids, size_t n, size_t d,
             const float *queries, size_t nq, const uint64_t *get_ids, size_t ng, size_t batch,
             size_t k, size_t singles, float *out, double seconds[N_OPS]) {
  vecstore_t *s;
  vecstore_options o = vecstore_options_default();
  size_t count;
  double t, total;
  uint8_t *found = malloc(batch);
  uint64_t *res_ids = malloc(nq * k * sizeof(uint64_t));
  float *res_dist = malloc(nq * k * sizeof(float));
  size_t *counts = malloc(nq * sizeof(size_t));

  if (vecstore_version_number() != VECSTORE_VERSION_NUMBER) return -1;
  if (!found || !res_ids || !res_dist || !counts) return -2;
  o.durability = VECSTORE_DURABILITY_NONE;
  o.initial_capacity = n;
  CHECK(vecstore_open(path, d, &o, &s));

  total = 0;
  for (size_t i = 0; i < n; i += batch) {
    size_t c = n - i < batch ? n - i : batch;
    t = now();
    CHECK(vecstore_put_batch(s, ids + i, data + i * d, c, d));
    total += now() - t;
  }
  seconds[PUT_BATCH] = total;
  t = now();
  CHECK(vecstore_flush(s));
  seconds[FLUSH] = now() - t;

  for (int pass = 0; pass < 2; pass++) {
    total = 0;
    for (size_t i = 0; i < ng; i += batch) {
      size_t c = ng - i < batch ? ng - i : batch;
      t = now();
      CHECK(vecstore_get_batch(s, get_ids + i, c, out, d, found));
      total += now() - t;
      for (size_t j = 0; j < c; j++)
        if (!found[j]) return -3;
    }
    seconds[pass == 0 ? GET_BATCH_FIRST : GET_BATCH] = total;
  }

  t = now();
  CHECK(vecstore_search_batch(s, queries, nq, d, k, VECSTORE_METRIC_L2, res_ids, res_dist, counts));
  seconds[SEARCH_BATCH] = now() - t;

  t = now();
  for (size_t i = 0; i < singles; i++) CHECK(vecstore_get(s, get_ids[i % ng], out, d));
  seconds[GET] = now() - t;

  t = now();
  for (size_t i = 0; i < nq; i++) {
    uint64_t one_id;
    float one_dist;
    CHECK(vecstore_search(s, queries + i * d, d, 1, VECSTORE_METRIC_L2, &one_id, &one_dist, &count));
  }
  seconds[SEARCH] = now() - t;
  CHECK(vecstore_close(s));
  free(found);
  free(res_ids);
  free(res_dist);
  free(counts);
  return 0;
}
