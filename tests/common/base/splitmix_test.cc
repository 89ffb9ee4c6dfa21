// SplitMix64 against published values.
#include "common/base/splitmix.h"

#include <cstdint>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine {
namespace {

using ::testing::ElementsAre;

// The published sequence of SplitMix64 seeded with 1234567 (Rosetta Code,
// "Pseudo-random numbers/Splitmix64"). Output n of the generator is SplitMix64(seed + n·γ):
// our function adds γ itself.
TEST(SplitMix64Test, MatchesThePublishedSequenceForSeed1234567) {
  std::vector<uint64_t> out;
  for (uint64_t n = 0; n < 5; ++n) out.push_back(SplitMix64(1234567 + n * kSplitMix64Gamma));
  EXPECT_THAT(out,
              ElementsAre(6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                          4593380528125082431ull, 16408922859458223821ull));
}

// The first output from seed 0, as used to seed xoshiro (Vigna, prng.di.unimi.it).
TEST(SplitMix64Test, MatchesTheKnownFirstOutputForSeedZero) {
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafull);
}

}  // namespace
}  // namespace tontine
