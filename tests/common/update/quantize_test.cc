#include "common/update/quantize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace tontine::update {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

// c = 32767/1024 with B = 16 makes the step exactly 2^−10, so k/1024 lies on the grid.
QuantizationParams PowerOfTwoStep() {
  return {.bits = 16, .clip_l2 = 0, .clip_linf = 31.9990234375f};
}

std::vector<uint32_t> Quantize(const std::vector<float>& deltas, const QuantizationParams& p,
                               QuantizeStats* stats = nullptr) {
  absl::StatusOr<std::vector<uint32_t>> words = QuantizeDeltas(deltas, p, stats);
  EXPECT_THAT(words, IsOk());
  return words.ok() ? *words : std::vector<uint32_t>(deltas.size());
}

TEST(QuantizeTest, MapsTheClipBoundToTwoToTheBMinusOneMinusOne) {
  EXPECT_EQ(MaxQuantizedMagnitude(2), 1u);
  EXPECT_EQ(MaxQuantizedMagnitude(16), 32767u);
  EXPECT_EQ(MaxQuantizedMagnitude(24), 8388607u);
  EXPECT_EQ(QuantizationStep(PowerOfTwoStep()), 1.0 / 1024);
}

TEST(QuantizeTest, KeepsValuesOnTheGridExactly) {
  const QuantizationParams p = PowerOfTwoStep();
  const std::vector<float> deltas = {0.0f, 1.0f / 1024, -1.0f / 1024, 5.5f, -17.25f,
                                     31.9990234375f, -31.9990234375f};
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<uint32_t> words = Quantize(deltas, p);
    ASSERT_THAT(words, ElementsAre(0u, 1u, 0xffffffffu, 5632u, static_cast<uint32_t>(-17664),
                                   32767u, static_cast<uint32_t>(-32767)));
    absl::StatusOr<std::vector<double>> back = DequantizeSum(words, p);
    ASSERT_THAT(back, IsOk());
    for (size_t i = 0; i < deltas.size(); ++i) EXPECT_EQ((*back)[i], deltas[i]) << "index " << i;
  }
}

TEST(QuantizeTest, StoresNegativeValuesInTwosComplement) {
  const QuantizationParams p = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  // −c ↦ −32767 = 2^32 − 32767; +c ↦ 32767; beyond ±c clips to the same words.
  EXPECT_THAT(Quantize({-1.0f, 1.0f, -3.0f, 3.0f}, p),
              ElementsAre(0xffff8001u, 0x00007fffu, 0xffff8001u, 0x00007fffu));
  absl::StatusOr<std::vector<double>> back = DequantizeSum({{0xffffffffu, 0xffff8001u}}, p);
  ASSERT_THAT(back, IsOk());
  EXPECT_DOUBLE_EQ((*back)[0], -1.0 / 32767);
  EXPECT_DOUBLE_EQ((*back)[1], -1.0);
}

TEST(QuantizeTest, RoundsOnlyToTheTwoNeighbouringGridPoints) {
  const QuantizationParams p = PowerOfTwoStep();
  // 0.3/2^−10 = 307.2 and −0.3/2^−10 = −307.2 (as floats, within 10^−4 of those). Over 200
  // trials each neighbour turns up except with probability ≤ 2·0.8^200 ≈ 10^−19.
  int seen_308 = 0, seen_minus_307 = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const std::vector<uint32_t> words = Quantize({0.3f, -0.3f}, p);
    const int32_t positive = static_cast<int32_t>(words[0]);
    const int32_t negative = static_cast<int32_t>(words[1]);
    ASSERT_TRUE(positive == 307 || positive == 308) << positive;
    ASSERT_TRUE(negative == -308 || negative == -307) << negative;
    seen_308 += positive == 308;
    seen_minus_307 += negative == -307;
  }
  EXPECT_GT(seen_308, 0);
  EXPECT_LT(seen_308, 200);
  EXPECT_GT(seen_minus_307, 0);
  EXPECT_LT(seen_minus_307, 200);
}

