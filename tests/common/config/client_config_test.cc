#include "common/config/client_config.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::config {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir_.path() / "text"); }
  std::filesystem::path Write(const std::string& text) {
    std::filesystem::path p = dir_.path() / "client.yaml";
    std::ofstream(p) << "kind: client\ndata_dir: text\n" << text;
    return p;
  }
  testing::TempDir dir_;
};

TEST_F(ClientConfigTest, LimitsDefaultToNoPauseAndNoBudget) {
  absl::StatusOr<ClientConfig> c = LoadClientConfig(Write(""));
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(c->pause_when_on_battery);
  EXPECT_EQ(c->daily_cpu_budget, absl::ZeroDuration());
}

TEST_F(ClientConfigTest, ReadsTheBatteryPauseAndTheDailyCpuBudget) {
  absl::StatusOr<ClientConfig> c =
      LoadClientConfig(Write("pause_when_on_battery: true\ndaily_cpu_budget: 1h30m\n"));
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->pause_when_on_battery);
  EXPECT_EQ(c->daily_cpu_budget, absl::Minutes(90));
  for (const char* unlimited : {"unlimited", "0"}) {
    c = LoadClientConfig(Write(absl::StrCat("daily_cpu_budget: ", unlimited, "\n")));
    ASSERT_THAT(c, IsOk()) << unlimited;
    EXPECT_EQ(c->daily_cpu_budget, absl::ZeroDuration());
  }
}

TEST_F(ClientConfigTest, RefusesABadBudgetWithItsPosition) {
  EXPECT_THAT(LoadClientConfig(Write("daily_cpu_budget: 2 hours\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("client.yaml:3:19: daily_cpu_budget: '2 hours' is not a "
                                 "duration; write e.g. 30s, 5m, 1h30m, 7d or 250ms, or unlimited")));
  EXPECT_THAT(LoadClientConfig(Write("daily_cpu_budget: 30s\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(":3:19: daily_cpu_budget: 30s is out of range; expected 1m "
                                 "to 1000h, or unlimited")));
  EXPECT_THAT(LoadClientConfig(Write("daily_cpu_budget: 2000h\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST_F(ClientConfigTest, PauseWhenOnBatteryIsStrictlyBoolean) {
  EXPECT_THAT(LoadClientConfig(Write("pause_when_on_battery: yes\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(":3:24: pause_when_on_battery:")));
  EXPECT_THAT(LoadClientConfig(Write("pause_on_battery: true\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("did you mean 'pause_when_on_battery'")));
}

}  // namespace
}  // namespace tontine::config
