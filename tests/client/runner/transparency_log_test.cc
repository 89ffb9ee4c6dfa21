#include "client/runner/transparency_log.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/crypto/sha256.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tontine/v1/coordinator.pb.h"
#include "tontine/v1/round.pb.h"
#include "tontine/v1/secagg.pb.h"

namespace tontine::runner {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;
using ::tontine::testing::TempDir;

v1::AdvertiseKeys Keys(uint64_t round) {
  v1::AdvertiseKeys keys;
  keys.set_round_id(round);
  keys.set_encryption_public_key(std::string(32, '\x11'));
  keys.set_masking_public_key(std::string(32, '\x22'));
  return keys;
}

v1::RoundResponse Accept(uint64_t round) {
  v1::RoundResponse response;
  response.set_round_id(round);
  response.set_accept(true);
  return response;
}

std::string Sha256Hex(const std::string& bytes) {
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(bytes);
  EXPECT_THAT(digest, IsOk());
  return HexEncode(digest.value_or(""));
}

std::vector<std::string> Lines(const fs::path& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  EXPECT_THAT(text, IsOk());
  return absl::StrSplit(text.value_or(""), '\n', absl::SkipEmpty());
}

TEST(TransparencyLogTest, RecordAppendsOneJsonLinePerMessageWithItsSizeAndDigest) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  TransparencyLog log(path);
  const int64_t before = absl::ToUnixMillis(absl::Now());
  ASSERT_THAT(log.Record("Session", "AdvertiseKeys", 7, Keys(7)), IsOk());
  ASSERT_THAT(log.Record("Session", "RoundResponse", 8, Accept(8)), IsOk());
  const int64_t after = absl::ToUnixMillis(absl::Now());

  // The file itself: two whole lines, each one JSON object ending in '\n'.
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_THAT(text, IsOk());
  ASSERT_FALSE(text->empty());
  EXPECT_EQ(text->back(), '\n');
  const std::vector<std::string> lines = Lines(path);
  ASSERT_THAT(lines, SizeIs(2));
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["call"], "Session");
  EXPECT_EQ(first["message"], "AdvertiseKeys");
  EXPECT_EQ(first["round"], 7);

  const std::string keys = Keys(7).SerializeAsString();
  const std::string accept = Accept(8).SerializeAsString();
  ASSERT_EQ(keys.size(), 70u);  // 2 + 2·(2 + 32): the size the header's example shows
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  ASSERT_THAT(entries, IsOk());
  ASSERT_THAT(*entries, SizeIs(2));
  const TransparencyEntry& a = (*entries)[0];
  EXPECT_EQ(a.call, "Session");
  EXPECT_EQ(a.message, "AdvertiseKeys");
  EXPECT_EQ(a.round, 7u);
  EXPECT_EQ(a.bytes, keys.size());
  EXPECT_EQ(a.sha256, Sha256Hex(keys));
  EXPECT_GE(a.at_unix_ms, before);
  EXPECT_LE(a.at_unix_ms, after);
  const TransparencyEntry& b = (*entries)[1];
  EXPECT_EQ(b.message, "RoundResponse");
  EXPECT_EQ(b.round, 8u);
  EXPECT_EQ(b.bytes, accept.size());
  EXPECT_EQ(b.sha256, Sha256Hex(accept));
  EXPECT_GE(b.at_unix_ms, a.at_unix_ms);
}

TEST(TransparencyLogTest, RecordsAnEmptyMessageWithTheDigestOfNoBytes) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  TransparencyLog log(path);
  ASSERT_THAT(log.Record("GetStatus", "GetStatusRequest", 0, v1::GetStatusRequest()), IsOk());
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  ASSERT_THAT(entries, IsOk());
  ASSERT_THAT(*entries, SizeIs(1));
  EXPECT_EQ((*entries)[0].bytes, 0u);
  // SHA-256 of the empty string (FIPS 180-4).
  EXPECT_EQ((*entries)[0].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ((*entries)[0].round, 0u);
}

TEST(TransparencyLogTest, AppendsToAnExistingLog) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  ASSERT_THAT(TransparencyLog(path).Record("Session", "AdvertiseKeys", 1, Keys(1)), IsOk());
  ASSERT_THAT(TransparencyLog(path).Record("Session", "AdvertiseKeys", 2, Keys(2)), IsOk());
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  ASSERT_THAT(entries, IsOk());
  ASSERT_THAT(*entries, SizeIs(2));
  EXPECT_EQ((*entries)[0].round, 1u);
  EXPECT_EQ((*entries)[1].round, 2u);
}

