/* Shared helpers for the vecstore C tests (C11 and C++17).
 *
 * Include this header first in every test file: it selects the POSIX feature
 * level before any system header is seen.
 *
 * Every CHECK_* macro, on failure, prints file:line, the failing expression,
 * the status name (for status checks) and vecstore_last_error(), then exits
 * with status 1. Temporary store directories made with vt_tmpdir() are
 * removed at exit by the process that created them (never by a forked child);
 * set VT_KEEP_TMP=1 to keep them for inspection.
 */
#ifndef VECSTORE_TEST_UTIL_H
#define VECSTORE_TEST_UTIL_H

#if !defined(__cplusplus) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vecstore.h"

/* ---------------------------------------------------------------- failing -- */

#define VT_MAX_TMPDIRS 64
static char *vt_tmpdirs_[VT_MAX_TMPDIRS];
static int vt_ntmpdirs_;
static pid_t vt_owner_pid_;

/* Copy of the thread's last error, taken before any other vecstore call
 * (which would invalidate the pointer). */
static inline void vt_copy_last_error_(char *buf, size_t n) {
  const char *e = vecstore_last_error();
  snprintf(buf, n, "%s", e ? e : "(NULL!)");
}

static inline void vt_die_(void) {
  fflush(stdout);
  fflush(stderr);
  if (vt_owner_pid_ != 0 && getpid() != vt_owner_pid_) _exit(1); /* forked child */
  exit(1);
}

static inline void vt_fail_(const char *file, int line, const char *fmt, ...) {
  char err[1024];
  va_list ap;
  vt_copy_last_error_(err, sizeof err);
  fprintf(stderr, "%s:%d: CHECK FAILED: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n    vecstore_last_error(): \"%s\"\n", err);
  vt_die_();
}

static inline const char *vt_status_name(vecstore_status s) {
  switch (s) {
    case VECSTORE_OK: return "VECSTORE_OK";
    case VECSTORE_NOT_FOUND: return "VECSTORE_NOT_FOUND";
    case VECSTORE_INVALID_ARGUMENT: return "VECSTORE_INVALID_ARGUMENT";
    case VECSTORE_DIMENSION_MISMATCH: return "VECSTORE_DIMENSION_MISMATCH";
    case VECSTORE_IO: return "VECSTORE_IO";
    case VECSTORE_CORRUPT: return "VECSTORE_CORRUPT";
    case VECSTORE_LOCKED: return "VECSTORE_LOCKED";
    case VECSTORE_READ_ONLY: return "VECSTORE_READ_ONLY";
    case VECSTORE_NO_SPACE: return "VECSTORE_NO_SPACE";
    case VECSTORE_VERSION_MISMATCH: return "VECSTORE_VERSION_MISMATCH";
    case VECSTORE_INTERNAL: return "VECSTORE_INTERNAL";
    default: return "(unknown status)";
  }
}

/* Called right after the vecstore call, so the error text is still current. */
static inline void vt_check_status_(const char *file, int line, const char *expr,
                                    vecstore_status expected, vecstore_status got) {
  char err[1024];
  const char *e = vecstore_last_error();
  if (e == NULL) {
    fprintf(stderr, "%s:%d: CHECK FAILED: vecstore_last_error() returned NULL after %s\n", file,
            line, expr);
    vt_die_();
  }
  snprintf(err, sizeof err, "%s", e);
  if (got != expected) {
    fprintf(stderr,
            "%s:%d: CHECK FAILED: %s\n    expected %s (%d), got %s (%d)\n"
            "    vecstore_last_error(): \"%s\"\n",
            file, line, expr, vt_status_name(expected), (int)expected, vt_status_name(got),
            (int)got, err);
    vt_die_();
  }
  if (expected != VECSTORE_OK && err[0] == '\0') {
    fprintf(stderr,
            "%s:%d: CHECK FAILED: %s returned %s as expected, but vecstore_last_error() is empty\n",
            file, line, expr, vt_status_name(got));
    vt_die_();
  }
}

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) vt_fail_(__FILE__, __LINE__, "%s", #cond);           \
  } while (0)

/* CHECK with a printf-style explanation (at least one argument after fmt). */
#define CHECK_MSG(cond, ...)                                          \
  do {                                                                \
    if (!(cond)) vt_fail_(__FILE__, __LINE__, __VA_ARGS__);           \
  } while (0)

