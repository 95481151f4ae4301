/* Cursors: a consistent snapshot taken at cursor_open. Every live vector is
 * seen exactly once with its snapshot value; writes after open are not seen;
 * NOT_FOUND at the end (and after it). */
#include "test_util.h"

#include <pthread.h>

#define DIM 8
#define N 500
#define ID(i) ((uint64_t)(i) * 1000003u + 17u) /* spread-out ids */
#define EXTRA(i) ((1ull << 40) + (uint64_t)(i)) /* ids added after a snapshot; find_index() rejects them */

static int find_index(uint64_t id) {
  uint64_t i;
  if (id < 17 || (id - 17) % 1000003u != 0) return -1;
  i = (id - 17) / 1000003u;
  return i < N ? (int)i : -1;
}

/* Scans to the end; checks each id seen once, its data = vt_fill(id, version[i]),
 * and that exactly the ids with live[i] are seen. */
static void scan_and_check(vecstore_cursor_t *c, const bool *live, const uint64_t *version) {
  static unsigned char seen[N];
  uint64_t id, count = 0, expect = 0;
  const float *data;
  vecstore_status st;
  int i;
  memset(seen, 0, sizeof seen);
  for (;;) {
    id = 0xDEAD;
    data = NULL;
    st = vecstore_cursor_next(c, &id, &data);
    if (st == VECSTORE_NOT_FOUND) break;
    CHECK_OK(st);
    i = find_index(id);
    CHECK_MSG(i >= 0, "cursor returned an id that was never put: %llu", (unsigned long long)id);
    CHECK_MSG(live[i], "cursor returned id %llu, not live at cursor_open", (unsigned long long)id);
    CHECK_MSG(!seen[i], "cursor returned id %llu twice", (unsigned long long)id);
    seen[i] = 1;
    CHECK(data != NULL);
    CHECK_MSG(vt_is_vec(data, DIM, id, version[i]), "cursor data for id %llu is not its snapshot value",
              (unsigned long long)id);
    count++;
  }
  for (i = 0; i < N; i++) expect += live[i];
  CHECK_EQ_U64(count, expect);
  /* Still at the end. */
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_cursor_next(c, &id, &data));
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_cursor_next(c, &id, &data));
}

static void *close_elsewhere(void *p) {
  vecstore_cursor_close((vecstore_cursor_t *)p);
  return NULL;
}

