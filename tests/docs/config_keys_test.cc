#include "tests/docs/config_keys.h"

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/experiment_config.h"
#include "tests/testing/status_matchers.h"

namespace tontine::docs {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsSupersetOf;
using ::testing::Not;
using tontine::testing::StatusIs;

// A loader with a section, a list of mappings and a free-form mapping.
void ReadSmallFile(config::ConfigFile& file) {
  config::MapReader root(&file, file.root(), "");
  int count = 0;
  root.Integer("count", &count);
  config::MapReader server = root.Section("server");
  std::string host;
  server.String("host", &host);
  server.Finish();
  root.MapOrMapList("items", [](config::MapReader& item) {
    double weight = 0;
    item.Number("weight", &weight);
    item.MapOrMapList("parts", [](config::MapReader& part) {
      std::string name;
      part.String("name", &name);
    });
  });
  std::map<std::string, std::vector<std::string>> tags;
  root.StringListMap("tags", &tags);
  root.Finish();
}

TEST(AcceptedKeysTest, FindsSectionsAndTheKeysOfMappingsReadOnlyWhenPresent) {
  EXPECT_THAT(AcceptedKeys(ReadSmallFile),
              ElementsAre("count", "items", "items.parts", "items.parts.name", "items.weight",
                          "server", "server.host", "tags"));
}

TEST(AcceptedKeysTest, TheExperimentLoaderAcceptsTheDropoutListsKeysAndNoFilterTag) {
  const std::set<std::string> keys =
      AcceptedKeys([](config::ConfigFile& file) { config::ReadExperimentConfig(file); });
  EXPECT_THAT(keys, IsSupersetOf({"kind", "name", "lora", "lora.rank", "simulate.dropout",
                                  "simulate.dropout.phase", "simulate.dropout.probability",
                                  "cohort.filter"}));
  EXPECT_THAT(keys, Not(Contains("cohort.filter.language")));
}

TEST(DocumentedKeysTest, ReadsKeysCommentedOutKeysAndListElementsByIndentation) {
  absl::StatusOr<std::set<std::string>> keys = DocumentedKeys(R"(kind: client
# Where the state is: a prose comment, not a key (capitalised).
state_dir: ~/x
# coordinator: host:7443
reconnect:
  initial_backoff: 1s
  # max_backoff: 1m
  #   (Default 1m.)
items: []
# For example:
# items:
#   - weight: 2
#     parts:
#     - name: x
filter: {language: [wol]}
log_level: info
)");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre("coordinator", "filter", "filter.language", "items",
                                 "items.parts", "items.parts.name", "items.weight", "kind",
                                 "log_level", "reconnect", "reconnect.initial_backoff",
                                 "reconnect.max_backoff", "state_dir"));
}

TEST(DocumentedKeysTest, RefusesTextThatIsNotYaml) {
  EXPECT_THAT(DocumentedKeys("a: [unclosed\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("not YAML")));
}

}  // namespace
}  // namespace tontine::docs
