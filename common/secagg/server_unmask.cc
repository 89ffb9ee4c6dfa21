// Phase 4 of the server: collect the revealed shares, rebuild the secrets, remove the masks.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/x25519.h"
#include "common/secagg/masking.h"
#include "common/secagg/server.h"

namespace tontine::secagg {
namespace {

// Checks that `revealed` names exactly `expected`, in order, and parses each share at the
// holder's x into `into[owner]`.
absl::Status CollectShares(const NeighbourGraph& graph, uint32_t holder,
                           const google::protobuf::RepeatedField<uint32_t>& expected,
                           const google::protobuf::RepeatedPtrField<v1::RevealedShare>& revealed,
                           absl::string_view what,
                           std::map<uint32_t, std::vector<crypto::ShamirShare>>& into) {
  if (revealed.size() != expected.size()) {
    return absl::InvalidArgumentError(absl::StrCat("participant ", holder, " revealed ",
                                                   revealed.size(), " ", what, " shares; ",
                                                   expected.size(), " were asked"));
  }
  std::vector<std::pair<uint32_t, crypto::ShamirShare>> parsed;
  for (int i = 0; i < revealed.size(); ++i) {
    const uint32_t owner = revealed[i].owner_index();
    if (owner != expected[i]) {
      return absl::InvalidArgumentError(absl::StrCat("participant ", holder, " revealed a ",
                                                     what, " share of participant ", owner,
                                                     " where ", expected[i], " was asked"));
    }
    TONTINE_ASSIGN_OR_RETURN(uint32_t x, graph.ShareXOf(owner, holder));
    absl::StatusOr<crypto::ShamirShare> share =
        crypto::ParseShamirShareValue(x, revealed[i].share());
    if (!share.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("participant ", holder, "'s ", what,
                                                     " share of participant ", owner, ": ",
                                                     share.status().message()));
    }
    parsed.emplace_back(owner, *share);
  }
  for (auto& [owner, share] : parsed) into[owner].push_back(share);
  return absl::OkStatus();
}


}  // namespace

absl::Status SecAggServer::HandleUnmaskResponse(uint32_t index,
                                                const v1::UnmaskResponse& message) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kUnmask, message.round_id(), "Unmask"));
  auto asked = asked_.find(index);
  if (asked == asked_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " was not asked to unmask"));
  }
  if (answered_.contains(index)) {
    return absl::FailedPreconditionError(absl::StrCat("participant ", index,
                                                      " already answered the unmask request"));
  }
  // Parse both lists before keeping anything, so that a bad message leaves no partial shares.
  std::map<uint32_t, std::vector<crypto::ShamirShare>> seeds, keys;
  TONTINE_RETURN_IF_ERROR(CollectShares(*graph_, index, asked->second.survived(),
                                        message.self_mask_seed_shares(), "self-mask seed",
                                        seeds));
  TONTINE_RETURN_IF_ERROR(CollectShares(*graph_, index, asked->second.dropped(),
                                        message.masking_key_shares(), "masking key", keys));
  for (auto& [owner, shares] : seeds) seed_shares_[owner].push_back(shares.front());
  for (auto& [owner, shares] : keys) key_shares_[owner].push_back(shares.front());
  answered_.insert(index);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MaskStream>> SecAggServer::RebuildMasksLocked() {
  const int t = static_cast<int>(params_.reconstruction_threshold());
  auto rebuild = [&](uint32_t owner, const std::map<uint32_t, std::vector<crypto::ShamirShare>>&
                                         shares,
                     absl::string_view what) -> absl::StatusOr<crypto::Secret32> {
    auto it = shares.find(owner);
    const size_t have = it == shares.end() ? 0 : it->second.size();
    if (have < static_cast<size_t>(t)) {
      return absl::AbortedError(absl::StrCat("participant ", owner, "'s ", what, " has ", have,
                                             " shares; ", t, " are needed"));
    }
    return crypto::ShamirCombine(it->second, t);
  };

  std::vector<MaskStream> streams;
  for (uint32_t survivor : uploaded_) {
    TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 seed,
                             rebuild(survivor, seed_shares_, "self-mask seed"));
    streams.push_back(MaskStream{std::move(seed), -1});
  }
  for (uint32_t dropped : kept_) {
    if (uploaded_.contains(dropped)) continue;
    const std::vector<uint32_t> survivors = NeighboursIn(dropped, uploaded_);
    if (survivors.empty()) continue;  // no one masked with it
    TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 key, rebuild(dropped, key_shares_, "masking key"));
    TONTINE_ASSIGN_OR_RETURN(crypto::X25519KeyPair pair, crypto::X25519KeyPairFromPrivate(key));
    if (pair.public_key != advertised_.at(dropped).masking) {
      return absl::DataLossError(absl::StrCat("participant ", dropped,
                                              "'s rebuilt masking key does not match the key "
                                              "it advertised: inconsistent shares"));
    }
    for (uint32_t survivor : survivors) {
      TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 seed,
                               PairwiseMaskSeed(pair.private_key,
                                                PublicKeyBytes(advertised_.at(survivor).masking),
                                                session_id_));
      // The survivor added sign·PRG(seed); take it out.
      streams.push_back(MaskStream{std::move(seed), -PairwiseMaskSign(survivor, dropped)});
    }
  }
  return streams;
}

absl::StatusOr<SecAggAggregate> SecAggServer::Finish() {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kUnmask, round_id_, "Finish"));
  absl::StatusOr<std::vector<MaskStream>> streams = RebuildMasksLocked();
  if (!streams.ok()) {
    if (absl::IsAborted(streams.status())) return AbortLocked(std::string(streams.status().message()));
    phase_ = SecAggPhase::kAborted;
    return streams.status();
  }
  TONTINE_RETURN_IF_ERROR(ApplyMasks(prg_, *streams, sum_, threads_));
  phase_ = SecAggPhase::kCompleted;
  SecAggAggregate out;
  out.sum = std::move(sum_);
  out.included.assign(uploaded_.begin(), uploaded_.end());
  return out;
}

}  // namespace tontine::secagg