TEST(TransparencyLogTest, CreatesTheLogReadableOnlyByItsOwner) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  ASSERT_THAT(TransparencyLog(path).Record("Session", "RoundResponse", 3, Accept(3)), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(TransparencyLogTest, ConcurrentRecordsEachLandAsOneWholeLine) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  TransparencyLog log(path);
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, round = static_cast<uint64_t>(t)] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_THAT(log.Record("Session", "AdvertiseKeys", round, Keys(round)), IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, SizeIs(kThreads * kPerThread));
}

TEST(TransparencyLogTest, CaptureDirReceivesNumberedFilesWithTheExactBytes) {
  TempDir tmp;
  const fs::path capture = tmp.path() / "capture";
  ASSERT_THAT(MakeDirs(capture), IsOk());
  TransparencyLog log(tmp.path() / kTransparencyLogFile, capture);
  ASSERT_THAT(log.Record("Session", "AdvertiseKeys", 7, Keys(7)), IsOk());
  ASSERT_THAT(log.Record("Session", "RoundResponse", 7, Accept(7)), IsOk());
  std::vector<std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(capture)) {
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_THAT(files, ElementsAre("00000001-AdvertiseKeys.bin", "00000002-RoundResponse.bin"));
  EXPECT_THAT(ReadFile(capture / "00000001-AdvertiseKeys.bin"),
              ::tontine::testing::IsOkAndHolds(Keys(7).SerializeAsString()));
  EXPECT_THAT(ReadFile(capture / "00000002-RoundResponse.bin"),
              ::tontine::testing::IsOkAndHolds(Accept(7).SerializeAsString()));
}

TEST(TransparencyLogTest, WritesNoCaptureFilesWithoutACaptureDir) {
  TempDir tmp;
  TransparencyLog log(tmp.path() / kTransparencyLogFile);
  ASSERT_THAT(log.Record("Session", "AdvertiseKeys", 7, Keys(7)), IsOk());
  std::vector<std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(tmp.path())) {
    files.push_back(e.path().filename().string());
  }
  EXPECT_THAT(files, ElementsAre(kTransparencyLogFile));
}

TEST(ReadTransparencyLogTest, IsNotFoundForAMissingLog) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  EXPECT_THAT(ReadTransparencyLog(path),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(path.string()), HasSubstr("not sent anything"))));
}

TEST(ReadTransparencyLogTest, ADirectoryInPlaceOfTheLogIsAnErrorNotAnEmptyLog) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  ASSERT_THAT(MakeDirs(path), IsOk());
  EXPECT_THAT(ReadTransparencyLog(path),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path.string())));
}

TEST(ReadTransparencyLogTest, ReadsAnEmptyLogAsNoEntries) {
  TempDir tmp;
  const fs::path path = tmp.path() / kTransparencyLogFile;
  ASSERT_THAT(WriteFileAtomic(path, ""), IsOk());
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  ASSERT_THAT(entries, IsOk());
  EXPECT_TRUE(entries->empty());
}

class DamagedLogTest : public ::testing::Test {
 protected:
  // A log of one good record followed by `damage` on line 2.
  void WriteWithSecondLine(absl::string_view damage) {
    ASSERT_THAT(TransparencyLog(path_).Record("Session", "AdvertiseKeys", 1, Keys(1)), IsOk());
    absl::StatusOr<std::string> text = ReadFile(path_);
    ASSERT_THAT(text, IsOk());
    ASSERT_THAT(WriteFileAtomic(path_, absl::StrCat(*text, damage, "\n")), IsOk());
  }

  TempDir tmp_;
  const fs::path path_ = tmp_.path() / kTransparencyLogFile;
};

TEST_F(DamagedLogTest, NamesFileAndLineForALineThatIsNotJson) {
  WriteWithSecondLine("{\"call\": \"Sess");  // torn
  EXPECT_THAT(ReadTransparencyLog(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat(path_.string(), ":2:")),
                             HasSubstr("not a JSON object"))));
}

TEST_F(DamagedLogTest, NamesFileAndLineForAMissingKey) {
  WriteWithSecondLine(R"({"at_unix_ms": 1, "call": "Session", "message": "X", "round": 1,)"
                      R"( "bytes": 3})");
  EXPECT_THAT(ReadTransparencyLog(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat(path_.string(), ":2:")),
                             HasSubstr("sha256"))));
}

TEST_F(DamagedLogTest, NamesFileAndLineForAKeyOfTheWrongType) {
  WriteWithSecondLine(R"({"at_unix_ms": 1, "call": "Session", "message": "X", "round": "one",)"
                      R"( "bytes": 3, "sha256": "00"})");
  EXPECT_THAT(ReadTransparencyLog(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(path_.string(), ":2:"))));
}

TEST_F(DamagedLogTest, CountsBlankLinesInTheLineNumber) {
  WriteWithSecondLine("\n[1, 2]");  // line 2 blank, line 3 an array
  EXPECT_THAT(ReadTransparencyLog(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(path_.string(), ":3:"))));
}

}  // namespace
}  // namespace tontine::runner
