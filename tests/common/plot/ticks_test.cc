#include "common/plot/ticks.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::plot {
namespace {

using ::testing::ElementsAre;

// Whether `step` is 1, 2 or 5 times a power of ten.
bool IsNiceStep(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  for (double nice : {1.0, 2.0, 5.0}) {
    if (std::abs(mantissa - nice) < 1e-9) return true;
  }
  return false;
}

TEST(NiceTicksTest, CoversARoundRangeWithSteps) {
  Ticks t = NiceTicks(0, 10, 6);
  EXPECT_EQ(t.step, 2);
  EXPECT_THAT(t.values, ElementsAre(0, 2, 4, 6, 8, 10));
  EXPECT_EQ(t.decimals, 0);
}

TEST(NiceTicksTest, WidensToMultiplesOfTheStep) {
  Ticks t = NiceTicks(3.7, 24.1, 6);
  EXPECT_EQ(t.step, 5);
  EXPECT_THAT(t.values, ElementsAre(0, 5, 10, 15, 20, 25));
}

TEST(NiceTicksTest, SmallRangesGetDecimals) {
  Ticks t = NiceTicks(0.02, 0.29, 4);
  EXPECT_DOUBLE_EQ(t.step, 0.1);
  EXPECT_EQ(t.decimals, 1);
  ASSERT_EQ(t.values.size(), 4u);
  EXPECT_EQ(FormatTick(t.values[3], t.decimals), "0.3");
}

TEST(NiceTicksTest, EveryStepIsOneTwoOrFiveAndEveryRangeIsCovered) {
  for (double lo : {-1234.5, -3.0, 0.0, 0.001, 7.7, 19.0, 250.0}) {
    for (double span : {0.004, 0.7, 1.0, 3.3, 17.0, 99.0, 1.5e4}) {
      for (int max_ticks : {3, 4, 5, 7, 11}) {
        const double hi = lo + span;
        Ticks t = NiceTicks(lo, hi, max_ticks);
        SCOPED_TRACE(::testing::Message() << "[" << lo << ", " << hi << "] max " << max_ticks);
        EXPECT_TRUE(IsNiceStep(t.step)) << t.step;
        EXPECT_LE(t.min, lo + 1e-9);
        EXPECT_GE(t.max, hi - 1e-9);
        EXPECT_LE(static_cast<int>(t.values.size()), max_ticks);
        EXPECT_GE(t.values.size(), 2u);
      }
    }
  }
}

TEST(NiceTicksTest, FewerThanThreeTicksMeansThree) {
  Ticks t = NiceTicks(-3, 14, 2);
  EXPECT_THAT(t.values, ElementsAre(-20, 0, 20));
}

TEST(NiceTicksTest, MinimumStepKeepsRoundsWhole) {
  Ticks t = NiceTicks(0, 2, 11, 1);
  EXPECT_THAT(t.values, ElementsAre(0, 1, 2));
  EXPECT_EQ(t.decimals, 0);
}

TEST(NiceTicksTest, DegenerateInputsStillGiveAnAxis) {
  Ticks equal = NiceTicks(5, 5, 6);
  EXPECT_LT(equal.min, 5);
  EXPECT_GT(equal.max, 5);
  Ticks zero = NiceTicks(0, 0, 6);
  EXPECT_LT(zero.min, 0);
  EXPECT_GT(zero.max, 0);
  Ticks swapped = NiceTicks(10, 0, 6);
  EXPECT_THAT(swapped.values, ElementsAre(0, 2, 4, 6, 8, 10));
  Ticks nan = NiceTicks(std::nan(""), 3, 6);
  EXPECT_EQ(nan.min, 0);
  EXPECT_EQ(nan.max, 1);
  Ticks inf = NiceTicks(0, std::numeric_limits<double>::infinity(), 6);
  EXPECT_EQ(inf.max, 1);
}

TEST(FormatTickTest, NeverPrintsNegativeZero) {
  EXPECT_EQ(FormatTick(-0.0, 0), "0");
  EXPECT_EQ(FormatTick(-0.0001, 2), "0.00");
  EXPECT_EQ(FormatTick(-0.5, 1), "-0.5");
  EXPECT_EQ(FormatTick(12.25, 1), "12.2");
}

}  // namespace
}  // namespace tontine::plot
