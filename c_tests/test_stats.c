/* vecstore_stats_get: every field is sensible and tracks what the store does. */
#include "test_util.h"

#define DIM 64

static void check_invariants(const vecstore_stats *st, uint64_t vectors, uint64_t guards) {
  CHECK_EQ_U64(st->vectors, vectors);
  CHECK_EQ_U64(st->dimension, DIM);
  CHECK_EQ_U64(st->live_bytes, vectors * DIM * 4);
  CHECK_EQ_U64(st->guards_outstanding, guards);
  CHECK_MSG(st->fragmentation >= 0.0 && st->fragmentation <= 1.0,
            "fragmentation %f outside 0..1", st->fragmentation);
  CHECK_MSG(st->data_bytes >= st->live_bytes, "data_bytes %llu < live_bytes %llu",
            (unsigned long long)st->data_bytes, (unsigned long long)st->live_bytes);
  CHECK_MSG(st->grow_p50_ns <= st->grow_p99_ns, "grow p50 %llu > p99 %llu",
            (unsigned long long)st->grow_p50_ns, (unsigned long long)st->grow_p99_ns);
}

int main(void) {
  enum { N = 2000 };
  const char *dir = vt_tmpdir("stats");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  vecstore_stats st, st2;
  static uint64_t ids[N];
  static float vs[(size_t)N * DIM];
  vecstore_guard_t *g1 = NULL, *g2 = NULL;
  vecstore_cursor_t *c = NULL;
  double frag_after_delete;
  size_t i;

  /* FLUSH: writes reach the log file (log_bytes is meaningful) without fsync cost. */
  o.durability = VECSTORE_DURABILITY_FLUSH;
  o.initial_capacity = 16; /* small, so that the puts below must grow the data file */
  s = vt_open(dir, DIM, &o);

  /* Empty store: no slots in use, so nothing is fragmented. */
  st = vt_stats(s);
  check_invariants(&st, 0, 0);
  CHECK_MSG(st.fragmentation == 0.0, "empty store fragmentation %f", st.fragmentation);

  /* Stats outputs are written only on OK. */
  memset(&st2, 0xCD, sizeof st2);
  {
    vecstore_stats before = st2;
    st2.size = sizeof st2;
    before = st2;
    CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_stats_get(NULL, &st2));
    CHECK(memcmp(&before, &st2, sizeof st2) == 0);
  }

  for (i = 0; i < N; i++) {
    ids[i] = i;
    vt_fill(vs + i * DIM, DIM, i, 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
  st = vt_stats(s);
  check_invariants(&st, N, 0);
  CHECK(st.data_bytes >= (uint64_t)N * DIM * 4);
  /* Nothing dead yet: at most slot overhead counts as fragmentation. */
  CHECK_MSG(st.fragmentation < 0.5, "fragmentation %f with no deletes", st.fragmentation);

  /* The unflushed write-ahead log shrinks at a checkpoint. */
  {
    uint64_t log_before = st.log_bytes;
    CHECK_MSG(log_before > 0, "log_bytes is 0 after %d un-checkpointed writes", N);
    CHECK_OK(vecstore_checkpoint(s));
    st = vt_stats(s);
    CHECK_MSG(st.log_bytes < log_before, "checkpoint did not trim the log (%llu -> %llu)",
              (unsigned long long)log_before, (unsigned long long)st.log_bytes);
    check_invariants(&st, N, 0);
  }

  /* Guards and cursors are counted until released. */
  CHECK_OK(vecstore_get_ref(s, 1, &g1, NULL));
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 1);
  CHECK_OK(vecstore_get_ref(s, 1, &g2, NULL));
  CHECK_OK(vecstore_cursor_open(s, &c));
  st = vt_stats(s);
  check_invariants(&st, N, 3);
  vecstore_guard_release(g1);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 2);
  vecstore_cursor_close(c);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 1);
  vecstore_guard_release(g2);
  CHECK_EQ_U64(vt_stats(s).guards_outstanding, 0);

  /* Delete half: fragmentation goes up to about one half. */
  {
    double frag0 = vt_stats(s).fragmentation;
    uint64_t deleted = 0;
    static uint64_t del[N / 2];
    for (i = 0; i < N / 2; i++) del[i] = 2 * i;
    CHECK_OK(vecstore_delete_batch(s, del, N / 2, &deleted));
    CHECK_EQ_U64(deleted, N / 2);
    st = vt_stats(s);
    check_invariants(&st, N / 2, 0);
    frag_after_delete = st.fragmentation;
    CHECK_MSG(frag_after_delete > frag0 && frag_after_delete >= 0.45,
              "fragmentation %f after deleting half (was %f)", frag_after_delete, frag0);
  }

  /* Compaction reclaims the dead half. */
  {
    uint64_t reclaimed = 0;
    CHECK_OK(vecstore_compact(s, &reclaimed));
    CHECK_MSG(reclaimed > 0, "compact reclaimed %llu bytes after deleting half",
              (unsigned long long)reclaimed);
    st = vt_stats(s);
    check_invariants(&st, N / 2, 0);
    CHECK_MSG(st.fragmentation < frag_after_delete && st.fragmentation < 0.45,
              "fragmentation %f after compaction (was %f)", st.fragmentation, frag_after_delete);
    for (i = 1; i < N; i += 2) CHECK_STORED(s, (uint64_t)i, DIM, 0);
    for (i = 0; i < N; i += 2) CHECK(!vecstore_contains(s, (uint64_t)i));
    /* out_bytes_reclaimed may be NULL; a second compaction has nothing to do. */
    CHECK_OK(vecstore_compact(s, NULL));
    reclaimed = 12345;
    CHECK_OK(vecstore_compact(s, &reclaimed));
    CHECK_EQ_U64(reclaimed, 0);
  }

  /* Growth is counted and timed. */
  {
    uint64_t grows0 = vt_stats(s).capacity_grows;
    uint64_t base;
    for (base = 100000; base < 100000 + 20 * (uint64_t)N; base += N) {
      for (i = 0; i < N; i++) {
        ids[i] = base + i;
        vt_fill(vs + i * DIM, DIM, ids[i], 0);
      }
      CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
    }
    st = vt_stats(s);
    check_invariants(&st, N / 2 + 20 * (uint64_t)N, 0);
    CHECK_MSG(st.capacity_grows > grows0, "40000 puts never grew the data file (grows %llu)",
              (unsigned long long)st.capacity_grows);
    CHECK_MSG(st.grow_p99_ns > 0, "grow_p99_ns is 0 after %llu grows",
              (unsigned long long)st.capacity_grows);
    CHECK(st.data_bytes >= st.live_bytes);
  }
  CHECK_OK(vecstore_close(s));

  /* After reopen the counts are the same. */
  s = vt_open(dir, 0, NULL);
  st = vt_stats(s);
  check_invariants(&st, N / 2 + 20 * (uint64_t)N, 0);
  CHECK_OK(vecstore_close(s));
  VT_PASS("test_stats");
  return 0;
}
