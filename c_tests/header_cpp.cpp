// The header from C++17: it compiles, links (C linkage) and works.
#include "test_util.h"

#include <cstring>
#include <string>
#include <vector>

int main() {
  // Library functions.
  const std::string version = vecstore_version();
  CHECK(version == VT_EXPECTED_VERSION);
  CHECK_EQ_U64(vecstore_version_number(), VECSTORE_VERSION_NUMBER);
  CHECK_STREQ(vecstore_status_str(VECSTORE_READ_ONLY), "VECSTORE_READ_ONLY");

  // Typed enums convert to the uint32_t parameters without casts.
  vecstore_options opts = vecstore_options_default();
  opts.durability = VECSTORE_DURABILITY_NONE;
  CHECK(opts.create_if_missing);

  const char *dir = vt_tmpdir("cpp");
  vecstore_t *store = nullptr;
  CHECK_OK(vecstore_open(dir, 3, &opts, &store));
  CHECK(store != nullptr);

  const std::vector<uint64_t> ids{10, 20, 30};
  const std::vector<float> vecs{1, 0, 0, 0, 1, 0, 0, 0, 1};
  CHECK_OK(vecstore_put_batch(store, ids.data(), vecs.data(), ids.size(), 3));
  CHECK_EQ_U64(vecstore_len(store), 3);

  float out[3] = {};
  CHECK_OK(vecstore_get(store, 20, out, 3));
  CHECK(std::memcmp(out, &vecs[3], sizeof out) == 0);

  vecstore_guard_t *guard = nullptr;
  const float *data = nullptr;
  CHECK_OK(vecstore_get_ref(store, 30, &guard, &data));
  CHECK(data[2] == 1.0f && vecstore_guard_len(guard) == 3);
  vecstore_guard_release(guard);

  uint64_t hit_ids[2];
  float hit_d[2];
  size_t hits = 0;
  const float q[3] = {0.9f, 0.1f, 0.0f};
  CHECK_OK(vecstore_search(store, q, 3, 2, VECSTORE_METRIC_L2, hit_ids, hit_d, &hits));
  CHECK_EQ_U64(hits, 2);
  CHECK_EQ_U64(hit_ids[0], 10);

  CHECK_STATUS(VECSTORE_DIMENSION_MISMATCH, vecstore_put(store, 1, q, 2));
  CHECK(std::strlen(vecstore_last_error()) > 0);

  vecstore_stats st{};
  st.size = sizeof st;
  CHECK_OK(vecstore_stats_get(store, &st));
  CHECK_EQ_U64(st.vectors, 3);
  CHECK_OK(vecstore_close(store));
  VT_PASS("header_cpp");
  return 0;
}
