/* One writer: a second read-write open of the same directory, in this process
 * or in another one, gets VECSTORE_LOCKED while the first is open; read-only
 * handles, in any process, open beside the writer, in either order, and see
 * its writes; the lock dies with its process. */
#include "test_util.h"

#include <signal.h>

#define DIM 4

/* Child exit codes: 0 = got what was expected. */
enum { CHILD_OK = 0, CHILD_WRONG_STATUS = 10, CHILD_NO_MESSAGE = 11, CHILD_OUT_WRITTEN = 12 };

/* In a forked child: open dir (read-write) and report the status as exit code. */
static int child_open_expect(const char *dir, vecstore_status expect, bool read_only) {
  vecstore_options o = vecstore_options_default();
  vecstore_t *out = (vecstore_t *)(uintptr_t)0x1;
  vecstore_status st;
  o.read_only = read_only;
  st = vecstore_open(dir, DIM, &o, &out);
  if (st != expect) {
    fprintf(stderr, "child: open(%s) gave %s, expected %s: %s\n", dir, vt_status_name(st),
            vt_status_name(expect), vecstore_last_error());
    return CHILD_WRONG_STATUS;
  }
  if (st != VECSTORE_OK) {
    if (vecstore_last_error()[0] == '\0') return CHILD_NO_MESSAGE;
    if (out != (vecstore_t *)(uintptr_t)0x1) return CHILD_OUT_WRITTEN;
  } else {
    float v[DIM] = {1, 2, 3, 4};
    if (!read_only && vecstore_put(out, 77, v, DIM) != VECSTORE_OK) return CHILD_WRONG_STATUS;
    if (vecstore_close(out) != VECSTORE_OK) return CHILD_WRONG_STATUS;
  }
  return CHILD_OK;
}

static int run_child(const char *dir, vecstore_status expect, bool read_only) {
  pid_t pid;
  fflush(NULL);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(child_open_expect(dir, expect, read_only));
  return vt_wait_child(pid);
}

static void check_same_process(const char *dir) {
  vecstore_t *s = vt_open(dir, DIM, NULL);
  vecstore_t *out = (vecstore_t *)(uintptr_t)0x2;
  char dotted[4096];
  float v[DIM] = {1, 1, 1, 1};

  CHECK_OK(vecstore_put(s, 1, v, DIM));
  CHECK_STATUS(VECSTORE_LOCKED, vecstore_open(dir, DIM, NULL, &out));
  CHECK(out == (vecstore_t *)(uintptr_t)0x2);
  CHECK_LAST_ERROR_MENTIONS(dir);
  CHECK_STATUS(VECSTORE_LOCKED, vecstore_open(dir, 0, NULL, &out));
  /* The same directory under another spelling is still the same directory. */
  snprintf(dotted, sizeof dotted, "%s/.", dir);
  CHECK_STATUS(VECSTORE_LOCKED, vecstore_open(dotted, DIM, NULL, &out));
  snprintf(dotted, sizeof dotted, "%s/", dir);
  CHECK_STATUS(VECSTORE_LOCKED, vecstore_open(dotted, DIM, NULL, &out));
  CHECK(out == (vecstore_t *)(uintptr_t)0x2);
  /* The failed opens did not disturb the first handle. */
  {
    float back[DIM];
    CHECK_OK(vecstore_get(s, 1, back, DIM));
    CHECK(vt_same_bits(back, v, DIM));
    CHECK_OK(vecstore_put(s, 2, v, DIM));
  }
  CHECK_OK(vecstore_close(s));
  /* Closed: it can be opened again. */
  s = vt_open(dir, DIM, NULL);
  CHECK_EQ_U64(vecstore_len(s), 2);
  CHECK_OK(vecstore_close(s));
}

static void check_other_process(const char *dir) {
  vecstore_options ro = vecstore_options_default();
  vecstore_t *s = vt_open(dir, DIM, NULL);
  int rc;
  rc = run_child(dir, VECSTORE_LOCKED, false);
  CHECK_MSG(rc == CHILD_OK, "child read-write open while parent holds the store: child rc %d", rc);
  CHECK_OK(vecstore_close(s));
  rc = run_child(dir, VECSTORE_OK, false);
  CHECK_MSG(rc == CHILD_OK, "child open after parent closed: rc %d", rc);
  s = vt_open(dir, DIM, NULL);
  CHECK(vecstore_contains(s, 77)); /* the child's put is there */
  CHECK_OK(vecstore_close(s));

  /* Readers beside the writer: a reader first, then a writer in another
     process, whose put the reader sees without reopening. */
  ro.read_only = true;
  s = vt_open(dir, 0, &ro);
  {
    vecstore_t *w = vt_open(dir, DIM, NULL);
    float v[DIM] = {1, 2, 3, 4};
    CHECK_OK(vecstore_delete(w, 77));
    CHECK_OK(vecstore_close(w));
    CHECK(!vecstore_contains(s, 77));
    (void)v;
  }
  rc = run_child(dir, VECSTORE_OK, false);
  CHECK_MSG(rc == CHILD_OK, "child read-write open while parent has it read-only: rc %d", rc);
  CHECK(vecstore_contains(s, 77)); /* the child's put, seen by the open reader */
  rc = run_child(dir, VECSTORE_OK, true);
  CHECK_MSG(rc == CHILD_OK, "child read-only open beside a reader: rc %d", rc);
  CHECK_OK(vecstore_close(s));
}

/* A process killed while holding the store does not leave it locked. */
static void check_lock_dies_with_process(const char *dir) {
  int pfd[2];
  pid_t pid;
  char c;
  vecstore_t *s;
  CHECK(pipe(pfd) == 0);
  fflush(NULL);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    vecstore_t *cs = NULL;
    close(pfd[0]);
    if (vecstore_open(dir, DIM, NULL, &cs) != VECSTORE_OK) _exit(1);
    if (write(pfd[1], "x", 1) != 1) _exit(2);
    for (;;) pause();
  }
  close(pfd[1]);
  CHECK_MSG(read(pfd[0], &c, 1) == 1, "child failed to open the store%s", "");
  close(pfd[0]);
  {
    vecstore_t *out = NULL;
    CHECK_STATUS(VECSTORE_LOCKED, vecstore_open(dir, DIM, NULL, &out));
  }
  CHECK(kill(pid, SIGKILL) == 0);
  CHECK_EQ_U64(vt_wait_child(pid), 128 + SIGKILL);
  s = vt_open(dir, DIM, NULL);
  CHECK(vecstore_contains(s, 77));
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  const char *dir = vt_tmpdir("lock");
  check_same_process(dir);
  check_other_process(dir);
  check_lock_dies_with_process(dir);
  VT_PASS("test_lock");
  return 0;
}
