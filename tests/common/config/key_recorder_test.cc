#include "common/config/key_recorder.h"

#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/reader.h"

namespace tontine::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Looks up `count`, `server.host` and, for each element of `items`, `weight`.
void ReadSmallFile(ConfigFile& file) {
  MapReader root(&file, file.root(), "");
  int count = 0;
  root.Integer("count", &count);
  MapReader server = root.Section("server");
  std::string host;
  server.String("host", &host);
  server.Finish();
  root.MapOrMapList("items", [](MapReader& item) {
    double weight = 0;
    item.Number("weight", &weight);
  });
  root.Finish();
}

void Read(absl::string_view yaml) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(yaml, "small.yaml", ".");
  ASSERT_TRUE(file.ok()) << file.status();
  ReadSmallFile(*file);
}

TEST(KeyRecorderTest, RecordsEveryKeyLookedUpWhetherPresentOrNot) {
  KeyRecorder recorder;
  Read("server: {port: 1}\n");  // port is unknown: reported, not recorded
  EXPECT_THAT(recorder.keys(), ElementsAre("count", "items", "server", "server.host"));
}

TEST(KeyRecorderTest, KeysInAListOfMappingsCarryTheElementsIndex) {
  KeyRecorder recorder;
  Read("items: [{weight: 1}, {weight: 2}]\n");
  EXPECT_THAT(recorder.keys(), ElementsAre("count", "items", "items[0].weight",
                                           "items[1].weight", "server", "server.host"));
}

TEST(KeyRecorderTest, TheInnermostRecorderRecordsAndOnlyWhileItLives) {
  Read("count: 1\n");  // nobody records
  KeyRecorder outer;
  {
    KeyRecorder inner;
    Read("");
    EXPECT_THAT(inner.keys(), ElementsAre("count", "items", "server", "server.host"));
  }
  EXPECT_THAT(outer.keys(), IsEmpty());
  Read("");
  EXPECT_THAT(outer.keys(), ElementsAre("count", "items", "server", "server.host"));
}

TEST(KeyRecorderTest, RecordsOnlyItsOwnThread) {
  KeyRecorder recorder;
  std::thread other([] { Read(""); });
  other.join();
  EXPECT_THAT(recorder.keys(), IsEmpty());
}

}  // namespace
}  // namespace tontine::config
