/* Review shim: after review_arm(), the next rename to ".../index.vsi" makes
 * the following directory fsync sleep 2 s (a slow disk), and the next pwrite
 * at offset 0 of ".../wal.log" (the log header rewritten by a trim) fail
 * with EIO. Nothing else changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static volatile int state = 0;
void review_arm(void) { state = 1; }
int review_state(void) { return state; }

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}
static int fd_path_ends(int fd, const char *suffix) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return ends_with(path, suffix);
}

int rename(const char *old, const char *new) {
    static int (*real)(const char *, const char *);
    if (!real) real = dlsym(RTLD_NEXT, "rename");
    int r = real(old, new);
    if (r == 0 && state == 1 && ends_with(new, "/index.vsi")) state = 2;
    return r;
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    struct stat st;
    if (state == 2 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        state = 3;
        sleep(2);
    }
    return real(fd);
}
static ssize_t hook(int fd, off_t off) {
    if (state == 3 && off == 0 && fd_path_ends(fd, "/wal.log")) {
        state = 4;
        errno = EIO;
        return -1;
    }
    return 0;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
    if (hook(fd, off) < 0) return -1;
    return real(fd, buf, n, off);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite");
    if (hook(fd, off) < 0) return -1;
    return real(fd, buf, n, off);
}
