#include "common/base/files.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::IsOkAndHolds;
using testing::StatusIs;

TEST(FilesTest, WriteFileAtomicReplacesContentsAndSetsMode) {
  testing::TempDir dir;
  std::filesystem::path file = dir.path() / "secret.json";
  ASSERT_THAT(WriteFileAtomic(file, "first", 0600), IsOk());
  ASSERT_THAT(WriteFileAtomic(file, "second", 0600), IsOk());
  EXPECT_THAT(ReadFile(file), IsOkAndHolds(std::string("second")));
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files are left behind.
  EXPECT_EQ(testing::SnapshotDir(dir.path()).size(), 1u);
}

TEST(FilesTest, ReadFileNamesTheFileInEveryError) {
  testing::TempDir dir;
  EXPECT_THAT(ReadFile(dir.path() / "missing.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.yaml")));
  EXPECT_THAT(ReadFile(dir.path()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             HasSubstr("is a directory")));
}

TEST(FilesTest, MakeDirsCreatesParentsAndAcceptsExistingDirectories) {
  testing::TempDir dir;
  std::filesystem::path deep = dir.path() / "a" / "b" / "c";
  ASSERT_THAT(MakeDirs(deep, 0700), IsOk());
  EXPECT_TRUE(std::filesystem::is_directory(deep));
  EXPECT_THAT(MakeDirs(deep, 0700), IsOk());
}

TEST(FilesTest, ExpandHomeReplacesOnlyALeadingTilde) {
  setenv("HOME", "/home/ada", 1);
  EXPECT_EQ(ExpandHome("~/state"), std::filesystem::path("/home/ada/state"));
  EXPECT_EQ(ExpandHome("a/~/b"), std::filesystem::path("a/~/b"));
}

}  // namespace
}  // namespace tontine
