#include "server/identity/invites.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/tokens.h"
#include "proto/wire_status.h"
#include "tests/testing/status_matchers.h"

namespace tontine::identity {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

std::string Reason(const absl::Status& status) {
  std::optional<v1::ErrorDetail> detail = GetErrorDetail(status);
  return detail.has_value() ? detail->reason() : "";
}

class InvitesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open(":memory:", {.clock = &clock_, .create = true});
    ASSERT_THAT(store, IsOk());
    store_ = std::move(store).value();
  }
  IssuedInvite Invite(absl::Duration validity = absl::Hours(24)) {
    absl::StatusOr<IssuedInvite> invite =
        CreateInvite(*store_, {{"language", "yor"}}, validity, clock_);
    EXPECT_THAT(invite, IsOk());
    return *invite;
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(InvitesTest, RedeemingGivesAParticipantWithTheInviteTagsAndAWorkingCredential) {
  IssuedInvite invite = Invite();
  absl::StatusOr<Enrolment> enrolment = RedeemInvite(*store_, invite.token, clock_);
  ASSERT_THAT(enrolment, IsOk());
  EXPECT_EQ(enrolment->participant.tags.at("language"), "yor");
  EXPECT_EQ(enrolment->participant.id.substr(0, 2), "p-");
  std::string credential =
      crypto::FormatCredential({enrolment->participant.id, enrolment->secret});
  absl::StatusOr<store::ParticipantRecord> who = Authenticate(*store_, "Bearer " + credential);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->id, enrolment->participant.id);
}

TEST_F(InvitesTest, TheStoreKeepsOnlySaltedHashesOfSecrets) {
  IssuedInvite invite = Invite();
  absl::StatusOr<Enrolment> enrolment = RedeemInvite(*store_, invite.token, clock_);
  ASSERT_THAT(enrolment, IsOk());
  absl::StatusOr<crypto::TokenParts> parts = crypto::ParseInviteToken(invite.token);
  ASSERT_THAT(parts, IsOk());
  absl::StatusOr<store::InviteRecord> stored = store_->FindInvite(parts->id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->token_hash.find(parts->secret), std::string::npos);
  EXPECT_TRUE(crypto::VerifySecret(parts->secret, {stored->token_salt, stored->token_hash}));
  absl::StatusOr<store::ParticipantRecord> p = store_->FindParticipant(enrolment->participant.id);
  ASSERT_THAT(p, IsOk());
  EXPECT_NE(p->credential_hash, enrolment->secret);
  EXPECT_TRUE(crypto::VerifySecret(enrolment->secret, {p->credential_salt, p->credential_hash}));
}

TEST_F(InvitesTest, ReusedInviteIsPermissionDenied) {
  IssuedInvite invite = Invite();
  ASSERT_THAT(RedeemInvite(*store_, invite.token, clock_), IsOk());
  absl::StatusOr<Enrolment> again = RedeemInvite(*store_, invite.token, clock_);
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("already used")));
  EXPECT_EQ(Reason(again.status()), "INVITE_USED");
}

TEST_F(InvitesTest, ExpiredInviteIsPermissionDenied) {
  IssuedInvite invite = Invite(absl::Hours(1));
  clock_.Advance(absl::Hours(1));
  absl::StatusOr<Enrolment> late = RedeemInvite(*store_, invite.token, clock_);
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("expired")));
  EXPECT_EQ(Reason(late.status()), "INVITE_EXPIRED");
}

TEST_F(InvitesTest, ForgedInviteIsUnauthenticatedWithoutRevealingState) {
  IssuedInvite invite = Invite(absl::Hours(1));
  clock_.Advance(absl::Hours(2));  // expired, but a forger must not learn that
  std::string forged =
      invite.token.substr(0, invite.token.find('.') + 1) + std::string(43, 'A');
  absl::StatusOr<Enrolment> result = RedeemInvite(*store_, forged, clock_);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not recognised")));
  EXPECT_EQ(Reason(result.status()), "INVITE_UNKNOWN");
  absl::StatusOr<Enrolment> junk = RedeemInvite(*store_, "hello", clock_);
  EXPECT_THAT(junk, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("tti_")));
  EXPECT_EQ(Reason(junk.status()), "INVITE_MALFORMED");
}

TEST_F(InvitesTest, AuthenticateRefusesMissingMalformedAndWrongCredentials) {
  IssuedInvite invite = Invite();
  absl::StatusOr<Enrolment> enrolment = RedeemInvite(*store_, invite.token, clock_);
  ASSERT_THAT(enrolment, IsOk());
  EXPECT_EQ(Reason(Authenticate(*store_, "").status()), "CREDENTIAL_MISSING");
  EXPECT_EQ(Reason(Authenticate(*store_, "Bearer nonsense").status()), "CREDENTIAL_MALFORMED");
  std::string wrong = crypto::FormatCredential({enrolment->participant.id, std::string(32, 'w')});
  absl::StatusOr<store::ParticipantRecord> bad = Authenticate(*store_, wrong);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not recognised")));
  EXPECT_EQ(Reason(bad.status()), "CREDENTIAL_UNKNOWN");
  std::string stranger = crypto::FormatCredential({"p-0123456789abcdef", enrolment->secret});
  EXPECT_EQ(Reason(Authenticate(*store_, stranger).status()), "CREDENTIAL_UNKNOWN");
}

TEST_F(InvitesTest, InviteValidityAndTagsAreChecked) {
  EXPECT_THAT(CreateInvite(*store_, {}, absl::Hours(24 * 366), clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 365d")));
  store::Tags tags;
  EXPECT_THAT(AddTag("language=wol", tags), IsOk());
  EXPECT_EQ(tags.at("language"), "wol");
  EXPECT_THAT(AddTag("language", tags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key=value")));
  EXPECT_THAT(AddTag("Language=wol", tags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag key")));
  EXPECT_THAT(AddTag("language=two words", tags),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without spaces")));
}

}  // namespace
}  // namespace tontine::identity
