#include "common/secagg/params.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine::secagg {

bool operator==(const SecAggGraphParams& a, const SecAggGraphParams& b) {
  return a.neighbours == b.neighbours &&
         a.reconstruction_threshold == b.reconstruction_threshold &&
         a.full_graph == b.full_graph;
}
std::ostream& operator<<(std::ostream& os, const SecAggGraphParams& p) {
  return os << "{k=" << p.neighbours << ", t=" << p.reconstruction_threshold
            << (p.full_graph ? ", full" : "") << "}";
}

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

SecAggRequirements Cohort(uint32_t n, double dropout = 0.1, double corrupt = 0.05) {
  SecAggRequirements r;
  r.cohort_size = n;
  r.dropout_rate = dropout;
  r.corrupt_fraction = corrupt;
  return r;
}

SecAggGraphParams Graph(uint32_t k, uint32_t t, bool full = false) {
  return SecAggGraphParams{k, t, full};
}

// The reference values: γ = 5 % corrupt, δ = 10 % dropout, σ = 40, η = 20.
TEST(FindSecAggParamsTest, ReproducesTheReferenceValues) {
  EXPECT_THAT(FindSecAggParams(Cohort(100)), IsOkAndHolds(Graph(16, 6)));
  EXPECT_THAT(FindSecAggParams(Cohort(1000)), IsOkAndHolds(Graph(36, 19)));
}

TEST(FindSecAggParamsTest, DefaultsAreTheReferenceRequirements) {
  SecAggRequirements r;
  EXPECT_EQ(r.dropout_rate, 0.1);
  EXPECT_EQ(r.corrupt_fraction, 0.05);
  EXPECT_EQ(r.security_bits, 40);
  EXPECT_EQ(r.correctness_bits, 20);
}

// The finder's k is the smallest even degree that CheckSecAggParams accepts with any t.
TEST(FindSecAggParamsTest, ChoosesAConfigurationItsCheckAcceptsAndNoSmallerDegree) {
  for (uint32_t n : {40u, 100u, 250u, 1000u, 5000u}) {
    SCOPED_TRACE(n);
    absl::StatusOr<SecAggGraphParams> p = FindSecAggParams(Cohort(n));
    ASSERT_THAT(p, IsOk());
    EXPECT_THAT(CheckSecAggParams(Cohort(n), *p), IsOk());
    ASSERT_GE(p->neighbours, 4u);
    uint32_t smaller = p->neighbours - 2;
    for (uint32_t t = 1; t <= smaller; ++t) {
      EXPECT_THAT(CheckSecAggParams(Cohort(n), Graph(smaller, t)),
                  StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2^")))
          << "k = " << smaller << ", t = " << t;
    }
  }
}

// At n = 1000, k = 36 both t = 18 and t = 19 pass; 19 leaves more room on the tighter side.
TEST(FindSecAggParamsTest, ThresholdBalancesSecurityAgainstDropouts) {
  EXPECT_THAT(CheckSecAggParams(Cohort(1000), Graph(36, 18)), IsOk());
  EXPECT_THAT(CheckSecAggParams(Cohort(1000), Graph(36, 19)), IsOk());
  EXPECT_THAT(CheckSecAggParams(Cohort(1000), Graph(36, 17)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("too small for security"), HasSubstr("2^-40"))));
  EXPECT_THAT(CheckSecAggParams(Cohort(1000), Graph(36, 20)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("too large for 100 dropouts"), HasSubstr("2^-20"))));
}

TEST(FindSecAggParamsTest, MoreDropoutOrCorruptionNeverShrinksTheDegree) {
  for (uint32_t n : {100u, 1000u}) {
    uint32_t previous = 0;
    for (double dropout : {0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3}) {
      absl::StatusOr<SecAggGraphParams> p = FindSecAggParams(Cohort(n, dropout));
      ASSERT_THAT(p, IsOk());
      EXPECT_GE(p->neighbours, previous) << "n = " << n << ", δ = " << dropout;
      previous = p->neighbours;
    }
    previous = 0;
    for (double corrupt : {0.0, 0.01, 0.05, 0.1, 0.2}) {
      absl::StatusOr<SecAggGraphParams> p = FindSecAggParams(Cohort(n, 0.1, corrupt));
      ASSERT_THAT(p, IsOk());
      EXPECT_GE(p->neighbours, previous) << "n = " << n << ", γ = " << corrupt;
      previous = p->neighbours;
    }
  }
}

