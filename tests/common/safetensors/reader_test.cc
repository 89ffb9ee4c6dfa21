// SafetensorsFile::Open on hand-made files: one test per way a header can be malformed,
// each asserting the code and the message, and the ways a file can be unreadable.
#include "common/safetensors/reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
using testing::StatusIs;

// An 8-byte little-endian size followed by `header` and `buffer`.
std::string Image(absl::string_view header, absl::string_view buffer) {
  uint64_t size = header.size();
  std::string out(reinterpret_cast<const char*>(&size), 8);
  return absl::StrCat(out, header, buffer);
}

class ReaderTest : public ::testing::Test {
 protected:
  // Writes `bytes` to bad.safetensors and opens it.
  absl::StatusOr<SafetensorsFile> OpenBytes(absl::string_view bytes) {
    EXPECT_THAT(WriteFileAtomic(path_, bytes), IsOk());
    return SafetensorsFile::Open(path_);
  }

  // Expects INVALID_ARGUMENT whose message names the file and contains `problem`.
  void ExpectInvalid(absl::string_view bytes, const std::string& problem) {
    EXPECT_THAT(OpenBytes(bytes),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path_.string() + ": "), HasSubstr(problem))))
        << "header: " << bytes.substr(std::min<size_t>(8, bytes.size()));
  }

  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "bad.safetensors";
};

constexpr char kEightFloatBytes[] = "\0\0\x80?\0\0\0@";  // 1.0f, 2.0f

TEST_F(ReaderTest, OpensAWellFormedFileAsAControl) {
  absl::StatusOr<SafetensorsFile> file = OpenBytes(
      Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", {kEightFloatBytes, 8}));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->tensors().size(), 1u);
}

TEST_F(ReaderTest, RefusesAFileShorterThanEightBytes) {
  ExpectInvalid("abc", "file is 3 bytes, shorter than the 8-byte header size");
  ExpectInvalid("", "file is 0 bytes");
}

TEST_F(ReaderTest, RefusesAHeaderSizeOfZero) {
  ExpectInvalid(std::string(16, '\0'), "header size is 0");
}

TEST_F(ReaderTest, RefusesAHeaderSizeAbove100MiB) {
  uint64_t size = (uint64_t{100} << 20) + 1;
  ExpectInvalid(std::string(reinterpret_cast<const char*>(&size), 8) + "{}",
                "header size 104857601 exceeds the limit of 104857600 bytes");
  // Exactly 100 MiB is within the limit and fails only for running past the end.
  size = uint64_t{100} << 20;
  ExpectInvalid(std::string(reinterpret_cast<const char*>(&size), 8) + "{}",
                "header size 104857600 runs past the end of the file");
}

TEST_F(ReaderTest, RefusesAHeaderRunningPastTheEndOfTheFile) {
  uint64_t size = 100;
  ExpectInvalid(std::string(reinterpret_cast<const char*>(&size), 8) + "{}        ",
                "header size 100 runs past the end of the file (10 bytes follow the size)");
}

TEST_F(ReaderTest, RefusesAHeaderThatIsNotUtf8) {
  ExpectInvalid(Image("{\"\xff\":1}", ""), "header is not valid UTF-8");
  ExpectInvalid(Image("{\"\xc0\xaf\":1}", ""), "header is not valid UTF-8");      // overlong '/'
  ExpectInvalid(Image("{\"\xed\xa0\x80\":1}", ""), "header is not valid UTF-8");  // surrogate
}

TEST_F(ReaderTest, RefusesAHeaderThatIsNotJson) {
  ExpectInvalid(Image(R"({"a":)", ""), "header is not valid JSON");
  ExpectInvalid(Image(R"({} x)", ""), "header is not valid JSON");
}

TEST_F(ReaderTest, RefusesAHeaderThatIsNotAnObject) {
  ExpectInvalid(Image("[1, 2]  ", ""), "header is not a JSON object");
}

TEST_F(ReaderTest, RefusesAHeaderNestedTooDeeply) {
  ExpectInvalid(Image(std::string(100, '[') + std::string(100, ']'), ""),
                "header nests deeper than 64 levels");
}

TEST_F(ReaderTest, RefusesAnEntryThatIsNotAnObject) {
  ExpectInvalid(Image(R"({"a":[0,8]})", ""), "tensor \"a\": entry is not an object");
}

TEST_F(ReaderTest, RefusesAnUnknownDtype) {
  ExpectInvalid(Image(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", "x"),
                "tensor \"a\": unknown dtype \"F8_E4M3\"");
  ExpectInvalid(Image(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "x"),
                "tensor \"a\": \"dtype\" is missing or not a string");
}

TEST_F(ReaderTest, RefusesAShapeThatIsNotAListOfNonNegativeIntegers) {
  for (const char* shape : {"[-1]", "[2.0]", "[\"2\"]", "2", "null", "[9223372036854775808]"}) {
    ExpectInvalid(
        Image(absl::StrCat(R"({"a":{"dtype":"U8","shape":)", shape, R"(,"data_offsets":[0,2]}})"),
              "xy"),
        "tensor \"a\": \"shape\" is not a list of non-negative integers");
  }
}

TEST_F(ReaderTest, RefusesDataOffsetsThatAreNotTwoNonNegativeIntegers) {
  for (const char* offsets : {"[0]", "[0,2,4]", "[-1,2]", "[0,2.0]", "{}", "[0,\"2\"]"}) {
    ExpectInvalid(
        Image(absl::StrCat(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":)", offsets, "}}"),
              "xy"),
        "tensor \"a\": \"data_offsets\" is not two non-negative integers");
  }
  ExpectInvalid(Image(R"({"a":{"dtype":"U8","shape":[2]}})", "xy"),
                "tensor \"a\": \"data_offsets\" is not two non-negative integers");
}

TEST_F(ReaderTest, RefusesDataOffsetsWithBeginAfterEnd) {
  ExpectInvalid(Image(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,0]}})", "xy"),
                "tensor \"a\": data_offsets begin 2 > end 0");
}

