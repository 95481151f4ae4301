/* Crash safety (contract guarantees 1-3): a forked child writes (put,
 * put_batch, delete, and flush under NONE) and reports every acknowledged
 * operation through a pipe; the parent SIGKILLs it at a random instant, then
 * also kills a second child in the middle of reopening (recovery), and checks
 * the store:
 *   - it opens;
 *   - FSYNC/FLUSH: every acknowledged put is there bit-identical, every
 *     acknowledged delete is gone;
 *   - NONE: everything acknowledged before the last flush is kept;
 *   - no vector ever shows bytes that no put wrote, no unknown id appears;
 *   - each put_batch is all there or not at all. */
#include "test_util.h"

#include <poll.h>
#include <signal.h>
#include <time.h>

#define DIM 16
#define MAX_IDS 60000
#define BATCH 10

enum { REC_PUT = 1, REC_BATCH = 2, REC_DELETE = 3, REC_FLUSHED = 4, REC_DELETE_INTENT = 5 };
struct rec {
  uint32_t kind;
  uint32_t pad;
  uint64_t a, b;
};

/* What the parent learned from the acknowledgements. */
static unsigned char acked_put[MAX_IDS];     /* 1 = put acknowledged */
static unsigned char acked_del[MAX_IDS];     /* 1 = delete acknowledged */
static unsigned char durable_put[MAX_IDS];   /* acknowledged before the last flush (NONE) */
static unsigned char durable_del[MAX_IDS];
static unsigned char in_batch[MAX_IDS];      /* 1 = written by a put_batch */
static unsigned char maybe_del[MAX_IDS];     /* a delete was started (maybe in flight at the kill) */
static uint64_t max_acked_id;                /* highest id any acknowledged op wrote, +1 */

static void send_rec(int fd, uint32_t kind, uint64_t a, uint64_t b) {
  struct rec r;
  r.kind = kind;
  r.pad = 0;
  r.a = a;
  r.b = b;
  if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
}

/* The child: writes until killed (or until MAX_IDS, then waits). */
static void child_writer(const char *dir, uint32_t mode, int fd, uint64_t seed) {
  vecstore_options o = vecstore_options_default();
  vecstore_t *s = NULL;
  uint64_t next = 0, it, rng = seed;
  static uint64_t singles[MAX_IDS];
  static unsigned char live[MAX_IDS];
  size_t nsingles = 0;
  float v[DIM];
  o.durability = mode;
  o.initial_capacity = 32; /* grow often: growth is a crash window too */
  if (vecstore_open(dir, DIM, &o, &s) != VECSTORE_OK) {
    fprintf(stderr, "child: open failed: %s\n", vecstore_last_error());
    _exit(2);
  }
  for (it = 0; next + BATCH < MAX_IDS; it++) {
    if (it % 5 == 0) {
      uint64_t ids[BATCH];
      float vs[BATCH * DIM];
      int j;
      for (j = 0; j < BATCH; j++) {
        ids[j] = next + (uint64_t)j;
        vt_fill(vs + j * DIM, DIM, ids[j], 0);
      }
      if (vecstore_put_batch(s, ids, vs, BATCH, DIM) != VECSTORE_OK) _exit(4);
      send_rec(fd, REC_BATCH, next, next + BATCH);
      next += BATCH;
    } else {
      vt_fill(v, DIM, next, 0);
      if (vecstore_put(s, next, v, DIM) != VECSTORE_OK) _exit(5);
      send_rec(fd, REC_PUT, next, 0);
      singles[nsingles++] = next;
      live[next] = 1;
      next++;
    }
    if (it % 7 == 3 && nsingles > 0) {
      uint64_t victim = singles[vt_splitmix64(&rng) % nsingles];
      if (live[victim]) {
        send_rec(fd, REC_DELETE_INTENT, victim, 0);
        if (vecstore_delete(s, victim) != VECSTORE_OK) _exit(6);
        live[victim] = 0;
        send_rec(fd, REC_DELETE, victim, 0);
      }
    }
    if (mode == VECSTORE_DURABILITY_NONE && it % 50 == 49) {
      if ((it / 50) % 2 == 0) {
        if (vecstore_flush(s) != VECSTORE_OK) _exit(7);
      } else {
        if (vecstore_checkpoint(s) != VECSTORE_OK) _exit(7);
      }
      send_rec(fd, REC_FLUSHED, 0, 0);
    }
    if (mode != VECSTORE_DURABILITY_NONE && it % 97 == 96) {
      if (vecstore_checkpoint(s) != VECSTORE_OK) _exit(8); /* log trimming is a crash window */
    }
  }
  for (;;) pause();
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void apply(const struct rec *r) {
  uint64_t i;
  switch (r->kind) {
    case REC_PUT:
      CHECK(r->a < MAX_IDS);
      acked_put[r->a] = 1;
      if (r->a + 1 > max_acked_id) max_acked_id = r->a + 1;
      break;
    case REC_BATCH:
      CHECK(r->b <= MAX_IDS);
      for (i = r->a; i < r->b; i++) {
        acked_put[i] = 1;
        in_batch[i] = 1;
      }
      if (r->b > max_acked_id) max_acked_id = r->b;
      break;
    case REC_DELETE:
      CHECK(r->a < MAX_IDS);
      acked_del[r->a] = 1;
      break;
    case REC_DELETE_INTENT:
      CHECK(r->a < MAX_IDS);
      maybe_del[r->a] = 1;
      break;
    case REC_FLUSHED:
      for (i = 0; i < max_acked_id; i++) {
        durable_put[i] |= acked_put[i];
        durable_del[i] |= acked_del[i];
      }
      break;
    default:
      CHECK_MSG(0, "bad record kind %u", r->kind);
  }
}

/* Reads records until the deadline (ms, monotonic), EOF, or (if enough > 0)
 * at least `enough` records. Returns how many. */
static size_t read_recs(int fd, double deadline, bool until_eof, size_t enough) {
  size_t n = 0;
  static unsigned char buf[sizeof(struct rec) * 256];
  static size_t have = 0;
  for (;;) {
    struct pollfd p;
    ssize_t r;
    int timeout = 0;
    if (enough > 0 && n >= enough) break;
    if (!until_eof) {
      double left = deadline - now_ms();
      if (left <= 0) break;
      timeout = (int)left + 1;
    } else {
      timeout = 10000;
    }
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, timeout) <= 0) {
      CHECK_MSG(!until_eof, "timed out draining the child's pipe%s", "");
      continue;
    }
    r = read(fd, buf + have, sizeof buf - have);
    if (r < 0 && errno == EINTR) continue;
    CHECK(r >= 0);
    if (r == 0) break; /* EOF: the child is gone */
    have += (size_t)r;
    while (have >= sizeof(struct rec)) {
      struct rec rec;
      memcpy(&rec, buf, sizeof rec);
      apply(&rec);
      n++;
      memmove(buf, buf + sizeof rec, have - sizeof rec);
      have -= sizeof rec;
    }
  }
  return n;
}

