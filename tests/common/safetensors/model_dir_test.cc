#include "common/safetensors/model_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/base/files.h"
#include "common/safetensors/shard_index.h"
#include "common/safetensors/writer.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::safetensors {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::MatchesRegex;
using ::testing::Pair;
using testing::StatusIs;

constexpr char kShard1[] = "model-00001-of-00002.safetensors";
constexpr char kShard2[] = "model-00002-of-00002.safetensors";
constexpr char kConfig[] = R"({"model_type": "llama", "hidden_size": 4})";

// A safetensors file holding one F32 tensor per name, each [2] with distinct values.
void WriteWeights(const fs::path& path, const std::vector<std::string>& names) {
  std::vector<std::string> bytes;
  std::vector<TensorToWrite> tensors;
  bytes.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    float values[2] = {static_cast<float>(i), static_cast<float>(i) + 0.5f};
    bytes.emplace_back(reinterpret_cast<const char*>(values), sizeof values);
    tensors.push_back({names[i], Dtype::kF32, {2}, bytes.back()});
  }
  ASSERT_THAT(WriteSafetensors(path, tensors, {{"format", "pt"}}), IsOk());
}

class ModelDirTest : public ::testing::Test {
 protected:
  // DIR/config.json + DIR/model.safetensors holding a, b, c.
  fs::path MakeSingle(const std::string& name) {
    fs::path dir = root_.path() / name;
    EXPECT_THAT(MakeDirs(dir), IsOk());
    EXPECT_THAT(WriteFileAtomic(dir / kModelConfigFile, kConfig), IsOk());
    WriteWeights(dir / kSingleWeightsFile, {"a", "b", "c"});
    return dir;
  }

  // The same tensors split over two shards, the index listing them out of file order.
  fs::path MakeSharded(const std::string& name) {
    fs::path dir = root_.path() / name;
    EXPECT_THAT(MakeDirs(dir), IsOk());
    EXPECT_THAT(WriteFileAtomic(dir / kModelConfigFile, kConfig), IsOk());
    WriteWeights(dir / kShard2, {"a", "c"});
    WriteWeights(dir / kShard1, {"b"});
    ShardIndex index{.weight_map = {{"a", kShard2}, {"b", kShard1}, {"c", kShard2}},
                     .total_size = 24};
    EXPECT_THAT(WriteShardIndex(dir / kShardIndexFile, index), IsOk());
    return dir;
  }

  testing::TempDir root_;
};

TEST_F(ModelDirTest, FindsASingleFileModel) {
  const fs::path dir = MakeSingle("m");
  absl::StatusOr<ModelFiles> files = FindModelFiles(dir);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->config, dir / "config.json");
  EXPECT_THAT(files->weights, ElementsAre(dir / "model.safetensors"));
  EXPECT_TRUE(files->shard_of.empty());
}

TEST_F(ModelDirTest, FindsShardsInNameOrderWithTheTensorsOfEach) {
  const fs::path dir = MakeSharded("m");
  // A stray file the index does not name is not part of the model.
  WriteWeights(dir / "model-00003-of-00003.safetensors", {"z"});
  absl::StatusOr<ModelFiles> files = FindModelFiles(dir);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->config, dir / "config.json");
  EXPECT_THAT(files->weights, ElementsAre(dir / kShard1, dir / kShard2));
  EXPECT_THAT(files->shard_of, ElementsAre(Pair("a", dir / kShard2), Pair("b", dir / kShard1),
                                           Pair("c", dir / kShard2)));
}

TEST_F(ModelDirTest, MissingDirectoryIsNotFoundNamingIt) {
  const fs::path dir = root_.path() / "absent";
  EXPECT_THAT(FindModelFiles(dir), StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.string())));
  EXPECT_THAT(ModelDigest(dir), StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.string())));
}

TEST_F(ModelDirTest, AFileInsteadOfADirectoryIsNotFound) {
  const fs::path file = root_.path() / "model.safetensors";
  WriteWeights(file, {"a"});
  EXPECT_THAT(FindModelFiles(file),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(file.string())));
}

TEST_F(ModelDirTest, MissingConfigIsNotFoundNamingIt) {
  const fs::path dir = MakeSingle("m");
  fs::remove(dir / "config.json");
  const std::string config = (dir / "config.json").string();
  EXPECT_THAT(FindModelFiles(dir), StatusIs(absl::StatusCode::kNotFound, HasSubstr(config)));
  EXPECT_THAT(ModelDigest(dir), StatusIs(absl::StatusCode::kNotFound, HasSubstr(config)));
}

TEST_F(ModelDirTest, MissingWeightsAreNotFoundNamingTheDirectory) {
  const fs::path dir = MakeSingle("m");
  fs::remove(dir / "model.safetensors");
  EXPECT_THAT(FindModelFiles(dir),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(dir.string()), HasSubstr("model.safetensors"),
                             HasSubstr("model.safetensors.index.json"))));
}

