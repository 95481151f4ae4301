/* Guarantee 5: a full disk or the file-size limit fails the write with
 * VECSTORE_NO_SPACE; earlier acknowledged writes stay intact and readable, the
 * failed batch stores nothing, and writes succeed again once space is
 * available. The limit is RLIMIT_FSIZE (SIGXFSZ ignored), lowered to a little
 * above the store's current file sizes and raised again afterwards. */
#include "test_util.h"

#include <signal.h>
#include <sys/resource.h>

#define DIM 64
#define MAX_PUTS 200000

static uint64_t largest_file(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  uint64_t max = 0;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      uint64_t m = largest_file(path);
      if (m > max) max = m;
    } else if ((uint64_t)st.st_size > max) {
      max = (uint64_t)st.st_size;
    }
  }
  closedir(d);
  return max;
}

int main(void) {
  const char *dir = vt_tmpdir("nospace");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s;
  struct rlimit orig, low;
  static uint64_t ids[1000];
  static float vs[1000 * DIM];
  float v[DIM];
  uint64_t acked = 0, i;
  vecstore_status st = VECSTORE_OK;

  o.durability = VECSTORE_DURABILITY_FLUSH;
  o.initial_capacity = 16;
  s = vt_open(dir, DIM, &o);
  for (i = 0; i < 100; i++) {
    vt_fill(v, DIM, i, 0);
    CHECK_OK(vecstore_put(s, i, v, DIM));
  }
  acked = 100;

  CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
  CHECK(getrlimit(RLIMIT_FSIZE, &orig) == 0);
  low = orig;
  low.rlim_cur = (rlim_t)(largest_file(dir) + 256 * 1024);
  CHECK(orig.rlim_cur == RLIM_INFINITY || orig.rlim_cur > low.rlim_cur);
  CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);

  /* Put until the limit bites. */
  for (i = 100; i < MAX_PUTS; i++) {
    vt_fill(v, DIM, i, 0);
    st = vecstore_put(s, i, v, DIM);
    if (st != VECSTORE_OK) break;
    acked++;
  }
  CHECK_MSG(i < MAX_PUTS, "%d puts never hit a %llu-byte file-size limit", MAX_PUTS,
            (unsigned long long)low.rlim_cur);
  CHECK_STATUS(VECSTORE_NO_SPACE, st);
  CHECK(!vecstore_contains(s, i));

  /* A batch fails as a whole. */
  for (i = 0; i < 1000; i++) {
    ids[i] = 1000000 + i;
    vt_fill(vs + i * DIM, DIM, ids[i], 0);
  }
  CHECK_STATUS(VECSTORE_NO_SPACE, vecstore_put_batch(s, ids, vs, 1000, DIM));
  for (i = 0; i < 1000; i++) CHECK(!vecstore_contains(s, ids[i]));

  /* Everything acknowledged is intact and readable. */
  CHECK_EQ_U64(vecstore_len(s), acked);
  for (i = 0; i < acked; i++) CHECK_STORED(s, i, DIM, 0);
  {
    vecstore_guard_t *g = NULL;
    const float *p = NULL;
    CHECK_OK(vecstore_get_ref(s, 5, &g, &p));
    CHECK(vt_is_vec(p, DIM, 5, 0));
    vecstore_guard_release(g);
  }

  /* Space again: writes succeed. */
  CHECK(setrlimit(RLIMIT_FSIZE, &orig) == 0);
  vt_fill(v, DIM, acked, 0);
  CHECK_OK(vecstore_put(s, acked, v, DIM));
  acked++;
  CHECK_OK(vecstore_put_batch(s, ids, vs, 1000, DIM));
  CHECK_OK(vecstore_checkpoint(s));
  CHECK_OK(vecstore_close(s));

  s = vt_open(dir, 0, NULL);
  CHECK_EQ_U64(vecstore_len(s), acked + 1000);
  for (i = 0; i < acked; i++) CHECK_STORED(s, i, DIM, 0);
  for (i = 0; i < 1000; i++) CHECK_STORED(s, ids[i], DIM, 0);
  CHECK_OK(vecstore_close(s));
  VT_PASS("test_nospace");
  return 0;
}
