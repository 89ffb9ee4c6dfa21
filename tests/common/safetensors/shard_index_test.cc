#include "common/safetensors/shard_index.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::safetensors {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Pair;
using testing::StatusIs;
using ::testing::UnorderedElementsAre;

class ShardIndexTest : public ::testing::Test {
 protected:
  absl::StatusOr<ShardIndex> ReadText(absl::string_view text) {
    EXPECT_THAT(WriteFileAtomic(path_, text), IsOk());
    return ReadShardIndex(path_);
  }

  void ExpectInvalid(absl::string_view text, const std::string& problem) {
    EXPECT_THAT(ReadText(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path_.string() + ": "), HasSubstr(problem))))
        << text;
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / kShardIndexFile;
};

TEST_F(ShardIndexTest, ReadsAnIndexAsTransformersWritesIt) {
  absl::StatusOr<ShardIndex> index = ReadText(R"({
  "metadata": {"total_parameters": 6738415616, "total_size": 13476839424},
  "weight_map": {
    "lm_head.weight": "model-00002-of-00002.safetensors",
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors"
  }
})");
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ(index->total_size, 13476839424u);
  EXPECT_THAT(
      index->weight_map,
      UnorderedElementsAre(Pair("lm_head.weight", "model-00002-of-00002.safetensors"),
                           Pair("model.embed_tokens.weight", "model-00001-of-00002.safetensors")));
}

TEST_F(ShardIndexTest, WrittenIndexReadsBack) {
  ShardIndex index{.weight_map = {{"a", "model-00001-of-00002.safetensors"},
                                  {"b", "model-00002-of-00002.safetensors"}},
                   .total_size = 1234};
  ASSERT_THAT(WriteShardIndex(path_, index), IsOk());
  absl::StatusOr<ShardIndex> back = ReadShardIndex(path_);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->weight_map, index.weight_map);
  EXPECT_EQ(back->total_size, 1234u);
}

TEST_F(ShardIndexTest, RefusesShardNamesOutsideTheIndexDirectory) {
  for (const char* shard : {"../model.safetensors", "sub/model.safetensors", "..", ".", "",
                            "/etc/passwd", "a\\\\b.safetensors"}) {
    ExpectInvalid(
        absl::StrCat(R"({"metadata":{"total_size":0},"weight_map":{"w":")", shard, R"("}})"),
        "tensor \"w\": shard");
  }
}

TEST_F(ShardIndexTest, RefusesAMissingOrMalformedTotalSize) {
  ExpectInvalid(R"({"weight_map":{}})", "\"metadata\" is missing or not an object");
  ExpectInvalid(R"({"metadata":[],"weight_map":{}})", "\"metadata\" is missing");
  for (const char* size : {"-1", "1.5", "\"12\"", "null"}) {
    ExpectInvalid(absl::StrCat(R"({"metadata":{"total_size":)", size, R"(},"weight_map":{}})"),
                  "\"metadata.total_size\" is missing or not a non-negative integer");
  }
  ExpectInvalid(R"({"metadata":{},"weight_map":{}})", "\"metadata.total_size\" is missing");
}

TEST_F(ShardIndexTest, RefusesAMalformedWeightMap) {
  ExpectInvalid(R"({"metadata":{"total_size":0}})", "\"weight_map\" is missing or not an object");
  ExpectInvalid(R"({"metadata":{"total_size":0},"weight_map":{"w":3}})",
                "tensor \"w\": the shard is not a string");
  ExpectInvalid(R"({"metadata":{"total_size":0},"weight_map":{"w":"a","w":"b"}})",
                "index has duplicate key \"w\"");
  ExpectInvalid("[]", "index is not a JSON object");
  ExpectInvalid("{", "index is not valid JSON");
}

TEST_F(ShardIndexTest, ReportsAMissingIndexAsNotFound) {
  EXPECT_THAT(ReadShardIndex(dir_.path() / "absent.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.json")));
}

TEST_F(ShardIndexTest, WriterRefusesNamesTheReaderWouldRefuse) {
  ShardIndex index{.weight_map = {{"w", "../escape.safetensors"}}, .total_size = 0};
  EXPECT_THAT(WriteShardIndex(path_, index),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("shard \"../escape.safetensors\" is not a plain file name")));
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace tontine::safetensors
