#include "client/runner/audit_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/base/files.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::runner {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::tontine::testing::IsOk;
using ::tontine::testing::IsOkAndHolds;
using ::tontine::testing::StatusIs;
using ::tontine::testing::TempDir;

const std::string kDigestA(64, 'a');
const std::string kDigestB = "0123456789abcdef" + std::string(48, 'b');

std::vector<TransparencyEntry> TwoEntries() {
  return {{1'790'000'000'123, "Session", "Hello", 0, 58, kDigestA},
          {1'790'000'004'001, "UploadMaskedUpdate", "MaskedUpdateChunk", 7, 1'048'612, kDigestB}};
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(AuditReportTest, TableAlignsItsColumnsAndEndsWithTotals) {
  const std::vector<std::string> lines = Lines(FormatAuditTable(TwoEntries()));
  ASSERT_THAT(lines, SizeIs(6));  // header, 2 rows, totals, 2 message types
  EXPECT_EQ(lines[0],
            "time (UTC)               round  call                message            "
            "  bytes  sha256");
  EXPECT_EQ(lines[1],
            "2026-09-21 14:13:20.123      -  Session             Hello              "
            "     58  aaaaaaaaaaaaaaaa");
  EXPECT_EQ(lines[2],
            "2026-09-21 14:13:24.001      7  UploadMaskedUpdate  MaskedUpdateChunk  "
            "1048612  0123456789abcdef");
  EXPECT_EQ(lines[3], "total: 2 messages, 1.0 MB (1048670 bytes)");
  EXPECT_THAT(lines[4], AllOf(HasSubstr("Hello"), HasSubstr(" 1 "), HasSubstr("58 B")));
  EXPECT_THAT(lines[5], AllOf(HasSubstr("MaskedUpdateChunk"), HasSubstr("1.0 MB")));
}

TEST(AuditReportTest, AnEmptyLogIsAHeaderAndZeroTotals) {
  const std::vector<std::string> lines = Lines(FormatAuditTable({}));
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0], HasSubstr("sha256"));
  EXPECT_EQ(lines[1], "total: 0 messages, 0 B (0 bytes)");
  EXPECT_EQ(FormatAuditJson({}), "[]\n");
}

TEST(AuditReportTest, JsonIsOneArrayWithTheFullDigestAndATime) {
  const std::string text = FormatAuditJson(TwoEntries());
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["time"], "2026-09-21T14:13:20.123Z");
  EXPECT_EQ(j[0]["at_unix_ms"], 1'790'000'000'123);
  EXPECT_EQ(j[0]["call"], "Session");
  EXPECT_EQ(j[0]["message"], "Hello");
  EXPECT_EQ(j[0]["round"], 0);
  EXPECT_EQ(j[0]["bytes"], 58);
  EXPECT_EQ(j[1]["sha256"], kDigestB);
  EXPECT_EQ(j[1]["round"], 7);
  // One message per line, so that grep works on it as on the log.
  EXPECT_THAT(Lines(text), SizeIs(4));
}

TEST(AuditReportTest, ReadsTheStateDirectorysLog) {
  TempDir dir;
  ASSERT_THAT(WriteFileAtomic(dir.path() / kTransparencyLogFile,
                              "{\"at_unix_ms\": 1790000000123, \"call\": \"Session\", \"message\": "
                              "\"Hello\", \"round\": 0, \"bytes\": 58, \"sha256\": \"" +
                                  kDigestA + "\"}\n\n"),
              IsOk());
  EXPECT_THAT(AuditReport(dir.path(), false),
              IsOkAndHolds(AllOf(HasSubstr("Everything this client sent"),
                                 HasSubstr("aaaaaaaaaaaaaaaa"), HasSubstr("total: 1 message,"),
                                 Not(HasSubstr(kDigestA)))));
  absl::StatusOr<std::string> json = AuditReport(dir.path(), true);
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*json)[0]["sha256"], kDigestA);
}

TEST(AuditReportTest, AStateDirectoryWithoutALogHasSentNothing) {
  TempDir dir;
  EXPECT_THAT(AuditReport(dir.path(), false), IsOkAndHolds(HasSubstr("total: 0 messages")));
  EXPECT_THAT(AuditReport(dir.path(), true), IsOkAndHolds(std::string("[]\n")));
}

TEST(AuditReportTest, AMissingStateDirectoryIsNotFound) {
  TempDir dir;
  EXPECT_THAT(AuditReport(dir.path() / "nope", false),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr((dir.path() / "nope").string()), HasSubstr("enrol"))));
}

TEST(AuditReportTest, ACorruptLineIsAnErrorNamingTheFileAndLine) {
  TempDir dir;
  const fs::path log = dir.path() / kTransparencyLogFile;
  ASSERT_THAT(WriteFileAtomic(log,
                              "{\"at_unix_ms\": 1, \"call\": \"Session\", \"message\": \"Hello\", "
                              "\"round\": 0, \"bytes\": 58, \"sha256\": \"aa\"}\n"
                              "{\"at_unix_ms\": 2, \"call\": \"Sess\n"),
              IsOk());
  for (bool json : {false, true}) {
    EXPECT_THAT(AuditReport(dir.path(), json),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(log.string() + ":2:")));
  }
  ASSERT_THAT(WriteFileAtomic(log, "{\"at_unix_ms\": 1, \"call\": \"Session\"}\n"), IsOk());
  EXPECT_THAT(AuditReport(dir.path(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(log.string() + ":1:")));
}

}  // namespace
}  // namespace tontine::runner
