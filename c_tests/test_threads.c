/* One handle hammered from many threads at once: writers (put, put_batch,
 * delete), readers (get, get_batch, guards held for a while and re-checked,
 * search), and a maintenance thread (compact, checkpoint, flush, stats,
 * cursor scans). Every vector read must be one that was written, whole (no
 * torn reads), and pinned bytes must never change. At the end the store must
 * equal the writers' model. Bounded iterations. */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define DIM 16
#define WRITERS 2
#define READERS 3
#define RANGE 256 /* ids per writer */
#define HELD 8    /* guards each reader keeps pinned at a time */

static int iterations = 20000; /* per writer; fewer under valgrind */
static vecstore_t *store;
static atomic_int writers_done;

/* Vector for (id, version): the last component holds the version so a reader
 * can tell which version it got and check the rest bit for bit. */
static void make_vec(float *v, uint64_t id, uint32_t version) {
  vt_fill(v, DIM - 1, id, version);
  v[DIM - 1] = (float)version;
}

static bool valid_vec(const float *v, uint64_t id) {
  float f = v[DIM - 1];
  uint32_t version;
  if (!(f >= 1.0f && f < 16777216.0f) || f != (float)(uint32_t)f) return false;
  version = (uint32_t)f;
  return vt_is_vec(v, DIM - 1, id, version);
}

static uint64_t writer_id(int w, uint64_t k) { return (uint64_t)w << 32 | k; }

struct writer {
  int w;
  uint32_t version[RANGE]; /* last version written, 0 = never */
  bool live[RANGE];
};

static void *writer_main(void *p) {
  struct writer *wr = (struct writer *)p;
  uint64_t rng = 1000 + (uint64_t)wr->w;
  float v[DIM];
  int it;
  for (it = 0; it < iterations; it++) {
    uint64_t r = vt_splitmix64(&rng);
    uint64_t k = r % RANGE;
    uint64_t id = writer_id(wr->w, k);
    switch ((r >> 20) % 8) {
      case 0: { /* delete */
        vecstore_status st = vecstore_delete(store, id);
        if (wr->live[k]) {
          CHECK_OK(st);
        } else {
          CHECK_STATUS(VECSTORE_NOT_FOUND, st);
        }
        wr->live[k] = false;
        break;
      }
      case 1: { /* batch of 8 consecutive ids */
        uint64_t ids[8];
        float vs[8 * DIM];
        int j;
        for (j = 0; j < 8; j++) {
          uint64_t kk = (k + (uint64_t)j) % RANGE;
          ids[j] = writer_id(wr->w, kk);
          make_vec(vs + j * DIM, ids[j], wr->version[kk] + 1);
        }
        CHECK_OK(vecstore_put_batch(store, ids, vs, 8, DIM));
        for (j = 0; j < 8; j++) {
          uint64_t kk = (k + (uint64_t)j) % RANGE;
          wr->version[kk]++;
          wr->live[kk] = true;
        }
        break;
      }
      case 2: { /* delete_batch of 4 */
        uint64_t ids[4], deleted = 0, expect = 0;
        int j;
        for (j = 0; j < 4; j++) {
          uint64_t kk = (k + (uint64_t)j * 3) % RANGE;
          ids[j] = writer_id(wr->w, kk);
          expect += wr->live[kk];
          wr->live[kk] = false;
        }
        CHECK_OK(vecstore_delete_batch(store, ids, 4, &deleted));
        CHECK_EQ_U64(deleted, expect);
        break;
      }
      default: /* put */
        make_vec(v, id, wr->version[k] + 1);
        CHECK_OK(vecstore_put(store, id, v, DIM));
        wr->version[k]++;
        wr->live[k] = true;
        /* Our own write is immediately visible to us. */
        if (it % 16 == 0) {
          float back[DIM];
          CHECK_OK(vecstore_get(store, id, back, DIM));
          CHECK(vt_same_bits(back, v, DIM));
        }
    }
  }
  return NULL;
}

struct held {
  vecstore_guard_t *g;
  const float *data;
  float copy[DIM];
};

