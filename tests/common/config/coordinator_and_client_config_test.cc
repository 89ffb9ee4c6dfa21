#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/client_config.h"
#include "common/config/coordinator_config.h"
#include "common/config/validate.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

class ConfigFilesTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_.path() / name;
    std::ofstream(p) << text;
    return p;
  }
  testing::TempDir dir_;
};

TEST_F(ConfigFilesTest, CoordinatorResolvesPathsAgainstItsOwnDirectory) {
  Write("exp.yaml", "kind: experiment\nname: e1\n");
  auto path = Write("coordinator.yaml",
                    "kind: coordinator\nstate_dir: st\nlisten: 127.0.0.1:0\n"
                    "experiment: exp.yaml\nlimits: {max_message_bytes: 1MiB}\n");
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(path);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->state_dir, dir_.path() / "st");
  EXPECT_EQ(c->experiment.name, "e1");
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_EQ(c->limits.max_message_bytes, 1u << 20);
  EXPECT_FALSE(c->insecure);
}

TEST_F(ConfigFilesTest, CoordinatorReportsErrorsOfTheExperimentItNames) {
  Write("exp.yaml", "kind: experiment\nname: e1\nlora: {rank: -1}\n");
  auto path = Write("coordinator.yaml", "kind: coordinator\nexperiment: exp.yaml\n");
  EXPECT_THAT(LoadCoordinatorConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exp.yaml:3:14: lora.rank: -1 is out of range")));
}

TEST_F(ConfigFilesTest, CoordinatorRefusesAMissingExperimentAndABadAddress) {
  auto path = Write("coordinator.yaml",
                    "kind: coordinator\nexperiment: nope.yaml\nlisten: localhost\n");
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(path);
  EXPECT_EQ(c.status().message(),
            path.string() + ":2:13: experiment: file does not exist: " +
                (dir_.path() / "nope.yaml").string() + "\n" + path.string() +
                ":3:9: listen: 'localhost' is not an address; write host:port, e.g. "
                "127.0.0.1:7443, coordinator.example.org:7443 or [::1]:7443");
}

TEST_F(ConfigFilesTest, ClientNeedsAnExistingDataDirAndOrderedBackoffs) {
  std::filesystem::create_directories(dir_.path() / "text");
  auto good = Write("client.yaml",
                    "kind: client\ndata_dir: text\nstate_dir: s\nthreads: 2\n"
                    "memory_limit: 2GiB\nreconnect: {initial_backoff: 2s, max_backoff: 10s}\n");
  absl::StatusOr<ClientConfig> c = LoadClientConfig(good);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->data_dir, dir_.path() / "text");
  EXPECT_EQ(c->memory_limit_bytes, 2ull << 30);
  EXPECT_EQ(c->reconnect.max_backoff, absl::Seconds(10));

  auto missing = Write("c2.yaml", "kind: client\n");
  EXPECT_THAT(LoadClientConfig(missing),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(":1:1: missing required key 'data_dir'")));
  auto backoff = Write("c3.yaml", "kind: client\ndata_dir: text\n"
                                  "reconnect: {initial_backoff: 1m, max_backoff: 1s}\n");
  EXPECT_THAT(LoadClientConfig(backoff),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(":3:47: reconnect.max_backoff: is shorter than "
                                 "reconnect.initial_backoff")));
}

TEST_F(ConfigFilesTest, ValidateDispatchesOnKind) {
  Write("exp.yaml", "kind: experiment\nname: e1\n");
  EXPECT_THAT(ValidateConfigFile(dir_.path() / "exp.yaml"),
              tontine::testing::IsOkAndHolds(std::string("experiment 'e1'")));
  auto wrong = Write("w.yaml", "kind: experimnet\n");
  EXPECT_EQ(ValidateConfigFile(wrong).status().message(),
            wrong.string() + ":1:7: kind: unknown value 'experimnet'; did you mean "
                             "'experiment'? (one of experiment, coordinator, client)");
}

// The files shipped in configs/ are the documentation users copy from: they must all load.
TEST(ShippedConfigsTest, EveryFileInConfigsValidates) {
  int checked = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(testing::SourceDir() / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_THAT(ValidateConfigFile(entry.path()), IsOk()) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace tontine::config
