#include "common/update/lora_init.h"

#include <cmath>

#include "common/base/splitmix.h"

namespace tontine::update {
namespace {

// FNV-1a over the name, so that each module gets its own stream.
uint64_t HashName(absl::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::vector<float> InitLoraA(uint64_t seed, absl::string_view module_name, int64_t rank,
                             int64_t in_features) {
  const uint64_t key = SplitMix64(seed ^ HashName(module_name));
  // sqrt is correctly rounded in IEEE 754, so the bound is the same everywhere.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  std::vector<float> a(static_cast<size_t>(rank * in_features));
  for (size_t i = 0; i < a.size(); ++i) {
    // 24 random bits → a uniform in [0, 1) exactly representable as a float.
    double u = static_cast<double>(SplitMix64(key + i) >> 40) / static_cast<double>(1 << 24);
    a[i] = static_cast<float>((2.0 * u - 1.0) * bound);
  }
  return a;
}

}  // namespace tontine::update
