// SplitMix64 (Steele, Lea & Flood 2014; Vigna's splitmix64.c) as pure functions: a fast
// bijective 64-bit mixer for deriving seeds and counter-based streams that are identical on
// every machine. Not for secrets: see common/crypto/random.h.
#ifndef TONTINE_COMMON_BASE_SPLITMIX_H_
#define TONTINE_COMMON_BASE_SPLITMIX_H_

#include <cstdint>

namespace tontine {

inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ULL;

// SplitMix64's output function: the value a generator whose state has just become `z` returns.
constexpr uint64_t SplitMix64Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The first output of SplitMix64 seeded with `x`; the n-th (0-based) output of a generator
// seeded s is SplitMix64(s + n·kSplitMix64Gamma).
constexpr uint64_t SplitMix64(uint64_t x) { return SplitMix64Finalize(x + kSplitMix64Gamma); }

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_SPLITMIX_H_
