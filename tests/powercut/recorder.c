/*
 * recorder: an LD_PRELOAD shim that records every write-side file system
 * call under PCUT_ROOT into a binary trace, for tests/powercut.rs (a power-cut
 * simulator in the manner of ALICE, OSDI 2014, and CrashMonkey, OSDI 2018).
 *
 * Built by tests/powercut.rs at run time:
 *   cc -shared -fPIC -o <tmp>/librecorder.so tests/powercut/recorder.c -ldl
 * and loaded only into child processes.
 *
 * Environment (read once at load; without PCUT_ROOT and PCUT_TRACE the shim
 * only passes calls through):
 *   PCUT_ROOT     directory whose files and subdirectories are recorded
 *   PCUT_TRACE    trace file (outside the root), opened O_APPEND: records of
 *                 successive processes follow each other in order
 *   PCUT_KILL_AT  N > 0: SIGKILL this process instead of performing the Nth
 *                 recorded file operation of this process (marks do not count;
 *                 a call that then fails counts but leaves no record, which
 *                 the engine's calls on tmpfs never do)
 *   PCUT_TEAR=1   if that operation is a write/pwrite spanning a 512-byte
 *                 file-offset boundary, first perform and record a prefix of
 *                 it ending at such a boundary (a kill inside a big pwrite)
 *   PCUT_STRICT=1 for processes that must write nothing under the root
 *                 (read-only handles): also record, as WRITE_ACCESS, every
 *                 open of a file under the root that asks for write access
 *                 (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND) and every
 *                 writable shared mapping of one (CHANGES included); these
 *                 are not file operations (PCUT_KILL_AT does not count them)
 * A kill appends the mark "KILL" (or "KILL torn" after a torn write) first.
 *
 * The real operations are issued as raw system calls, and records are
 * appended with a raw writev, so the shim never calls itself. A record is
 * written only after its call returned successfully, with what the call
 * actually did (a short write records the short part); a global mutex keeps
 * call and record together, so the trace order is the order of effects.
 * Killing from inside the shim keeps the trace exactly equal to what happened
 * to the files, which a SIGKILL from outside could not.
 *
 * Wrapped (the test binary imports, per `nm -D`: open, open64, openat64,
 * write, writev, pwrite64, ftruncate64, posix_fallocate, rename, unlink,
 * unlinkat, mkdir, fsync, fdatasync, mmap64; the other names are aliases or
 * relatives wrapped so that nothing slips by): open open64 openat openat64
 * __open_2 __open64_2 __openat_2 __openat64_2 creat creat64, write writev
 * pwrite pwrite64 pwritev pwritev64, ftruncate ftruncate64 truncate
 * truncate64, fallocate fallocate64 posix_fallocate posix_fallocate64, rename
 * renameat renameat2, unlink unlinkat, mkdir mkdirat, rmdir, fsync fdatasync
 * sync_file_range msync, mmap mmap64.
 *
 * Trace record (little-endian), a 48-byte header then three byte strings:
 *   u32 total_len   u32 kind   u32 pid   u32 flags
 *   u64 ino         i64 off    i64 len   u32 path_len   u32 path2_len
 *   path (relative to the root, no NUL), path2, data (total_len - 48 - both)
 * Kinds: see enum kind below; `flags` is 1 for a directory (FSYNC/FDATASYNC),
 * the fallocate mode (FALLOC), or 1 for O_TRUNC on an existing file (TRUNC).
 *
 * Exported, for the workload (found with dlsym(RTLD_DEFAULT, ...)):
 *   void pcut_mark(const char *text, size_t len)  a MARK record, in order
 *   void pcut_kill_now(void)                      SIGKILL, from here
 *   long pcut_op_count(void)                      file operations recorded
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind {
    K_CREATE = 1,   /* path, ino: a new file (O_CREAT made it) */
    K_MKDIR = 2,    /* path, ino */
    K_RENAME = 3,   /* path -> path2, ino of the source */
    K_UNLINK = 4,   /* path */
    K_RMDIR = 5,    /* path */
    K_WRITE = 6,    /* ino, off, data */
    K_TRUNC = 7,    /* ino, len */
    K_FALLOC = 8,   /* ino, off, len, flags = mode */
    K_FSYNC = 9,    /* ino, path, flags = is directory */
    K_FDATASYNC = 10,
    K_SYNC_RANGE = 11, /* ino, off, len: no durability promise, ignored by the model */
    K_MSYNC = 12,      /* ignored by the model (no writable shared mappings) */
    K_MARK = 13,       /* data = text from the workload */
    K_UNSUPPORTED = 14, /* data = why; the simulator must fail the run */
    K_WRITE_ACCESS = 15 /* PCUT_STRICT only: path, data = what (no effect on files) */
};

