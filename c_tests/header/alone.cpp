// Header hygiene: vecstore.h must compile on its own as C++17 with
// -Wall -Wextra -Werror -pedantic and give C linkage to its functions.
#include "vecstore.h"

#include <type_traits>

static_assert(std::is_same<decltype(&vecstore_version), const char *(*)()>::value,
              "vecstore_version signature");
static_assert(std::is_same<decltype(&vecstore_version_number), uint32_t (*)()>::value,
              "vecstore_version_number signature");
static_assert(std::is_same<decltype(&vecstore_open),
                           vecstore_status (*)(const char *, size_t, const vecstore_options *,
                                               vecstore_t **)>::value,
              "vecstore_open signature");
static_assert(std::is_same<decltype(&vecstore_search),
                           vecstore_status (*)(const vecstore_t *, const float *, size_t, size_t,
                                               vecstore_metric, uint64_t *, float *, size_t *)>::value,
              "vecstore_search signature");
static_assert(std::is_same<decltype(&vecstore_dimension), size_t (*)(const vecstore_t *)>::value,
              "one type for dimensions");
static_assert(std::is_same<decltype(&vecstore_set_durability),
                           vecstore_status (*)(vecstore_t *, vecstore_durability)>::value,
              "vecstore_set_durability signature");
static_assert(sizeof(vecstore_metric) == sizeof(uint32_t) &&
                  sizeof(vecstore_durability) == sizeof(uint32_t),
              "the enums stay uint32_t-sized");

// A program may have a namespace named after the library: no tag, typedef or
// function of the header may be called `vecstore`.
namespace vecstore {
inline int answer() { return 42; }
}  // namespace vecstore

static_assert(VECSTORE_OK == 0 && VECSTORE_INTERNAL == 99, "status values");

extern "C" int vecstore_hygiene_probe_cxx(void);
extern "C" int vecstore_hygiene_probe_cxx(void) {
  vecstore_options o = vecstore_options_default();
  return o.create_if_missing ? 1 : 0;
}
