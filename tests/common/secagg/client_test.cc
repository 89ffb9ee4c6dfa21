// The client's invariants against a coordinator that misbehaves: out-of-order and replayed
// messages, tampered shares, requests for both shares of a neighbour, wrong lengths.
#include "common/secagg/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/secagg/server.h"
#include "tests/common/secagg/simulation.h"
#include "tests/testing/status_matchers.h"

namespace tontine::secagg::testing {
namespace {

using ::testing::HasSubstr;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

// A round driven up to the point where every client holds its MaskedInputRequest.
class ClientFixture : public ::testing::Test {
 protected:
  static constexpr uint32_t kN = 5;

  void StartRound(uint64_t round_id) {
    params_ = MakeParameters(kN, kN - 1, 3, 40);
    server_ = *SecAggServer::Create(round_id, params_, &sender_);
    clients_.clear();
    for (uint32_t i = 0; i < kN; ++i) {
      clients_.push_back(*SecAggClient::Create(round_id, i, params_));
      ASSERT_THAT(server_->HandleAdvertiseKeys(i, *clients_[i]->AdvertiseKeys()), IsOk());
    }
    ASSERT_THAT(server_->CloseAdvertiseKeys(), IsOk());
    for (uint32_t i = 0; i < kN; ++i) {
      share_keys_requests_[i] = Take(i).share_keys_request();
      absl::StatusOr<v1::ShareKeys> shares =
          clients_[i]->HandleShareKeysRequest(share_keys_requests_[i]);
      ASSERT_THAT(shares, IsOk());
      ASSERT_THAT(server_->HandleShareKeys(i, *shares), IsOk());
    }
    ASSERT_THAT(server_->CloseShareKeys(1000), IsOk());
    for (uint32_t i = 0; i < kN; ++i) masked_input_requests_[i] = Take(i).masked_input_request();
  }

  v1::ServerMessage Take(uint32_t i) {
    v1::ServerMessage m = sender_.inbox[i].front();
    sender_.inbox[i].erase(sender_.inbox[i].begin());
    return m;
  }

  // Client 0 takes its shares and uploads; returns an unmask request naming its neighbours.
  v1::UnmaskRequest MaskAndRequest() {
    EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(masked_input_requests_[0]), IsOk());
    EXPECT_THAT(clients_[0]->MaskInput(std::vector<uint32_t>(40, 7)), IsOk());
    v1::UnmaskRequest r;
    r.set_round_id(round_);
    for (uint32_t i = 1; i < kN; ++i) r.add_survived(i);
    return r;
  }

  uint64_t round_ = 7;
  v1::SecAggParameters params_;
  QueueSender sender_;
  std::unique_ptr<SecAggServer> server_;
  std::vector<std::unique_ptr<SecAggClient>> clients_;
  std::map<uint32_t, v1::ShareKeysRequest> share_keys_requests_;
  std::map<uint32_t, v1::MaskedInputRequest> masked_input_requests_;
};

TEST_F(ClientFixture, AnswersAWellFormedUnmaskRequest) {
  StartRound(round_);
  absl::StatusOr<v1::UnmaskResponse> r = clients_[0]->HandleUnmaskRequest(MaskAndRequest());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->self_mask_seed_shares_size(), 4);
  EXPECT_EQ(r->masking_key_shares_size(), 0);
  EXPECT_EQ(clients_[0]->phase(), SecAggPhase::kCompleted);
}

TEST_F(ClientFixture, TamperedShareCiphertextIsDataLoss) {
  StartRound(round_);
  v1::MaskedInputRequest request = masked_input_requests_[0];
  std::string* ct = request.mutable_shares(1)->mutable_ciphertext();
  (*ct)[20] = static_cast<char>((*ct)[20] ^ 0x01);
  EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(request),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")));
}