static void *reader_main(void *p) {
  int r = (int)(intptr_t)p;
  uint64_t rng = 5000 + (uint64_t)r;
  struct held held[HELD];
  int nheld = 0, i, rounds = 0;
  memset(held, 0, sizeof held);
  while (!atomic_load(&writers_done) || rounds < 200) {
    uint64_t x = vt_splitmix64(&rng);
    uint64_t id = writer_id((int)(x % WRITERS), (x >> 8) % RANGE);
    rounds++;
    switch ((x >> 40) % 4) {
      case 0: { /* pin a vector, keep it for a while */
        vecstore_guard_t *g = NULL;
        const float *data = NULL;
        vecstore_status st = vecstore_get_ref(store, id, &g, &data);
        if (st == VECSTORE_NOT_FOUND) break;
        CHECK_OK(st);
        CHECK_MSG(valid_vec(data, id), "guard for id %llx holds a torn/foreign vector", (unsigned long long)id);
        CHECK(vecstore_guard_id(g) == id);
        if (nheld == HELD) { /* release the oldest, after re-checking it */
          CHECK_MSG(vt_same_bits(held[0].data, held[0].copy, DIM), "pinned bytes changed (reader %d)", r);
          vecstore_guard_release(held[0].g);
          memmove(&held[0], &held[1], sizeof held[0] * (HELD - 1));
          nheld--;
        }
        held[nheld].g = g;
        held[nheld].data = data;
        memcpy(held[nheld].copy, data, sizeof held[nheld].copy);
        nheld++;
        break;
      }
      case 1: { /* copy out */
        float v[DIM];
        vecstore_status st = vecstore_get(store, id, v, DIM);
        if (st == VECSTORE_NOT_FOUND) break;
        CHECK_OK(st);
        CHECK_MSG(valid_vec(v, id), "get of id %llx returned a torn/foreign vector", (unsigned long long)id);
        break;
      }
      case 2: { /* batch copy out */
        uint64_t ids[4];
        float vs[4 * DIM];
        uint8_t found[4];
        int j;
        for (j = 0; j < 4; j++) ids[j] = writer_id(j % WRITERS, (id + (uint64_t)j * 17) % RANGE);
        CHECK_OK(vecstore_get_batch(store, ids, 4, vs, DIM, found));
        for (j = 0; j < 4; j++) {
          CHECK(found[j] <= 1);
          if (found[j]) CHECK_MSG(valid_vec(vs + j * DIM, ids[j]), "get_batch row %d torn", j);
        }
        break;
      }
      default: { /* search: sorted, valid ids */
        float q[DIM];
        uint64_t ids[5];
        float d[5];
        size_t n = 0, j;
        vt_fill(q, DIM, x, 0);
        CHECK_OK(vecstore_search(store, q, DIM, 5, (uint32_t)(x % 3), ids, d, &n));
        CHECK(n <= 5);
        for (j = 1; j < n; j++) CHECK(d[j - 1] <= d[j]);
        for (j = 0; j < n; j++) CHECK((ids[j] >> 32) < WRITERS && (ids[j] & 0xFFFFFFFFu) < RANGE);
      }
    }
    /* Pinned bytes never change, whatever the other threads do. */
    for (i = 0; i < nheld; i++)
      CHECK_MSG(vt_same_bits(held[i].data, held[i].copy, DIM), "pinned bytes changed (reader %d)", r);
  }
  for (i = 0; i < nheld; i++) vecstore_guard_release(held[i].g);
  return NULL;
}

