// Whole rounds in one process: the unmasked sum equals the plain sum of the survivors' vectors,
// bit for bit, whatever drops out when; too few survivors abort the round with ABORTED.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/common/secagg/simulation.h"
#include "tests/testing/status_matchers.h"

namespace tontine::secagg::testing {
namespace {

using ::testing::HasSubstr;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

// Draws `count` distinct participants out of `pool`, removing them from it.
std::set<uint32_t> DrawFrom(std::vector<uint32_t>& pool, int count, std::mt19937_64& rng) {
  std::shuffle(pool.begin(), pool.end(), rng);
  std::set<uint32_t> out(pool.end() - std::min<int>(count, pool.size()), pool.end());
  pool.resize(pool.size() - out.size());
  return out;
}

// Spreads up to `total` dropouts over the five moments at random.
Dropouts RandomDropouts(uint32_t n, int total, std::mt19937_64& rng) {
  std::vector<uint32_t> pool(n);
  for (uint32_t i = 0; i < n; ++i) pool[i] = i;
  Dropouts d;
  std::set<uint32_t>* moments[] = {&d.before_advertise, &d.after_advertise, &d.after_share_keys,
                                   &d.after_masked_input, &d.during_unmask};
  for (int i = 0; i < total; ++i) {
    std::set<uint32_t> one = DrawFrom(pool, 1, rng);
    moments[rng() % 5]->insert(one.begin(), one.end());
  }
  return d;
}

// Those whose masked vector reached the server.
std::vector<uint32_t> Uploaders(uint32_t n, const Dropouts& d) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n; ++i) {
    if (!d.before_advertise.contains(i) && !d.after_advertise.contains(i) &&
        !d.after_share_keys.contains(i)) {
      out.push_back(i);
    }
  }
  return out;
}

void ExpectExactSum(const RoundOutcome& r, const std::vector<std::vector<uint32_t>>& inputs,
                    const std::vector<uint32_t>& expected_included) {
  ASSERT_THAT(r.status, IsOk());
  EXPECT_EQ(r.aggregate.included, expected_included);
  const std::vector<uint32_t> plain = PlainSum(inputs, expected_included);
  ASSERT_EQ(r.aggregate.sum.size(), plain.size());
  size_t mismatches = 0;
  for (size_t w = 0; w < plain.size(); ++w) {
    if (r.aggregate.sum[w] != plain[w] && ++mismatches <= 5) {
      ADD_FAILURE() << "word " << w << ": " << r.aggregate.sum[w] << " != " << plain[w];
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(SecAggProtocolTest, WithoutDropoutsTheSumIsExact) {
  const v1::SecAggParameters params = MakeParameters(8, 7, 4, 1000);
  const auto inputs = RandomInputs(params, 1);
  ExpectExactSum(RunRound(1, params, inputs, {}), inputs, Uploaders(8, {}));
}

TEST(SecAggProtocolTest, EachMomentOfDropoutAloneKeepsTheSumExact) {
  const v1::SecAggParameters params = MakeParameters(10, 6, 3, 333);  // a Harary graph
  const auto inputs = RandomInputs(params, 2);
  for (int moment = 0; moment < 5; ++moment) {
    Dropouts d;
    std::set<uint32_t>* sets[] = {&d.before_advertise, &d.after_advertise, &d.after_share_keys,
                                  &d.after_masked_input, &d.during_unmask};
    *sets[moment] = {2, 7};
    SCOPED_TRACE(moment);
    ExpectExactSum(RunRound(10 + moment, params, inputs, d), inputs, Uploaders(10, d));
  }
}

// Full graph, n = 10, t = 4: at most 4 dropouts in all leave ≥ 6 survivors, each with ≥ 5
// surviving neighbours, so every round must complete.
TEST(SecAggProtocolTest, RandomDropoutsAtEveryPhaseKeepTheFullGraphSumExact) {
  const v1::SecAggParameters params = MakeParameters(10, 9, 4, 257);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    const Dropouts d = RandomDropouts(10, static_cast<int>(rng() % 5), rng);
    const auto inputs = RandomInputs(params, seed);
    SCOPED_TRACE(seed);
    ExpectExactSum(RunRound(100 + seed, params, inputs, d), inputs, Uploaders(10, d));
  }
}

// Harary graph, n = 30, k = 10, t = 4: at most 3 dropouts leave everyone ≥ 7 neighbours.
TEST(SecAggProtocolTest, RandomDropoutsAtEveryPhaseKeepTheHararyGraphSumExact) {
  const v1::SecAggParameters params = MakeParameters(30, 10, 4, 100);
  for (uint64_t seed = 0; seed < 25; ++seed) {
    std::mt19937_64 rng(1000 + seed);
    const Dropouts d = RandomDropouts(30, static_cast<int>(rng() % 4), rng);
    const auto inputs = RandomInputs(params, seed);
    SCOPED_TRACE(seed);
    ExpectExactSum(RunRound(200 + seed, params, inputs, d), inputs, Uploaders(30, d));
  }
}

// The simulation: 100 participants with the finder's k = 16, t = 6, about 10 % lost
// over the five moments, expanded on two server threads.
TEST(SecAggProtocolTest, HundredParticipantsWithRandomDropoutsAtEveryPhaseSumExactly) {
  const v1::SecAggParameters params = MakeParameters(100, 16, 6, 2048);
  for (uint64_t seed = 0; seed < 3; ++seed) {
    std::mt19937_64 rng(5000 + seed);
    const Dropouts d = RandomDropouts(100, 10, rng);
    const auto inputs = RandomInputs(params, seed);
    SCOPED_TRACE(seed);
    ExpectExactSum(RunRound(300 + seed, params, inputs, d, /*server_threads=*/2), inputs,
                   Uploaders(100, d));
  }
}

TEST(SecAggProtocolTest, TooFewAdvertisersAbortTheRound) {
  const v1::SecAggParameters params = MakeParameters(5, 4, 3, 10);
  Dropouts d;
  d.before_advertise = {0, 1, 2};  // 2 left: each has 1 neighbour, threshold 3
  RoundOutcome r = RunRound(1, params, RandomInputs(params, 1), d);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kAborted, HasSubstr("advertised keys")));
}

TEST(SecAggProtocolTest, TooFewSurvivorsAfterMaskedInputAbortTheRound) {
  const v1::SecAggParameters params = MakeParameters(5, 4, 3, 10);
  Dropouts d;
  d.after_share_keys = {0, 1};  // 3 upload, each with 2 surviving neighbours < 3
  RoundOutcome r = RunRound(1, params, RandomInputs(params, 1), d);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kAborted, HasSubstr("surviving neighbours")));
}

TEST(SecAggProtocolTest, TooFewUnmaskAnswersAbortTheRound) {
  const v1::SecAggParameters params = MakeParameters(5, 4, 3, 10);
  Dropouts d;
  d.during_unmask = {0, 1, 2};  // 2 answers for secrets that need 3 shares
  RoundOutcome r = RunRound(1, params, RandomInputs(params, 1), d);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kAborted, HasSubstr("shares; 3 are needed")));
}

}  // namespace
}  // namespace tontine::secagg::testing
