// One participant's side of one Round's secure aggregation: SecAgg+ (Bonawitz et al. 2017
// double masking, over the k-regular neighbour graph of Bell et al. 2020). DESIGN.md §7.
#ifndef TONTINE_COMMON_SECAGG_CLIENT_H_
#define TONTINE_COMMON_SECAGG_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/secret.h"
#include "common/crypto/x25519.h"
#include "common/secagg/graph.h"
#include "common/secagg/session.h"
#include "tontine/v1/secagg.pb.h"

namespace tontine::secagg {

// Driven only by messages: each method takes the coordinator's request for a phase and
// returns what to send back, so the same object runs in one process in tests and behind the
// network client later.
//
// Lifecycle: Create (fresh keys and seed) → AdvertiseKeys → HandleShareKeysRequest →
// HandleMaskedInputRequest → MaskInput → HandleUnmaskRequest. Each step runs once and in this
// order; a call out of order fails with FAILED_PRECONDITION and changes nothing. A request for
// another round fails with FAILED_PRECONDITION. Once a step returns ABORTED the client is done
// for this round (phase() == kAborted) and refuses everything after.
//
// Invariants it keeps whatever the coordinator asks (the privacy of the update rests on them):
// - it goes on only while at least t neighbours remain, at every phase;
// - it reveals, per neighbour, either the share of the self-mask seed or the share of the
//   masking key, never both, and answers one unmask request only;
// - every share it accepts is authenticated (AES-GCM over session, sender and receiver);
// - keys and the self-mask seed are fresh for every client object, i.e. every round.
// Not thread-safe.
class SecAggClient {
 public:
  // INVALID_ARGUMENT for parameters ValidateParameters refuses or an index ≥ cohort_size;
  // INTERNAL if the CSPRNG fails. `threads` ≥ 1 expand the masks.
  static absl::StatusOr<std::unique_ptr<SecAggClient>> Create(uint64_t round_id,
                                                              uint32_t cohort_index,
                                                              const v1::SecAggParameters& params,
                                                              int threads = 1);

  // Phase 1: the two fresh public keys.
  absl::StatusOr<v1::AdvertiseKeys> AdvertiseKeys();

  // Phase 2: checks the request (session id of 32 bytes; the neighbours it lists are exactly
  // this participant's neighbours in the graph rebuilt from the advertised set and session
  // id, each with two 32-byte keys — INVALID_ARGUMENT otherwise), then Shamir-shares the
  // self-mask seed b and the masking private key (threshold t) and encrypts one share pair to
  // each neighbour. ABORTED when fewer than t neighbours advertised keys.
  absl::StatusOr<v1::ShareKeys> HandleShareKeysRequest(const v1::ShareKeysRequest& request);

  // Phase 3 request: decrypts and keeps the shares neighbours sent; their senders are the
  // neighbours whose pairwise masks this update will carry. INVALID_ARGUMENT for a share not
  // addressed to this participant, from a non-neighbour or repeated; DATA_LOSS when a share
  // fails authentication; ABORTED when fewer than t neighbours sent shares.
  absl::Status HandleMaskedInputRequest(const v1::MaskedInputRequest& request);

  // Phase 3: input + PRG(b) + Σ± PRG(s_uv) over the neighbours that sent shares.
  // INVALID_ARGUMENT unless input has params.vector_words words.
  absl::StatusOr<std::vector<uint32_t>> MaskInput(std::span<const uint32_t> input);

  // Phase 4: for each neighbour the coordinator says survived, the share of its b; for each
  // it says dropped, the share of its masking key. INVALID_ARGUMENT (and nothing revealed)
  // when a neighbour is in both lists, is listed twice, or is not one whose shares this
  // participant holds; ABORTED when fewer than t neighbours survived.
  absl::StatusOr<v1::UnmaskResponse> HandleUnmaskRequest(const v1::UnmaskRequest& request);

  SecAggPhase phase() const { return phase_; }
  uint32_t cohort_index() const { return index_; }

 private:
  SecAggClient(uint64_t round_id, uint32_t index, v1::SecAggParameters params,
               crypto::PrgAlgorithm prg, int threads, crypto::X25519KeyPair encryption,
               crypto::X25519KeyPair masking, crypto::Secret32 self_mask_seed);

  // FAILED_PRECONDITION unless the client is in `phase` and `round_id` is this round.
  absl::Status Expect(SecAggPhase phase, uint64_t round_id, absl::string_view step) const;
  // Moves to kAborted and returns ABORTED with `message`.
  absl::Status Abort(std::string message);

  // Constant after construction.
  const uint64_t round_id_;
  const uint32_t index_;
  const v1::SecAggParameters params_;
  const crypto::PrgAlgorithm prg_;
  const int threads_;
  const crypto::X25519KeyPair encryption_;  // c_pk, c_sk
  const crypto::X25519KeyPair masking_;     // s_pk, s_sk
  const crypto::Secret32 self_mask_seed_;   // b

  SecAggPhase phase_ = SecAggPhase::kAdvertiseKeys;
  bool advertised_ = false;
  // Set in phase 2.
  std::string session_id_;
  std::optional<NeighbourGraph> graph_;
  std::map<uint32_t, AdvertisedKeys> neighbour_keys_;
  // Set in phase 3: the shares held of each neighbour that sent them.
  std::map<uint32_t, HeldShares> held_;
  bool masked_ = false;
};

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_CLIENT_H_