static void *maintenance_main(void *p) {
  int rounds = 0;
  (void)p;
  while (!atomic_load(&writers_done) || rounds < 3) {
    vecstore_cursor_t *c = NULL;
    static unsigned char seen[WRITERS][RANGE];
    uint64_t id;
    const float *data;
    vecstore_status st;
    vecstore_stats stats;
    rounds++;
    switch (rounds % 4) {
      case 0: CHECK_OK(vecstore_compact(store, NULL)); break;
      case 1: CHECK_OK(vecstore_checkpoint(store)); break;
      case 2: CHECK_OK(vecstore_flush(store)); break;
      default: {
        uint64_t reclaimed;
        CHECK_OK(vecstore_compact(store, &reclaimed));
      }
    }
    stats.size = sizeof stats;
    CHECK_OK(vecstore_stats_get(store, &stats));
    CHECK(stats.dimension == DIM);
    CHECK(stats.vectors <= WRITERS * RANGE);
    CHECK(stats.live_bytes == stats.vectors * DIM * 4);
    CHECK(stats.fragmentation >= 0.0 && stats.fragmentation <= 1.0);
    /* Each reader holds up to HELD guards, plus a new one before it releases its oldest. */
    CHECK(stats.guards_outstanding <= READERS * (HELD + 1));
    /* A cursor scan: each id at most once, every vector whole. */
    memset(seen, 0, sizeof seen);
    CHECK_OK(vecstore_cursor_open(store, &c));
    while ((st = vecstore_cursor_next(c, &id, &data)) == VECSTORE_OK) {
      uint64_t w = id >> 32, k = id & 0xFFFFFFFFu;
      CHECK(w < WRITERS && k < RANGE);
      CHECK_MSG(!seen[w][k], "cursor returned id %llx twice", (unsigned long long)id);
      seen[w][k] = 1;
      CHECK_MSG(valid_vec(data, id), "cursor returned a torn vector for id %llx", (unsigned long long)id);
      if (k % 64 == 0) sched_yield(); /* let writers run mid-scan */
    }
    CHECK_STATUS(VECSTORE_NOT_FOUND, st);
    vecstore_cursor_close(c);
    /* Pause between rounds: writers wait for a whole compaction, and a
     * maintenance thread that takes the lock straight back (valgrind runs
     * one thread at a time) can starve them for minutes. */
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  }
  return NULL;
}

int main(void) {
  const char *dir = vt_tmpdir("threads");
  vecstore_options o = vecstore_options_default();
  static struct writer writers[WRITERS];
  pthread_t wt[WRITERS], rt[READERS], mt;
  uint64_t live_total = 0;
  int i;
  uint64_t k;

  if (getenv("VT_UNDER_VALGRIND")) iterations = 200; /* one thread at a time there: minutes */
  o.durability = VECSTORE_DURABILITY_FLUSH; /* crash-safe enough; fsync would dominate */
  o.initial_capacity = 64;                  /* force growth under load */
  store = vt_open(dir, DIM, &o);

  for (i = 0; i < WRITERS; i++) {
    writers[i].w = i;
    CHECK(pthread_create(&wt[i], NULL, writer_main, &writers[i]) == 0);
  }
  for (i = 0; i < READERS; i++) CHECK(pthread_create(&rt[i], NULL, reader_main, (void *)(intptr_t)i) == 0);
  CHECK(pthread_create(&mt, NULL, maintenance_main, NULL) == 0);

  for (i = 0; i < WRITERS; i++) CHECK(pthread_join(wt[i], NULL) == 0);
  atomic_store(&writers_done, 1);
  for (i = 0; i < READERS; i++) CHECK(pthread_join(rt[i], NULL) == 0);
  CHECK(pthread_join(mt, NULL) == 0);

  /* The final state is exactly the writers' model. */
  CHECK_EQ_U64(vt_stats(store).guards_outstanding, 0);
  for (i = 0; i < WRITERS; i++) {
    for (k = 0; k < RANGE; k++) {
      uint64_t id = writer_id(i, k);
      if (writers[i].live[k]) {
        float v[DIM], expect[DIM];
        make_vec(expect, id, writers[i].version[k]);
        CHECK_OK(vecstore_get(store, id, v, DIM));
        CHECK_MSG(vt_same_bits(v, expect, DIM), "id %llx: not the last version written",
                  (unsigned long long)id);
        live_total++;
      } else {
        CHECK_MSG(!vecstore_contains(store, id), "id %llx should be deleted", (unsigned long long)id);
      }
    }
  }
  CHECK_EQ_U64(vecstore_len(store), live_total);
  CHECK_OK(vecstore_close(store));

  /* ... and so is what was persisted. */
  store = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_len(store), live_total);
  for (i = 0; i < WRITERS; i++)
    for (k = 0; k < RANGE; k++)
      if (writers[i].live[k]) {
        float v[DIM], expect[DIM];
        make_vec(expect, writer_id(i, k), writers[i].version[k]);
        CHECK_OK(vecstore_get(store, writer_id(i, k), v, DIM));
        CHECK(vt_same_bits(v, expect, DIM));
      }
  CHECK_OK(vecstore_close(store));
  VT_PASS("test_threads");
  return 0;
}
