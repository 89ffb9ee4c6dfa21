#include "common/update/update_vector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace tontine::update {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

// B = 16 and c = 32767/1024: step 2^−10, so k/1024 (and its weighted fractions) are exact.
constexpr QuantizationParams kGrid = {.bits = 16, .clip_l2 = 0, .clip_linf = 31.9990234375f};

std::vector<uint32_t> Encode(const std::vector<float>& deltas, uint32_t weight,
                             const std::vector<BucketMetrics>& metrics, const UpdateLayout& layout,
                             const QuantizationParams& params) {
  absl::StatusOr<std::vector<uint32_t>> words =
      EncodeUpdate(deltas, weight, metrics, layout, params);
  EXPECT_THAT(words, IsOk());
  return words.ok() ? *words : std::vector<uint32_t>(layout.vector_words());
}

// Adds `words` into `sum` `times` times, modulo 2^32 (what unmasking yields).
void AddInto(std::vector<uint32_t>& sum, const std::vector<uint32_t>& words, int times = 1) {
  for (int t = 0; t < times; ++t) {
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += words[i];
  }
}

TEST(UpdateVectorTest, PlacesTheWeightAndThreeMetricWordsPerBucketAfterTheDeltas) {
  const UpdateLayout layout = {.delta_words = 10, .metric_buckets = 3, .max_weight = 1};
  EXPECT_EQ(layout.vector_words(), 10u + 1 + 9);
  EXPECT_EQ(layout.weight_index(), 10u);
  EXPECT_EQ(layout.metric_index(0), 11u);
  EXPECT_EQ(layout.metric_index(2), 17u);
}

TEST(UpdateVectorTest, EncodesTheWeightAndMetricsAsIntegers) {
  const UpdateLayout layout = {.delta_words = 2, .metric_buckets = 2, .max_weight = 4};
  // NLL in sixteenths of a nat: 10.5 ↦ 168; 1.03 ↦ round(16.48) = 16.
  EXPECT_THAT(Encode({0.0f, 0.0f}, 3, {{10.5, 7, 20}, {1.03, 1, 2}}, layout, kGrid),
              ElementsAre(0u, 0u, 3u, 168u, 7u, 20u, 16u, 1u, 2u));
}

TEST(UpdateVectorTest, ScalesTheDeltaByWeightOverMaxWeight) {
  const UpdateLayout layout = {.delta_words = 1, .metric_buckets = 0, .max_weight = 4};
  // 1.0 is 1024 steps; weight w of 4 sends w/4 of it.
  EXPECT_THAT(Encode({1.0f}, 1, {}, layout, kGrid), ElementsAre(256u, 1u));
  EXPECT_THAT(Encode({1.0f}, 3, {}, layout, kGrid), ElementsAre(768u, 3u));
  EXPECT_THAT(Encode({1.0f}, 4, {}, layout, kGrid), ElementsAre(1024u, 4u));
}

TEST(UpdateVectorTest, ClipsTheWeightedDelta) {
  const UpdateLayout layout = {.delta_words = 2, .metric_buckets = 0, .max_weight = 2};
  const QuantizationParams params = {.bits = 24, .clip_l2 = 1.25f, .clip_linf = 4.0f};
  QuantizeStats stats;
  // Weight 1 of 2 halves [3, 4] to norm 2.5, which the L2 bound halves again.
  ASSERT_THAT(EncodeUpdate({{3.0f, 4.0f}}, 1, {}, layout, params, &stats), IsOk());
  EXPECT_DOUBLE_EQ(stats.l2_before, 2.5);
  EXPECT_DOUBLE_EQ(stats.l2_after, 1.25);
}

TEST(UpdateVectorTest, UniformWeightingDecodesToThePlainMean) {
  const UpdateLayout layout = {.delta_words = 2, .metric_buckets = 0, .max_weight = 1};
  std::vector<uint32_t> sum(layout.vector_words(), 0);
  AddInto(sum, Encode({1.0f, 2.0f}, 1, {}, layout, kGrid));
  AddInto(sum, Encode({2.0f, 4.0f}, 1, {}, layout, kGrid));
  AddInto(sum, Encode({3.0f, -3.0f}, 1, {}, layout, kGrid));
  absl::StatusOr<AggregateUpdate> aggregate = DecodeAggregate(sum, layout, kGrid);
  ASSERT_THAT(aggregate, IsOk());
  EXPECT_EQ(aggregate->weight_sum, 3u);
  EXPECT_THAT(aggregate->mean_delta, ElementsAre(2.0, 1.0));
  EXPECT_TRUE(aggregate->metrics.empty());
}