TEST_F(ReaderTest, RefusesAByteLengthThatDisagreesWithShapeAndDtype) {
  ExpectInvalid(
      Image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", {kEightFloatBytes, 8}),
      "tensor \"a\": data_offsets span 8 bytes but shape [3] of F32 needs 12");
}

TEST_F(ReaderTest, RefusesAShapeWhoseSizeOverflows) {
  // 2^32 × 2^32 elements overflow 64 bits; so does 2^62 elements × 4 bytes.
  ExpectInvalid(Image(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],)"
                      R"("data_offsets":[0,0]}})",
                      ""),
                "tensor \"a\": shape [4294967296, 4294967296] overflows");
  ExpectInvalid(Image(R"({"a":{"dtype":"F32","shape":[4611686018427387904],)"
                      R"("data_offsets":[0,0]}})",
                      ""),
                "tensor \"a\": shape [4611686018427387904] overflows");
}

TEST_F(ReaderTest, RefusesOffsetsBeyondTheBuffer) {
  ExpectInvalid(
      Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", {kEightFloatBytes, 8}),
      "tensor \"a\": data_offsets [8, 16] run past the end of the 8-byte buffer");
}

TEST_F(ReaderTest, RefusesOverlappingTensors) {
  ExpectInvalid(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      std::string(12, '\0')),
                "tensors \"a\" and \"b\" overlap");
  // An empty tensor inside another one overlaps it too.
  ExpectInvalid(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                      std::string(8, '\0')),
                "tensors \"a\" and \"b\" overlap");
}

TEST_F(ReaderTest, RefusesHolesAndBytesNoTensorCovers) {
  ExpectInvalid(Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                      std::string(12, '\0')),
                "buffer bytes [4, 8) before tensor \"b\" belong to no tensor (a hole)");
  ExpectInvalid(
      Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')),
      "buffer bytes [0, 4) before tensor \"a\"");
  ExpectInvalid(
      Image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(8, '\0')),
      "buffer bytes [4, 8) after the last tensor belong to no tensor");
  ExpectInvalid(Image("{}", "x"), "buffer bytes [0, 1) after the last tensor");
}

TEST_F(ReaderTest, RefusesDuplicateTensorNames) {
  ExpectInvalid(Image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      "xy"),
                "header has duplicate key \"a\"");
}

TEST_F(ReaderTest, RefusesMetadataThatIsNotAStringToStringMap) {
  ExpectInvalid(Image(R"({"__metadata__":{"format":"pt","step":3}})", ""),
                "\"__metadata__\" value of \"step\" is not a string");
  ExpectInvalid(Image(R"({"__metadata__":"pt"})", ""),
                "\"__metadata__\" is not an object of strings");
}

TEST_F(ReaderTest, ReportsAMissingFileAsNotFound) {
  EXPECT_THAT(SafetensorsFile::Open(dir_.path() / "missing.safetensors"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.safetensors")));
}

// Run in a death-test child: opens `path` without the file-access capabilities (so root too
// is bound by the mode), prints the status and exits 0 iff it is PERMISSION_DENIED naming it.
[[noreturn]] void OpenWithoutFileAccessCapabilities(const std::filesystem::path& path) {
  if (!testing::DropFileAccessCapabilities()) std::_Exit(2);
  absl::Status status = SafetensorsFile::Open(path).status();
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  std::_Exit(absl::IsPermissionDenied(status) ? 0 : 1);
}

TEST_F(ReaderTest, ReportsAnUnreadableFileAsPermissionDenied) {
  ASSERT_THAT(WriteFileAtomic(path_, Image("{}      ", ""), 0000), IsOk());
  EXPECT_EXIT(OpenWithoutFileAccessCapabilities(path_), ::testing::ExitedWithCode(0),
              "PERMISSION_DENIED: .*bad\\.safetensors");
}

TEST_F(ReaderTest, ReportsADirectoryAsAFailedPrecondition) {
  EXPECT_THAT(SafetensorsFile::Open(dir_.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is a directory")));
}

TEST_F(ReaderTest, FindReportsAnAbsentTensorAsNotFound) {
  absl::StatusOr<SafetensorsFile> file =
      OpenBytes(Image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("c":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      "xy"));
  ASSERT_THAT(file, IsOk());
  ASSERT_THAT(file->Find("c"), IsOk());
  EXPECT_EQ((*file->Find("c"))->begin, 1u);
  // "b" sorts between the two names; "d" after both.
  for (const char* absent : {"b", "d", ""}) {
    EXPECT_THAT(file->Find(absent),
                StatusIs(absl::StatusCode::kNotFound,
                         AllOf(HasSubstr("bad.safetensors"),
                               HasSubstr(absl::StrCat("no tensor named \"", absent, "\"")))));
  }
}

}  // namespace
}  // namespace tontine::safetensors