int main(void) {
  const char *dir = vt_tmpdir("cursor");
  vecstore_t *s = vt_open(dir, DIM, NULL);
  static bool live[N];
  static uint64_t version[N];
  static bool live_now[N];
  static uint64_t version_now[N];
  static uint64_t ids[N];
  static float vs[N * DIM];
  vecstore_cursor_t *c = NULL, *c2 = NULL;
  float v[DIM];
  int i;

  CHECK_OK(vecstore_set_durability(s, VECSTORE_DURABILITY_NONE)); /* speed only */

  /* Empty store. */
  CHECK_OK(vecstore_cursor_open(s, &c));
  CHECK(c != NULL);
  {
    uint64_t id = 5;
    const float *data = (const float *)(uintptr_t)0x10;
    CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_cursor_next(c, &id, &data));
    CHECK_EQ_U64(id, 5); /* outputs written only on OK */
    CHECK(data == (const float *)(uintptr_t)0x10);
  }
  vecstore_cursor_close(c);

  for (i = 0; i < N; i++) {
    ids[i] = ID(i);
    vt_fill(vs + (size_t)i * DIM, DIM, ids[i], 0);
    live[i] = true;
    version[i] = 0;
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
  /* Some history before the snapshot. */
  for (i = 0; i < N; i += 7) {
    CHECK_OK(vecstore_delete(s, ids[i]));
    live[i] = false;
  }
  for (i = 1; i < N; i += 5) {
    if (!live[i]) continue;
    vt_fill(v, DIM, ids[i], 1);
    CHECK_OK(vecstore_put(s, ids[i], v, DIM));
    version[i] = 1;
  }

  /* Snapshot 1: a full scan with no concurrent change. */
  CHECK_OK(vecstore_cursor_open(s, &c));
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 1);
  scan_and_check(c, live, version);
  vecstore_cursor_close(c);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);

  /* Snapshot 2: open, then change everything, then scan. */
  CHECK_OK(vecstore_cursor_open(s, &c));
  memcpy(live_now, live, sizeof live);
  memcpy(version_now, version, sizeof version);
  for (i = 0; i < N; i += 3) {
    if (live_now[i]) {
      CHECK_OK(vecstore_delete(s, ids[i]));
      live_now[i] = false;
    } else {
      vt_fill(v, DIM, ids[i], 2);
      CHECK_OK(vecstore_put(s, ids[i], v, DIM));
      live_now[i] = true;
      version_now[i] = 2;
    }
  }
  for (i = 1; i < N; i += 3) {
    if (!live_now[i]) continue;
    vt_fill(v, DIM, ids[i], 3);
    CHECK_OK(vecstore_put(s, ids[i], v, DIM));
    version_now[i] = 3;
  }
  /* New ids beyond the snapshot's (find_index() rejects them if returned). */
  for (i = 0; i < 50; i++) {
    vt_fill(v, DIM, EXTRA(i), 0);
    CHECK_OK(vecstore_put(s, EXTRA(i), v, DIM));
  }
  /* A second cursor now sees the new state; compaction while both are open. */
  CHECK_OK(vecstore_cursor_open(s, &c2));
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 2);
  CHECK_OK(vecstore_compact(s, NULL));
  CHECK_OK(vecstore_checkpoint(s));
  scan_and_check(c, live, version);
  for (i = 0; i < 50; i++) CHECK_OK(vecstore_delete(s, EXTRA(i)));
  {
    /* c2 contains the 50 extra ids too: count them apart. */
    uint64_t id, extra = 0, regular = 0, expect = 0;
    const float *data;
    vecstore_status st;
    while ((st = vecstore_cursor_next(c2, &id, &data)) == VECSTORE_OK) {
      int k = find_index(id);
      if (k < 0) {
        CHECK_MSG(id >= EXTRA(0) && id < EXTRA(50), "unexpected id %llu", (unsigned long long)id);
        CHECK(vt_is_vec(data, DIM, id, 0));
        extra++;
      } else {
        CHECK_MSG(live_now[k], "second cursor returned id %llu, deleted before it was opened",
                  (unsigned long long)id);
        if (!vt_is_vec(data, DIM, id, version_now[k])) {
          uint64_t ver;
          for (ver = 0; ver < 4; ver++)
            if (vt_is_vec(data, DIM, id, ver)) break;
          CHECK_MSG(0, "second cursor: id %llu (index %d) has version %llu (4 = none), expected %llu",
                    (unsigned long long)id, k, (unsigned long long)ver, (unsigned long long)version_now[k]);
        }
        regular++;
      }
    }
    CHECK_STATUS(VECSTORE_NOT_FOUND, st);
    for (i = 0; i < N; i++) expect += live_now[i];
    CHECK_EQ_U64(extra, 50);
    CHECK_EQ_U64(regular, expect);
  }
  vecstore_cursor_close(c);

  /* A cursor outlives its store and can be closed on another thread. */
  {
    pthread_t t;
    uint64_t id;
    const float *data;
    CHECK_OK(vecstore_cursor_open(s, &c));
    CHECK_OK(vecstore_close(s));
    vecstore_cursor_close(c2);
    scan_and_check(c, live_now, version_now);
    CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_cursor_next(c, &id, &data));
    CHECK(pthread_create(&t, NULL, close_elsewhere, c) == 0);
    CHECK(pthread_join(t, NULL) == 0);
  }

  /* Reopened: the cursor sees the persisted state. */
  s = vt_open(dir, 0, NULL);
  CHECK_OK(vecstore_cursor_open(s, &c));
  scan_and_check(c, live_now, version_now);
  vecstore_cursor_close(c);
  CHECK_OK(vecstore_close(s));
  VT_PASS("test_cursor");
  return 0;
}
