/* The C side of bench/python/python_vs_c.py: the same calls on the same data
 * as the Python side, timed the same way. Not meant to be run by hand.
 *
 *   vs_c DIR N D NQ NG BATCH K SINGLES
 *
 * DIR holds data.f32 (N x D), queries.f32 (NQ x D) and get_ids.u64 (NG ids);
 * a warm-up pass (not reported) makes DIR/c-store-warm, the timed one
 * DIR/c-store (neither may exist). Prints one JSON
 * object per line: {"op": ..., "seconds": ...}.
 *
 * put_batch: ids 0..N-1 in batches of BATCH into a new store (durability
 * NONE, initial capacity N), then flush (timed apart). get_batch: the NG ids
 * in batches of BATCH into one reused buffer. search_batch: the NQ queries in
 * one call, k = K. get: SINGLES single calls of the first ids of get_ids;
 * search: NQ single-query calls, k = 1 (both: per-call overhead). */
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

static void *slurp(const char *dir, const char *name, size_t bytes) {
  char path[4096];
  FILE *f;
  void *buf = malloc(bytes ? bytes : 1);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (!f || !buf || fread(buf, 1, bytes, f) != bytes) {
    fprintf(stderr, "vs_c: cannot read %s\n", path);
    exit(2);
  }
  fclose(f);
  return buf;
}

#define CHECK(call)                                                                           \
  do {                                                                                        \
    vecstore_status st_ = (call);                                                             \
    if (st_ != VECSTORE_OK) {                                                                 \
      fprintf(stderr, "vs_c: %s: %s: %s\n", #call, vecstore_status_str(st_), vecstore_last_error()); \
      exit(1);                                                                                \
    }                                                                                         \
  } while (0)

static int quiet;
static void report(const char *op, double seconds) {
  if (!quiet) printf("{\"op\": \"%s\", \"seconds\": %.9f}\n", op, seconds);
}

static size_t n, d, nq, ng, batch, k, singles;
static float *data, *queries, *out, *res_dist;
static uint64_t *get_ids, *ids, *res_ids;
static uint8_t *found;
static size_t *counts;

/* One pass of every call, into a new store at `path`. */
static void run(const char *path) {
  vecstore_t *s;
  vecstore_options o = vecstore_options_default();
  size_t count;
  double t, total;

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
  report("put_batch", total);
  t = now();
  CHECK(vecstore_flush(s));
  report("flush", now() - t);

  total = 0;
  for (size_t i = 0; i < ng; i += batch) {
    size_t c = ng - i < batch ? ng - i : batch;
    t = now();
    CHECK(vecstore_get_batch(s, get_ids + i, c, out, d, found));
    total += now() - t;
    for (size_t j = 0; j < c; j++)
      if (!found[j]) exit(4);
  }
  report("get_batch", total);

  t = now();
  CHECK(vecstore_search_batch(s, queries, nq, d, k, VECSTORE_METRIC_L2, res_ids, res_dist, counts));
  report("search_batch", now() - t);

  t = now();
  for (size_t i = 0; i < singles; i++) CHECK(vecstore_get(s, get_ids[i % ng], out, d));
  report("get", now() - t);

  t = now();
  for (size_t i = 0; i < nq; i++) {
    uint64_t one_id;
    float one_dist;
    CHECK(vecstore_search(s, queries + i * d, d, 1, VECSTORE_METRIC_L2, &one_id, &one_dist, &count));
  }
  report("search", now() - t);
  CHECK(vecstore_close(s));
}

int main(int argc, char **argv) {
  char path[4096];
  if (argc != 9) {
    fprintf(stderr, "usage: vs_c DIR N D NQ NG BATCH K SINGLES\n");
    return 2;
  }
  const char *dir = argv[1];
  n = strtoull(argv[2], NULL, 10), d = strtoull(argv[3], NULL, 10);
  nq = strtoull(argv[4], NULL, 10), ng = strtoull(argv[5], NULL, 10);
  batch = strtoull(argv[6], NULL, 10), k = strtoull(argv[7], NULL, 10);
  singles = strtoull(argv[8], NULL, 10);
  if (vecstore_version_number() != VECSTORE_VERSION_NUMBER) return 3;
  data = slurp(dir, "data.f32", n * d * sizeof(float));
  queries = slurp(dir, "queries.f32", nq * d * sizeof(float));
  get_ids = slurp(dir, "get_ids.u64", ng * sizeof(uint64_t));
  ids = malloc(n * sizeof(uint64_t));
  out = malloc(batch * d * sizeof(float));
  found = malloc(batch);
  res_ids = malloc(nq * k * sizeof(uint64_t));
  res_dist = malloc(nq * k * sizeof(float));
  counts = malloc(nq * sizeof(size_t));
  for (size_t i = 0; i < n; i++) ids[i] = i;

  /* A warm-up pass (not reported), as the Python side has one: thread
   * pools, first page faults of the buffers, code. */
  quiet = 1;
  snprintf(path, sizeof path, "%s/c-store-warm", dir);
  run(path);
  quiet = 0;
  snprintf(path, sizeof path, "%s/c-store", dir);
  run(path);
  return 0;
}
