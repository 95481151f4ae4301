/* vecstore_copy: an online backup holds exactly the live vectors of the
 * instant of the call, opens as a store of its own, and a refused or failed
 * copy leaves nothing behind. */
#include "test_util.h"

#define DIM 16
#define N 300

/* The first segment file of dir, into path. */
static void first_segment(const char *dir, char *path, size_t n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  CHECK(d != NULL);
  path[0] = '\0';
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "seg-", 4) == 0 &&
        (path[0] == '\0' || strcmp(e->d_name, path + strlen(dir) + 1) < 0))
      snprintf(path, n, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  CHECK(path[0] != '\0');
}

/* Opens the copy at path and checks it holds ids 0..N-1 at version 1 for
 * multiples of 7, version 0 otherwise, except multiples of 5 (deleted). */
static void check_copy(const char *path) {
  vecstore_t *c = vt_open(path, 0, NULL);
  vecstore_stats st = vt_stats(c);
  uint64_t id, expected = 0;
  for (id = 0; id < N; id++) {
    if (id % 5 == 0) {
      CHECK(!vecstore_contains(c, id));
      continue;
    }
    expected++;
    CHECK_STORED(c, id, DIM, id % 7 == 0 ? 1u : 0u);
  }
  CHECK_EQ_U64(vecstore_len(c), expected);
  CHECK_EQ_U64(st.log_bytes, 0);
  CHECK(st.fragmentation == 0.0);
  CHECK_OK(vecstore_close(c));
}

int main(void) {
  const char *dir = vt_tmpdir("copy-src");
  const char *backups = vt_tmpdir("copy-dest");
  char dest[4096], seg[4096];
  vecstore_options ro = vecstore_options_default();
  vecstore_t *s, *r;
  uint64_t ids[N], digest;
  float vs[N * DIM];
  size_t i;

  ro.read_only = true;
  s = vt_open(dir, DIM, NULL);
  for (i = 0; i < N; i++) {
    ids[i] = i;
    vt_fill(vs + i * DIM, DIM, i, 0);
  }
  CHECK_OK(vecstore_put_batch(s, ids, vs, N, DIM));
  for (i = 0; i < N; i += 7) {
    vt_fill(vs, DIM, i, 1);
    CHECK_OK(vecstore_put(s, i, vs, DIM));
  }
  for (i = 0; i < N; i += 5) CHECK_OK(vecstore_delete(s, i));

  /* From the writer, into a directory that does not exist (nor its parent). */
  snprintf(dest, sizeof dest, "%s/a/b", backups);
  CHECK_OK(vecstore_copy(s, dest));
  /* Later writes do not reach the copy. */
  vt_fill(vs, DIM, 1, 9);
  CHECK_OK(vecstore_put(s, 1, vs, DIM));
  check_copy(dest);
  vt_fill(vs, DIM, 1, 0);
  CHECK_OK(vecstore_put(s, 1, vs, DIM));

  /* From a read-only handle beside the writer, into an empty directory. */
  r = vt_open(dir, 0, &ro);
  snprintf(dest, sizeof dest, "%s/empty", backups);
  CHECK(mkdir(dest, 0755) == 0);
  CHECK_OK(vecstore_copy(r, dest));
  check_copy(dest);

  /* Refusals change nothing. */
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_copy(NULL, dest));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_copy(r, NULL));
  digest = vt_dir_digest(backups);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_copy(r, dest)); /* not empty */
  CHECK_LAST_ERROR_MENTIONS("not empty");
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_copy(s, dir)); /* the source */
  snprintf(dest, sizeof dest, "%s/inside", dir);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_copy(s, dest));
  CHECK(!vt_path_exists(dest));
  CHECK(vt_dir_digest(backups) == digest);
  CHECK_OK(vecstore_close(r));
  CHECK_OK(vecstore_close(s));

  /* A vector that fails its checksum fails the copy, which leaves nothing. */
  first_segment(dir, seg, sizeof seg);
  {
    int fd = open(seg, O_RDWR);
    unsigned char b;
    /* Slot 2 holds id 2 (live, never rewritten): a bit of its first float. */
    off_t at = 4096 + 2 * (16 + 4 * DIM) + 16 + 1;
    CHECK(fd >= 0);
    CHECK(pread(fd, &b, 1, at) == 1);
    b ^= 0x01;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    CHECK(close(fd) == 0);
  }
  r = vt_open(dir, 0, &ro);
  snprintf(dest, sizeof dest, "%s/damaged/copy", backups);
  CHECK_STATUS(VECSTORE_CORRUPT, vecstore_copy(r, dest));
  snprintf(dest, sizeof dest, "%s/damaged", backups);
  CHECK(!vt_path_exists(dest));
  CHECK(vt_dir_digest(backups) == digest);
  CHECK_OK(vecstore_close(r));

  VT_PASS("test_copy");
}