// Stochastic rounding is unbiased: E[q] = x·M/c exactly, up to a 2^−32 bias in the rounding
// probability. Each trial's rounding error is in [−1, 1] steps with variance ≤ 1/4 step², so
// the mean over T trials has standard deviation ≤ step/(2√T). We assert every coordinate's
// mean lies within 6σ = 3·step/√T (plus the 2^−32 bias) of the clipped input. Hoeffding bounds
// one coordinate's chance of exceeding that by 2·e^−18 ≈ 3·10^−8, so ≤ 3·10^−5 per run for
// 1000 coordinates. Deterministic round-to-nearest errs by up to step/2 (≈ 45σ here) and
// would fail for most coordinates.
TEST(QuantizeTest, IsUnbiasedOverManyTrials) {
  constexpr int kTrials = 2000;
  constexpr int kCoordinates = 1000;
  const QuantizationParams p = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  const double step = QuantizationStep(p);
  std::vector<float> deltas(kCoordinates);  // −1.2 … 1.2: the ends exercise clipping
  for (int i = 0; i < kCoordinates; ++i) deltas[i] = -1.2f + 2.4f * i / (kCoordinates - 1);

  std::vector<int64_t> sums(kCoordinates, 0);
  for (int t = 0; t < kTrials; ++t) {
    const std::vector<uint32_t> words = Quantize(deltas, p);
    for (int i = 0; i < kCoordinates; ++i) sums[i] += static_cast<int32_t>(words[i]);
  }
  const double bound = 3 * step / std::sqrt(static_cast<double>(kTrials)) + step * 0x1p-32;
  int failures = 0;
  for (int i = 0; i < kCoordinates; ++i) {
    const double clipped = std::clamp(static_cast<double>(deltas[i]), -1.0, 1.0);
    const double mean = static_cast<double>(sums[i]) / kTrials * step;
    if (std::fabs(mean - clipped) > bound && ++failures <= 5) {
      ADD_FAILURE() << "coordinate " << i << ": mean " << mean << ", clipped input " << clipped
                    << ", |diff| " << std::fabs(mean - clipped) << " > bound " << bound;
    }
  }
  EXPECT_EQ(failures, 0);
}

// [3, 4, 0, −12] has L2 norm 13. clip_l2 = 6.5 halves it: [1.5, 2, 0, −6]; then c = 2 clips
// one coordinate: [1.5, 2, 0, −2], L2 norm √10.25. (The other order, L∞ first, would give
// [2, 2, 0, −2].)
TEST(QuantizeTest, ClipsToTheL2BoundThenToTheLinfBound) {
  const QuantizationParams p = {.bits = 24, .clip_l2 = 6.5f, .clip_linf = 2.0f};
  QuantizeStats stats;
  const std::vector<uint32_t> words = Quantize({3.0f, 4.0f, 0.0f, -12.0f}, p, &stats);
  EXPECT_DOUBLE_EQ(stats.l2_before, 13.0);
  EXPECT_DOUBLE_EQ(stats.l2_after, std::sqrt(10.25));
  EXPECT_EQ(stats.clipped_coordinates, 1u);
  // 2 and −2 sit exactly on ±c; 1.5 ↦ 0.75·M = 6291455.25 rounds to either neighbour.
  EXPECT_EQ(words[1], 8388607u);
  EXPECT_EQ(words[2], 0u);
  EXPECT_EQ(words[3], static_cast<uint32_t>(-8388607));
  EXPECT_TRUE(words[0] == 6291455u || words[0] == 6291456u) << words[0];
  absl::StatusOr<std::vector<double>> back = DequantizeSum(words, p);
  ASSERT_THAT(back, IsOk());
  EXPECT_NEAR((*back)[0], 1.5, QuantizationStep(p));
}

TEST(QuantizeTest, LeavesTheL2NormAloneWhenTheBoundIsZeroOrNotReached) {
  for (float clip_l2 : {0.0f, 13.0f, 100.0f}) {
    const QuantizationParams p = {.bits = 16, .clip_l2 = clip_l2, .clip_linf = 32767.0f};
    QuantizeStats stats;
    // Step 1: integers are on the grid, so the words show that nothing was scaled.
    EXPECT_THAT(Quantize({3.0f, 4.0f, 0.0f, -12.0f}, p, &stats),
                ElementsAre(3u, 4u, 0u, static_cast<uint32_t>(-12)))
        << "clip_l2 " << clip_l2;
    EXPECT_DOUBLE_EQ(stats.l2_after, 13.0);
    EXPECT_EQ(stats.clipped_coordinates, 0u);
  }
}

TEST(QuantizeTest, ScalesBeforeClipping) {
  const QuantizationParams p = {.bits = 24, .clip_l2 = 1.25f, .clip_linf = 4.0f};
  std::vector<uint32_t> words(2);
  QuantizeStats stats;
  // 0.5·[3, 4] = [1.5, 2] (norm 2.5), then halved by the L2 bound to [0.75, 1].
  ASSERT_THAT(QuantizeScaledDeltasInto({{3.0f, 4.0f}}, 0.5, p, words, &stats), IsOk());
  EXPECT_DOUBLE_EQ(stats.l2_before, 2.5);
  EXPECT_DOUBLE_EQ(stats.l2_after, 1.25);
  absl::StatusOr<std::vector<double>> back = DequantizeSum(words, p);
  ASSERT_THAT(back, IsOk());
  EXPECT_NEAR((*back)[0], 0.75, QuantizationStep(p));
  EXPECT_NEAR((*back)[1], 1.0, QuantizationStep(p));
}

