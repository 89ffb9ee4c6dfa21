// The client's real UpdateProducer: LibTorch training of the round's LoRA matrices on the
// contributor's own text. The only client code that includes torch.
#ifndef TONTINE_CLIENT_TRAINER_TRAINING_PRODUCER_H_
#define TONTINE_CLIENT_TRAINER_TRAINING_PRODUCER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/runner/participant.h"

namespace tontine::trainer {

struct TrainingProducerOptions {
  std::filesystem::path base_dir;  // the base model (Hugging Face layout)
  std::filesystem::path data_dir;  // the contributor's .txt / .jsonl files
  std::string participant_id;      // mixed into the data-order seed
};

// Not thread-safe (the Participant runs one round at a time).
class TrainingProducer final : public runner::UpdateProducer {
 public:
  // Loads the base model and checks the data directory holds text. The errors name the
  // directory and the problem.
  static absl::StatusOr<std::unique_ptr<TrainingProducer>> Create(
      const TrainingProducerOptions& options);
  ~TrainingProducer() override;

  std::string BaseModelSha256() const override { return base_sha256_; }
  // Loads the incoming adapter, evaluates it on the held-out split (the metrics the round
  // reports), trains the task's matrices for its steps, and returns new − incoming.
  absl::StatusOr<runner::LocalUpdate> Produce(const runner::ProduceContext& context) override;

 private:
  struct State;
  TrainingProducer(TrainingProducerOptions options, std::string base_sha256,
                   std::unique_ptr<State> state);

  const TrainingProducerOptions options_;
  const std::string base_sha256_;
  std::unique_ptr<State> state_;
};

}  // namespace tontine::trainer

#endif  // TONTINE_CLIENT_TRAINER_TRAINING_PRODUCER_H_
