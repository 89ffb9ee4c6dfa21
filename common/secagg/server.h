// The coordinator's side of one Round's secure aggregation: SecAgg+ (Bonawitz et al. 2017
// double masking over the neighbour graph of Bell et al. 2020). DESIGN.md §7. It learns the
// sum of the surviving participants' vectors in Z_2^32 and nothing about any one of them.
#ifndef TONTINE_COMMON_SECAGG_SERVER_H_
#define TONTINE_COMMON_SECAGG_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto/shamir.h"
#include "common/secagg/graph.h"
#include "common/secagg/masking.h"
#include "common/secagg/params.h"
#include "common/secagg/session.h"
#include "tontine/v1/secagg.pb.h"
#include "tontine/v1/session.pb.h"

namespace tontine::secagg {

// Where the server's requests go: the session streams in the coordinator, a queue in tests.
class ParticipantSender {
 public:
  virtual ~ParticipantSender() = default;
  // Queues `message` for the participant at cohort index `index`. Must not block and must not
  // call back into the server.
  virtual void Send(uint32_t index, v1::ServerMessage message) = 0;
};

struct SecAggAggregate {
  std::vector<uint32_t> sum;        // Σ of the included participants' vectors, mod 2^32
  std::vector<uint32_t> included;   // their cohort indices, sorted
};

// Lifecycle: Create → HandleAdvertiseKeys … → CloseAdvertiseKeys → HandleShareKeys … →
// CloseShareKeys → HandleMaskedInput … → CloseMaskedInput → HandleUnmaskResponse … → Finish.
// The caller closes each phase (at its deadline, or when everyone has answered); whoever has
// not answered by then has dropped out. Each Close sends the next phase's requests through
// the sender. A Close or Finish that finds too few participants to go on moves the server to
// kAborted and returns ABORTED; the round is over.
//
// Handle* validate everything that came over the network: a message for another round or
// phase, or from a participant not expected in this phase, is FAILED_PRECONDITION; malformed
// contents (sizes, indices, a vector of the wrong length) are INVALID_ARGUMENT; either way the
// message is ignored and the round goes on for everyone else.
// Safe for concurrent use.
class SecAggServer {
 public:
  // INVALID_ARGUMENT when ValidateParameters refuses `params` (incl. the ring bound). Given
  // the round's `requirements` (expected dropout rate, tolerated corrupt fraction; the cohort
  // size is taken from params), FAILED_PRECONDITION when the finder's analysis says k and t
  // cannot meet them (CheckSecAggParams). `sender` must outlive this object. `threads` ≥ 1
  // expand masks in Finish.
  static absl::StatusOr<std::unique_ptr<SecAggServer>> Create(
      uint64_t round_id, const v1::SecAggParameters& params, ParticipantSender* sender,
      int threads = 1, const std::optional<SecAggRequirements>& requirements = std::nullopt);

  absl::Status HandleAdvertiseKeys(uint32_t index, const v1::AdvertiseKeys& message);
  // Computes the session id and the neighbour graph over the participants that advertised,
  // and sends each a ShareKeysRequest. ABORTED if they are too few for anyone to keep t
  // neighbours.
  absl::Status CloseAdvertiseKeys();

  // Expects exactly one ciphertext from `index` to each of its neighbours.
  absl::Status HandleShareKeys(uint32_t index, const v1::ShareKeys& message);
  // Keeps the largest set of senders in which everyone has ≥ t neighbours who also sent
  // (the others are left out of the round: no one masks with them), and forwards each kept
  // participant the ciphertexts its kept neighbours sent it. ABORTED if no one is left.
  absl::Status CloseShareKeys(uint64_t masked_input_deadline_ms);

  // Adds a masked vector of vector_words words to the running sum (memory O(d), not O(n·d)).
  absl::Status HandleMaskedInput(uint32_t index, std::span<const uint32_t> masked);
  // Sends each participant whose vector arrived its UnmaskRequest. ABORTED when a survivor
  // has fewer than t surviving neighbours (its self-mask could not be removed).
  absl::Status CloseMaskedInput(uint64_t unmask_deadline_ms);

  // Expects exactly the shares asked of `index`, each 40 bytes of values below p.
  absl::Status HandleUnmaskResponse(uint32_t index, const v1::UnmaskResponse& message);
  // Rebuilds each survivor's self-mask seed and each dropped participant's masking key from
  // t shares and removes their masks from the sum. ABORTED when a secret has fewer than t
  // shares; DATA_LOSS when a rebuilt masking key does not match the key its owner advertised.
  absl::StatusOr<SecAggAggregate> Finish();

  SecAggPhase phase() const;
  // The cohort indices the current phase still waits for, sorted: those that have not
  // advertised keys, sent shares, uploaded or answered the unmask request (of those the phase
  // asked). Empty once the round is completed or aborted. The caller closes a phase early
  // when every index awaited has gone away.
  std::vector<uint32_t> Awaited() const;
  // The session id, once AdvertiseKeys has closed ("" before).
  std::string session_id() const;

 private:
  SecAggServer(uint64_t round_id, v1::SecAggParameters params, crypto::PrgAlgorithm prg,
               ParticipantSender* sender, int threads);

  absl::Status ExpectLocked(SecAggPhase phase, uint64_t round_id, absl::string_view step) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status AbortLocked(std::string message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Neighbours of `index` inside `set`.
  std::vector<uint32_t> NeighboursIn(uint32_t index, const std::set<uint32_t>& set) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The masks Finish removes: each survivor's self mask, and each dropped participant's
  // pairwise masks with its surviving neighbours.
  absl::StatusOr<std::vector<MaskStream>> RebuildMasksLocked()
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const uint64_t round_id_;
  const v1::SecAggParameters params_;
  const crypto::PrgAlgorithm prg_;
  ParticipantSender* const sender_;  // must outlive this object
  const int threads_;

  mutable absl::Mutex mu_;
  SecAggPhase phase_ ABSL_GUARDED_BY(mu_) = SecAggPhase::kAdvertiseKeys;
  std::map<uint32_t, AdvertisedKeys> advertised_ ABSL_GUARDED_BY(mu_);   // U1
  std::string session_id_ ABSL_GUARDED_BY(mu_);
  std::optional<NeighbourGraph> graph_ ABSL_GUARDED_BY(mu_);
  // U2: each sender's ciphertexts by receiver.
  std::map<uint32_t, std::map<uint32_t, std::string>> shares_ ABSL_GUARDED_BY(mu_);
  std::set<uint32_t> kept_ ABSL_GUARDED_BY(mu_);        // U2 after CloseShareKeys
  std::set<uint32_t> uploaded_ ABSL_GUARDED_BY(mu_);    // U3
  std::vector<uint32_t> sum_ ABSL_GUARDED_BY(mu_);      // Σ masked vectors
  // What each survivor was asked in Unmask, and what came back (U4), by owner of the secret.
  std::map<uint32_t, v1::UnmaskRequest> asked_ ABSL_GUARDED_BY(mu_);
  std::set<uint32_t> answered_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, std::vector<crypto::ShamirShare>> seed_shares_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, std::vector<crypto::ShamirShare>> key_shares_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_SERVER_H_