// At a fixed degree more dropout can only lower the largest threshold that survives it, and
// more corruption can only raise the smallest threshold that is secure.
TEST(CheckSecAggParamsTest, MoreDropoutNeverRaisesTheLargestAcceptableThreshold) {
  auto largest_t = [](double dropout, double corrupt) {
    uint32_t largest = 0;
    for (uint32_t t = 1; t <= 36; ++t) {
      if (CheckSecAggParams(Cohort(1000, dropout, corrupt), Graph(36, t)).ok()) largest = t;
    }
    return largest;
  };
  auto smallest_t = [](double corrupt) {
    for (uint32_t t = 1; t <= 36; ++t) {
      if (CheckSecAggParams(Cohort(1000, 0.0, corrupt), Graph(36, t)).ok()) return t;
    }
    return 0u;
  };
  uint32_t previous = 37;
  for (double dropout : {0.0, 0.05, 0.1, 0.15}) {
    uint32_t largest = largest_t(dropout, 0.01);
    EXPECT_LE(largest, previous) << "δ = " << dropout;
    EXPECT_GT(largest, 0u) << "δ = " << dropout;
    previous = largest;
  }
  uint32_t previous_smallest = 0;
  for (double corrupt : {0.0, 0.02, 0.05, 0.1}) {
    uint32_t smallest = smallest_t(corrupt);
    EXPECT_GE(smallest, previous_smallest) << "γ = " << corrupt;
    previous_smallest = smallest;
  }
  EXPECT_EQ(largest_t(0.0, 0.01), 36u);  // no dropouts: every neighbour answers
}

// Where γ·n and δ·n are whole numbers (multiples of 20 here) the degree grows with n; in
// between, rounding ⌈γ·n⌉ up can make a slightly larger cohort need a smaller degree.
TEST(FindSecAggParamsTest, LargerCohortsNeverNeedFewerNeighbours) {
  uint32_t previous = 0;
  for (uint32_t n = 20; n <= 2000; n += 20) {
    absl::StatusOr<SecAggGraphParams> p = FindSecAggParams(Cohort(n));
    ASSERT_THAT(p, IsOk()) << "n = " << n;
    EXPECT_GE(p->neighbours, previous) << "n = " << n;
    previous = p->neighbours;
  }
  for (uint32_t n : {5000u, 10000u, 65538u}) {
    absl::StatusOr<SecAggGraphParams> p = FindSecAggParams(Cohort(n));
    ASSERT_THAT(p, IsOk()) << "n = " << n;
    EXPECT_GE(p->neighbours, previous) << "n = " << n;
    EXPECT_LT(p->neighbours, 100u) << "n = " << n;  // logarithmic, not linear, in n
    previous = p->neighbours;
  }
}

TEST(FindSecAggParamsTest, SmallCohortsFallBackToTheFullGraph) {
  // n = 5: 1 corrupt, 1 dropout; 1 < t ≤ 3 in the full graph, the upper middle of {2, 3}.
  EXPECT_THAT(FindSecAggParams(Cohort(5)), IsOkAndHolds(Graph(4, 3, true)));
  EXPECT_THAT(FindSecAggParams(Cohort(4)), IsOkAndHolds(Graph(3, 2, true)));
  // n = 10 with 4 corrupt and 4 dropouts: only t = 5 separates them, and no Harary graph
  // with k ≤ 8 reaches 2^-40.
  EXPECT_THAT(FindSecAggParams(Cohort(10, 0.4, 0.4)), IsOkAndHolds(Graph(9, 5, true)));
  EXPECT_THAT(CheckSecAggParams(Cohort(10, 0.4, 0.4), Graph(9, 5, true)), IsOk());
  // No corruption or dropout in a cohort of 3: the middle of 0 < t ≤ 2, rounded up.
  EXPECT_THAT(FindSecAggParams(Cohort(3, 0.0, 0.0)), IsOkAndHolds(Graph(2, 2, true)));
}

