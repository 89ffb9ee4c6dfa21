#include "server/identity/state_dir.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/files.h"
#include "common/crypto/x509.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::identity {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

mode_t ModeOf(const std::filesystem::path& p) {
  struct stat st {};
  stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(StateDirTest, InitCreatesCaCertificateKeysAndDatabase) {
  tontine::testing::TempDir dir;
  std::filesystem::path state = dir.path() / "state";
  absl::StatusOr<InitResult> result =
      InitStateDir(state, {{"coord.example.org", "10.0.0.7"}}, Clock::Real());
  ASSERT_THAT(result, IsOk());
  StateDirPaths paths(state);
  EXPECT_EQ(ModeOf(state), 0700u);
  EXPECT_EQ(ModeOf(paths.ca_key), 0600u);
  EXPECT_EQ(ModeOf(paths.server_key), 0600u);
  EXPECT_TRUE(std::filesystem::exists(paths.db));
  EXPECT_THAT(result->subject_alt_names, Contains("DNS:coord.example.org"));
  EXPECT_THAT(result->subject_alt_names, Contains("IP:10.0.0.7"));
  EXPECT_THAT(result->subject_alt_names, Contains("IP:127.0.0.1"));
  EXPECT_THAT(ReadCaFingerprint(state), IsOkAndHolds(result->ca_fingerprint));
  // The served chain is the server certificate, signed by the CA, followed by the CA.
  absl::StatusOr<std::string> chain = ReadFile(paths.server_cert);
  absl::StatusOr<std::string> ca = ReadFile(paths.ca_cert);
  ASSERT_THAT(chain, IsOk());
  ASSERT_THAT(ca, IsOk());
  EXPECT_THAT(crypto::VerifyIssuedBy(*chain, *ca), IsOk());
  EXPECT_NE(chain->find(*ca), std::string::npos);
}

TEST(StateDirTest, InitTwiceRefusesAndChangesNothing) {
  tontine::testing::TempDir dir;
  ASSERT_THAT(InitStateDir(dir.path() / "s", {}, Clock::Real()), IsOk());
  auto before = tontine::testing::SnapshotDir(dir.path());
  EXPECT_THAT(InitStateDir(dir.path() / "s", {}, Clock::Real()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("nothing was changed")));
  EXPECT_EQ(tontine::testing::SnapshotDir(dir.path()), before);
}

TEST(StateDirTest, OpeningAnUninitialisedDirectorySaysToRunInit) {
  tontine::testing::TempDir dir;
  EXPECT_THAT(OpenStateStore(dir.path(), Clock::Real()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("tontine-coordinator init --state-dir")));
}

}  // namespace
}  // namespace tontine::identity

namespace tontine::identity {
namespace {

TEST(DashboardTokenTest, InitWritesAPrivateRandomTokenThatLaterReadsReturn) {
  tontine::testing::TempDir dir;
  ASSERT_THAT(InitStateDir(dir.path() / "s", {}, Clock::Real()), tontine::testing::IsOk());
  const std::filesystem::path file = StateDirPaths(dir.path() / "s").dashboard_token;
  EXPECT_EQ(ModeOf(file), 0600u);
  bool created = true;
  absl::StatusOr<std::string> token = LoadOrCreateDashboardToken(file, &created);
  ASSERT_THAT(token, tontine::testing::IsOk());
  EXPECT_FALSE(created);
  EXPECT_EQ(token->size(), 64u);
  EXPECT_EQ(token->find_first_not_of("0123456789abcdef"), std::string::npos);
  // Another state dir gets another token.
  ASSERT_THAT(InitStateDir(dir.path() / "t", {}, Clock::Real()), tontine::testing::IsOk());
  EXPECT_NE(*LoadOrCreateDashboardToken(StateDirPaths(dir.path() / "t").dashboard_token), *token);
}

TEST(DashboardTokenTest, AMissingTokenIsCreatedAndAnOperatorsOwnTokenIsKept) {
  tontine::testing::TempDir dir;
  bool created = false;
  absl::StatusOr<std::string> token =
      LoadOrCreateDashboardToken(dir.path() / "token", &created);
  ASSERT_THAT(token, tontine::testing::IsOk());
  EXPECT_TRUE(created);
  ASSERT_THAT(WriteFileAtomic(dir.path() / "mine", "  correct-horse-battery-staple\n", 0600),
              tontine::testing::IsOk());
  EXPECT_THAT(LoadOrCreateDashboardToken(dir.path() / "mine"),
              tontine::testing::IsOkAndHolds(std::string("correct-horse-battery-staple")));
}

TEST(DashboardTokenTest, UnsafeOrUnusableTokenFilesAreRefusedByName) {
  tontine::testing::TempDir dir;
  const auto file = dir.path() / "token";
  ASSERT_THAT(WriteFileAtomic(file, "0123456789abcdef0123\n", 0644), tontine::testing::IsOk());
  EXPECT_THAT(LoadOrCreateDashboardToken(file),
              tontine::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                         ::testing::AllOf(::testing::HasSubstr(file.string()),
                                                          ::testing::HasSubstr("chmod 600"))));
  for (const char* bad : {"", "short\n", "two words here, long enough\n"}) {
    ASSERT_THAT(WriteFileAtomic(file, bad, 0600), tontine::testing::IsOk());
    EXPECT_THAT(LoadOrCreateDashboardToken(file),
                tontine::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                           ::testing::HasSubstr("printable")))
        << bad;
  }
}

}  // namespace
}  // namespace tontine::identity
