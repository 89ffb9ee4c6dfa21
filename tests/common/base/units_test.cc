#include "common/base/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine {
namespace {

using ::testing::HasSubstr;
using testing::IsOkAndHolds;
using testing::StatusIs;

TEST(UnitsTest, ParsesDurationsWithEveryUnitAndCombinations) {
  EXPECT_THAT(ParseDuration("30s"), IsOkAndHolds(absl::Seconds(30)));
  EXPECT_THAT(ParseDuration("250ms"), IsOkAndHolds(absl::Milliseconds(250)));
  EXPECT_THAT(ParseDuration("5m"), IsOkAndHolds(absl::Minutes(5)));
  EXPECT_THAT(ParseDuration("7d"), IsOkAndHolds(absl::Hours(168)));
  EXPECT_THAT(ParseDuration("1h30m"), IsOkAndHolds(absl::Minutes(90)));
  EXPECT_THAT(ParseDuration("1.5s"), IsOkAndHolds(absl::Milliseconds(1500)));
  EXPECT_THAT(ParseDuration("0"), IsOkAndHolds(absl::ZeroDuration()));
}

TEST(UnitsTest, RejectsDurationsWithoutUnitsOrWithUnknownOnes) {
  for (const char* bad : {"30", "", "soon", "5 m", "3w", "-1s", "s"}) {
    EXPECT_THAT(ParseDuration(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("is not a duration")))
        << bad;
  }
}

TEST(UnitsTest, ParsesByteSizesInDecimalAndBinaryUnits) {
  EXPECT_THAT(ParseByteSize("4096"), IsOkAndHolds(4096u));
  EXPECT_THAT(ParseByteSize("8MiB"), IsOkAndHolds(8u << 20));
  EXPECT_THAT(ParseByteSize("2GiB"), IsOkAndHolds(2ull << 30));
  EXPECT_THAT(ParseByteSize("100MB"), IsOkAndHolds(100'000'000u));
  EXPECT_THAT(ParseByteSize("1.5KiB"), IsOkAndHolds(1536u));
  EXPECT_THAT(ParseByteSize("8mib"), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("is not a byte size")));
  EXPECT_THAT(ParseByteSize("lots"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("512MiB")));
}

TEST(UnitsTest, FormatsDurationsShortestExact) {
  EXPECT_EQ(FormatShortDuration(absl::Hours(168)), "7d");
  EXPECT_EQ(FormatShortDuration(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(FormatShortDuration(absl::ZeroDuration()), "0");
}

TEST(UnitsTest, FormatsByteSizesInDecimalUnitsWithOneDecimal) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(999), "999 B");
  EXPECT_EQ(FormatByteSize(1000), "1.0 KB");
  EXPECT_EQ(FormatByteSize(1234567), "1.2 MB");
  EXPECT_EQ(FormatByteSize(999'960), "1.0 MB");
  EXPECT_EQ(FormatByteSize(987'654), "987.7 KB");
  EXPECT_EQ(FormatByteSize(3'000'000'000'000ull), "3000.0 GB");
}

}  // namespace
}  // namespace tontine
