#include "common/text/rng.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::text {
namespace {

// Reference outputs of Vigna's splitmix64.c for seed 1234567 (also used by Rust's
// rand_xoshiro tests).
TEST(SplitMix64Test, MatchesReferenceOutputs) {
  SplitMix64 rng(1234567);
  const uint64_t expected[] = {6457827717110365317ULL, 3203168211198807973ULL,
                               9817491932198370423ULL, 4593380528125082431ULL,
                               16408922859458223821ULL};
  for (uint64_t e : expected) EXPECT_EQ(rng.Next(), e);
}

// Reference outputs of xoshiro256starstar.c from state {1, 2, 3, 4} (rand_xoshiro tests).
TEST(Xoshiro256StarStarTest, MatchesReferenceOutputs) {
  Xoshiro256StarStar rng(std::array<uint64_t, 4>{1, 2, 3, 4});
  const uint64_t expected[] = {11520ULL,
                               0ULL,
                               1509978240ULL,
                               1215971899390074240ULL,
                               1216172134540287360ULL,
                               607988272756665600ULL,
                               16172922978634559625ULL,
                               8476171486693032832ULL,
                               10595114339597558777ULL,
                               2904607092377533576ULL};
  for (uint64_t e : expected) EXPECT_EQ(rng.Next(), e);
}

TEST(Xoshiro256StarStarTest, BelowStaysInRangeAndCoversIt) {
  Xoshiro256StarStar rng(99);
  int seen[7] = {};
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = rng.Below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  // Each value is expected 1000 times (σ ≈ 29); 850 is more than 5σ away.
  for (int count : seen) EXPECT_GT(count, 850);
  EXPECT_EQ(rng.Below(1), 0u);
}

}  // namespace
}  // namespace tontine::text
