// Every key the config loaders accept is shown, with its comment, in the config file that
// documents it (DESIGN.md: "each configs/*.yaml mirrors its struct, comment for comment").
// The keys come from the loaders themselves (docs::AcceptedKeys), so a key added to a
// loader without documentation fails here. Commented-out keys count as documented.
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "common/config/client_config.h"
#include "common/config/coordinator_config.h"
#include "common/config/experiment_config.h"
#include "tests/docs/config_keys.h"
#include "tests/testing/process.h"

namespace tontine::docs {
namespace {

void ExpectDocumentsEveryKey(const std::string& file, const ConfigReader& read) {
  const std::set<std::string> accepted = AcceptedKeys(read);
  ASSERT_GT(accepted.size(), 5u) << "the loader looked up almost nothing";
  absl::StatusOr<std::string> text = ReadFile(testing::SourceDir() / file);
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<std::set<std::string>> documented = DocumentedKeys(*text);
  ASSERT_TRUE(documented.ok()) << file << ": " << documented.status();
  std::vector<std::string> missing;
  for (const std::string& key : accepted) {
    if (documented->count(key) == 0) missing.push_back(key);
  }
  EXPECT_TRUE(missing.empty()) << file << " does not show these keys that the loader accepts "
                               << "(add each, or a commented-out example, with its comment): "
                               << absl::StrJoin(missing, ", ");
}

TEST(ConfigDocsTest, UdhrDemoYamlShowsEveryExperimentKey) {
  ExpectDocumentsEveryKey("configs/experiments/udhr-demo.yaml", [](config::ConfigFile& file) {
    config::ReadExperimentConfig(file);
  });
}

TEST(ConfigDocsTest, ClientYamlShowsEveryClientKey) {
  ExpectDocumentsEveryKey("configs/client.yaml",
                          [](config::ConfigFile& file) { config::ReadClientConfig(file); });
}

TEST(ConfigDocsTest, CoordinatorYamlShowsEveryCoordinatorKey) {
  ExpectDocumentsEveryKey("configs/coordinator.yaml", [](config::ConfigFile& file) {
    config::ReadCoordinatorConfig(file);
  });
}

}  // namespace
}  // namespace tontine::docs