#define CHECK_STATUS(expected, expr)                                              \
  do {                                                                            \
    vecstore_status vt_got_ = (expr);                                             \
    vt_check_status_(__FILE__, __LINE__, #expr, (expected), vt_got_);             \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(VECSTORE_OK, expr)

#define CHECK_EQ_U64(a, b)                                                             \
  do {                                                                                 \
    unsigned long long vt_a_ = (unsigned long long)(a), vt_b_ = (unsigned long long)(b); \
    if (vt_a_ != vt_b_)                                                                \
      vt_fail_(__FILE__, __LINE__, "%s == %s (%llu != %llu)", #a, #b, vt_a_, vt_b_);   \
  } while (0)

#define CHECK_STREQ(a, b)                                                                    \
  do {                                                                                       \
    const char *vt_sa_ = (a), *vt_sb_ = (b);                                                 \
    if (vt_sa_ == NULL || vt_sb_ == NULL || strcmp(vt_sa_, vt_sb_) != 0)                     \
      vt_fail_(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b,                    \
               vt_sa_ ? vt_sa_ : "(NULL)", vt_sb_ ? vt_sb_ : "(NULL)");                     \
  } while (0)

/* The current thread's last error mentions `needle` (a path or an id). */
#define CHECK_LAST_ERROR_MENTIONS(needle)                                             \
  do {                                                                                \
    const char *vt_le_ = vecstore_last_error();                                       \
    if (vt_le_ == NULL || strstr(vt_le_, (needle)) == NULL)                           \
      vt_fail_(__FILE__, __LINE__, "vecstore_last_error() should mention \"%s\"", (needle)); \
  } while (0)

/* ------------------------------------------------------------ temp dirs -- */

static inline int vt_rm_cb_(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  if (remove(path) != 0 && errno != ENOENT) perror(path);
  return 0;
}

static inline void vt_rmrf(const char *path) { nftw(path, vt_rm_cb_, 16, FTW_DEPTH | FTW_PHYS); }

static inline void vt_cleanup_tmpdirs_(void) {
  int i;
  if (getpid() != vt_owner_pid_) return;
  for (i = 0; i < vt_ntmpdirs_; i++) {
    if (getenv("VT_KEEP_TMP") == NULL) vt_rmrf(vt_tmpdirs_[i]);
    free(vt_tmpdirs_[i]);
  }
  vt_ntmpdirs_ = 0;
}

/* A fresh empty directory /tmp/vecstore-<tag>-XXXXXX, removed at exit.
 * The returned string lives until exit. */
static inline const char *vt_tmpdir(const char *tag) {
  char buf[256];
  char *dir;
  int len;
  if (vt_owner_pid_ == 0) {
    vt_owner_pid_ = getpid();
    atexit(vt_cleanup_tmpdirs_);
  }
  len = snprintf(buf, sizeof buf, "/tmp/vecstore-%s-XXXXXX", tag);
  CHECK_MSG(len >= 0 && (size_t)len < sizeof buf, "temp dir tag too long: %s", tag);
  if (mkdtemp(buf) == NULL) {
    perror("mkdtemp");
    vt_die_();
  }
  if (vt_ntmpdirs_ >= VT_MAX_TMPDIRS) {
    fprintf(stderr, "test_util: too many temp dirs\n");
    vt_die_();
  }
  dir = (char *)malloc(strlen(buf) + 1);
  CHECK(dir != NULL);
  strcpy(dir, buf);
  vt_tmpdirs_[vt_ntmpdirs_++] = dir;
  return dir;
}

/* A path inside a fresh temp dir that does not exist yet ("<tmp>/<leaf>"). */
static inline const char *vt_tmppath(const char *tag, const char *leaf) {
  const char *dir = vt_tmpdir(tag);
  size_t n = strlen(dir) + strlen(leaf) + 2;
  char *p = (char *)malloc(n);
  CHECK(p != NULL);
  snprintf(p, n, "%s/%s", dir, leaf);
  /* Parked in the list too so it is freed; removing it is harmless. */
  if (vt_ntmpdirs_ < VT_MAX_TMPDIRS) vt_tmpdirs_[vt_ntmpdirs_++] = p;
  return p;
}

static inline bool vt_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ------------------------------------------------------- dir contents --- */

static inline uint64_t vt_fnv_(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

static inline int vt_cmpstr_(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FNV-1a over every file's name, size and bytes under dir (sorted by name,
 * recursing into subdirectories). Changes if any file is added, removed or
 * modified. */
static inline uint64_t vt_dir_digest_(const char *dir, uint64_t h) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char *names[256];
  size_t n = 0, i;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    CHECK(n < 256);
    names[n] = (char *)malloc(strlen(e->d_name) + 1);
    CHECK(names[n] != NULL);
    strcpy(names[n++], e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], vt_cmpstr_);
  for (i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    int len;
    len = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    CHECK_MSG(len >= 0 && (size_t)len < sizeof path, "path too long: %s/%s", dir, names[i]);
    h = vt_fnv_(h, names[i], strlen(names[i]) + 1);
    CHECK(lstat(path, &st) == 0);
    if (S_ISDIR(st.st_mode)) {
      h = vt_dir_digest_(path, h);
    } else if (S_ISREG(st.st_mode)) {
      char buf[65536];
      ssize_t r;
      int fd = open(path, O_RDONLY);
      uint64_t size = (uint64_t)st.st_size;
      CHECK(fd >= 0);
      h = vt_fnv_(h, &size, sizeof size);
      while ((r = read(fd, buf, sizeof buf)) > 0) h = vt_fnv_(h, buf, (size_t)r);
      CHECK(r == 0);
      close(fd);
    }
    free(names[i]);
  }
  return h;
}

static inline uint64_t vt_dir_digest(const char *dir) {
  return vt_dir_digest_(dir, 0xcbf29ce484222325ull);
}

/* ------------------------------------------------------------- vectors --- */

static inline uint64_t vt_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform float in [-1, 1) from a PRNG state. */
static inline float vt_randf(uint64_t *state) {
  return (float)((double)(vt_splitmix64(state) >> 40) / 8388608.0 - 1.0);
}

/* The deterministic test vector for (id, version): finite values in [-1, 1). */
static inline void vt_fill(float *v, size_t dim, uint64_t id, uint64_t version) {
  uint64_t st = id * 0x2545F4914F6CDD1Dull ^ (version + 1) * 0x9E3779B97F4A7C15ull;
  size_t j;
  for (j = 0; j < dim; j++) v[j] = vt_randf(&st);
}

/* Bit-for-bit equality of two float arrays (so -0.0f != 0.0f, NaN payloads count). */
static inline bool vt_same_bits(const float *a, const float *b, size_t dim) {
  return memcmp(a, b, dim * sizeof(float)) == 0;
}

/* Does v hold exactly vt_fill(id, version)? */
static inline bool vt_is_vec(const float *v, size_t dim, uint64_t id, uint64_t version) {
  float tmp[4096];
  if (dim > 4096) return false;
  vt_fill(tmp, dim, id, version);
  return vt_same_bits(v, tmp, dim);
}

/* Reads id back with vecstore_get and checks it equals vt_fill(id, version). */
#define CHECK_STORED(store, id, dim, version)                                              \
  do {                                                                                     \
    float vt_buf_[4096];                                                                   \
    CHECK((dim) <= 4096);                                                                  \
    CHECK_OK(vecstore_get((store), (id), vt_buf_, (dim)));                                 \
    CHECK_MSG(vt_is_vec(vt_buf_, (dim), (id), (version)),                                  \
              "vector %llu is not bit-identical to version %llu", (unsigned long long)(id), \
              (unsigned long long)(version));                                              \
  } while (0)

/* Open (creating) a store, failing the test on error. */
static inline vecstore_t *vt_open_(const char *file, int line, const char *path, size_t dim,
                                   const vecstore_options *opts) {
  vecstore_t *s = NULL;
  vt_check_status_(file, line, "vecstore_open", VECSTORE_OK, vecstore_open(path, dim, opts, &s));
  if (s == NULL) vt_fail_(file, line, "vecstore_open returned OK but a NULL handle");
  return s;
}
#define vt_open(path, dim, opts) vt_open_(__FILE__, __LINE__, (path), (dim), (opts))

static inline vecstore_stats vt_stats_(const char *file, int line, const vecstore_t *s) {
  vecstore_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  vt_check_status_(file, line, "vecstore_stats_get", VECSTORE_OK, vecstore_stats_get(s, &st));
  return st;
}
#define vt_stats(store) vt_stats_(__FILE__, __LINE__, (store))

/* --------------------------------------------------------------- fork ---- */

/* Waits for a child; returns its exit status, or 128+signal if it was killed. */
static inline int vt_wait_child(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) {
      perror("waitpid");
      vt_die_();
    }
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

#define VT_PASS(name)                                         \
  do {                                                        \
    printf("%s: all checks passed\n", (name));                \
    fflush(stdout);                                           \
  } while (0)

#endif /* VECSTORE_TEST_UTIL_H */
