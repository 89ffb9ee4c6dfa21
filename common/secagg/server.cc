// Phases 1–3 of the server: keys, shares, masked inputs. Phase 4 is in server_unmask.cc.
#include "common/secagg/server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace tontine::secagg {
absl::StatusOr<std::unique_ptr<SecAggServer>> SecAggServer::Create(
    uint64_t round_id, const v1::SecAggParameters& params, ParticipantSender* sender,
    int threads, const std::optional<SecAggRequirements>& requirements) {
  TONTINE_RETURN_IF_ERROR(ValidateParameters(params));
  if (requirements.has_value()) {
    SecAggRequirements r = *requirements;
    r.cohort_size = params.cohort_size();
    TONTINE_RETURN_IF_ERROR(CheckSecAggParams(
        r, SecAggGraphParams{params.neighbours(), params.reconstruction_threshold(),
                             params.neighbours() == params.cohort_size() - 1}));
  }
  TONTINE_ASSIGN_OR_RETURN(crypto::PrgAlgorithm prg, PrgOf(params));
  return std::unique_ptr<SecAggServer>(
      new SecAggServer(round_id, params, prg, sender, std::max(threads, 1)));
}

SecAggServer::SecAggServer(uint64_t round_id, v1::SecAggParameters params,
                           crypto::PrgAlgorithm prg, ParticipantSender* sender, int threads)
    : round_id_(round_id),
      params_(std::move(params)),
      prg_(prg),
      sender_(sender),
      threads_(threads) {}

SecAggPhase SecAggServer::phase() const {
  absl::ReaderMutexLock lock(&mu_);
  return phase_;
}

std::vector<uint32_t> SecAggServer::Awaited() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint32_t> awaited;
  switch (phase_) {
    case SecAggPhase::kAdvertiseKeys:
      for (uint32_t i = 0; i < params_.cohort_size(); ++i) {
        if (!advertised_.contains(i)) awaited.push_back(i);
      }
      break;
    case SecAggPhase::kShareKeys:
      for (const auto& [index, unused] : advertised_) {
        if (!shares_.contains(index)) awaited.push_back(index);
      }
      break;
    case SecAggPhase::kMaskedInput:
      for (uint32_t index : kept_) {
        if (!uploaded_.contains(index)) awaited.push_back(index);
      }
      break;
    case SecAggPhase::kUnmask:
      for (const auto& [index, unused] : asked_) {
        if (!answered_.contains(index)) awaited.push_back(index);
      }
      break;
    case SecAggPhase::kCompleted:
    case SecAggPhase::kAborted:
      break;
  }
  return awaited;
}

std::string SecAggServer::session_id() const {
  absl::ReaderMutexLock lock(&mu_);
  return session_id_;
}

absl::Status SecAggServer::ExpectLocked(SecAggPhase phase, uint64_t round_id,
                                        absl::string_view step) const {
  if (round_id != round_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat(step, " is for round ", round_id, "; this is round ", round_id_));
  }
  if (phase_ != phase) {
    return absl::FailedPreconditionError(
        absl::StrCat(step, " arrived in phase ", SecAggPhaseName(phase_)));
  }
  return absl::OkStatus();
}

absl::Status SecAggServer::AbortLocked(std::string message) {
  phase_ = SecAggPhase::kAborted;
  sum_.clear();
  sum_.shrink_to_fit();
  return absl::AbortedError(std::move(message));
}

std::vector<uint32_t> SecAggServer::NeighboursIn(uint32_t index,
                                                 const std::set<uint32_t>& set) const {
  std::vector<uint32_t> out;
  const std::vector<uint32_t> all = graph_->NeighboursOf(index).value();  // index is a member
  for (uint32_t peer : all) {
    if (set.contains(peer)) out.push_back(peer);
  }
  return out;
}

