/* Review shim: the first fdatasync of ".../wal.log" sleeps $REVIEW2_SLEEP
 * seconds (default 2), then fails with EIO (a slow disk that then reports a
 * write error). Nothing else changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int done = 0;

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (!done && n > 0) {
        path[n] = 0;
        if (ends_with(path, "/wal.log")) {
            done = 1;
            const char *s = getenv("REVIEW2_SLEEP");
            sleep(s ? atoi(s) : 2);
            errno = EIO;
            return -1;
        }
    }
    return real(fd);
}