// Each participant's rounding error is below one step, so the sum is within n·step.
TEST(QuantizeTest, SumOfParticipantsDequantisesWithinNStepsOfTheClippedSum) {
  constexpr int kParticipants = 10;
  constexpr int kCoordinates = 500;
  const QuantizationParams p = {.bits = 12, .clip_l2 = 0, .clip_linf = 0.5f};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-0.8f, 0.8f);
  std::vector<uint32_t> sum(kCoordinates, 0);
  std::vector<double> expected(kCoordinates, 0);
  for (int n = 0; n < kParticipants; ++n) {
    std::vector<float> deltas(kCoordinates);
    for (float& d : deltas) d = uniform(rng);
    const std::vector<uint32_t> words = Quantize(deltas, p);
    for (int i = 0; i < kCoordinates; ++i) {
      sum[i] += words[i];  // modulo 2^32, as the masked sum is
      expected[i] += std::clamp(static_cast<double>(deltas[i]), -0.5, 0.5);
    }
  }
  absl::StatusOr<std::vector<double>> back = DequantizeSum(sum, p);
  ASSERT_THAT(back, IsOk());
  const double bound = kParticipants * QuantizationStep(p);
  for (int i = 0; i < kCoordinates; ++i) {
    ASSERT_NEAR((*back)[i], expected[i], bound) << "coordinate " << i;
  }
}

TEST(QuantizeTest, SumsExactlyUpToTheRingBoundAndCanWrapOneBeyond) {
  EXPECT_EQ(MaxExactSummands(16), 65538u);  // 65538·32767 = 2^31 − 2
  EXPECT_EQ(MaxExactSummands(2), 2147483647u);
  ASSERT_EQ(MaxExactSummands(24), 256u);    // 256·(2^23 − 1) < 2^31 ≤ 257·(2^23 − 1)
  const QuantizationParams p = {.bits = 24, .clip_l2 = 0, .clip_linf = 1.0f};
  const std::vector<uint32_t> words = Quantize({1.0f, -1.0f}, p);
  std::vector<uint32_t> sum = {0, 0};
  for (int n = 1; n <= 257; ++n) {
    sum[0] += words[0];
    sum[1] += words[1];
    absl::StatusOr<std::vector<double>> back = DequantizeSum(sum, p);
    ASSERT_THAT(back, IsOk());
    if (n <= 256) {
      ASSERT_NEAR((*back)[0], n, 1e-9) << n << " participants";
      ASSERT_NEAR((*back)[1], -n, 1e-9) << n << " participants";
    } else {
      EXPECT_LT((*back)[0], 0) << "257·(2^23 − 1) wraps past 2^31";
      EXPECT_GT((*back)[1], 0) << "−257·(2^23 − 1) wraps below −2^31";
    }
  }
}

TEST(QuantizeTest, RejectsNanAndInfinityNamingTheFirstBadIndex) {
  const QuantizationParams p = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_THAT(QuantizeDeltas({{0.0f, 0.5f, nan, inf}}, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("index 2")));
  EXPECT_THAT(QuantizeDeltas({{0.0f, -inf, nan}}, p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("index 1")));
}

TEST(QuantizeTest, RejectsInvalidParameters) {
  const std::vector<float> deltas = {0.1f};
  for (uint32_t bits : {0u, 1u, 25u, 32u}) {
    EXPECT_THAT(QuantizeDeltas(deltas, {.bits = bits, .clip_l2 = 0, .clip_linf = 1.0f}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bits")))
        << bits;
  }
  for (float c : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::infinity()}) {
    const QuantizationParams p = {.bits = 16, .clip_l2 = 0, .clip_linf = c};
    EXPECT_THAT(QuantizeDeltas(deltas, p),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clip_linf")))
        << c;
    EXPECT_THAT(DequantizeSum({{1u}}, p),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clip_linf")))
        << c;
  }
  EXPECT_THAT(QuantizeDeltas(deltas, {.bits = 16, .clip_l2 = -1.0f, .clip_linf = 1.0f}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clip_l2")));
}

TEST(QuantizeTest, RejectsAScaleOutsideZeroToOneAndAnOutputOfTheWrongLength) {
  const QuantizationParams p = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  const std::vector<float> deltas = {0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<uint32_t> out(4);
  for (double scale : {0.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_THAT(QuantizeScaledDeltasInto(deltas, scale, p, out),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scale")))
        << scale;
  }
  std::vector<uint32_t> short_out(3);
  EXPECT_THAT(QuantizeScaledDeltasInto(deltas, 1.0, p, short_out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("3 words"), HasSubstr("expected 4"))));
}

}  // namespace
}  // namespace tontine::update