// Five participants with unequal weights and metrics, summed modulo 2^32 (negative deltas
// wrap). Weight and metric totals are exact; each participant's rounding error is below one
// step of its weighted delta, so the weighted mean is within W_max·n·step/Σw.
TEST(UpdateVectorTest, RoundTripsWeightsAndMetricsThroughASumOfSeveralParticipants) {
  constexpr int kDeltas = 50;
  const UpdateLayout layout = {.delta_words = kDeltas, .metric_buckets = 2, .max_weight = 1000};
  const QuantizationParams params = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  const std::vector<uint32_t> weights = {1, 10, 250, 999, 1000};
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);

  std::vector<uint32_t> sum(layout.vector_words(), 0);
  std::vector<double> weighted(kDeltas, 0);
  for (size_t n = 0; n < weights.size(); ++n) {
    std::vector<float> deltas(kDeltas);
    for (float& d : deltas) d = uniform(rng);
    for (int i = 0; i < kDeltas; ++i) weighted[i] += weights[n] * static_cast<double>(deltas[i]);
    // Bucket 0: NLL a multiple of 1/16 nat, so exact; bucket 1: only the even participants.
    std::vector<BucketMetrics> metrics = {{(100.0 + n) * 1.0625, 40 + n, 90 + 3 * n}, {}};
    if (n % 2 == 0) metrics[1] = {2.5 * n, 1000 * n, 4000 * n};
    AddInto(sum, Encode(deltas, weights[n], metrics, layout, params));
  }
  absl::StatusOr<AggregateUpdate> aggregate = DecodeAggregate(sum, layout, params);
  ASSERT_THAT(aggregate, IsOk());
  EXPECT_EQ(aggregate->weight_sum, 2260u);
  ASSERT_EQ(aggregate->metrics.size(), 2u);
  EXPECT_EQ(aggregate->metrics[0].nll_sum, 510 * 1.0625);
  EXPECT_EQ(aggregate->metrics[0].tokens, 210u);
  EXPECT_EQ(aggregate->metrics[0].bytes, 480u);
  EXPECT_EQ(aggregate->metrics[1].nll_sum, 15.0);
  EXPECT_EQ(aggregate->metrics[1].tokens, 6000u);
  EXPECT_EQ(aggregate->metrics[1].bytes, 24000u);
  ASSERT_EQ(aggregate->mean_delta.size(), static_cast<size_t>(kDeltas));
  const double bound = 1000.0 * weights.size() * QuantizationStep(params) / 2260;
  for (int i = 0; i < kDeltas; ++i) {
    ASSERT_NEAR(aggregate->mean_delta[i], weighted[i] / 2260, bound) << "coordinate " << i;
  }
}

TEST(UpdateVectorTest, DeltaSlotsSumExactlyUpToTheRingBound) {
  const UpdateLayout layout = {.delta_words = 2, .metric_buckets = 0, .max_weight = 1};
  const QuantizationParams params = {.bits = 24, .clip_l2 = 0, .clip_linf = 1.0f};
  EXPECT_THAT(MaxParticipants(layout, params), ::tontine::testing::IsOkAndHolds(256u));
  EXPECT_THAT(CheckSlotBounds(256, layout, params), IsOk());
  EXPECT_THAT(CheckSlotBounds(257, layout, params),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("delta slots"), HasSubstr("at most 256"))));
  // 256 participants at ±c: Σq = ±256·(2^23 − 1), inside the int32 range.
  std::vector<uint32_t> sum(layout.vector_words(), 0);
  for (int n = 0; n < 256; ++n) AddInto(sum, Encode({1.0f, -1.0f}, 1, {}, layout, params));
  absl::StatusOr<AggregateUpdate> aggregate = DecodeAggregate(sum, layout, params);
  ASSERT_THAT(aggregate, IsOk());
  EXPECT_EQ(aggregate->weight_sum, 256u);
  EXPECT_NEAR(aggregate->mean_delta[0], 1.0, 1e-12);
  EXPECT_NEAR(aggregate->mean_delta[1], -1.0, 1e-12);
}

TEST(UpdateVectorTest, WeightSlotSumsExactlyUpToItsBoundAndWrapsOneBeyond) {
  const UpdateLayout layout = {.delta_words = 0, .metric_buckets = 0, .max_weight = 1u << 16};
  const QuantizationParams params = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  // n·2^16 ≤ 2^32 − 1 allows 65535 (the delta slots would allow 65538).
  EXPECT_THAT(MaxParticipants(layout, params), ::tontine::testing::IsOkAndHolds(65535u));
  EXPECT_THAT(CheckSlotBounds(65535, layout, params), IsOk());
  EXPECT_THAT(CheckSlotBounds(65536, layout, params),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("weight slot"), HasSubstr("at most 65535"))));
  const std::vector<uint32_t> words = Encode({}, 1u << 16, {}, layout, params);
  std::vector<uint32_t> sum(layout.vector_words(), 0);
  AddInto(sum, words, 65535);
  absl::StatusOr<AggregateUpdate> aggregate = DecodeAggregate(sum, layout, params);
  ASSERT_THAT(aggregate, IsOk());
  EXPECT_EQ(aggregate->weight_sum, 65535u * 65536u);
  AddInto(sum, words);  // 2^16 · 2^16 = 2^32 wraps to 0
  EXPECT_THAT(DecodeAggregate(sum, layout, params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("summed weight is 0")));
}

