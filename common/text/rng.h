// Small deterministic generators for shuffling training data: the same seed gives the same
// numbers on every machine and compiler (unlike std::mt19937 with std::shuffle, whose
// distributions are implementation-defined). Not for secrets: see common/crypto/random.h.
#ifndef TONTINE_COMMON_TEXT_RNG_H_
#define TONTINE_COMMON_TEXT_RNG_H_

#include <array>
#include <cstdint>

namespace tontine::text {

// SplitMix64 (Steele, Lea, Flood 2014; Vigna's splitmix64.c). Used to expand a seed into
// xoshiro state. Not thread-safe.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

// xoshiro256** 1.0 (Blackman & Vigna 2018, xoshiro256starstar.c). Not thread-safe.
class Xoshiro256StarStar {
 public:
  // State from four SplitMix64 outputs of `seed`, as the authors recommend.
  explicit Xoshiro256StarStar(uint64_t seed);
  // REQUIRES: `state` is not all zero.
  explicit Xoshiro256StarStar(const std::array<uint64_t, 4>& state) : s_(state) {}

  uint64_t Next();
  // Uniform in [0, bound) without modulo bias (Lemire 2019, "Fast random integer generation
  // in an interval"). REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound);

 private:
  std::array<uint64_t, 4> s_;
};

}  // namespace tontine::text

#endif  // TONTINE_COMMON_TEXT_RNG_H_
