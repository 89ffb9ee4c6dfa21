// An UpdateProducer without LibTorch or text, for fault tests and benchmarks: its update is
// a deterministic pseudo-random vector (from the round id and participant id), its held-out
// metrics fixed, and its "training" an optional wait in steps that honours should_abort
// and train_until.
#ifndef TONTINE_TESTS_TESTING_SYNTHETIC_PRODUCER_H_
#define TONTINE_TESTS_TESTING_SYNTHETIC_PRODUCER_H_

#include <string>

#include "absl/time/time.h"
#include "client/runner/participant.h"

namespace tontine::testing {

class SyntheticProducer final : public runner::UpdateProducer {
 public:
  // `base_sha256`: 32 bytes, what the coordinator's base model digests to.
  SyntheticProducer(std::string base_sha256, std::string participant_id,
                    absl::Duration training = absl::ZeroDuration())
      : base_sha256_(std::move(base_sha256)),
        participant_id_(std::move(participant_id)),
        training_(training) {}

  std::string BaseModelSha256() const override { return base_sha256_; }
  absl::StatusOr<runner::LocalUpdate> Produce(const runner::ProduceContext& context) override;

  // The held-out metrics every synthetic participant reports.
  static update::BucketMetrics HeldOut() { return {120.0, 64, 80}; }

 private:
  const std::string base_sha256_;
  const std::string participant_id_;
  const absl::Duration training_;
};

// Writes a base model directory the coordinator accepts (config.json of a tiny byte-level
// Llama and a weights file; the coordinator only reads the config and hashes the files) and
// returns its digest (32 bytes).
absl::StatusOr<std::string> WriteTinyBaseModel(const std::filesystem::path& dir,
                                               int hidden = 32, int layers = 1);

}  // namespace tontine::testing

#endif  // TONTINE_TESTS_TESTING_SYNTHETIC_PRODUCER_H_
