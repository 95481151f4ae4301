/* Minimal program against an installed vecstore: open a temp store, put, get,
   close. Exits 0 on success. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vecstore.h>

static int fail(const char *what, vecstore_status st) {
  fprintf(stderr, "%s: %s: %s\n", what, vecstore_status_str(st), vecstore_last_error());
  return 1;
}

int main(void) {
  char dir[] = "/tmp/vecstore-consumer-XXXXXX";
  char cmd[128];
  vecstore_t *store = NULL;
  const float v[4] = {1.0f, -2.0f, 3.5f, 0.25f};
  float back[4] = {0};
  vecstore_status st;
  int rc = 0;

  if (vecstore_version_number() != VECSTORE_VERSION_NUMBER) {
    fprintf(stderr, "header/library version mismatch: %u vs %u\n",
            (unsigned)vecstore_version_number(), (unsigned)VECSTORE_VERSION_NUMBER);
    return 1;
  }
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  if ((st = vecstore_open(dir, 4, NULL, &store)) != VECSTORE_OK) rc = fail("open", st);
  else if ((st = vecstore_put(store, 7, v, 4)) != VECSTORE_OK) rc = fail("put", st);
  else if ((st = vecstore_get(store, 7, back, 4)) != VECSTORE_OK) rc = fail("get", st);
  else if (memcmp(v, back, sizeof v) != 0) {
    fprintf(stderr, "get returned different bytes\n");
    rc = 1;
  }
  if (store != NULL && (st = vecstore_close(store)) != VECSTORE_OK) rc = fail("close", st);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) rc = 1;
  if (rc == 0) printf("consumer: vecstore %s OK\n", vecstore_version());
  return rc;
}