static void verify(const char *dir, uint32_t mode, const char *when) {
  vecstore_t *s = vt_open(dir, 0, NULL);
  vecstore_cursor_t *c = NULL;
  static unsigned char present[MAX_IDS];
  uint64_t id, n_present = 0, i;
  const float *data;
  vecstore_status st;
  bool strict = mode != VECSTORE_DURABILITY_NONE;

  CHECK_EQ_U64(vecstore_dimension(s), DIM);
  memset(present, 0, sizeof present);
  CHECK_OK(vecstore_cursor_open(s, &c));
  while ((st = vecstore_cursor_next(c, &id, &data)) == VECSTORE_OK) {
    /* Only ids the child wrote (at most one batch beyond the last ack). */
    CHECK_MSG(id < max_acked_id + BATCH && id < MAX_IDS, "%s: unknown id %llu appeared", when,
              (unsigned long long)id);
    CHECK_MSG(!present[id], "%s: id %llu seen twice", when, (unsigned long long)id);
    present[id] = 1;
    CHECK_MSG(vt_is_vec(data, DIM, id, 0), "%s: id %llu has bytes no put wrote", when, (unsigned long long)id);
    n_present++;
  }
  CHECK_STATUS(VECSTORE_NOT_FOUND, st);
  vecstore_cursor_close(c);
  CHECK_EQ_U64(vecstore_len(s), n_present);

  for (i = 0; i < max_acked_id + BATCH && i < MAX_IDS; i++) {
    bool must_have = !maybe_del[i] && (strict ? acked_put[i] : durable_put[i]);
    bool must_lack = strict ? acked_del[i] : durable_del[i];
    CHECK_MSG(!must_have || present[i], "%s: acknowledged put of id %llu lost (mode %u)", when,
              (unsigned long long)i, mode);
    CHECK_MSG(!must_lack || !present[i], "%s: acknowledged delete of id %llu undone (mode %u)", when,
              (unsigned long long)i, mode);
    if (present[i]) CHECK_MSG(vecstore_contains(s, i), "%s: contains(%llu) false", when, (unsigned long long)i);
  }
  /* Batches are all or nothing (batch ids are never deleted). */
  {
    /* Walk the id space: each acknowledged batch, plus a possible in-flight
       batch right after the last acknowledged id. */
    uint64_t start = 0;
    while (start < max_acked_id + BATCH && start < MAX_IDS) {
      if (in_batch[start]) {
        uint64_t k, cnt = 0;
        for (k = start; k < start + BATCH; k++) cnt += present[k];
        CHECK_MSG(cnt == 0 || cnt == BATCH, "%s: batch at %llu is partially there (%llu of %d)", when,
                  (unsigned long long)start, (unsigned long long)cnt, BATCH);
        start += BATCH;
      } else {
        start++;
      }
    }
    /* The in-flight op (not acknowledged) may be a batch at max_acked_id. */
    if (max_acked_id + BATCH <= MAX_IDS) {
      uint64_t k, cnt = 0;
      for (k = max_acked_id; k < max_acked_id + BATCH; k++) cnt += present[k];
      CHECK_MSG(cnt == 0 || cnt == BATCH || (cnt == 1 && present[max_acked_id]),
                "%s: unacknowledged batch at %llu is partially there (%llu)", when,
                (unsigned long long)max_acked_id, (unsigned long long)cnt);
    }
  }
  CHECK_OK(vecstore_close(s));
}

