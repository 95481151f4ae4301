/*
 * faultinject: an LD_PRELOAD shim that fails chosen I/O calls (one, a run of
 * them, or every one from a point on).
 *
 * Built by tests/faults.rs at run time:
 *   cc -shared -fPIC -o <tmp>/libfaultinject.so tests/faultinject/faultinject.c -ldl
 * and loaded only into child processes (LD_PRELOAD in the child's environment).
 *
 * It wraps the libc entry points that Rust std and the engine actually call on
 * glibc (checked with `nm -D` on the test binary: write, pwrite64, fsync,
 * fdatasync, ftruncate64, rename, posix_fallocate) plus their aliases (pwrite,
 * ftruncate, posix_fallocate64), so the engine runs unmodified: no test seams.
 *
 * Configuration (environment, read once at load):
 *   FAULT_OP           write | pwrite | fsync | fdatasync | rename | ftruncate | fallocate
 *                      (pwrite covers pwrite and pwrite64, and so on)
 *   FAULT_NTH          fail the Nth matching call (1-based); 0 or unset = never
 *   FAULT_COUNT        fail this many consecutive matching calls, from the Nth
 *                      on (default 1: only the Nth)
 *   FAULT_STICKY=1     fail every matching call from the Nth on (overrides
 *                      FAULT_COUNT): a disk that stays full, or a device that
 *                      keeps failing, for the rest of the process
 *   FAULT_ERRNO        EIO | ENOSPC | EFBIG | EDQUOT | a number (default EIO)
 *   FAULT_PATH_SUBSTR  a call matches only if the file's path contains this;
 *                      a trailing '$' anchors it at the end of the path (used to
 *                      match a directory itself). Paths come from
 *                      readlink(/proc/self/fd/N); rename matches either name.
 *   FAULT_SHORT=1      instead of failing, do a short write (about half the
 *                      bytes) and return the short count; only write/pwrite.
 *                      The next call proceeds normally (unless FAULT_COUNT or
 *                      FAULT_STICKY make it short too).
 *   FAULT_TRACE        append "op path" for every intercepted call whose path
 *                      contains FAULT_TRACE_SUBSTR (default: every call) to this
 *                      file; used to count the calls a workload makes (a
 *                      rename is one line, with its source name).
 *
 * The test process queries the shim through dlsym(RTLD_DEFAULT, ...):
 *   long faultinject_matches(void)   matching calls so far
 *   int  faultinject_fired(void)     1 once the fault was injected
 *   long faultinject_injected(void)  how many calls were failed (or made short)
 *   void faultinject_stop(void)      from now on inject nothing and trace
 *                                    nothing (a healthy disk again: used by
 *                                    the sweep's phase after close, whose calls
 *                                    are thereby neither counted nor faulted)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum op { OP_NONE, OP_WRITE, OP_PWRITE, OP_FSYNC, OP_FDATASYNC, OP_RENAME, OP_FTRUNCATE, OP_FALLOCATE };
static const char *op_names[] = {"none", "write", "pwrite", "fsync", "fdatasync", "rename", "ftruncate", "fallocate"};

static enum op fault_op = OP_NONE;
static long fault_nth = 0;
static long fault_count = 1;
static int fault_sticky = 0;
static int fault_errno = EIO;
static int fault_short = 0;
static char fault_path[4096];
static int fault_path_anchored = 0;
static char trace_substr[4096];
static int trace_fd = -1;
static long matches = 0;
static int fired = 0;
static long injected = 0;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_posix_fallocate64)(int, off_t, off_t);

static void resolve(void) {
    if (real_write) return;
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_posix_fallocate = dlsym(RTLD_NEXT, "posix_fallocate");
    real_posix_fallocate64 = dlsym(RTLD_NEXT, "posix_fallocate64");
    real_write = dlsym(RTLD_NEXT, "write");
}

static int parse_errno(const char *s) {
    if (!s || !*s) return EIO;
    if (!strcmp(s, "EIO")) return EIO;
    if (!strcmp(s, "ENOSPC")) return ENOSPC;
    if (!strcmp(s, "EFBIG")) return EFBIG;
    if (!strcmp(s, "EDQUOT")) return EDQUOT;
    return atoi(s);
}

__attribute__((constructor)) static void faultinject_init(void) {
    resolve();
    const char *op = getenv("FAULT_OP");
    if (op) {
        for (int i = 1; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
            if (!strcmp(op, op_names[i])) fault_op = (enum op)i;
    }
    const char *nth = getenv("FAULT_NTH");
    if (nth) fault_nth = atol(nth);
    const char *count = getenv("FAULT_COUNT");
    if (count && atol(count) > 0) fault_count = atol(count);
    const char *sticky = getenv("FAULT_STICKY");
    fault_sticky = sticky && !strcmp(sticky, "1");
    fault_errno = parse_errno(getenv("FAULT_ERRNO"));
    const char *sh = getenv("FAULT_SHORT");
    fault_short = sh && !strcmp(sh, "1");
    const char *p = getenv("FAULT_PATH_SUBSTR");
    if (p) {
        snprintf(fault_path, sizeof fault_path, "%s", p);
        size_t n = strlen(fault_path);
        if (n > 0 && fault_path[n - 1] == '$') {
            fault_path[n - 1] = 0;
            fault_path_anchored = 1;
        }
    }
    const char *t = getenv("FAULT_TRACE");
    if (t && *t) {
        trace_fd = open(t, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const char *ts = getenv("FAULT_TRACE_SUBSTR");
        if (ts) snprintf(trace_substr, sizeof trace_substr, "%s", ts);
    }
}

long faultinject_matches(void) { return __atomic_load_n(&matches, __ATOMIC_SEQ_CST); }
int faultinject_fired(void) { return __atomic_load_n(&fired, __ATOMIC_SEQ_CST); }
long faultinject_injected(void) { return __atomic_load_n(&injected, __ATOMIC_SEQ_CST); }
void faultinject_stop(void) {
    fault_op = OP_NONE;
    int fd = trace_fd;
    trace_fd = -1;
    if (fd >= 0) close(fd);
}

static void fd_path(int fd, char *buf, size_t len) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, len - 1);
    buf[n < 0 ? 0 : n] = 0;
}

static int path_matches(const char *path) {
    if (!fault_path[0]) return 1;
    if (fault_path_anchored) {
        size_t n = strlen(path), m = strlen(fault_path);
        return n >= m && !strcmp(path + n - m, fault_path);
    }
    return strstr(path, fault_path) != NULL;
}

static void trace(enum op op, const char *path) {
    if (trace_fd < 0) return;
    if (trace_substr[0] && !strstr(path, trace_substr)) return;
    char line[4200];
    int n = snprintf(line, sizeof line, "%s %s\n", op_names[op], path);
    if (n > 0) real_write(trace_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Decides for one call on `path` (or two, for rename): 0 = run normally,
   1 = inject the fault now. */
