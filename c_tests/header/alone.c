/* Header hygiene: vecstore.h must compile on its own (no other include before
   it) as C99 and C11 with -Wall -Wextra -Werror -pedantic. Built as an object
   library, so an unhygienic header fails the build. */
#include "vecstore.h"

/* Use the types so that a header that only declares them incompletely fails. */
size_t vecstore_hygiene_probe(const vecstore_options *o, vecstore_stats *s);
size_t vecstore_hygiene_probe(const vecstore_options *o, vecstore_stats *s) {
  vecstore_status st = VECSTORE_OK;
  vecstore_durability d = VECSTORE_DURABILITY_FSYNC;
  vecstore_metric m = VECSTORE_METRIC_COSINE;
  uint64_t v = (uint64_t)VECSTORE_VERSION_NUMBER + (uint64_t)VECSTORE_VERSION_MAJOR +
               (uint64_t)VECSTORE_VERSION_MINOR + (uint64_t)VECSTORE_VERSION_PATCH;
  bool ro = o->read_only;
  s->vectors = v + (uint64_t)st + (uint64_t)d + (uint64_t)m + (uint64_t)ro;
  return sizeof(vecstore_options) + sizeof(vecstore_stats);
}