static void one_round(uint32_t mode, uint64_t seed) {
  const char *dir = vt_tmpdir("crash");
  int pfd[2];
  pid_t pid;
  double kill_at;
  size_t got;

  memset(acked_put, 0, sizeof acked_put);
  memset(acked_del, 0, sizeof acked_del);
  memset(durable_put, 0, sizeof durable_put);
  memset(durable_del, 0, sizeof durable_del);
  memset(in_batch, 0, sizeof in_batch);
  memset(maybe_del, 0, sizeof maybe_del);
  max_acked_id = 0;

  CHECK(pipe(pfd) == 0);
  fflush(NULL);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(pfd[0]);
    child_writer(dir, mode, pfd[1], seed);
    _exit(0);
  }
  close(pfd[1]);
  /* Let it get going (at least 20 acknowledgements), then kill it at a random
     instant 0..150 ms later. */
  got = read_recs(pfd[0], now_ms() + 10000, false, 20);
  CHECK_MSG(got >= 20, "child made no progress in 10 s (mode %u)", mode);
  {
    uint64_t r = seed * 7919;
    kill_at = now_ms() + (double)(vt_splitmix64(&r) % 150);
  }
  read_recs(pfd[0], kill_at, false, 0);
  CHECK(kill(pid, SIGKILL) == 0);
  read_recs(pfd[0], 0, true, 0); /* everything acknowledged before death */
  close(pfd[0]);
  CHECK_EQ_U64(vt_wait_child(pid), 128 + SIGKILL);

  /* Kill a second process in the middle of reopening (recovery). */
  {
    uint64_t r = seed * 104729;
    struct timespec delay;
    pid_t p2;
    delay.tv_sec = 0;
    delay.tv_nsec = (long)(vt_splitmix64(&r) % 3000) * 1000; /* 0..3 ms */
    fflush(NULL);
    p2 = fork();
    CHECK(p2 >= 0);
    if (p2 == 0) {
      vecstore_t *s = NULL;
      vecstore_open(dir, 0, NULL, &s);
      for (;;) pause();
    }
    nanosleep(&delay, NULL);
    CHECK(kill(p2, SIGKILL) == 0);
    CHECK_EQ_U64(vt_wait_child(p2), 128 + SIGKILL);
  }
  verify(dir, mode, "after kill + killed recovery");
  /* And a clean reopen after a clean recovery agrees. */
  verify(dir, mode, "second reopen");
  printf("mode %u seed %llu: %llu ids acknowledged, verified\n", mode, (unsigned long long)seed,
         (unsigned long long)max_acked_id);
  vt_rmrf(dir);
}

int main(void) {
  static const uint32_t modes[3] = {VECSTORE_DURABILITY_FSYNC, VECSTORE_DURABILITY_FLUSH,
                                    VECSTORE_DURABILITY_NONE};
  int m, round;
  for (m = 0; m < 3; m++)
    for (round = 0; round < 8; round++) one_round(modes[m], (uint64_t)(m * 100 + round + 1));
  VT_PASS("test_crash");
  return 0;
}