TEST(FindSecAggParamsTest, RejectsMalformedRequirementsAsInvalidArgument) {
  EXPECT_THAT(FindSecAggParams(Cohort(2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("n = 2")));
  EXPECT_THAT(FindSecAggParams(Cohort(0)), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("at least 3")));
  EXPECT_THAT(FindSecAggParams(Cohort(100, 1.0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dropout_rate")));
  EXPECT_THAT(FindSecAggParams(Cohort(100, 0.1, -0.01)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("corrupt_fraction")));
  EXPECT_THAT(FindSecAggParams(Cohort(100, std::numeric_limits<double>::quiet_NaN())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dropout_rate")));
  SecAggRequirements r = Cohort(100);
  r.security_bits = 0;
  EXPECT_THAT(FindSecAggParams(r),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("security_bits")));
  r = Cohort(100);
  r.correctness_bits = 129;
  EXPECT_THAT(CheckSecAggParams(r, Graph(16, 6)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("correctness_bits")));
}

TEST(FindSecAggParamsTest, RejectsTooMuchCorruptionAndDropoutAsFailedPrecondition) {
  EXPECT_THAT(FindSecAggParams(Cohort(10, 0.5, 0.5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("n = 10"), HasSubstr("5 corrupt"),
                             HasSubstr("5 dropouts"), HasSubstr("full graph"))));
  // n = 3 with the default rates: 1 corrupt and 1 dropout leave no 1 < t ≤ 1.
  EXPECT_THAT(FindSecAggParams(Cohort(3)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("n = 3")));
  EXPECT_THAT(FindSecAggParams(Cohort(1000, 0.5, 0.499)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("499 corrupt"), HasSubstr("500 dropouts"))));
}

TEST(CheckSecAggParamsTest, RejectsMalformedGraphsAsFailedPrecondition) {
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(17, 6)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("must be even")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(0, 0)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("outside [1, n")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(100, 6, true)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("outside [1, n")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(16, 0)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t = 0")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(16, 17)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("t = 17")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(16, 6, true)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("full_graph is set")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(99, 50, false)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("full_graph is unset")));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(99, 50, true)), IsOk());
}

TEST(CheckSecAggParamsTest, NamesTheConditionThatFails) {
  // n = 100: 5 corrupt, so t = 5 lets the server with all five rebuild a secret.
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(16, 5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("t = 5 is too small"), HasSubstr("5 corrupt"))));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(16, 8)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("t = 8 is too large"), HasSubstr("10 dropouts"))));
  // 5 corrupt + 10 dropped can fill two runs of 7 ring positions and split k = 14 with
  // probability up to 2^-39.3; two runs of 2 split k = 4 almost surely.
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(14, 6)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("k = 14 is too small"), HasSubstr("may split"))));
  EXPECT_THAT(CheckSecAggParams(Cohort(100), Graph(4, 4)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("may split")));
}

TEST(CheckRingBoundTest, SixteenBitsFitUpToN65538) {
  // (2^15 − 1)·65538 = 2147483646 < 2^31 ≤ (2^15 − 1)·65539.
  EXPECT_THAT(CheckRingBound(65538, 16), IsOk());
  EXPECT_THAT(CheckRingBound(65539, 16),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("n = 65539"), HasSubstr("B = 16"),
                             HasSubstr("largest cohort that fits is n = 65538"))));
}

TEST(CheckRingBoundTest, BoundScalesWithTheQuantisationBits) {
  // B = 8: 127·n < 2^31 ⇔ n ≤ 16909320.
  EXPECT_THAT(CheckRingBound(16909320, 8), IsOk());
  EXPECT_THAT(CheckRingBound(16909321, 8),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("n = 16909320")));
  // B = 31: (2^30 − 1)·2 < 2^31, (2^30 − 1)·3 is not.
  EXPECT_THAT(CheckRingBound(2, 31), IsOk());
  EXPECT_THAT(CheckRingBound(3, 31), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("n = 2")));
  // B = 1 carries only zero.
  EXPECT_THAT(CheckRingBound(std::numeric_limits<uint32_t>::max(), 1), IsOk());
  EXPECT_THAT(CheckRingBound(100, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[1, 31]")));
  EXPECT_THAT(CheckRingBound(1, 32),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("B = 32")));
}

}  // namespace
}  // namespace tontine::secagg
