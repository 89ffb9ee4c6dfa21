#include "client/runner/power_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/base/files.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::runner {
namespace {

namespace fs = std::filesystem;

using ::tontine::testing::IsOk;
using ::tontine::testing::TempDir;

// A fake /sys/class/power_supply: one directory per supply with its attribute files.
class PowerSourceTest : public ::testing::Test {
 protected:
  void Supply(const std::string& name,
              std::initializer_list<std::pair<std::string, std::string>> attributes) {
    const fs::path dir = dir_.path() / name;
    ASSERT_THAT(MakeDirs(dir), IsOk());
    for (const auto& [key, value] : attributes) {
      ASSERT_THAT(WriteFileAtomic(dir / key, value + "\n"), IsOk());
    }
  }
  PowerSource Read() const { return ReadPowerSource(dir_.path()); }

  TempDir dir_;
};

TEST_F(PowerSourceTest, ChargerOnlineIsMains) {
  Supply("AC", {{"type", "Mains"}, {"online", "1"}});
  Supply("BAT0", {{"type", "Battery"}, {"present", "1"}, {"status", "Discharging"}});
  EXPECT_EQ(Read(), PowerSource::kMains);
}

TEST_F(PowerSourceTest, ChargerOfflineWithABatteryIsBattery) {
  Supply("AC", {{"type", "Mains"}, {"online", "0"}});
  Supply("BAT0", {{"type", "Battery"}, {"present", "1"}, {"status", "Discharging"}});
  EXPECT_EQ(Read(), PowerSource::kBattery);
}

TEST_F(PowerSourceTest, AnOnlineUsbCChargerCounts) {
  Supply("ucsi-source-psy-USBC000:001", {{"type", "USB"}, {"online", "2"}});
  Supply("ADP1", {{"type", "Mains"}, {"online", "0"}});
  Supply("BAT1", {{"type", "Battery"}});
  EXPECT_EQ(Read(), PowerSource::kMains);
}

TEST_F(PowerSourceTest, NoSupplyAtAllIsNotReported) {
  EXPECT_EQ(Read(), PowerSource::kNotReported);
  EXPECT_EQ(ReadPowerSource(dir_.path() / "missing"), PowerSource::kNotReported);
}

TEST_F(PowerSourceTest, AChargerWithoutABatteryIsNotReported) {
  // A desktop that reports its power supply but has no battery never pauses.
  Supply("AC", {{"type", "Mains"}, {"online", "0"}});
  EXPECT_EQ(Read(), PowerSource::kNotReported);
}

TEST_F(PowerSourceTest, PeripheralAndAbsentBatteriesAreIgnored) {
  Supply("hid-mouse-battery",
         {{"type", "Battery"}, {"scope", "Device"}, {"status", "Discharging"}});
  Supply("BAT0", {{"type", "Battery"}, {"present", "0"}});
  Supply("AC", {{"type", "Mains"}, {"online", "0"}});
  EXPECT_EQ(Read(), PowerSource::kNotReported);
}

TEST_F(PowerSourceTest, WithoutAChargerTheBatteryStatusDecides) {
  Supply("BAT0", {{"type", "Battery"}, {"status", "Charging"}});
  EXPECT_EQ(Read(), PowerSource::kMains);
  Supply("BAT0", {{"type", "Battery"}, {"status", "Discharging"}});
  EXPECT_EQ(Read(), PowerSource::kBattery);
}

TEST_F(PowerSourceTest, EntriesWithoutATypeAreSkipped) {
  Supply("weird", {{"online", "1"}});
  Supply("BAT0", {{"type", "Battery"}, {"status", "Discharging"}});
  EXPECT_EQ(Read(), PowerSource::kBattery);
}

}  // namespace
}  // namespace tontine::runner