TEST_F(ModelDirTest, AShardTheIndexNamesButThatIsMissingIsNotFoundNamingTheIndex) {
  const fs::path dir = MakeSharded("m");
  fs::remove(dir / kShard2);
  EXPECT_THAT(FindModelFiles(dir),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr((dir / kShardIndexFile).string()), HasSubstr(kShard2))));
  EXPECT_THAT(ModelDigest(dir), StatusIs(absl::StatusCode::kNotFound, HasSubstr(kShard2)));
}

TEST_F(ModelDirTest, AMalformedIndexOrOneReachingOutsideIsInvalidNamingTheIndex) {
  const fs::path dir = MakeSharded("m");
  const std::string index = (dir / kShardIndexFile).string();
  for (const char* text :
       {"{", R"({"metadata":{"total_size":8},"weight_map":{"a":"../model.safetensors"}})",
        R"({"metadata":{"total_size":8},"weight_map":{"a":"sub/model.safetensors"}})"}) {
    ASSERT_THAT(WriteFileAtomic(dir / kShardIndexFile, text), IsOk());
    EXPECT_THAT(FindModelFiles(dir), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(index)))
        << text;
  }
}

// Pins the digest's definition: the coordinator and clients of different versions must agree.
// Expected value computed independently (Python hashlib) from the definition in model_dir.h.
TEST_F(ModelDirTest, DigestMatchesItsDefinition) {
  const fs::path dir = root_.path() / "m";
  ASSERT_THAT(MakeDirs(dir), IsOk());
  ASSERT_THAT(WriteFileAtomic(dir / "config.json", "{\"model_type\": \"llama\"}\n"), IsOk());
  ASSERT_THAT(WriteFileAtomic(dir / "model.safetensors", "not really tensors"), IsOk());
  EXPECT_THAT(
      ModelDigest(dir),
      testing::IsOkAndHolds("f90fb8d2d9cdc049bcc33bc06662e95ae698f96260a426508bb453aa56260cbb"));
}

TEST_F(ModelDirTest, DigestIsLowerCaseHexAndStableUnderRenameAndCopy) {
  const fs::path dir = MakeSharded("first");
  absl::StatusOr<std::string> digest = ModelDigest(dir);
  ASSERT_THAT(digest, IsOk());
  EXPECT_THAT(*digest, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(ModelDigest(dir), testing::IsOkAndHolds(*digest));

  const fs::path renamed = root_.path() / "second";
  fs::rename(dir, renamed);
  EXPECT_THAT(ModelDigest(renamed), testing::IsOkAndHolds(*digest));

  const fs::path copy = root_.path() / "elsewhere" / "third";
  fs::create_directories(copy.parent_path());
  fs::copy(renamed, copy);
  EXPECT_THAT(ModelDigest(copy), testing::IsOkAndHolds(*digest));
}

// Rewrites `file` in place without WriteFileAtomic's fsyncs (hundreds of rewrites follow).
void Overwrite(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  ASSERT_TRUE(out.good()) << file;
}

// Flips every byte of `file` in turn and expects each flip to change the digest of `dir`.
void ExpectEveryByteCounts(const fs::path& dir, const fs::path& file) {
  absl::StatusOr<std::string> original = ModelDigest(dir);
  ASSERT_THAT(original, IsOk());
  absl::StatusOr<std::string> bytes = ReadFile(file);
  ASSERT_THAT(bytes, IsOk());
  ASSERT_FALSE(bytes->empty());
  for (size_t i = 0; i < bytes->size(); ++i) {
    std::string changed = *bytes;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    ASSERT_NO_FATAL_FAILURE(Overwrite(file, changed));
    absl::StatusOr<std::string> digest = ModelDigest(dir);
    ASSERT_THAT(digest, IsOk());
    ASSERT_NE(*digest, *original) << file << " byte " << i;
  }
  ASSERT_NO_FATAL_FAILURE(Overwrite(file, *bytes));
  EXPECT_THAT(ModelDigest(dir), testing::IsOkAndHolds(*original));
}

TEST_F(ModelDirTest, DigestChangesWithAnyByteOfConfigOrWeights) {
  const fs::path single = MakeSingle("single");
  ExpectEveryByteCounts(single, single / "config.json");
  ExpectEveryByteCounts(single, single / "model.safetensors");
  const fs::path sharded = MakeSharded("sharded");
  ExpectEveryByteCounts(sharded, sharded / "config.json");
  ExpectEveryByteCounts(sharded, sharded / kShard1);
  ExpectEveryByteCounts(sharded, sharded / kShard2);
}

TEST_F(ModelDirTest, DigestDiffersBetweenSingleAndShardedLayouts) {
  absl::StatusOr<std::string> single = ModelDigest(MakeSingle("single"));
  absl::StatusOr<std::string> sharded = ModelDigest(MakeSharded("sharded"));
  ASSERT_THAT(single, IsOk());
  ASSERT_THAT(sharded, IsOk());
  EXPECT_NE(*single, *sharded);
}

}  // namespace
}  // namespace tontine::safetensors
