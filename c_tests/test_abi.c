/* The ABI can grow: vecstore_options and vecstore_stats carry their size, so a
 * program compiled against an older layout (fewer fields) or a newer one (more
 * fields) works with this library.
 *
 * The "older" and "newer" layouts are declared here as such programs would
 * have them in their copy of the header: fields are only ever appended, in
 * groups that end on an 8-byte boundary, so every older layout is a prefix
 * whose sizeof ends where a newer field starts. */
#include "test_util.h"

#define DIM 8

/* vecstore_options as compiled before `initial_capacity` existed. */
typedef struct older_options {
  size_t size;
  vecstore_durability durability;
  bool read_only;
  bool create_if_missing;
} older_options;

/* vecstore_options as compiled against a later header with one more field. */
typedef struct newer_options {
  vecstore_options known;
  uint64_t added_later;
} newer_options;

/* vecstore_stats as compiled when it held only the first three fields, and a
 * canary right after it in memory. */
typedef struct older_stats {
  size_t size;
  uint64_t vectors;
  size_t dimension;
} older_stats;

typedef struct newer_stats {
  vecstore_stats known;
  uint64_t added_later;
} newer_stats;

static void older_options_get_defaults_for_the_rest(void) {
  const char *dir = vt_tmpdir("abi_older_options");
  older_options o;
  vecstore_t *s = NULL;
  vecstore_stats st;
  memset(&o, 0xEE, sizeof o);
  CHECK_OK(vecstore_options_init((vecstore_options *)&o, sizeof o));
  CHECK_EQ_U64(o.size, sizeof o);
  CHECK(o.durability == VECSTORE_DURABILITY_FSYNC && !o.read_only && o.create_if_missing);
  o.durability = VECSTORE_DURABILITY_FLUSH;
  CHECK_OK(vecstore_open(dir, DIM, (const vecstore_options *)&o, &s));
  st = vt_stats(s);
  CHECK_EQ_U64(st.dimension, DIM);
  CHECK_OK(vecstore_close(s));

  /* A field it does know is honoured: create_if_missing false. */
  o.create_if_missing = false;
  CHECK_STATUS(VECSTORE_NOT_FOUND,
               vecstore_open(vt_tmpdir("abi_older_absent"), DIM, (const vecstore_options *)&o, &s));
}

static void newer_options_are_refused_only_when_they_set_unknown_fields(void) {
  const char *dir = vt_tmpdir("abi_newer_options");
  newer_options o;
  vecstore_t *s = NULL;
  memset(&o, 0xEE, sizeof o);
  /* Init fills the program's whole layout: the field it does not know is
     zeroed, i.e. unset. */
  CHECK_OK(vecstore_options_init(&o.known, sizeof o));
  CHECK_EQ_U64(o.known.size, sizeof o);
  CHECK(o.added_later == 0);
  CHECK_OK(vecstore_open(dir, DIM, &o.known, &s));
  CHECK_OK(vecstore_close(s));

  o.added_later = 1; /* an option this library cannot honour */
  s = NULL;
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(dir, DIM, &o.known, &s));
  CHECK(s == NULL);
  CHECK(strstr(vecstore_last_error(), "unknown to this library") != NULL);
}

static void options_without_a_size_are_refused(void) {
  const char *dir = vt_tmpdir("abi_no_size");
  vecstore_options o = vecstore_options_default();
  vecstore_t *s = NULL;
  CHECK_EQ_U64(o.size, sizeof o);
  o.size = 0;
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(dir, DIM, &o, &s));
  CHECK(strstr(vecstore_last_error(), "opts->size is 0") != NULL);
  o.size = (size_t)1 << 40; /* never set: stack garbage */
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(dir, DIM, &o, &s));
  CHECK(s == NULL);
  /* A size that ends inside a field is refused, not half read. */
  o = vecstore_options_default();
  o.size = offsetof(vecstore_options, durability) + 2;
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_open(dir, DIM, &o, &s));
  CHECK(strstr(vecstore_last_error(), "ends inside the field") != NULL);
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_options_init(&o, 3));
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_options_init(NULL, sizeof o));
}

static void stats_write_only_what_the_caller_has_room_for(void) {
  const char *dir = vt_tmpdir("abi_stats");
  vecstore_t *s = vt_open(dir, DIM, NULL);
  float v[DIM];
  struct {
    older_stats st;
    unsigned char canary[64];
  } older;
  newer_stats newer;
  vecstore_stats st;
  size_t i;

  vt_fill(v, DIM, 1, 0);
  CHECK_OK(vecstore_put(s, 7, v, DIM));

  memset(&older, 0xAB, sizeof older);
  older.st.size = sizeof older.st;
  CHECK_OK(vecstore_stats_get(s, (vecstore_stats *)&older.st));
  CHECK_EQ_U64(older.st.size, sizeof older.st);
  CHECK_EQ_U64(older.st.vectors, 1);
  CHECK_EQ_U64(older.st.dimension, DIM);
  for (i = 0; i < sizeof older.canary; i++) CHECK(older.canary[i] == 0xAB);

  memset(&newer, 0xAB, sizeof newer);
  newer.known.size = sizeof newer;
  CHECK_OK(vecstore_stats_get(s, &newer.known));
  CHECK_EQ_U64(newer.known.size, sizeof(vecstore_stats)); /* what it wrote */
  CHECK_EQ_U64(newer.known.vectors, 1);
  CHECK(newer.added_later == 0xABABABABABABABABull);      /* left alone */

  /* A size that ends inside a field: the size out is the end of the last
     whole field written. */
  memset(&newer, 0xAB, sizeof newer);
  newer.known.size = offsetof(vecstore_stats, dimension) + 3;
  CHECK_OK(vecstore_stats_get(s, &newer.known));
  CHECK_EQ_U64(newer.known.size, offsetof(vecstore_stats, dimension));
  CHECK_EQ_U64(newer.known.vectors, 1);

  memset(&st, 0, sizeof st);
  st.size = 3; /* not even the size field */
  CHECK_STATUS(VECSTORE_INVALID_ARGUMENT, vecstore_stats_get(s, &st));
  CHECK_OK(vecstore_close(s));
}

int main(void) {
  older_options_get_defaults_for_the_rest();
  newer_options_are_refused_only_when_they_set_unknown_fields();
  options_without_a_size_are_refused();
  stats_write_only_what_the_caller_has_room_for();
  VT_PASS("test_abi");
  return 0;
}