#define HEADER 48

static char root[PATH_MAX];
static size_t root_len;
static int trace_fd = -1;
static long kill_at;
static int tear;
static int strict;
static long ops;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void recorder_init(void) {
    const char *r = getenv("PCUT_ROOT");
    const char *t = getenv("PCUT_TRACE");
    if (!r || !*r || !t || !*t) return;
    if (!realpath(r, root)) return;
    root_len = strlen(root);
    const char *k = getenv("PCUT_KILL_AT");
    if (k) kill_at = atol(k);
    const char *te = getenv("PCUT_TEAR");
    tear = te && !strcmp(te, "1");
    const char *st = getenv("PCUT_STRICT");
    strict = st && !strcmp(st, "1");
    trace_fd = (int)syscall(SYS_openat, AT_FDCWD, t, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void emit(uint32_t kind, uint32_t flags, uint64_t ino, int64_t off, int64_t len, const char *p1,
                 const char *p2, const void *data, size_t dlen);

/* Kills this process from inside the shim. A KILL mark first tells the
   parent where and how the process died (the mark is not a file operation). */
static void die_marked(const char *how) {
    if (trace_fd >= 0) emit(K_MARK, 0, 0, 0, 0, NULL, NULL, how, strlen(how));
    syscall(SYS_kill, getpid(), SIGKILL);
    for (;;) pause();
}

static void die(void) { die_marked("KILL"); }

static void die_unmarked(void) {
    syscall(SYS_kill, getpid(), SIGKILL);
    for (;;) pause();
}

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/* Appends one record; the caller holds `lock`. */
static void emit(uint32_t kind, uint32_t flags, uint64_t ino, int64_t off, int64_t len, const char *p1,
                 const char *p2, const void *data, size_t dlen) {
    size_t l1 = p1 ? strlen(p1) : 0, l2 = p2 ? strlen(p2) : 0;
    unsigned char h[HEADER];
    put32(h, (uint32_t)(HEADER + l1 + l2 + dlen));
    put32(h + 4, kind);
    put32(h + 8, (uint32_t)getpid());
    put32(h + 12, flags);
    put64(h + 16, ino);
    put64(h + 24, (uint64_t)off);
    put64(h + 32, (uint64_t)len);
    put32(h + 40, (uint32_t)l1);
    put32(h + 44, (uint32_t)l2);
    struct iovec iov[4] = {{h, HEADER}, {(void *)p1, l1}, {(void *)p2, l2}, {(void *)data, dlen}};
    size_t want = HEADER + l1 + l2 + dlen;
    long n = syscall(SYS_writev, trace_fd, iov, 4);
    if (n != (long)want) {
        static const char msg[] = "recorder: short or failed write to the trace\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
}

/* Whether the N-th recorded operation is the one to kill at (counts it). */
static int kill_now(void) { return ++ops == kill_at && kill_at > 0; }

/* The part of `abs` under the root ("" for the root itself), or NULL. */
static const char *under_root(const char *abs) {
    if (strncmp(abs, root, root_len) != 0) return NULL;
    if (abs[root_len] == 0) return abs + root_len;
    if (abs[root_len] == '/') return abs + root_len + 1;
    return NULL;
}

/* The path of descriptor `fd` (" (deleted)" stripped) relative to the root,
   copied to `rel`; 0 if the descriptor is not a file under the root. */
static int fd_rel(int fd, char *rel, size_t n) {
    if (trace_fd < 0 || fd < 0) return 0;
    char link[64], buf[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, buf, sizeof buf - 1);
    if (len <= 0) return 0;
    buf[len] = 0;
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    if ((size_t)len > dl && !strcmp(buf + len - dl, deleted)) buf[len - dl] = 0;
    const char *r = under_root(buf);
    if (!r) return 0;
    snprintf(rel, n, "%s", r);
    return 1;
}

/* `path` (relative to `dirfd`) made absolute, lexically; then relative to the
   root into `rel`. 0 if not under the root. */
static int path_rel(int dirfd, const char *path, char *rel, size_t n) {
    if (trace_fd < 0 || !path) return 0;
    char abs[PATH_MAX];
    if (path[0] == '/') {
        snprintf(abs, sizeof abs, "%s", path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) return 0;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t len = readlink(link, base, sizeof base - 1);
            if (len <= 0) return 0;
            base[len] = 0;
        }
        snprintf(abs, sizeof abs, "%s/%s", base, path);
    }
    /* Drop "./" components and trailing slashes (no ".." in the engine's paths). */
    size_t l = strlen(abs);
    while (l > 1 && abs[l - 1] == '/') abs[--l] = 0;
    char *dot;
    while ((dot = strstr(abs, "/./"))) memmove(dot, dot + 2, strlen(dot + 2) + 1);
    const char *r = under_root(abs);
    if (!r) return 0;
    snprintf(rel, n, "%s", r);
    return 1;
}

static uint64_t fd_ino(int fd, int *is_dir) {
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    if (is_dir) *is_dir = S_ISDIR(st.st_mode);
    return st.st_ino;
}

/* ---- open family ---------------------------------------------------------- */

/* PCUT_STRICT: records that `rel` was opened or mapped for writing. */
static void write_access(const char *rel, uint64_t ino, const char *what) {
    pthread_mutex_lock(&lock);
    emit(K_WRITE_ACCESS, 0, ino, 0, 0, rel, NULL, what, strlen(what));
    pthread_mutex_unlock(&lock);
}

static int do_open(int dirfd, const char *path, int flags, mode_t mode) {
    char rel[PATH_MAX];
    if (strict && (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND))
        && path_rel(dirfd, path, rel, sizeof rel))
        write_access(rel, 0, "open for writing");
    /* Only an open that may create or truncate changes anything. */
    if (!(flags & (O_CREAT | O_TRUNC)) || !path_rel(dirfd, path, rel, sizeof rel))
        return (int)syscall(SYS_openat, dirfd, path, flags, mode);
    pthread_mutex_lock(&lock);
    struct stat before;
    int existed = fstatat(dirfd, path, &before, 0) == 0;
    int truncates = existed && (flags & O_TRUNC) && before.st_size > 0;
    int records = !existed && (flags & O_CREAT) ? 1 : truncates;
    if (records && kill_now()) die();
    int fd = (int)syscall(SYS_openat, dirfd, path, flags, mode);
    if (fd >= 0 && records) {
        uint64_t ino = fd_ino(fd, NULL);
        if (!existed)
            emit(K_CREATE, 0, ino, 0, 0, rel, NULL, NULL, 0);
        else
            emit(K_TRUNC, 1, ino, 0, 0, rel, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&lock);
    return fd;
}

#define MODE_ARG(flags)                                    \
    mode_t mode = 0;                                       \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {               \
        va_list ap;                                        \
        va_start(ap, flags);                               \
        mode = (mode_t)va_arg(ap, int);                    \
        va_end(ap);                                        \
    }

int open(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(AT_FDCWD, path, flags, mode); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(AT_FDCWD, path, flags, mode); }
int openat(int d, const char *path, int flags, ...) { MODE_ARG(flags); return do_open(d, path, flags, mode); }
int openat64(int d, const char *path, int flags, ...) { MODE_ARG(flags); return do_open(d, path, flags, mode); }
int __open_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __openat_2(int d, const char *path, int flags) { return do_open(d, path, flags, 0); }
int __openat64_2(int d, const char *path, int flags) { return do_open(d, path, flags, 0); }
int creat(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

/* ---- writes --------------------------------------------------------------- */

/* A tear point for a write of `len` bytes at `off`: the end of a prefix that
   ends on a 512-byte file-offset boundary strictly inside the write, or 0. */
static size_t tear_prefix(int64_t off, size_t len) {
    int64_t first = (off / 512 + 1) * 512, end = off + (int64_t)len;
    if (first >= end) return 0;
    int64_t count = (end - 1 - first) / 512 + 1; /* boundaries in (off, end) */
    int64_t pick = (int64_t)(((uint64_t)kill_at * 2654435761u) % (uint64_t)count);
    return (size_t)(first + pick * 512 - off);
}

static ssize_t do_write(int fd, const void *buf, size_t count, int64_t off, int positional) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel))
        return positional ? syscall(SYS_pwrite64, fd, buf, count, off) : syscall(SYS_write, fd, buf, count);
    pthread_mutex_lock(&lock);
    uint64_t ino = fd_ino(fd, NULL);
    if (kill_now()) {
        if (tear) {
            int64_t at = positional ? off : (int64_t)syscall(SYS_lseek, fd, 0, SEEK_CUR);
            int append = !positional && (syscall(SYS_fcntl, fd, F_GETFL) & O_APPEND);
            size_t prefix = append ? 0 : tear_prefix(at, count);
            if (prefix > 0) {
                ssize_t n = positional ? syscall(SYS_pwrite64, fd, buf, prefix, off)
                                       : syscall(SYS_write, fd, buf, prefix);
                if (n > 0) emit(K_WRITE, 0, ino, at, n, rel, NULL, buf, (size_t)n);
                if (n > 0) die_marked("KILL torn");
            }
        }
        die();
    }
    ssize_t n;
    int64_t at = off;
    if (positional) {
        n = syscall(SYS_pwrite64, fd, buf, count, off);
    } else {
        n = syscall(SYS_write, fd, buf, count);
        if (n > 0) at = (int64_t)syscall(SYS_lseek, fd, 0, SEEK_CUR) - n;
    }
    if (n > 0) emit(K_WRITE, 0, ino, at, n, rel, NULL, buf, (size_t)n);
    pthread_mutex_unlock(&lock);
    return n;
}

