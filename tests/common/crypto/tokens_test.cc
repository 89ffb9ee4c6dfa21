#include "common/crypto/tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

TEST(TokensTest, InviteTokenRoundTrips) {
  absl::StatusOr<std::string> id = NewHexId(8);
  absl::StatusOr<std::string> secret = NewSecret();
  ASSERT_THAT(id, IsOk());
  ASSERT_THAT(secret, IsOk());
  std::string token = FormatInviteToken({*id, *secret});
  EXPECT_EQ(token.substr(0, 4), "tti_");
  absl::StatusOr<TokenParts> parts = ParseInviteToken("  " + token + "\n");
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ(parts->id, *id);
  EXPECT_EQ(parts->secret, *secret);
}

TEST(TokensTest, MalformedInviteTokensSayWhatIsWrong) {
  EXPECT_THAT(ParseInviteToken("abc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start with 'tti_'")));
  EXPECT_THAT(ParseInviteToken("tti_0123456789abcdef"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no '.' separator")));
  EXPECT_THAT(ParseInviteToken("tti_0123456789abcdef.c2hvcnQ"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32-byte secret")));
  std::string secret = FormatInviteToken({"0123456789abcdef", std::string(32, 'k')});
  std::string bad_id = "tti_XYZ" + secret.substr(secret.find('.'));
  EXPECT_THAT(ParseInviteToken(bad_id),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad invite id")));
}

TEST(TokensTest, CredentialParsesWithOrWithoutBearer) {
  std::string credential = FormatCredential({"p-00ff", std::string(32, 's')});
  for (const std::string& text : {credential, "Bearer " + credential, "bearer  " + credential}) {
    absl::StatusOr<TokenParts> parts = ParseCredential(text);
    ASSERT_THAT(parts, IsOk()) << text;
    EXPECT_EQ(parts->id, "p-00ff");
    EXPECT_EQ(parts->secret, std::string(32, 's'));
  }
  EXPECT_THAT(ParseCredential("q-00ff" + credential.substr(6)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad participant id")));
}

TEST(TokensTest, SaltedHashVerifiesOnlyTheRightSecretAndNeverRepeats) {
  absl::StatusOr<SaltedHash> a = HashSecret("secret");
  absl::StatusOr<SaltedHash> b = HashSecret("secret");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(VerifySecret("secret", *a));
  EXPECT_FALSE(VerifySecret("secreT", *a));
  EXPECT_NE(a->salt, b->salt);
  EXPECT_NE(a->hash, b->hash);
  EXPECT_EQ(a->salt.size(), kTokenSaltBytes);
}

}  // namespace
}  // namespace tontine::crypto
