#include "common/secagg/client.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/shamir.h"
#include "common/secagg/masking.h"

namespace tontine::secagg {
absl::StatusOr<std::unique_ptr<SecAggClient>> SecAggClient::Create(
    uint64_t round_id, uint32_t cohort_index, const v1::SecAggParameters& params, int threads) {
  TONTINE_RETURN_IF_ERROR(ValidateParameters(params));
  if (cohort_index >= params.cohort_size()) {
    return absl::InvalidArgumentError(absl::StrCat("cohort index ", cohort_index,
                                                   " is outside the cohort of ",
                                                   params.cohort_size()));
  }
  TONTINE_ASSIGN_OR_RETURN(crypto::PrgAlgorithm prg, PrgOf(params));
  TONTINE_ASSIGN_OR_RETURN(crypto::X25519KeyPair encryption, crypto::GenerateX25519KeyPair());
  TONTINE_ASSIGN_OR_RETURN(crypto::X25519KeyPair masking, crypto::GenerateX25519KeyPair());
  TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 seed, crypto::RandomSecret32());
  return std::unique_ptr<SecAggClient>(new SecAggClient(round_id, cohort_index, params, prg,
                                                        std::max(threads, 1),
                                                        std::move(encryption),
                                                        std::move(masking), std::move(seed)));
}

SecAggClient::SecAggClient(uint64_t round_id, uint32_t index, v1::SecAggParameters params,
                           crypto::PrgAlgorithm prg, int threads,
                           crypto::X25519KeyPair encryption, crypto::X25519KeyPair masking,
                           crypto::Secret32 self_mask_seed)
    : round_id_(round_id),
      index_(index),
      params_(std::move(params)),
      prg_(prg),
      threads_(threads),
      encryption_(std::move(encryption)),
      masking_(std::move(masking)),
      self_mask_seed_(std::move(self_mask_seed)) {}

absl::Status SecAggClient::Expect(SecAggPhase phase, uint64_t round_id,
                                  absl::string_view step) const {
  if (phase_ != phase) {
    return absl::FailedPreconditionError(absl::StrCat(step, " arrived in phase ",
                                                      SecAggPhaseName(phase_)));
  }
  if (round_id != round_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat(step, " is for round ", round_id, "; this participant is in round ",
                     round_id_));
  }
  return absl::OkStatus();
}

absl::Status SecAggClient::Abort(std::string message) {
  phase_ = SecAggPhase::kAborted;
  return absl::AbortedError(std::move(message));
}

absl::StatusOr<v1::AdvertiseKeys> SecAggClient::AdvertiseKeys() {
  TONTINE_RETURN_IF_ERROR(Expect(SecAggPhase::kAdvertiseKeys, round_id_, "AdvertiseKeys"));
  v1::AdvertiseKeys keys;
  keys.set_round_id(round_id_);
  keys.set_encryption_public_key(PublicKeyBytes(encryption_.public_key));
  keys.set_masking_public_key(PublicKeyBytes(masking_.public_key));
  phase_ = SecAggPhase::kShareKeys;
  return keys;
}

absl::StatusOr<v1::ShareKeys> SecAggClient::HandleShareKeysRequest(
    const v1::ShareKeysRequest& request) {
  TONTINE_RETURN_IF_ERROR(Expect(SecAggPhase::kShareKeys, request.round_id(), "ShareKeysRequest"));
  if (request.session_id().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("the session id has ",
                                                   request.session_id().size(),
                                                   " bytes, not 32"));
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<uint32_t> advertised,
                           DecodeIndexBitmap(request.advertised(), params_.cohort_size()));
  if (!std::binary_search(advertised.begin(), advertised.end(), index_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the advertised set does not include this participant (", index_, ")"));
  }
  TONTINE_ASSIGN_OR_RETURN(NeighbourGraph graph, NeighbourGraph::Create(
                                                     advertised, params_.neighbours(),
                                                     request.session_id()));
  TONTINE_ASSIGN_OR_RETURN(std::vector<uint32_t> neighbours, graph.NeighboursOf(index_));
  if (static_cast<size_t>(request.neighbours_size()) != neighbours.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the request lists ",
                                                   request.neighbours_size(),
                                                   " neighbours; the graph gives ",
                                                   neighbours.size()));
  }
  std::map<uint32_t, AdvertisedKeys> keys;
  for (int i = 0; i < request.neighbours_size(); ++i) {
    const v1::NeighbourKeys& n = request.neighbours(i);
    if (n.index() != neighbours[i]) {
      return absl::InvalidArgumentError(absl::StrCat("neighbour ", i, " is participant ",
                                                     n.index(), "; the graph gives ",
                                                     neighbours[i]));
    }
    TONTINE_ASSIGN_OR_RETURN(crypto::X25519PublicKey c,
                             ParsePublicKey(n.encryption_public_key(), n.index(), "encryption"));
    TONTINE_ASSIGN_OR_RETURN(crypto::X25519PublicKey s,
                             ParsePublicKey(n.masking_public_key(), n.index(), "masking"));
    keys.emplace(n.index(), AdvertisedKeys{c, s});
  }
  const uint32_t t = params_.reconstruction_threshold();
  if (neighbours.size() < t) {
    return Abort(absl::StrCat(neighbours.size(), " neighbours advertised keys; the threshold is ",
                              t));
  }
  const int count = static_cast<int>(neighbours.size());
  TONTINE_ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> b_shares,
                           crypto::ShamirSplit(self_mask_seed_, t, count));
  TONTINE_ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> key_shares,
                           crypto::ShamirSplit(masking_.private_key, t, count));
  v1::ShareKeys out;
  out.set_round_id(round_id_);
  for (int p = 0; p < count; ++p) {
    const uint32_t to = neighbours[p];
    const AdvertisedKeys& peer = keys.at(to);
    TONTINE_ASSIGN_OR_RETURN(
        crypto::Secret32 key,
        ShareEncryptionKey(encryption_.private_key, PublicKeyBytes(peer.encryption),
                           request.session_id()));
    TONTINE_ASSIGN_OR_RETURN(std::string sealed,
                             SealShares(key, request.session_id(), index_, to,
                                        HeldShares{b_shares[p], key_shares[p]}));
    v1::EncryptedShare* share = out.add_shares();
    share->set_from_index(index_);
    share->set_to_index(to);
    share->set_ciphertext(std::move(sealed));
  }
  session_id_ = request.session_id();
  graph_.emplace(std::move(graph));
  neighbour_keys_ = std::move(keys);
  phase_ = SecAggPhase::kMaskedInput;
  return out;
}