TEST(UpdateVectorTest, MetricSlotsSumExactlyFor1024ParticipantsAtTheirBound) {
  const UpdateLayout layout = {.delta_words = 0, .metric_buckets = 1, .max_weight = 1};
  const QuantizationParams params = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  EXPECT_THAT(MaxParticipants(layout, params), ::tontine::testing::IsOkAndHolds(1024u));
  EXPECT_THAT(CheckSlotBounds(1024, layout, params), IsOk());
  EXPECT_THAT(CheckSlotBounds(1025, layout, params),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("metric slots"), HasSubstr("at most 1024"))));
  // Without metric slots the same cohort is fine.
  EXPECT_THAT(CheckSlotBounds(1025, {.delta_words = 0, .metric_buckets = 0, .max_weight = 1},
                              params),
              IsOk());
  const BucketMetrics most = {kMaxMetricWord / kNllScale, kMaxMetricWord, kMaxMetricWord};
  std::vector<uint32_t> sum(layout.vector_words(), 0);
  AddInto(sum, Encode({}, 1, {most}, layout, params), 1024);
  absl::StatusOr<AggregateUpdate> aggregate = DecodeAggregate(sum, layout, params);
  ASSERT_THAT(aggregate, IsOk());
  const uint64_t total = 1024 * uint64_t{kMaxMetricWord};  // 2^32 − 1024
  EXPECT_EQ(aggregate->metrics[0].tokens, total);
  EXPECT_EQ(aggregate->metrics[0].bytes, total);
  EXPECT_EQ(aggregate->metrics[0].nll_sum, total / kNllScale);
}

