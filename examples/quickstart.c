/*
 * vecstore quickstart: the tour a new user should read first.
 *
 *   quickstart [DIR]
 *
 * Opens (or creates) a store in DIR (default: a fresh directory under /tmp),
 * writes 100,000 random 128-dimensional vectors in batches, reads one back
 * without copying it, deletes a few, closes, reopens, prints statistics and
 * runs a nearest-neighbour search, timing each step.
 *
 * Build: part of the CMake build (target `quickstart`), or by hand:
 *   cc -std=c11 quickstart.c $(pkg-config --cflags --libs vecstore)
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, clock_gettime */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vecstore.h"

#define DIM 128      /* every vector in a store has the same dimension */
#define COUNT 100000 /* vectors to write */
#define BATCH 1000   /* vectors per put_batch call */

/* Every fallible vecstore call returns a vecstore_status. On failure,
 * vecstore_status_str() names the code and vecstore_last_error() explains it
 * (path, id, OS error). Neither string is ever freed by the caller. */
static void check(vecstore_status st, const char *what) {
  if (st != VECSTORE_OK) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vecstore_status_str(st), vecstore_last_error());
    exit(1);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A small, fast PRNG so the example has no dependencies; values in [-1, 1). */
static float random_float(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)((double)(z >> 40) / 8388608.0 - 1.0);
}

int main(int argc, char **argv) {
  char tmp[] = "/tmp/vecstore-quickstart-XXXXXX";
  const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
  vecstore_t *store = NULL;
  uint64_t rng = 42;
  double t0, ms;

  if (dir == NULL) {
    perror("mkdtemp");
    return 1;
  }
  printf("vecstore %s, store in %s\n", vecstore_version(), dir);

  /* A header/library mismatch is easy to detect at run time. */
  if (vecstore_version_number() != VECSTORE_VERSION_NUMBER) {
    fprintf(stderr, "header is for %d, library is %u\n", VECSTORE_VERSION_NUMBER,
            (unsigned)vecstore_version_number());
    return 1;
  }

  /* 1. Open. Options start from the defaults: durability FSYNC (a write is on
   *    stable storage when its call returns), create the directory if missing.
   *    Pre-allocating room for what we are about to write avoids regrowing. */
  vecstore_options opts;
  check(vecstore_options_init(&opts, sizeof opts), "vecstore_options_init");
  opts.initial_capacity = COUNT;
  check(vecstore_open(dir, DIM, &opts, &store), "vecstore_open");

  /* 2. Write in batches. A put_batch is atomic: after a crash either the
   *    whole batch is there or none of it. Vectors are row-major floats. */
  {
    uint64_t *ids = malloc(BATCH * sizeof *ids);
    float *vecs = malloc((size_t)BATCH * DIM * sizeof *vecs);
    if (ids == NULL || vecs == NULL) return 1;
    t0 = now_ms();
    for (uint64_t first = 0; first < COUNT; first += BATCH) {
      for (size_t i = 0; i < BATCH; i++) {
        ids[i] = first + i; /* ids are any uint64_t you like */
        for (size_t j = 0; j < DIM; j++) vecs[i * DIM + j] = random_float(&rng);
      }
      check(vecstore_put_batch(store, ids, vecs, BATCH, DIM), "vecstore_put_batch");
    }
    ms = now_ms() - t0;
    printf("put_batch %d vectors: %.1f ms (%.0fk vec/s)\n", COUNT, ms, COUNT / ms);
    free(ids);
    free(vecs);
  }

  /* 3. Read one back without copying. The guard pins the bytes: the pointer
   *    stays valid and unchanged until the guard is released, even if the
   *    vector is replaced or deleted meanwhile. The memory is read-only. */
  {
    vecstore_guard_t *guard = NULL;
    const float *v = NULL;
    t0 = now_ms();
    check(vecstore_get_ref(store, 1234, &guard, &v), "vecstore_get_ref");
    ms = now_ms() - t0;
    printf("get_ref id %" PRIu64 ": [%.4f, %.4f, %.4f, ...] (%zu floats) in %.3f ms\n",
           vecstore_guard_id(guard), v[0], v[1], v[2], vecstore_guard_len(guard), ms);
    vecstore_guard_release(guard); /* release it with its own function, never free() */
  }

  /* 4. Delete some: every 10th id below 10,000. */
  {
    uint64_t ids[1000];
    uint64_t deleted = 0;
    for (size_t i = 0; i < 1000; i++) ids[i] = i * 10;
    t0 = now_ms();
    check(vecstore_delete_batch(store, ids, 1000, &deleted), "vecstore_delete_batch");
    printf("delete_batch: %" PRIu64 " vectors deleted in %.1f ms\n", deleted, now_ms() - t0);
  }

  /* 5. Close: makes every acknowledged write durable and frees the handle. */
  t0 = now_ms();
  check(vecstore_close(store), "vecstore_close");
  printf("close: %.1f ms\n", now_ms() - t0);

  /* 6. Reopen. Dimension 0 means "whatever the existing store has". */
  t0 = now_ms();
  check(vecstore_open(dir, 0, NULL, &store), "vecstore_open (reopen)");
  printf("reopen: %.1f ms, dimension %zu, %" PRIu64 " vectors\n", now_ms() - t0,
         vecstore_dimension(store), vecstore_len(store));

  {
    vecstore_stats st;
    st.size = sizeof st; /* which fields this program knows */
    check(vecstore_stats_get(store, &st), "vecstore_stats_get");
    printf("stats: vectors=%" PRIu64 " data_bytes=%" PRIu64 " log_bytes=%" PRIu64
           " live_bytes=%" PRIu64 " fragmentation=%.3f capacity_grows=%" PRIu64 "\n",
           st.vectors, st.data_bytes, st.log_bytes, st.live_bytes, st.fragmentation,
           st.capacity_grows);
  }

  /* 7. Exact k-nearest-neighbour search. Distances: smaller is closer. */
  {
    enum { K = 5 };
    float query[DIM];
    uint64_t ids[K];
    float dists[K];
    size_t found = 0;
    for (size_t j = 0; j < DIM; j++) query[j] = random_float(&rng);
    t0 = now_ms();
    check(vecstore_search(store, query, DIM, K, VECSTORE_METRIC_COSINE, ids, dists, &found),
          "vecstore_search");
    ms = now_ms() - t0;
    printf("search (cosine, k=%d) over %" PRIu64 " vectors: %.1f ms\n", K, vecstore_len(store), ms);
    for (size_t i = 0; i < found; i++)
      printf("  #%zu  id %-6" PRIu64 " distance %.4f\n", i + 1, ids[i], dists[i]);
  }

  check(vecstore_close(store), "vecstore_close");
  if (argc <= 1) printf("(the store is left in %s; remove it with rm -r)\n", dir);
  return 0;
}
