/* Review shim: posix_fallocate sleeps 3 s, then fails with ENOSPC. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>
int posix_fallocate(int fd, off_t off, off_t len) { (void)fd; (void)off; (void)len; sleep(3); return ENOSPC; }
int posix_fallocate64(int fd, off_t off, off_t len) { (void)fd; (void)off; (void)len; sleep(3); return ENOSPC; }