static int decide(enum op op, const char *path, const char *path2) {
    trace(op, path); /* rename: traced once, by its source name */
    if (op != fault_op || fault_nth <= 0) return 0;
    if (!path_matches(path) && !(path2 && path_matches(path2))) return 0;
    long n = __atomic_add_fetch(&matches, 1, __ATOMIC_SEQ_CST);
    if (n < fault_nth || (!fault_sticky && n - fault_nth >= fault_count)) return 0;
    __atomic_store_n(&fired, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&injected, 1, __ATOMIC_SEQ_CST);
    char msg[4300];
    int len = snprintf(msg, sizeof msg, "faultinject: %s call %ld on %s%s%s: %s\n", op_names[op], n,
                       path, path2 ? " -> " : "", path2 ? path2 : "",
                       fault_short ? "short write" : strerror(fault_errno));
    if (len > 0) real_write(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
    return 1;
}

static int decide_fd(enum op op, int fd) {
    if (fault_op == OP_NONE && trace_fd < 0) return 0;
    char path[4096];
    fd_path(fd, path, sizeof path);
    return decide(op, path, NULL);
}

static ssize_t do_write(ssize_t (*real)(int, const void *, size_t, off_t), int fd, const void *buf,
                        size_t count, off_t off, int positional, enum op op) {
    resolve();
    if (decide_fd(op, fd)) {
        if (fault_short && count >= 2) {
            size_t half = count / 2;
            return positional ? real(fd, buf, half, off) : real_write(fd, buf, half);
        }
        if (!fault_short) {
            errno = fault_errno;
            return -1;
        }
    }
    return positional ? real(fd, buf, count, off) : real_write(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count) {
    return do_write(NULL, fd, buf, count, 0, 0, OP_WRITE);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
    resolve();
    return do_write(real_pwrite, fd, buf, count, off, 1, OP_PWRITE);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
    resolve();
    return do_write(real_pwrite64, fd, buf, count, off, 1, OP_PWRITE);
}

#define FAIL_INT(op, fd)            \
    do {                            \
        if (decide_fd(op, fd)) {    \
            errno = fault_errno;    \
            return -1;              \
        }                           \
    } while (0)

int fsync(int fd) {
    resolve();
    FAIL_INT(OP_FSYNC, fd);
    return real_fsync(fd);
}

int fdatasync(int fd) {
    resolve();
    FAIL_INT(OP_FDATASYNC, fd);
    return real_fdatasync(fd);
}

int ftruncate(int fd, off_t len) {
    resolve();
    FAIL_INT(OP_FTRUNCATE, fd);
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) {
    resolve();
    FAIL_INT(OP_FTRUNCATE, fd);
    return real_ftruncate64(fd, len);
}

/* posix_fallocate reports errors by return value, not errno. */
int posix_fallocate(int fd, off_t off, off_t len) {
    resolve();
    if (decide_fd(OP_FALLOCATE, fd)) return fault_errno;
    return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off_t off, off_t len) {
    resolve();
    if (decide_fd(OP_FALLOCATE, fd)) return fault_errno;
    return real_posix_fallocate64(fd, off, len);
}

int rename(const char *from, const char *to) {
    resolve();
    if ((fault_op != OP_NONE || trace_fd >= 0) && decide(OP_RENAME, from, to)) {
        errno = fault_errno;
        return -1;
    }
    return real_rename(from, to);
}