TEST_F(ClientFixture, ShareRelabelledAsFromAnotherNeighbourIsDataLoss) {
  StartRound(round_);
  v1::MaskedInputRequest request = masked_input_requests_[0];
  const uint32_t a = request.shares(0).from_index(), b = request.shares(1).from_index();
  request.mutable_shares(0)->set_from_index(b);
  request.mutable_shares(1)->set_from_index(a);
  EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(request),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(ClientFixture, RefusesToRevealBothSharesOfOneNeighbour) {
  StartRound(round_);
  v1::UnmaskRequest request = MaskAndRequest();
  request.add_dropped(2);  // 2 is also in survived
  EXPECT_THAT(clients_[0]->HandleUnmaskRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both shares")));
  // Nothing was revealed and the client still waits for a proper request.
  EXPECT_EQ(clients_[0]->phase(), SecAggPhase::kUnmask);
}

TEST_F(ClientFixture, AnswersOneUnmaskRequestOnly) {
  StartRound(round_);
  v1::UnmaskRequest first = MaskAndRequest();
  ASSERT_THAT(clients_[0]->HandleUnmaskRequest(first), IsOk());
  // A second request asking for the masking keys of the same neighbours is refused.
  v1::UnmaskRequest second;
  second.set_round_id(round_);
  for (uint32_t i = 1; i < kN; ++i) second.add_dropped(i);
  EXPECT_THAT(clients_[0]->HandleUnmaskRequest(second),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST_F(ClientFixture, AbortsWhenFewerThanThresholdNeighboursSurvive) {
  StartRound(round_);
  v1::UnmaskRequest request = MaskAndRequest();
  request.clear_survived();
  request.add_survived(1);
  request.add_survived(2);
  request.add_dropped(3);
  request.add_dropped(4);
  EXPECT_THAT(clients_[0]->HandleUnmaskRequest(request),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("threshold is 3")));
  EXPECT_EQ(clients_[0]->phase(), SecAggPhase::kAborted);
  v1::UnmaskRequest all_survived;
  all_survived.set_round_id(round_);
  for (uint32_t i = 1; i < kN; ++i) all_survived.add_survived(i);
  EXPECT_THAT(clients_[0]->HandleUnmaskRequest(all_survived),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST_F(ClientFixture, AbortsWhenFewerThanThresholdNeighboursSentShares) {
  StartRound(round_);
  v1::MaskedInputRequest request = masked_input_requests_[0];
  request.mutable_shares()->DeleteSubrange(0, 2);  // 2 of 4 left, threshold 3
  EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(request),
              StatusIs(absl::StatusCode::kAborted, ::testing::_));
}

TEST_F(ClientFixture, RequestsOfAnotherRoundAreRefused) {
  StartRound(round_);
  v1::MaskedInputRequest request = masked_input_requests_[0];
  request.set_round_id(round_ + 1);
  EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(request),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("round 8")));
}

TEST_F(ClientFixture, SharesReplayedFromAnotherSessionFailAuthentication) {
  StartRound(round_);
  const v1::MaskedInputRequest old = masked_input_requests_[0];
  StartRound(round_);  // the same round id, new keys: a new session
  v1::MaskedInputRequest replay = old;
  EXPECT_THAT(clients_[0]->HandleMaskedInputRequest(replay),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(ClientFixture, WrongLengthUpdateIsInvalidArgument) {
  StartRound(round_);
  ASSERT_THAT(clients_[0]->HandleMaskedInputRequest(masked_input_requests_[0]), IsOk());
  EXPECT_THAT(clients_[0]->MaskInput(std::vector<uint32_t>(39)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("39 words")));
}

TEST_F(ClientFixture, ShareKeysRequestWithWrongNeighboursIsRefused) {
  params_ = MakeParameters(kN, kN - 1, 3, 40);
  auto client = *SecAggClient::Create(round_, 0, params_);
  ASSERT_THAT(client->AdvertiseKeys(), IsOk());
  StartRound(round_);
  v1::ShareKeysRequest request = share_keys_requests_[0];
  request.mutable_neighbours()->RemoveLast();
  EXPECT_THAT(client->HandleShareKeysRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("neighbours")));
}

TEST_F(ClientFixture, OutOfOrderStepsAreRefused) {
  params_ = MakeParameters(kN, kN - 1, 3, 40);
  auto client = *SecAggClient::Create(round_, 0, params_);
  EXPECT_THAT(client->MaskInput(std::vector<uint32_t>(40)),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  ASSERT_THAT(client->AdvertiseKeys(), IsOk());
  EXPECT_THAT(client->AdvertiseKeys(), StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST(SecAggClientTest, KeysAreFreshForEveryRound) {
  const v1::SecAggParameters params = MakeParameters(3, 2, 2, 8);
  v1::AdvertiseKeys a = *(*SecAggClient::Create(1, 0, params))->AdvertiseKeys();
  v1::AdvertiseKeys b = *(*SecAggClient::Create(2, 0, params))->AdvertiseKeys();
  EXPECT_NE(a.encryption_public_key(), b.encryption_public_key());
  EXPECT_NE(a.masking_public_key(), b.masking_public_key());
  EXPECT_NE(a.encryption_public_key(), a.masking_public_key());
}

TEST(SecAggClientTest, InvalidParametersAreRefused) {
  v1::SecAggParameters params = MakeParameters(5, 3, 2, 8);  // k odd and not n − 1
  EXPECT_THAT(SecAggClient::Create(1, 0, params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("even")));
  params = MakeParameters(5, 4, 5, 8);  // t > k
  EXPECT_THAT(SecAggClient::Create(1, 0, params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reconstruction_threshold")));
  params = MakeParameters(5, 4, 2, 8);
  EXPECT_THAT(SecAggClient::Create(1, 5, params), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace tontine::secagg::testing