ssize_t write(int fd, const void *buf, size_t count) { return do_write(fd, buf, count, 0, 0); }
ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) { return do_write(fd, buf, count, off, 1); }
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) { return do_write(fd, buf, count, off, 1); }

/* Vectored writes: recorded as one write of the bytes actually written. */
static ssize_t do_writev(int fd, const struct iovec *iov, int cnt, int64_t off, int positional) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel))
        return positional ? syscall(SYS_pwritev, fd, iov, cnt, off, 0) : syscall(SYS_writev, fd, iov, cnt);
    pthread_mutex_lock(&lock);
    uint64_t ino = fd_ino(fd, NULL);
    if (kill_now()) die();
    ssize_t n = positional ? syscall(SYS_pwritev, fd, iov, cnt, off, 0) : syscall(SYS_writev, fd, iov, cnt);
    if (n > 0) {
        int64_t at = positional ? off : (int64_t)syscall(SYS_lseek, fd, 0, SEEK_CUR) - n;
        char *flat = malloc((size_t)n);
        size_t got = 0;
        for (int i = 0; i < cnt && got < (size_t)n; i++) {
            size_t take = iov[i].iov_len < (size_t)n - got ? iov[i].iov_len : (size_t)n - got;
            memcpy(flat + got, iov[i].iov_base, take);
            got += take;
        }
        emit(K_WRITE, 0, ino, at, n, rel, NULL, flat, (size_t)n);
        free(flat);
    }
    pthread_mutex_unlock(&lock);
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) { return do_writev(fd, iov, cnt, 0, 0); }
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) { return do_writev(fd, iov, cnt, off, 1); }
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) { return do_writev(fd, iov, cnt, off, 1); }

