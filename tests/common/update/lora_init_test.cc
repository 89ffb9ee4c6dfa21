#include "common/update/lora_init.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tontine::update {
namespace {

using ::testing::ElementsAre;

TEST(InitLoraATest, HasRankTimesInFeaturesElements) {
  EXPECT_EQ(InitLoraA(1, "m", 3, 7).size(), 21u);
  EXPECT_EQ(InitLoraA(1, "m", 1, 1).size(), 1u);
}

TEST(InitLoraATest, IsDeterministic) {
  EXPECT_EQ(InitLoraA(7, "model.layers.3.mlp.down_proj", 8, 64),
            InitLoraA(7, "model.layers.3.mlp.down_proj", 8, 64));
}

// Pins the exact values: the coordinator and every client, across versions, must derive the
// same A. Computed independently (FNV-1a of the name, SplitMix64 key, 24-bit uniforms).
TEST(InitLoraATest, MatchesKnownAnswerBitForBit) {
  std::vector<float> a = InitLoraA(42, "model.layers.0.self_attn.q_proj", 2, 4);
  std::vector<uint32_t> bits;
  for (float v : a) bits.push_back(std::bit_cast<uint32_t>(v));
  EXPECT_THAT(bits, ElementsAre(0xbe3dbb18u, 0x3c58e140u, 0xbe1223f0u, 0xbd61b9f0u, 0xbd76d520u,
                                0x3d630630u, 0x3e46dce4u, 0x3ca10cc0u));
}

TEST(InitLoraATest, StaysWithinTheKaimingBound) {
  for (int64_t in : {1, 3, 16, 576}) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    for (float v : InitLoraA(5, "model.layers.0.self_attn.v_proj", 4, in)) {
      ASSERT_GE(v, -bound) << "in_features " << in;
      ASSERT_LE(v, bound) << "in_features " << in;
    }
  }
}

TEST(InitLoraATest, DiffersBetweenModulesAndSeeds) {
  const std::vector<float> base = InitLoraA(1, "model.layers.0.self_attn.q_proj", 4, 32);
  EXPECT_NE(base, InitLoraA(1, "model.layers.0.self_attn.v_proj", 4, 32));
  EXPECT_NE(base, InitLoraA(1, "model.layers.1.self_attn.q_proj", 4, 32));
  EXPECT_NE(base, InitLoraA(2, "model.layers.0.self_attn.q_proj", 4, 32));
  // Not merely a permutation or a shift: elementwise, almost nothing coincides.
  const std::vector<float> other = InitLoraA(2, "model.layers.0.self_attn.q_proj", 4, 32);
  int equal = 0;
  for (size_t i = 0; i < base.size(); ++i) equal += base[i] == other[i];
  EXPECT_LE(equal, 1);
}

// U(−b, b) has mean 0 and variance b²/3. With n = 16384 draws the sample mean's standard
// deviation is b/√(3n) ≈ 0.0045 b and the sample variance's ≈ 0.0023 b², so the tolerances
// below are over 6σ (and the draws are deterministic, so the test cannot flake).
TEST(InitLoraATest, IsRoughlyUniform) {
  const int64_t rank = 64, in = 256;
  const double bound = 1.0 / 16.0;
  const std::vector<float> a = InitLoraA(2024, "model.layers.5.mlp.gate_proj", rank, in);
  double sum = 0, sum_sq = 0, lo = 0, hi = 0;
  int below_half = 0;
  for (float v : a) {
    sum += v;
    sum_sq += static_cast<double>(v) * v;
    lo = std::min<double>(lo, v);
    hi = std::max<double>(hi, v);
    below_half += std::abs(v) < bound / 2;
  }
  const double n = static_cast<double>(a.size());
  const double mean = sum / n;
  const double variance = sum_sq / n - mean * mean;
  EXPECT_LT(std::abs(mean), 0.03 * bound);
  EXPECT_NEAR(variance, bound * bound / 3, 0.02 * bound * bound);
  EXPECT_LT(lo, -0.99 * bound);
  EXPECT_GT(hi, 0.99 * bound);
  EXPECT_NEAR(below_half / n, 0.5, 0.03);  // half the mass lies within ±b/2
}

}  // namespace
}  // namespace tontine::update