absl::Status SecAggServer::HandleAdvertiseKeys(uint32_t index, const v1::AdvertiseKeys& message) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(
      ExpectLocked(SecAggPhase::kAdvertiseKeys, message.round_id(), "AdvertiseKeys"));
  if (index >= params_.cohort_size()) {
    return absl::FailedPreconditionError(absl::StrCat("participant ", index,
                                                      " is not in the cohort"));
  }
  if (advertised_.contains(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " already advertised its keys"));
  }
  TONTINE_ASSIGN_OR_RETURN(crypto::X25519PublicKey c,
                           ParsePublicKey(message.encryption_public_key(), index, "encryption"));
  TONTINE_ASSIGN_OR_RETURN(crypto::X25519PublicKey s,
                           ParsePublicKey(message.masking_public_key(), index, "masking"));
  advertised_.emplace(index, AdvertisedKeys{c, s});
  return absl::OkStatus();
}

absl::Status SecAggServer::CloseAdvertiseKeys() {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kAdvertiseKeys, round_id_, "CloseAdvertiseKeys"));
  const uint32_t t = params_.reconstruction_threshold();
  const size_t m = advertised_.size();
  // Everyone has min(k, m − 1) neighbours in the graph over the m that advertised.
  if (m < 2 || std::min<size_t>(params_.neighbours(), m - 1) < t) {
    return AbortLocked(absl::StrCat(m, " of ", params_.cohort_size(),
                                    " participants advertised keys; with threshold ", t,
                                    " at least ", t + 1, " are needed"));
  }
  TONTINE_ASSIGN_OR_RETURN(session_id_, ComputeSessionId(round_id_, params_, advertised_));
  std::vector<uint32_t> members;
  for (const auto& [index, unused] : advertised_) members.push_back(index);
  TONTINE_ASSIGN_OR_RETURN(NeighbourGraph graph,
                           NeighbourGraph::Create(members, params_.neighbours(), session_id_));
  graph_.emplace(std::move(graph));
  const std::string bitmap = EncodeIndexBitmap(members, params_.cohort_size());
  phase_ = SecAggPhase::kShareKeys;
  for (uint32_t index : members) {
    v1::ServerMessage message;
    v1::ShareKeysRequest* request = message.mutable_share_keys_request();
    request->set_round_id(round_id_);
    request->set_session_id(session_id_);
    request->set_advertised(bitmap);
    const std::vector<uint32_t> neighbours = graph_->NeighboursOf(index).value();
    for (uint32_t peer : neighbours) {
      v1::NeighbourKeys* keys = request->add_neighbours();
      keys->set_index(peer);
      keys->set_encryption_public_key(PublicKeyBytes(advertised_.at(peer).encryption));
      keys->set_masking_public_key(PublicKeyBytes(advertised_.at(peer).masking));
    }
    sender_->Send(index, std::move(message));
  }
  return absl::OkStatus();
}

absl::Status SecAggServer::HandleShareKeys(uint32_t index, const v1::ShareKeys& message) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kShareKeys, message.round_id(), "ShareKeys"));
  if (!advertised_.contains(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " did not advertise keys in this round"));
  }
  if (shares_.contains(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " already sent its shares"));
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<uint32_t> neighbours, graph_->NeighboursOf(index));
  std::map<uint32_t, std::string> by_receiver;
  for (const v1::EncryptedShare& share : message.shares()) {
    if (share.from_index() != index) {
      return absl::InvalidArgumentError(absl::StrCat("participant ", index,
                                                     " sent a share from participant ",
                                                     share.from_index()));
    }
    if (!std::binary_search(neighbours.begin(), neighbours.end(), share.to_index()) ||
        by_receiver.contains(share.to_index())) {
      return absl::InvalidArgumentError(absl::StrCat("participant ", index,
                                                     " sent a share to participant ",
                                                     share.to_index(),
                                                     ", not a neighbour or twice"));
    }
    if (share.ciphertext().size() != kShareCiphertextBytes) {
      return absl::InvalidArgumentError(absl::StrCat("participant ", index, "'s share to ",
                                                     share.to_index(), " has ",
                                                     share.ciphertext().size(), " bytes, not ",
                                                     kShareCiphertextBytes));
    }
    by_receiver.emplace(share.to_index(), share.ciphertext());
  }
  if (by_receiver.size() != neighbours.size()) {
    return absl::InvalidArgumentError(absl::StrCat("participant ", index, " sent ",
                                                   by_receiver.size(), " shares for ",
                                                   neighbours.size(), " neighbours"));
  }
  shares_.emplace(index, std::move(by_receiver));
  return absl::OkStatus();
}

