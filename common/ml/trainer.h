// Local training of the trainable parameters of a CausalLm (LoRA adapters, or everything when
// pretraining): AdamW or SGD, constant or cosine schedule after linear warm-up, gradient
// clipping and accumulation, an abort check between steps, and a resumable local checkpoint.
#ifndef TONTINE_COMMON_ML_TRAINER_H_
#define TONTINE_COMMON_ML_TRAINER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/experiment_config.h"
#include "common/ml/model.h"
#include "common/text/packing.h"

namespace tontine::ml {

struct StepReport {
  int step = 0;   // 1-based, steps done so far
  int steps = 0;  // total
  double loss = 0;  // mean NLL per target token of this step (nats)
  double learning_rate = 0;
  double tokens_per_second = 0;  // over the whole run so far
  absl::Duration eta;
};

struct TrainHooks {
  // Checked between steps; returning true stops training cleanly (the checkpoint is kept).
  std::function<bool()> should_abort;
  // Called after every step.
  std::function<void(const StepReport&)> on_step;
};

struct TrainOptions {
  config::LocalTrainingConfig schedule;
  // Resumable state (adapter, optimiser, data position) is written here every
  // `checkpoint_every` steps and on abort, and read at start when it matches this run.
  // Empty: no checkpoint.
  std::filesystem::path checkpoint;
  int checkpoint_every = 10;
};

struct TrainResult {
  int steps_done = 0;
  int resumed_at = 0;  // the step the checkpoint resumed from (0 = fresh start)
  bool aborted = false;
  double last_loss = 0;
  int64_t tokens = 0;  // target tokens trained on in this process
  double tokens_per_second = 0;
};

// The learning rate at 0-based `step` of `steps`: linear warm-up, peak·(step + 1)/warmup_steps
// (so the first step already moves), then constant, or cosine decay from the peak after
// warm-up towards 0 at `steps` (as transformers' cosine schedule; the last step, steps − 1,
// still gets a small rate).
double LearningRateAt(const config::LocalTrainingConfig& schedule, int step);

// Trains the parameters of `model` that require grad on `data` rows.
// INVALID_ARGUMENT when nothing requires grad or `data` has no rows.
absl::StatusOr<TrainResult> Train(CausalLm& model, const text::PackedSequences& data,
                                  const TrainOptions& options, const TrainHooks& hooks);

// Rows [first, first + count) of `data` as (inputs [n, L], targets [n, L], mask [n, L]).
struct Batch {
  torch::Tensor inputs;
  torch::Tensor targets;
  torch::Tensor mask;
};
Batch MakeBatch(const text::PackedSequences& data, const std::vector<int64_t>& rows);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_TRAINER_H_
