/* Zero-copy guards: the pinned bytes stay valid and unchanged whatever happens
 * to the store meanwhile (put/delete of the same id, compaction, growth,
 * checkpoint, close), holding guards never blocks the holding thread, guards
 * may be released on another thread, and the mapping is read-only. */
#include "test_util.h"

#include <pthread.h>
#include <signal.h>

#define DIM 32

static void check_guard_basics(vecstore_t *s) {
  vecstore_guard_t *g = NULL;
  const float *data = NULL;
  float v[DIM];

  vt_fill(v, DIM, 7, 0);
  CHECK_OK(vecstore_put(s, 7, v, DIM));
  CHECK_OK(vecstore_get_ref(s, 7, &g, &data));
  CHECK(g != NULL && data != NULL);
  CHECK(((uintptr_t)data % sizeof(float)) == 0);
  CHECK(vecstore_guard_data(g) == data);
  CHECK_EQ_U64(vecstore_guard_len(g), DIM);
  CHECK_EQ_U64(vecstore_guard_id(g), 7);
  CHECK(vt_same_bits(data, v, DIM));
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 1);
  vecstore_guard_release(g);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);

  /* out_data may be NULL. */
  g = NULL;
  CHECK_OK(vecstore_get_ref(s, 7, &g, NULL));
  CHECK(g != NULL);
  CHECK(vecstore_guard_data(g) != NULL);
  CHECK(vt_same_bits(vecstore_guard_data(g), v, DIM));
  vecstore_guard_release(g);

  /* Absent id: NOT_FOUND, no guard. */
  g = (vecstore_guard_t *)(uintptr_t)0x42;
  CHECK_STATUS(VECSTORE_NOT_FOUND, vecstore_get_ref(s, 8, &g, &data));
  CHECK(g == (vecstore_guard_t *)(uintptr_t)0x42);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);
}

/* Guards held on this thread across every kind of mutation of the same store. */
static void check_guards_survive_everything(const char *dir) {
  enum { NG = 64, GROW = 20000 };
  vecstore_t *s = vt_open(dir, DIM, NULL);
  vecstore_guard_t *g[NG];
  const float *p[NG];
  float copy[NG][DIM];
  float v[DIM];
  uint64_t id;
  int i;

  for (id = 0; id < NG; id++) {
    vt_fill(v, DIM, id, 0);
    CHECK_OK(vecstore_put(s, id, v, DIM));
  }
  for (i = 0; i < NG; i++) {
    CHECK_OK(vecstore_get_ref(s, (uint64_t)i, &g[i], &p[i]));
    memcpy(copy[i], p[i], sizeof copy[i]);
    CHECK(vt_is_vec(copy[i], DIM, (uint64_t)i, 0));
  }
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, NG);

  /* Replace the first half, delete the second half (same thread, guards held:
     must neither block nor deadlock). */
  for (id = 0; id < NG / 2; id++) {
    vt_fill(v, DIM, id, 1);
    CHECK_OK(vecstore_put(s, id, v, DIM));
  }
  for (id = NG / 2; id < NG; id++) CHECK_OK(vecstore_delete(s, id));
  for (i = 0; i < NG; i++) CHECK_MSG(vt_same_bits(p[i], copy[i], DIM), "guard %d changed after put/delete", i);
  /* New readers see the new state. */
  CHECK_STORED(s, 0, DIM, 1);
  CHECK(!vecstore_contains(s, NG - 1));

  /* Grow the files well past their initial size. */
  {
    uint64_t *ids = (uint64_t *)malloc(1000 * sizeof *ids);
    float *vs = (float *)malloc(1000 * DIM * sizeof *vs);
    uint64_t base;
    CHECK(ids && vs);
    for (base = 1000; base < 1000 + GROW; base += 1000) {
      size_t k;
      for (k = 0; k < 1000; k++) {
        ids[k] = base + k;
        vt_fill(vs + k * DIM, DIM, ids[k], 0);
      }
      CHECK_OK(vecstore_put_batch(s, ids, vs, 1000, DIM));
    }
    free(ids);
    free(vs);
  }
  CHECK_OK(vecstore_reserve(s, 4 * GROW));
  for (i = 0; i < NG; i++) CHECK_MSG(vt_same_bits(p[i], copy[i], DIM), "guard %d changed after growth", i);

  /* Delete most of it and compact: compaction moves live data around. */
  {
    uint64_t reclaimed = 0, deleted = 0, n = 0;
    uint64_t *del = (uint64_t *)malloc(GROW * sizeof *del);
    CHECK(del != NULL);
    for (id = 1000; id < 1000 + GROW; id++)
      if (id % 4 != 0) del[n++] = id;
    CHECK_OK(vecstore_delete_batch(s, del, n, &deleted));
    CHECK_EQ_U64(deleted, n);
    free(del);
    CHECK_OK(vecstore_compact(s, &reclaimed));
    CHECK_OK(vecstore_checkpoint(s));
    CHECK_OK(vecstore_flush(s));
    CHECK_OK(vecstore_compact(s, NULL));
  }
  for (i = 0; i < NG; i++) CHECK_MSG(vt_same_bits(p[i], copy[i], DIM), "guard %d changed after compaction", i);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, NG);
  for (id = 1000; id < 1000 + GROW; id += 4) CHECK_STORED(s, id, DIM, 0);

  /* A new guard taken after the compaction, then the store is closed with
     guards outstanding: they stay valid until released. */
  {
    vecstore_guard_t *late = NULL;
    const float *lp = NULL;
    float lcopy[DIM];
    CHECK_OK(vecstore_get_ref(s, 1004, &late, &lp));
    memcpy(lcopy, lp, sizeof lcopy);
    CHECK(vt_is_vec(lcopy, DIM, 1004, 0));
    CHECK_OK(vecstore_close(s));
    CHECK(vt_same_bits(lp, lcopy, DIM));
    CHECK(vecstore_guard_data(late) == lp);
    CHECK_EQ_U64(vecstore_guard_id(late), 1004);
    CHECK_EQ_U64(vecstore_guard_len(late), DIM);
    vecstore_guard_release(late);
  }
  for (i = 0; i < NG; i++) {
    CHECK_MSG(vt_same_bits(p[i], copy[i], DIM), "guard %d changed after close", i);
    CHECK(vecstore_guard_data(g[i]) == p[i]);
    vecstore_guard_release(g[i]);
  }

  /* The store itself is intact after all that. */
  s = vt_open(dir, 0, NULL);
  for (id = 0; id < NG / 2; id++) CHECK_STORED(s, id, DIM, 1);
  for (id = NG / 2; id < NG; id++) CHECK(!vecstore_contains(s, id));
  CHECK_EQ_U64(vecstore_len(s), NG / 2 + GROW / 4);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);
  CHECK_OK(vecstore_close(s));
}

