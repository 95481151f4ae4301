/* Review shim: the first pread of ".../wal.log" that REVIEW2_SLOW_AT names
 * ("header": at offset 0; "records": at any other offset) first creates the
 * file $REVIEW2_MARK, then sleeps $REVIEW2_SLEEP seconds (default 5): a
 * reader descheduled, or reading a long log, at that point. Nothing else
 * changes. $REVIEW2_SLOW_NTH (default 1) picks the Nth such pread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int done = 0;
static int seen = 0;

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void maybe_pause(int fd, off_t off) {
    const char *mode = getenv("REVIEW2_SLOW_AT");
    if (done || !mode) return;
    int header = !strcmp(mode, "header");
    if (header ? off != 0 : off == 0) return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return;
    path[n] = 0;
    if (!ends_with(path, "/wal.log")) return;
    const char *nth = getenv("REVIEW2_SLOW_NTH");
    if (++seen < (nth ? atoi(nth) : 1)) return;
    done = 1;
    const char *mark = getenv("REVIEW2_MARK");
    if (mark) close(open(mark, O_CREAT | O_WRONLY, 0644));
    const char *s = getenv("REVIEW2_SLEEP");
    sleep(s ? atoi(s) : 5);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pread64");
    maybe_pause(fd, off);
    return real(fd, buf, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pread");
    maybe_pause(fd, off);
    return real(fd, buf, n, off);
}