absl::Status SecAggClient::HandleMaskedInputRequest(const v1::MaskedInputRequest& request) {
  TONTINE_RETURN_IF_ERROR(
      Expect(SecAggPhase::kMaskedInput, request.round_id(), "MaskedInputRequest"));
  if (!held_.empty() || masked_) {
    return absl::FailedPreconditionError("a second MaskedInputRequest in this round");
  }
  std::map<uint32_t, HeldShares> held;
  for (const v1::EncryptedShare& share : request.shares()) {
    const uint32_t from = share.from_index();
    if (share.to_index() != index_) {
      return absl::InvalidArgumentError(absl::StrCat("a share addressed to participant ",
                                                     share.to_index(), " reached ", index_));
    }
    auto peer = neighbour_keys_.find(from);
    if (peer == neighbour_keys_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a share from participant ", from, ", not a neighbour"));
    }
    if (held.contains(from)) {
      return absl::InvalidArgumentError(absl::StrCat("two shares from participant ", from));
    }
    TONTINE_ASSIGN_OR_RETURN(uint32_t x, graph_->ShareXOf(from, index_));
    TONTINE_ASSIGN_OR_RETURN(crypto::Secret32 key,
                             ShareEncryptionKey(encryption_.private_key,
                                                PublicKeyBytes(peer->second.encryption), session_id_));
    TONTINE_ASSIGN_OR_RETURN(HeldShares shares,
                             OpenShares(key, session_id_, from, index_, x, share.ciphertext()));
    held.emplace(from, shares);
  }
  const uint32_t t = params_.reconstruction_threshold();
  if (held.size() < t) {
    return Abort(absl::StrCat(held.size(), " neighbours sent shares; the threshold is ", t));
  }
  held_ = std::move(held);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> SecAggClient::MaskInput(std::span<const uint32_t> input) {
  TONTINE_RETURN_IF_ERROR(Expect(SecAggPhase::kMaskedInput, round_id_, "MaskInput"));
  if (held_.empty()) {
    return absl::FailedPreconditionError("MaskInput before the MaskedInputRequest");
  }
  if (input.size() != params_.vector_words()) {
    return absl::InvalidArgumentError(absl::StrCat("the update has ", input.size(),
                                                   " words; the round expects ",
                                                   params_.vector_words()));
  }
  std::vector<MaskStream> streams;
  streams.reserve(held_.size() + 1);
  streams.push_back(MaskStream{self_mask_seed_, +1});
  for (const auto& [peer, unused] : held_) {
    TONTINE_ASSIGN_OR_RETURN(
        crypto::Secret32 seed,
        PairwiseMaskSeed(masking_.private_key, PublicKeyBytes(neighbour_keys_.at(peer).masking),
                         session_id_));
    streams.push_back(MaskStream{std::move(seed), PairwiseMaskSign(index_, peer)});
  }
  std::vector<uint32_t> masked(input.begin(), input.end());
  TONTINE_RETURN_IF_ERROR(ApplyMasks(prg_, streams, masked, threads_));
  masked_ = true;
  phase_ = SecAggPhase::kUnmask;
  return masked;
}

absl::StatusOr<v1::UnmaskResponse> SecAggClient::HandleUnmaskRequest(
    const v1::UnmaskRequest& request) {
  TONTINE_RETURN_IF_ERROR(Expect(SecAggPhase::kUnmask, request.round_id(), "UnmaskRequest"));
  std::set<uint32_t> listed;
  for (const auto* list : {&request.survived(), &request.dropped()}) {
    for (uint32_t peer : *list) {
      if (!held_.contains(peer)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the unmask request names participant ", peer, ", whose shares this one does not hold"));
      }
      if (!listed.insert(peer).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the unmask request names participant ", peer,
            " twice; refusing to reveal both shares of a neighbour"));
      }
    }
  }
  const uint32_t t = params_.reconstruction_threshold();
  if (static_cast<uint32_t>(request.survived_size()) < t) {
    return Abort(absl::StrCat(request.survived_size(),
                              " neighbours survived; the threshold is ", t));
  }
  v1::UnmaskResponse out;
  out.set_round_id(round_id_);
  for (uint32_t peer : request.survived()) {
    v1::RevealedShare* share = out.add_self_mask_seed_shares();
    share->set_owner_index(peer);
    share->set_share(crypto::ShamirShareValueBytes(held_.at(peer).self_mask_seed));
  }
  for (uint32_t peer : request.dropped()) {
    v1::RevealedShare* share = out.add_masking_key_shares();
    share->set_owner_index(peer);
    share->set_share(crypto::ShamirShareValueBytes(held_.at(peer).masking_key));
  }
  phase_ = SecAggPhase::kCompleted;
  return out;
}

}  // namespace tontine::secagg