/* Many guards on the same id. */
static void check_many_guards(vecstore_t *s) {
  enum { M = 1000 };
  static vecstore_guard_t *g[M];
  float v[DIM];
  int i;
  vt_fill(v, DIM, 99, 0);
  CHECK_OK(vecstore_put(s, 99, v, DIM));
  for (i = 0; i < M; i++) CHECK_OK(vecstore_get_ref(s, 99, &g[i], NULL));
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, M);
  CHECK_OK(vecstore_delete(s, 99));
  for (i = 0; i < M; i++) CHECK(vt_same_bits(vecstore_guard_data(g[i]), v, DIM));
  for (i = 0; i < M; i++) vecstore_guard_release(g[i]);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);
}

struct release_arg {
  vecstore_guard_t *g;
  const float *data;
  float expect[DIM];
  int ok;
};

static void *release_elsewhere(void *p) {
  struct release_arg *a = (struct release_arg *)p;
  a->ok = vt_same_bits(vecstore_guard_data(a->g), a->expect, DIM) && vecstore_guard_data(a->g) == a->data &&
          vecstore_guard_len(a->g) == DIM;
  vecstore_guard_release(a->g);
  return NULL;
}

static void check_release_on_other_thread(vecstore_t *s) {
  struct release_arg a;
  pthread_t t;
  vt_fill(a.expect, DIM, 5, 3);
  CHECK_OK(vecstore_put(s, 5, a.expect, DIM));
  CHECK_OK(vecstore_get_ref(s, 5, &a.g, &a.data));
  CHECK_OK(vecstore_delete(s, 5)); /* the other thread still sees the pinned bytes */
  a.ok = 0;
  CHECK(pthread_create(&t, NULL, release_elsewhere, &a) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(a.ok);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);
}

/* "the library maps them without write permission, so a stray write through the
 * pointer faults": a forked child writes through a guard and must die of a
 * signal (SIGSEGV or SIGBUS), without having changed anything. */
static void check_read_only_mapping(vecstore_t *s) {
  vecstore_guard_t *g = NULL;
  const float *data = NULL;
  float v[DIM];
  pid_t pid;
  int rc;
  vt_fill(v, DIM, 11, 0);
  CHECK_OK(vecstore_put(s, 11, v, DIM));
  CHECK_OK(vecstore_get_ref(s, 11, &g, &data));
  fflush(NULL);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    /* Default disposition, so that a sanitizer's SEGV handler does not turn
       the fault into an ordinary exit. */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    ((volatile float *)(uintptr_t)data)[0] = 12345.0f;
    _exit(0); /* the write went through: the mapping is writable */
  }
  rc = vt_wait_child(pid);
  CHECK_MSG(rc == 128 + SIGSEGV || rc == 128 + SIGBUS,
            "a write through a guard pointer should fault; child ended with %d", rc);
  CHECK(vt_same_bits(data, v, DIM));
  vecstore_guard_release(g);
  CHECK_STORED(s, 11, DIM, 0);
}

int main(void) {
  const char *dir = vt_tmpdir("guards");
  vecstore_t *s = vt_open(dir, DIM, NULL);
  check_guard_basics(s);
  check_many_guards(s);
  check_release_on_other_thread(s);
  check_read_only_mapping(s);
  CHECK_OK(vecstore_close(s));
  check_guards_survive_everything(vt_tmpdir("guards-survive"));
  VT_PASS("test_guards");
  return 0;
}