absl::Status SecAggServer::CloseShareKeys(uint64_t masked_input_deadline_ms) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kShareKeys, round_id_, "CloseShareKeys"));
  const uint32_t t = params_.reconstruction_threshold();
  // Peel off senders with fewer than t sending neighbours until none is left: each of them
  // would abort, and its masking key could not be rebuilt from fewer than t holders.
  for (const auto& [index, unused] : shares_) kept_.insert(index);
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = kept_.begin(); it != kept_.end();) {
      if (NeighboursIn(*it, kept_).size() < t) {
        it = kept_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  if (kept_.empty()) {
    return AbortLocked(absl::StrCat(shares_.size(), " participants sent shares, but none has ",
                                    t, " neighbours that also did"));
  }
  phase_ = SecAggPhase::kMaskedInput;
  sum_.assign(params_.vector_words(), 0);
  for (uint32_t index : kept_) {
    v1::ServerMessage message;
    v1::MaskedInputRequest* request = message.mutable_masked_input_request();
    request->set_round_id(round_id_);
    request->set_deadline_ms(masked_input_deadline_ms);
    for (uint32_t from : NeighboursIn(index, kept_)) {
      v1::EncryptedShare* share = request->add_shares();
      share->set_from_index(from);
      share->set_to_index(index);
      share->set_ciphertext(shares_.at(from).at(index));
    }
    sender_->Send(index, std::move(message));
  }
  shares_.clear();
  return absl::OkStatus();
}

absl::Status SecAggServer::HandleMaskedInput(uint32_t index, std::span<const uint32_t> masked) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kMaskedInput, round_id_, "MaskedInput"));
  if (!kept_.contains(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " is not in this round's masked-input phase"));
  }
  if (uploaded_.contains(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat("participant ", index, " already uploaded its masked update"));
  }
  if (masked.size() != sum_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("participant ", index,
                                                   "'s masked update has ", masked.size(),
                                                   " words; the round expects ", sum_.size()));
  }
  for (size_t i = 0; i < masked.size(); ++i) sum_[i] += masked[i];
  uploaded_.insert(index);
  return absl::OkStatus();
}

absl::Status SecAggServer::CloseMaskedInput(uint64_t unmask_deadline_ms) {
  absl::MutexLock lock(&mu_);
  TONTINE_RETURN_IF_ERROR(ExpectLocked(SecAggPhase::kMaskedInput, round_id_, "CloseMaskedInput"));
  const uint32_t t = params_.reconstruction_threshold();
  if (uploaded_.empty()) return AbortLocked("no masked update arrived");
  for (uint32_t index : uploaded_) {
    const size_t alive = NeighboursIn(index, uploaded_).size();
    if (alive < t) {
      return AbortLocked(absl::StrCat("participant ", index, " has ", alive,
                                      " surviving neighbours; the threshold is ", t));
    }
  }
  phase_ = SecAggPhase::kUnmask;
  for (uint32_t index : uploaded_) {
    v1::UnmaskRequest request;
    request.set_round_id(round_id_);
    request.set_deadline_ms(unmask_deadline_ms);
    for (uint32_t peer : NeighboursIn(index, kept_)) {
      if (uploaded_.contains(peer)) {
        request.add_survived(peer);
      } else {
        request.add_dropped(peer);
      }
    }
    v1::ServerMessage message;
    *message.mutable_unmask_request() = request;
    asked_.emplace(index, std::move(request));
    sender_->Send(index, std::move(message));
  }
  return absl::OkStatus();
}

}  // namespace tontine::secagg
