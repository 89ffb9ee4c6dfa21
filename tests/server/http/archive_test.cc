#include "server/http/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/base/files.h"
#include "common/crypto/sha256.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::http {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

// A version directory as the coordinator writes it, with files that must not be published.
std::filesystem::path WriteVersionDir(const std::filesystem::path& dir) {
  EXPECT_THAT(MakeDirs(dir), IsOk());
  EXPECT_THAT(WriteFileAtomic(dir / "adapter_config.json", R"({"peft_type": "LORA"})"), IsOk());
  EXPECT_THAT(WriteFileAtomic(dir / "adapter_model.safetensors", std::string(5000, '\x07')),
              IsOk());
  EXPECT_THAT(WriteFileAtomic(dir / "adapter_model.lora_b.safetensors", "b"), IsOk());
  EXPECT_THAT(WriteFileAtomic(dir / "server_optimizer.safetensors", "m"), IsOk());
  return dir;
}

// Reads an archive back with libarchive's reader: entry name → contents.
std::map<std::string, std::string> ReadArchive(const std::string& bytes) {
  std::map<std::string, std::string> entries;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_format_zip(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string contents(static_cast<size_t>(archive_entry_size(entry)), '\0');
    EXPECT_EQ(archive_read_data(a, contents.data(), contents.size()),
              static_cast<la_ssize_t>(contents.size()));
    entries[archive_entry_pathname(entry)] = contents;
  }
  archive_read_free(a);
  return entries;
}

class ArchiveTest : public ::testing::TestWithParam<ArchiveFormat> {};

TEST_P(ArchiveTest, HoldsExactlyThePeftFilesUnderThePrefix) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v3");
  absl::StatusOr<std::string> bytes = ArchivePeftDir(version, "demo-v3", GetParam());
  ASSERT_THAT(bytes, IsOk());
  const auto entries = ReadArchive(*bytes);
  EXPECT_EQ(entries, (std::map<std::string, std::string>{
                         {"demo-v3/adapter_config.json", R"({"peft_type": "LORA"})"},
                         {"demo-v3/adapter_model.safetensors", std::string(5000, '\x07')}}));
}

TEST_P(ArchiveTest, AMissingFileIsNamed) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v3");
  std::filesystem::remove(version / "adapter_model.safetensors");
  EXPECT_THAT(ArchivePeftDir(version, "x", GetParam()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("adapter_model.safetensors")));
}

INSTANTIATE_TEST_SUITE_P(TarAndZip, ArchiveTest,
                         ::testing::Values(ArchiveFormat::kTar, ArchiveFormat::kZip));

TEST(TarArchiveTest, IsReadableByTar) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v1");
  absl::StatusOr<std::string> bytes = ArchivePeftDir(version, "demo-v1", ArchiveFormat::kTar);
  ASSERT_THAT(bytes, IsOk());
  ASSERT_THAT(WriteFileAtomic(dir.path() / "a.tar", *bytes), IsOk());
  tontine::testing::RunResult listing =
      tontine::testing::Run({"/bin/tar", "-tf", (dir.path() / "a.tar").string()});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_EQ(listing.out, "demo-v1/adapter_config.json\ndemo-v1/adapter_model.safetensors\n");
}

TEST(ExportPeftDirTest, CopiesThePeftFilesWhenTheDigestMatches) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v2");
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(std::string(5000, '\x07'));
  ASSERT_THAT(digest, IsOk());
  const auto out = dir.path() / "out" / "adapter";
  ASSERT_THAT(ExportPeftDir(version, out, *digest), IsOk());
  EXPECT_EQ(tontine::testing::SnapshotDir(out),
            (std::map<std::string, std::string>{
                {"adapter_config.json", R"({"peft_type": "LORA"})"},
                {"adapter_model.safetensors", std::string(5000, '\x07')}}));
}

TEST(ExportPeftDirTest, AWrongDigestIsDataLossAndWritesNothing) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v2");
  const auto out = dir.path() / "out";
  EXPECT_THAT(ExportPeftDir(version, out, std::string(32, '\0')),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("adapter_model.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(ExportPeftDirTest, RefusesToOverwrite) {
  tontine::testing::TempDir dir;
  const auto version = WriteVersionDir(dir.path() / "v2");
  const auto out = dir.path() / "out";
  ASSERT_THAT(MakeDirs(out), IsOk());
  ASSERT_THAT(WriteFileAtomic(out / "adapter_config.json", "mine"), IsOk());
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(std::string(5000, '\x07'));
  EXPECT_THAT(ExportPeftDir(version, out, *digest),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already exists")));
  EXPECT_EQ(*ReadFile(out / "adapter_config.json"), "mine");
}

}  // namespace
}  // namespace tontine::http
