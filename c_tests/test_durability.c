/* Durability modes and maintenance calls: flush, checkpoint, set_durability,
 * reserve, initial_capacity, and that close makes everything durable in every
 * mode. (Crash behaviour is in test_crash.c.) */
#include "test_util.h"

#define DIM 24

static void write_history(vecstore_t *s, uint64_t base) {
  enum { B = 100 };
  uint64_t ids[B];
  float vs[B * DIM];
  float v[DIM];
  uint64_t i;
  for (i = 0; i < 50; i++) {
    vt_fill(v, DIM, base + i, 0);
    CHECK_OK(vecstore_put(s, base + i, v, DIM));
  }
  for (i = 0; i < B; i++) {
    ids[i] = base + 50 + i;
    vt_fill(vs + i * DIM, DIM, ids[i], 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, B, DIM));
  for (i = 0; i < 10; i++) CHECK_OK(vecstore_delete(s, base + i));   /* singles gone */
  for (i = 10; i < 20; i++) {                                          /* replaced */
    vt_fill(v, DIM, base + i, 1);
    CHECK_OK(vecstore_put(s, base + i, v, DIM));
  }
}

static void check_history(vecstore_t *s, uint64_t base) {
  uint64_t i;
  for (i = 0; i < 10; i++) CHECK(!vecstore_contains(s, base + i));
  for (i = 10; i < 20; i++) CHECK_STORED(s, base + i, DIM, 1);
  for (i = 20; i < 150; i++) CHECK_STORED(s, base + i, DIM, 0);
}

static void check_mode(uint32_t mode) {
  const char *dir = vt_tmpdir("durability");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  o.durability = mode;
  s = vt_open(dir, DIM, &o);
  CHECK_OK(vecstore_flush(s));      /* on an empty store */
  CHECK_OK(vecstore_checkpoint(s)); /* likewise */
  write_history(s, 0);
  CHECK_OK(vecstore_flush(s));
  write_history(s, 1000);
  CHECK_OK(vecstore_checkpoint(s));
  write_history(s, 2000);
  /* Switch modes on the fly, in every direction. */
  CHECK_OK(vecstore_set_durability(s, (mode + 1) % 3));
  write_history(s, 3000);
  CHECK_OK(vecstore_set_durability(s, (mode + 2) % 3));
  write_history(s, 4000);
  CHECK_OK(vecstore_set_durability(s, mode));
  write_history(s, 5000); /* not flushed: close must make it durable */
  CHECK_EQ_U64(vecstore_len(s), 6 * 140);
  CHECK_OK(vecstore_close(s));

  s = vt_open(dir, 0, &o);
  CHECK_EQ_U64(vecstore_len(s), 6 * 140);
  check_history(s, 0);
  check_history(s, 1000);
  check_history(s, 2000);
  check_history(s, 3000);
  check_history(s, 4000);
  check_history(s, 5000);
  /* Checkpoint, then reopen again: the persisted index agrees. */
  CHECK_OK(vecstore_checkpoint(s));
  CHECK_OK(vecstore_close(s));
  s = vt_open(dir, DIM, NULL);
  CHECK_EQ_U64(vecstore_len(s), 6 * 140);
  check_history(s, 0);
  check_history(s, 5000);
  CHECK_OK(vecstore_close(s));
}

static void put_range(vecstore_t *s, uint64_t from, uint64_t to) {
  enum { B = 500 };
  static uint64_t ids[B];
  static float vs[B * DIM];
  while (from < to) {
    size_t n = (to - from) < B ? (size_t)(to - from) : B, i;
    for (i = 0; i < n; i++) {
      ids[i] = from + i;
      vt_fill(vs + i * DIM, DIM, ids[i], 0);
    }
    CHECK_OK(vecstore_put_batch(s, ids, vs, n, DIM));
    from += n;
  }
}

static void check_reserve(void) {
  const char *dir = vt_tmpdir("reserve");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  uint64_t grows;
  o.durability = VECSTORE_DURABILITY_NONE;
  o.initial_capacity = 8;
  s = vt_open(dir, DIM, &o);
  CHECK_OK(vecstore_reserve(s, 20000));
  grows = vt_stats(s).capacity_grows;
  put_range(s, 0, 20000);
  CHECK_MSG(vt_stats(s).capacity_grows == grows,
            "putting 20000 vectors after reserve(20000) grew the data file (%llu -> %llu times)",
            (unsigned long long)grows, (unsigned long long)vt_stats(s).capacity_grows);
  /* Reserving less than what is there, or zero, is fine and changes nothing. */
  CHECK_OK(vecstore_reserve(s, 10));
  CHECK_OK(vecstore_reserve(s, 0));
  CHECK_EQ_U64(vecstore_len(s), 20000);
  CHECK_STORED(s, 19999, DIM, 0);
  CHECK_OK(vecstore_close(s));
}

static void check_initial_capacity(void) {
  const char *dir = vt_tmpdir("initcap");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  uint64_t grows;
  o.durability = VECSTORE_DURABILITY_NONE;
  o.initial_capacity = 10000;
  s = vt_open(dir, DIM, &o);
  grows = vt_stats(s).capacity_grows;
  put_range(s, 0, 10000);
  CHECK_MSG(vt_stats(s).capacity_grows == grows,
            "initial_capacity=10000 but 10000 puts grew the data file (%llu -> %llu times)",
            (unsigned long long)grows, (unsigned long long)vt_stats(s).capacity_grows);
  put_range(s, 10000, 30000); /* and beyond it, it grows as needed */
  CHECK_MSG(vt_stats(s).capacity_grows > grows, "30000 puts into room for 10000 never grew%s", "");
  CHECK_EQ_U64(vecstore_len(s), 30000);
  CHECK_OK(vecstore_close(s));
  s = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_len(s), 30000);
  CHECK_STORED(s, 0, DIM, 0);
  CHECK_STORED(s, 29999, DIM, 0);
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  check_mode(VECSTORE_DURABILITY_FSYNC);
  check_mode(VECSTORE_DURABILITY_FLUSH);
  check_mode(VECSTORE_DURABILITY_NONE);
  check_reserve();
  check_initial_capacity();
  VT_PASS("test_durability");
  return 0;
}
