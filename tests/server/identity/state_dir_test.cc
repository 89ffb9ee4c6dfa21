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
