// The server against participants that misbehave: each bad message is refused with a specific
// status and the round goes on for everyone else.
#include "common/secagg/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/secagg/simulation.h"
#include "tests/testing/status_matchers.h"

namespace tontine::secagg::testing {
namespace {

using ::testing::HasSubstr;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

TEST(SecAggServerTest, RefusesParametersBeyondTheRingBound) {
  // 65539 · (2^15 − 1) ≥ 2^31: the sum could wrap.
  v1::SecAggParameters params = MakeParameters(65539, 16, 6, 10);
  QueueSender sender;
  EXPECT_THAT(SecAggServer::Create(1, params, &sender),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(SecAggServerTest, RefusesAnUnspecifiedPrg) {
  v1::SecAggParameters params = MakeParameters(5, 4, 3, 10);
  params.set_prg(v1::PRG_ALGORITHM_UNSPECIFIED);
  QueueSender sender;
  EXPECT_THAT(SecAggServer::Create(1, params, &sender),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prg")));
}

TEST(SecAggServerTest, RefusesKAndTTheFinderCallsTooWeakForTheRequirements) {
  QueueSender sender;
  SecAggRequirements requirements;  // 5 % corrupt, 10 % dropout, 2^-40, 2^-20
  // n = 100: k = 4, t = 2 lets a corrupt pair of neighbours rebuild a secret far more often
  // than 2^-40; the finder's own choice k = 16, t = 6 is accepted.
  EXPECT_THAT(SecAggServer::Create(1, MakeParameters(100, 4, 2, 10), &sender, 1, requirements),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(SecAggServer::Create(1, MakeParameters(100, 16, 6, 10), &sender, 1, requirements),
              IsOk());
}

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    params_ = MakeParameters(4, 3, 2, 12);
    server_ = *SecAggServer::Create(3, params_, &sender_);
    for (uint32_t i = 0; i < 4; ++i) clients_.push_back(*SecAggClient::Create(3, i, params_));
  }
  v1::SecAggParameters params_;
  QueueSender sender_;
  std::unique_ptr<SecAggServer> server_;
  std::vector<std::unique_ptr<SecAggClient>> clients_;
};

TEST_F(ServerFixture, AdvertiseKeysErrorsAreSpecificAndLeaveTheRoundGoing) {
  v1::AdvertiseKeys keys = *clients_[0]->AdvertiseKeys();
  v1::AdvertiseKeys other_round = keys;
  other_round.set_round_id(4);
  EXPECT_THAT(server_->HandleAdvertiseKeys(0, other_round),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("round 4")));
  v1::AdvertiseKeys short_key = keys;
  short_key.mutable_masking_public_key()->pop_back();
  EXPECT_THAT(server_->HandleAdvertiseKeys(0, short_key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("31 bytes")));
  EXPECT_THAT(server_->HandleAdvertiseKeys(9, keys),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not in the cohort")));
  ASSERT_THAT(server_->HandleAdvertiseKeys(0, keys), IsOk());
  EXPECT_THAT(server_->HandleAdvertiseKeys(0, keys),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already")));
  EXPECT_THAT(server_->HandleMaskedInput(0, std::vector<uint32_t>(12)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("phase AdvertiseKeys")));
  for (uint32_t i = 1; i < 4; ++i) {
    ASSERT_THAT(server_->HandleAdvertiseKeys(i, *clients_[i]->AdvertiseKeys()), IsOk());
  }
  EXPECT_THAT(server_->CloseAdvertiseKeys(), IsOk());
  EXPECT_EQ(server_->session_id().size(), 32u);
}

TEST_F(ServerFixture, ShareKeysAndMaskedInputErrorsAreSpecific) {
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_THAT(server_->HandleAdvertiseKeys(i, *clients_[i]->AdvertiseKeys()), IsOk());
  }
  ASSERT_THAT(server_->CloseAdvertiseKeys(), IsOk());
  std::vector<v1::ShareKeys> shares;
  for (uint32_t i = 0; i < 4; ++i) {
    shares.push_back(*clients_[i]->HandleShareKeysRequest(
        sender_.inbox[i].front().share_keys_request()));
  }
  v1::ShareKeys missing = shares[0];
  missing.mutable_shares()->RemoveLast();
  EXPECT_THAT(server_->HandleShareKeys(0, missing),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 shares for 3")));
  v1::ShareKeys forged = shares[1];
  forged.mutable_shares(0)->set_from_index(2);
  EXPECT_THAT(server_->HandleShareKeys(1, forged),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from participant 2")));
  for (uint32_t i = 0; i < 4; ++i) ASSERT_THAT(server_->HandleShareKeys(i, shares[i]), IsOk());
  ASSERT_THAT(server_->CloseShareKeys(1000), IsOk());
  EXPECT_THAT(server_->HandleMaskedInput(0, std::vector<uint32_t>(11)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("11 words")));
  EXPECT_THAT(server_->HandleMaskedInput(0, std::vector<uint32_t>(12)), IsOk());
  EXPECT_THAT(server_->HandleMaskedInput(0, std::vector<uint32_t>(12)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already uploaded")));
}

TEST_F(ServerFixture, UnmaskAnswersMustMatchWhatWasAsked) {
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_THAT(server_->HandleAdvertiseKeys(i, *clients_[i]->AdvertiseKeys()), IsOk());
  }
  ASSERT_THAT(server_->CloseAdvertiseKeys(), IsOk());
  for (uint32_t i = 0; i < 4; ++i) {
    v1::ShareKeys s = *clients_[i]->HandleShareKeysRequest(
        sender_.inbox[i].back().share_keys_request());
    ASSERT_THAT(server_->HandleShareKeys(i, s), IsOk());
  }
  ASSERT_THAT(server_->CloseShareKeys(1000), IsOk());
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_THAT(clients_[i]->HandleMaskedInputRequest(
                    sender_.inbox[i].back().masked_input_request()), IsOk());
    ASSERT_THAT(server_->HandleMaskedInput(i, *clients_[i]->MaskInput(std::vector<uint32_t>(12, i))),
                IsOk());
  }
  ASSERT_THAT(server_->CloseMaskedInput(1000), IsOk());
  v1::UnmaskResponse answer =
      *clients_[0]->HandleUnmaskRequest(sender_.inbox[0].back().unmask_request());
  v1::UnmaskResponse wrong_owner = answer;
  wrong_owner.mutable_self_mask_seed_shares(0)->set_owner_index(0);
  EXPECT_THAT(server_->HandleUnmaskResponse(0, wrong_owner),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("was asked")));
  v1::UnmaskResponse short_share = answer;
  short_share.mutable_self_mask_seed_shares(0)->mutable_share()->pop_back();
  EXPECT_THAT(server_->HandleUnmaskResponse(0, short_share),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(server_->HandleUnmaskResponse(0, answer), IsOk());
  for (uint32_t i = 1; i < 4; ++i) {
    ASSERT_THAT(server_->HandleUnmaskResponse(
                    i, *clients_[i]->HandleUnmaskRequest(sender_.inbox[i].back().unmask_request())),
                IsOk());
  }
  absl::StatusOr<SecAggAggregate> result = server_->Finish();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->sum, std::vector<uint32_t>(12, 0 + 1 + 2 + 3));
}

}  // namespace
}  // namespace tontine::secagg::testing