/* ---- size changes --------------------------------------------------------- */

static int do_ftruncate(int fd, int64_t len) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel)) return (int)syscall(SYS_ftruncate, fd, len);
    pthread_mutex_lock(&lock);
    uint64_t ino = fd_ino(fd, NULL);
    if (kill_now()) die();
    int r = (int)syscall(SYS_ftruncate, fd, len);
    if (r == 0) emit(K_TRUNC, 0, ino, 0, len, rel, NULL, NULL, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

int ftruncate(int fd, off_t len) { return do_ftruncate(fd, len); }
int ftruncate64(int fd, off_t len) { return do_ftruncate(fd, len); }

static int do_truncate(const char *path, int64_t len) {
    char rel[PATH_MAX];
    if (!path_rel(AT_FDCWD, path, rel, sizeof rel)) return (int)syscall(SYS_truncate, path, len);
    pthread_mutex_lock(&lock);
    struct stat st;
    uint64_t ino = stat(path, &st) == 0 ? st.st_ino : 0;
    if (kill_now()) die();
    int r = (int)syscall(SYS_truncate, path, len);
    if (r == 0) emit(K_TRUNC, 0, ino, 0, len, rel, NULL, NULL, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

int truncate(const char *path, off_t len) { return do_truncate(path, len); }
int truncate64(const char *path, off_t len) { return do_truncate(path, len); }

/* Returns 0 or -1 with errno, as fallocate(2). */
static int do_fallocate(int fd, int mode, int64_t off, int64_t len) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel)) return (int)syscall(SYS_fallocate, fd, mode, off, len);
    pthread_mutex_lock(&lock);
    uint64_t ino = fd_ino(fd, NULL);
    if (kill_now()) die();
    int r = (int)syscall(SYS_fallocate, fd, mode, off, len);
    if (r == 0) {
        if (mode & ~FALLOC_FL_KEEP_SIZE)
            emit(K_UNSUPPORTED, 0, ino, off, len, rel, NULL, "fallocate mode", 14);
        else
            emit(K_FALLOC, (uint32_t)mode, ino, off, len, rel, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

int fallocate(int fd, int mode, off_t off, off_t len) { return do_fallocate(fd, mode, off, len); }
int fallocate64(int fd, int mode, off_t off, off_t len) { return do_fallocate(fd, mode, off, len); }

/* posix_fallocate reports errors by return value. tmpfs and ext4 support
   fallocate(2), so glibc's slow emulation (writing zeros) is not reproduced. */
int posix_fallocate(int fd, off_t off, off_t len) {
    return do_fallocate(fd, 0, off, len) == 0 ? 0 : errno;
}
int posix_fallocate64(int fd, off_t off, off_t len) {
    return do_fallocate(fd, 0, off, len) == 0 ? 0 : errno;
}

/* ---- directory entries ---------------------------------------------------- */

static int do_rename(int olddir, const char *from, int newdir, const char *to, unsigned flags) {
    char rel1[PATH_MAX], rel2[PATH_MAX];
    int in1 = path_rel(olddir, from, rel1, sizeof rel1), in2 = path_rel(newdir, to, rel2, sizeof rel2);
    if (!in1 && !in2) return (int)syscall(SYS_renameat2, olddir, from, newdir, to, flags);
    pthread_mutex_lock(&lock);
    struct stat st;
    uint64_t ino = fstatat(olddir, from, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
    if (kill_now()) die();
    int r = (int)syscall(SYS_renameat2, olddir, from, newdir, to, flags);
    if (r == 0) {
        if (!in1 || !in2 || (flags & RENAME_EXCHANGE))
            emit(K_UNSUPPORTED, 0, ino, 0, 0, in1 ? rel1 : rel2, NULL, "rename across the root or exchange", 34);
        else
            emit(K_RENAME, 0, ino, 0, 0, rel1, rel2, NULL, 0);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

int rename(const char *from, const char *to) { return do_rename(AT_FDCWD, from, AT_FDCWD, to, 0); }
int renameat(int od, const char *from, int nd, const char *to) { return do_rename(od, from, nd, to, 0); }
int renameat2(int od, const char *from, int nd, const char *to, unsigned flags) {
    return do_rename(od, from, nd, to, flags);
}

static int do_unlink(int dirfd, const char *path, int flags) {
    char rel[PATH_MAX];
    if (!path_rel(dirfd, path, rel, sizeof rel)) return (int)syscall(SYS_unlinkat, dirfd, path, flags);
    pthread_mutex_lock(&lock);
    if (kill_now()) die();
    int r = (int)syscall(SYS_unlinkat, dirfd, path, flags);
    if (r == 0) emit((flags & AT_REMOVEDIR) ? K_RMDIR : K_UNLINK, 0, 0, 0, 0, rel, NULL, NULL, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

int unlink(const char *path) { return do_unlink(AT_FDCWD, path, 0); }
int unlinkat(int d, const char *path, int flags) { return do_unlink(d, path, flags); }
int rmdir(const char *path) { return do_unlink(AT_FDCWD, path, AT_REMOVEDIR); }

static int do_mkdir(int dirfd, const char *path, mode_t mode) {
    char rel[PATH_MAX];
    if (!path_rel(dirfd, path, rel, sizeof rel)) return (int)syscall(SYS_mkdirat, dirfd, path, mode);
    pthread_mutex_lock(&lock);
    if (kill_now()) die();
    int r = (int)syscall(SYS_mkdirat, dirfd, path, mode);
    if (r == 0) {
        struct stat st;
        uint64_t ino = fstatat(dirfd, path, &st, 0) == 0 ? st.st_ino : 0;
        emit(K_MKDIR, 0, ino, 0, 0, rel, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

int mkdir(const char *path, mode_t mode) { return do_mkdir(AT_FDCWD, path, mode); }
int mkdirat(int d, const char *path, mode_t mode) { return do_mkdir(d, path, mode); }

/* ---- syncs ---------------------------------------------------------------- */

static int do_sync(int fd, uint32_t kind, long nr) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel)) return (int)syscall(nr, fd);
    pthread_mutex_lock(&lock);
    int is_dir = 0;
    uint64_t ino = fd_ino(fd, &is_dir);
    if (kill_now()) die();
    int r = (int)syscall(nr, fd);
    if (r == 0) emit(kind, (uint32_t)is_dir, ino, 0, 0, rel, NULL, NULL, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

int fsync(int fd) { return do_sync(fd, K_FSYNC, SYS_fsync); }
int fdatasync(int fd) { return do_sync(fd, K_FDATASYNC, SYS_fdatasync); }

int sync_file_range(int fd, off_t off, off_t len, unsigned flags) {
    char rel[PATH_MAX];
    if (!fd_rel(fd, rel, sizeof rel)) return (int)syscall(SYS_sync_file_range, fd, off, len, flags);
    pthread_mutex_lock(&lock);
    uint64_t ino = fd_ino(fd, NULL);
    if (kill_now()) die();
    int r = (int)syscall(SYS_sync_file_range, fd, off, len, flags);
    if (r == 0) emit(K_SYNC_RANGE, flags, ino, off, len, rel, NULL, NULL, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

int msync(void *addr, size_t len, int flags) {
    int r = (int)syscall(SYS_msync, addr, len, flags);
    if (r == 0 && trace_fd >= 0) {
        pthread_mutex_lock(&lock);
        emit(K_MSYNC, (uint32_t)flags, 0, (int64_t)(uintptr_t)addr, (int64_t)len, NULL, NULL, NULL, 0);
        pthread_mutex_unlock(&lock);
    }
    return r;
}

/* ---- mappings ------------------------------------------------------------- */

/* Whether `rel` names a store's change counter, the one file the engine maps
   writable: its value is never read back by an open, so the model may leave
   it as created (zeros). */
static int is_change_counter(const char *rel) {
    const char *base = strrchr(rel, '/');
    return strcmp(base ? base + 1 : rel, "CHANGES") == 0;
}

/* Stores through a writable shared mapping reach the file without any call
   the shim could see: such a mapping of a file under the root (the change
   counter aside) is reported as UNSUPPORTED, which fails the simulation
   instead of silently missing data. */
static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    char rel[PATH_MAX];
    if (strict && (prot & PROT_WRITE) && (flags & MAP_SHARED) && !(flags & MAP_ANONYMOUS)
        && fd_rel(fd, rel, sizeof rel))
        write_access(rel, fd_ino(fd, NULL), "writable shared mapping");
    if ((prot & PROT_WRITE) && (flags & MAP_SHARED) && !(flags & MAP_ANONYMOUS) && fd_rel(fd, rel, sizeof rel)
        && !is_change_counter(rel)) {
        pthread_mutex_lock(&lock);
        static const char why[] = "writable shared mapping";
        emit(K_UNSUPPORTED, 0, fd_ino(fd, NULL), off, (int64_t)len, rel, NULL, why, sizeof why - 1);
        pthread_mutex_unlock(&lock);
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return do_mmap(addr, len, prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return do_mmap(addr, len, prot, flags, fd, off);
}

/* ---- for the workload ----------------------------------------------------- */

void pcut_mark(const char *text, size_t len) {
    if (trace_fd < 0) return;
    pthread_mutex_lock(&lock);
    emit(K_MARK, 0, 0, 0, 0, NULL, NULL, text, len);
    pthread_mutex_unlock(&lock);
}

/* The workload's own kill: no KILL mark, the workload marks what it wants. */
void pcut_kill_now(void) { die_unmarked(); }

long pcut_op_count(void) { return __atomic_load_n(&ops, __ATOMIC_SEQ_CST); }
