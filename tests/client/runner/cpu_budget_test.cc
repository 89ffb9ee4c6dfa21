#include "client/runner/cpu_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "client/runner/resource_governor.h"
#include "common/base/files.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::runner {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;
using ::tontine::testing::TempDir;

const absl::TimeZone kUtc = absl::UTCTimeZone();

absl::Time At(int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilMinute(2026, 3, day, hour, minute), kUtc);
}

TEST(CpuBudgetLedgerTest, AMissingFileIsAnEmptyLedger) {
  TempDir dir;
  absl::StatusOr<CpuBudgetLedger> ledger = CpuBudgetLedger::Open(dir.path() / kCpuBudgetFile, kUtc);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_EQ(ledger->SpentOn(At(1, 12)), absl::ZeroDuration());
}

TEST(CpuBudgetLedgerTest, ChargesSurviveReopening) {
  TempDir dir;
  const auto path = dir.path() / kCpuBudgetFile;
  {
    absl::StatusOr<CpuBudgetLedger> ledger = CpuBudgetLedger::Open(path, kUtc);
    ASSERT_THAT(ledger, IsOk());
    ASSERT_THAT(ledger->Charge(absl::Minutes(20), At(1, 9)), IsOk());
    ASSERT_THAT(ledger->Charge(absl::Seconds(90), At(1, 10)), IsOk());
  }
  absl::StatusOr<CpuBudgetLedger> again = CpuBudgetLedger::Open(path, kUtc);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->SpentOn(At(1, 23, 59)), absl::Minutes(21) + absl::Seconds(30));
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, AllOf(HasSubstr("\"day\":\"2026-03-01\""), HasSubstr("\"cpu_seconds\":1290")));
}

TEST(CpuBudgetLedgerTest, ANewDayStartsAtZero) {
  TempDir dir;
  absl::StatusOr<CpuBudgetLedger> ledger = CpuBudgetLedger::Open(dir.path() / kCpuBudgetFile, kUtc);
  ASSERT_THAT(ledger, IsOk());
  ASSERT_THAT(ledger->Charge(absl::Hours(2), At(1, 23, 30)), IsOk());
  EXPECT_EQ(ledger->SpentOn(At(2, 0, 1)), absl::ZeroDuration());
  ASSERT_THAT(ledger->Charge(absl::Minutes(5), At(2, 0, 1)), IsOk());
  EXPECT_EQ(ledger->SpentOn(At(2, 8)), absl::Minutes(5));
  EXPECT_EQ(ledger->NextDay(At(2, 8)), At(3, 0));
}

TEST(CpuBudgetLedgerTest, TheDayIsTheLocalOne) {
  TempDir dir;
  const absl::TimeZone plus_five = absl::FixedTimeZone(5 * 3600);
  absl::StatusOr<CpuBudgetLedger> ledger =
      CpuBudgetLedger::Open(dir.path() / kCpuBudgetFile, plus_five);
  ASSERT_THAT(ledger, IsOk());
  // 20:00 UTC is already the next day at UTC+5.
  ASSERT_THAT(ledger->Charge(absl::Hours(1), At(1, 18)), IsOk());
  EXPECT_EQ(ledger->SpentOn(At(1, 20)), absl::ZeroDuration());
  EXPECT_EQ(ledger->NextDay(At(1, 18)), At(1, 19));
}

TEST(CpuBudgetLedgerTest, ACorruptFileIsAnErrorNamingIt) {
  TempDir dir;
  const auto path = dir.path() / kCpuBudgetFile;
  for (const char* bad : {"{not json", "[1, 2]", "{\"day\": \"2026-03-01\"}",
                          "{\"day\": \"yesterday\", \"cpu_seconds\": 3}",
                          "{\"day\": \"2026-03-01\", \"cpu_seconds\": -4}"}) {
    ASSERT_THAT(WriteFileAtomic(path, bad), IsOk());
    EXPECT_THAT(CpuBudgetLedger::Open(path, kUtc),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path.string()), HasSubstr("delete the file"))))
        << bad;
  }
}

// The governor over a fake clock, CPU clock and sysfs tree.
class ResourceGovernorTest : public ::testing::Test {
 protected:
  ResourceGovernorOptions Options() {
    ResourceGovernorOptions o;
    o.power_supply_dir = dir_.path() / "power";
    o.power_poll_interval = absl::ZeroDuration();
    o.ledger_path = dir_.path() / kCpuBudgetFile;
    o.time_zone = kUtc;
    o.now = [this] { return now_; };
    o.cpu_time = [this] { return cpu_; };
    return o;
  }
  void OnBattery(bool battery) {
    ASSERT_THAT(MakeDirs(dir_.path() / "power" / "AC"), IsOk());
    ASSERT_THAT(MakeDirs(dir_.path() / "power" / "BAT0"), IsOk());
    ASSERT_THAT(WriteFileAtomic(dir_.path() / "power" / "AC" / "type", "Mains\n"), IsOk());
    ASSERT_THAT(WriteFileAtomic(dir_.path() / "power" / "AC" / "online", battery ? "0\n" : "1\n"),
                IsOk());
    ASSERT_THAT(WriteFileAtomic(dir_.path() / "power" / "BAT0" / "type", "Battery\n"), IsOk());
  }