TEST(UpdateVectorTest, RejectsAnEmptyCohortAndAnInvalidLayout) {
  const QuantizationParams params = {.bits = 16, .clip_l2 = 0, .clip_linf = 1.0f};
  EXPECT_THAT(CheckSlotBounds(0, {.delta_words = 1}, params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("participant")));
  for (uint32_t max_weight : {0u, (1u << 16) + 1}) {
    EXPECT_THAT(CheckSlotBounds(1, {.delta_words = 1, .max_weight = max_weight}, params),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_weight")));
  }
  EXPECT_THAT(MaxParticipants({.delta_words = 1, .metric_buckets = kMaxMetricBuckets + 1},
                              params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metric_buckets")));
  EXPECT_THAT(CheckSlotBounds(1, {.delta_words = 1}, {.bits = 25, .clip_linf = 1.0f}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bits")));
}

TEST(UpdateVectorTest, RejectsWrongLengthsNamingExpectedAndActual) {
  const UpdateLayout layout = {.delta_words = 3, .metric_buckets = 2, .max_weight = 1};
  const std::vector<BucketMetrics> two(2);
  EXPECT_THAT(EncodeUpdate({{0.1f, 0.2f}}, 1, two, layout, kGrid),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected 3 delta values, got 2")));
  EXPECT_THAT(EncodeUpdate({{0.1f, 0.2f, 0.3f}}, 1, {{BucketMetrics{}}}, layout, kGrid),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected 2 metric buckets, got 1")));
  const std::vector<uint32_t> short_sum(9, 1);
  EXPECT_THAT(DecodeAggregate(short_sum, layout, kGrid),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected 10 words in the summed update vector, got 9")));
}

TEST(UpdateVectorTest, RejectsAWeightOutsideOneToMaxWeight) {
  const UpdateLayout layout = {.delta_words = 1, .metric_buckets = 0, .max_weight = 4};
  for (uint32_t weight : {0u, 5u}) {
    EXPECT_THAT(EncodeUpdate({{0.1f}}, weight, {}, layout, kGrid),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("weight must be in [1, 4], got ", weight))));
  }
}

TEST(UpdateVectorTest, RejectsMetricsOutsideTheirBoundsNamingTheBucket) {
  const UpdateLayout layout = {.delta_words = 1, .metric_buckets = 2, .max_weight = 1};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<BucketMetrics> bad[] = {
      {{}, {-1.0, 1, 1}},
      {{}, {nan, 1, 1}},
      {{}, {(kMaxMetricWord + 1.0) / kNllScale, 1, 1}},
      {{}, {1.0, kMaxMetricWord + 1ull, 1}},
      {{}, {1.0, 1, kMaxMetricWord + 1ull}},
  };
  for (const std::vector<BucketMetrics>& metrics : bad) {
    EXPECT_THAT(EncodeUpdate({{0.1f}}, 1, metrics, layout, kGrid),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bucket 1")))
        << metrics[1].nll_sum << " " << metrics[1].tokens << " " << metrics[1].bytes;
  }
  // At the bound itself, all three are accepted.
  EXPECT_THAT(EncodeUpdate({{0.1f}}, 1,
                           {{{}, {kMaxMetricWord / kNllScale, kMaxMetricWord, kMaxMetricWord}}},
                           layout, kGrid),
              IsOk());
}

TEST(UpdateVectorTest, RejectsANanDeltaNamingItsIndex) {
  const UpdateLayout layout = {.delta_words = 4, .metric_buckets = 0, .max_weight = 1};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(EncodeUpdate({{0.0f, 0.1f, 0.2f, nan}}, 1, {}, layout, kGrid),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("index 3")));
}

TEST(RoundMaxWeightTest, IsOneUnderUniformWeightingAndTheBoundUnderTokenWeighting) {
  EXPECT_EQ(RoundMaxWeight(/*uniform_weighting=*/true), 1u);
  EXPECT_EQ(RoundMaxWeight(/*uniform_weighting=*/false), kMaxWeightBound);
  EXPECT_EQ(kMaxWeightBound, 65536u);
}

TEST(ParticipantWeightTest, IsOneUnderUniformWeightingWhateverTheTokens) {
  for (uint64_t tokens : {uint64_t{0}, uint64_t{1}, uint64_t{999}, uint64_t{1} << 40}) {
    EXPECT_EQ(ParticipantWeight(/*uniform_weighting=*/true, tokens, 1000.0), 1u) << tokens;
  }
}

TEST(ParticipantWeightTest, ScalesTokensUpToTheCapToTheMaxWeight) {
  // W_max · min(tokens, cap) / cap with cap = 1000.
  EXPECT_EQ(ParticipantWeight(false, 1000, 1000.0), 65536u);
  EXPECT_EQ(ParticipantWeight(false, 500, 1000.0), 32768u);
  EXPECT_EQ(ParticipantWeight(false, 250, 1000.0), 16384u);
  EXPECT_EQ(ParticipantWeight(false, 1, 1000.0), 66u);  // round(65.536)
  // More than the cap counts as the cap: never above W_max.
  EXPECT_EQ(ParticipantWeight(false, 5000, 1000.0), 65536u);
  EXPECT_EQ(ParticipantWeight(false, uint64_t{1} << 62, 1000.0), 65536u);
}

TEST(ParticipantWeightTest, RoundsHalvesAwayFromZero) {
  // cap = 2^17: each token is half a unit of weight.
  EXPECT_EQ(ParticipantWeight(false, 3, 131072.0), 2u);  // 1.5
  EXPECT_EQ(ParticipantWeight(false, 5, 131072.0), 3u);  // 2.5
  EXPECT_EQ(ParticipantWeight(false, 4, 131072.0), 2u);
}

TEST(ParticipantWeightTest, IsAtLeastOneSoThatEveryParticipantCounts) {
  EXPECT_EQ(ParticipantWeight(false, 0, 1000.0), 1u);
  EXPECT_EQ(ParticipantWeight(false, 3, 1e6), 1u);  // round(0.197) = 0
  EXPECT_EQ(ParticipantWeight(false, 1, 131072.0), 1u);  // 0.5 rounds to 1
}

TEST(ParticipantWeightTest, IsOneForACapThatIsNotPositive) {
  EXPECT_EQ(ParticipantWeight(false, 500, 0.0), 1u);
  EXPECT_EQ(ParticipantWeight(false, 500, -10.0), 1u);
  EXPECT_EQ(ParticipantWeight(false, 500, std::numeric_limits<double>::quiet_NaN()), 1u);
}

TEST(ParticipantWeightTest, IsAcceptedByEncodeUpdateUnderTheRoundsMaxWeight) {
  const UpdateLayout layout = {.delta_words = 1, .metric_buckets = 0,
                               .max_weight = RoundMaxWeight(false)};
  for (uint64_t tokens : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1} << 50}) {
    const uint32_t weight = ParticipantWeight(false, tokens, 1000.0);
    EXPECT_THAT(EncodeUpdate({{0.5f}}, weight, {}, layout, kGrid), IsOk()) << tokens;
  }
}

}  // namespace
}  // namespace tontine::update
