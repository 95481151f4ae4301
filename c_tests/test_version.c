/* Library-level functions: version, status names, last_error, default options. */
#include "test_util.h"

#include <pthread.h>

static void check_version(void) {
  char expect[64];
  snprintf(expect, sizeof expect, "%d.%d.%d", (int)VECSTORE_VERSION_MAJOR,
           (int)VECSTORE_VERSION_MINOR, (int)VECSTORE_VERSION_PATCH);

  CHECK_EQ_U64(VECSTORE_VERSION_NUMBER,
               (uint64_t)VECSTORE_VERSION_MAJOR * 1000000u + (uint64_t)VECSTORE_VERSION_MINOR * 1000u +
                   (uint64_t)VECSTORE_VERSION_PATCH);
  CHECK_EQ_U64(vecstore_version_number(), VECSTORE_VERSION_NUMBER);
  CHECK(vecstore_version() != NULL);
  CHECK_STREQ(vecstore_version(), expect);
  /* The header macros and the library agree with Cargo.toml (passed by CMake). */
  CHECK_STREQ(vecstore_version(), VT_EXPECTED_VERSION);
  /* Static string: same pointer and content on every call. */
  CHECK(vecstore_version() == vecstore_version());
}

static void check_status_str(void) {
  static const struct {
    vecstore_status s;
    const char *name;
  } codes[] = {
      {VECSTORE_OK, "VECSTORE_OK"},
      {VECSTORE_NOT_FOUND, "VECSTORE_NOT_FOUND"},
      {VECSTORE_INVALID_ARGUMENT, "VECSTORE_INVALID_ARGUMENT"},
      {VECSTORE_DIMENSION_MISMATCH, "VECSTORE_DIMENSION_MISMATCH"},
      {VECSTORE_IO, "VECSTORE_IO"},
      {VECSTORE_CORRUPT, "VECSTORE_CORRUPT"},
      {VECSTORE_LOCKED, "VECSTORE_LOCKED"},
      {VECSTORE_READ_ONLY, "VECSTORE_READ_ONLY"},
      {VECSTORE_NO_SPACE, "VECSTORE_NO_SPACE"},
      {VECSTORE_VERSION_MISMATCH, "VECSTORE_VERSION_MISMATCH"},
      {VECSTORE_INTERNAL, "VECSTORE_INTERNAL"},
  };
  static const int values[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99};
  size_t i;
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    /* The enum values are part of the ABI. */
    CHECK_EQ_U64((int)codes[i].s, values[i]);
    CHECK_STREQ(vecstore_status_str(codes[i].s), codes[i].name);
  }
  /* A value outside the enum must still give a (non-NULL) string. */
  {
    const char *u = vecstore_status_str((vecstore_status)42);
    CHECK(u != NULL);
  }
}

static void check_options_default(void) {
  vecstore_options o = vecstore_options_default();
  CHECK_EQ_U64(o.durability, VECSTORE_DURABILITY_FSYNC);
  CHECK(o.read_only == false);
  CHECK(o.create_if_missing == true);
  CHECK_EQ_U64(VECSTORE_DURABILITY_FSYNC, 0);
  CHECK_EQ_U64(VECSTORE_DURABILITY_FLUSH, 1);
  CHECK_EQ_U64(VECSTORE_DURABILITY_NONE, 2);
  CHECK_EQ_U64(VECSTORE_METRIC_L2, 0);
  CHECK_EQ_U64(VECSTORE_METRIC_DOT, 1);
  CHECK_EQ_U64(VECSTORE_METRIC_COSINE, 2);
}

/* last_error is per thread: an error on one thread does not show on another. */
static void *fresh_thread(void *arg) {
  const char *e = vecstore_last_error();
  (void)arg;
  CHECK(e != NULL);
  CHECK_MSG(e[0] == '\0', "a new thread's last_error should be empty, got \"%s\"", e);
  /* Provoke an error here, then check it is visible here. */
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(NULL, 4, NULL, NULL));
  e = vecstore_last_error();
  CHECK(e != NULL && e[0] != '\0');
  return NULL;
}

static void check_last_error(void) {
  const char *e = vecstore_last_error();
  pthread_t t;
  CHECK(e != NULL);
  CHECK_MSG(e[0] == '\0', "last_error before any error should be empty, got \"%s\"", e);

  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(NULL, 4, NULL, NULL));
  e = vecstore_last_error();
  CHECK(e != NULL && strlen(e) > 0);

  /* Another thread: starts clean, and its own error does not touch ours. */
  {
    char mine[1024];
    snprintf(mine, sizeof mine, "%s", vecstore_last_error());
    CHECK(pthread_create(&t, NULL, fresh_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_STREQ(vecstore_last_error(), mine);
  }

  /* Pure functions in between never make it NULL. */
  (void)vecstore_version();
  CHECK(vecstore_last_error() != NULL);
}

int main(void) {
  check_last_error(); /* first: relies on no error having happened yet */
  check_version();
  check_status_str();
  check_options_default();
  VT_PASS("test_version");
  return 0;
}