  TempDir dir_;
  absl::Time now_ = At(1, 21, 30);
  absl::Duration cpu_ = absl::Seconds(7);
};

TEST_F(ResourceGovernorTest, PausesOnBatteryOnlyWhenAsked) {
  OnBattery(true);
  ResourceGovernorOptions options = Options();
  absl::StatusOr<std::unique_ptr<ResourceGovernor>> unasked = ResourceGovernor::Create(options);
  ASSERT_THAT(unasked, IsOk());
  EXPECT_EQ((*unasked)->PauseReason(), std::nullopt);
  options.pause_when_on_battery = true;
  absl::StatusOr<std::unique_ptr<ResourceGovernor>> asked = ResourceGovernor::Create(options);
  ASSERT_THAT(asked, IsOk());
  EXPECT_THAT((*asked)->PauseReason(), Optional(std::string("on battery")));
  EXPECT_EQ((*asked)->Summary(), "on battery");
  OnBattery(false);
  EXPECT_EQ((*asked)->PauseReason(), std::nullopt);
  EXPECT_EQ((*asked)->DescribePower(), "on mains power");
}

TEST_F(ResourceGovernorTest, WithoutAPowerSupplySaysSoAndNeverPauses) {
  ResourceGovernorOptions options = Options();
  options.pause_when_on_battery = true;
  absl::StatusOr<std::unique_ptr<ResourceGovernor>> governor = ResourceGovernor::Create(options);
  ASSERT_THAT(governor, IsOk());
  EXPECT_EQ((*governor)->PauseReason(), std::nullopt);
  EXPECT_THAT((*governor)->DescribePower(),
              AllOf(HasSubstr("not reported"), HasSubstr("has no effect")));
  EXPECT_THAT((*governor)->DescribeLimits(),
              AllOf(HasSubstr("pause on battery: not reported"), HasSubstr("no daily CPU budget")));
}

TEST_F(ResourceGovernorTest, ASpentBudgetPausesUntilTheNextDay) {
  ResourceGovernorOptions options = Options();
  options.daily_cpu_budget = absl::Hours(1);
  options.charge_interval = absl::Seconds(15);
  absl::StatusOr<std::unique_ptr<ResourceGovernor>> created = ResourceGovernor::Create(options);
  ASSERT_THAT(created, IsOk());
  ResourceGovernor& governor = **created;
  EXPECT_EQ(governor.PauseReason(), std::nullopt);
  EXPECT_EQ(governor.Summary(), "CPU today 0m of 1h");

  governor.StartRound();
  cpu_ += absl::Minutes(40);
  now_ += absl::Seconds(10);
  ASSERT_THAT(governor.Tick(), IsOk());  // within charge_interval: nothing written yet
  EXPECT_FALSE(std::filesystem::exists(options.ledger_path));
  cpu_ += absl::Minutes(20);  // the round in progress counts before it is charged
  EXPECT_THAT(governor.PauseReason(),
              Optional(AllOf(HasSubstr("daily CPU budget of 1h used"),
                             HasSubstr("resumes at 00:00"), HasSubstr("in 2h30m"))));
  ASSERT_THAT(governor.EndRound(), IsOk());

  // A restart reads the same day's spending back.
  absl::StatusOr<std::unique_ptr<ResourceGovernor>> restarted = ResourceGovernor::Create(options);
  ASSERT_THAT(restarted, IsOk());
  EXPECT_NE((*restarted)->PauseReason(), std::nullopt);
  EXPECT_EQ((*restarted)->Summary(), "CPU today 1h of 1h");
  EXPECT_EQ((*restarted)->DescribeLimits(),
            "no pause on battery; daily CPU budget 1h, 1h used today");
  // Idle CPU time between rounds is not charged; the next day the budget is renewed.
  cpu_ += absl::Hours(3);
  now_ = At(2, 0, 0);
  EXPECT_EQ((*restarted)->PauseReason(), std::nullopt);
}

TEST_F(ResourceGovernorTest, ACorruptLedgerStopsStartUpNamingTheFile) {
  ASSERT_THAT(WriteFileAtomic(dir_.path() / kCpuBudgetFile, "garbage"), IsOk());
  ResourceGovernorOptions options = Options();
  options.daily_cpu_budget = absl::Hours(1);
  EXPECT_THAT(ResourceGovernor::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kCpuBudgetFile)));
  options.daily_cpu_budget = absl::ZeroDuration();  // no budget: the file is not read
  EXPECT_THAT(ResourceGovernor::Create(options), IsOk());
}

}  // namespace
}  // namespace tontine::runner
