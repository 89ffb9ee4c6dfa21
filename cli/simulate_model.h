// The LibTorch side of `tontine simulate` behind a torch-free header: held-out perplexity of
// the base model and of every committed adapter on each simulated language, and the
// centralized baseline. simulate_model.cc is simulate's only torch translation unit.
#ifndef TONTINE_CLI_SIMULATE_MODEL_H_
#define TONTINE_CLI_SIMULATE_MODEL_H_

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/simulate_report.h"
#include "common/config/experiment_config.h"
#include "common/text/corpus.h"

namespace tontine::cli {

// Lifecycle: Create (loads the base model and scores it) → EvaluateAdapter … →
// TrainCentralized. Not thread-safe.
class SimulateModel {
 public:
  // Loads the experiment's base model with `threads` torch threads (0 = all cores), packs
  // `held_out` (Document::group = language) at local_training.sequence_length, and scores the
  // base model on it. FAILED_PRECONDITION saying how to build the bundled base model when it
  // is missing; INVALID_ARGUMENT when `held_out` is empty.
  static absl::StatusOr<std::unique_ptr<SimulateModel>> Create(
      const config::ExperimentConfig& experiment, const std::vector<text::Document>& held_out,
      int threads);
  SimulateModel(const SimulateModel&) = delete;
  SimulateModel& operator=(const SimulateModel&) = delete;
  ~SimulateModel();

  // The base model's held-out perplexities (equal to those of an adapter with B = 0).
  const Evaluation& base() const;

  // Loads the PEFT adapter in `dir` onto the base model and scores it. INVALID_ARGUMENT naming
  // the file when it does not fit the base model.
  absl::StatusOr<Evaluation> EvaluateAdapter(const std::filesystem::path& dir);

  // The centralized baseline: starting from `initial_adapter` (the experiment's first adapter,
  // so the same frozen A under ffa and B = 0), trains what a round trains for `steps` steps of
  // the experiment's local_training schedule on `train` (the pooled training documents), saves
  // the adapter in `out` and scores it. CANCELLED when interrupted (cli/interrupt.h).
  // REQUIRES: steps > 0.
  absl::StatusOr<CentralizedRow> TrainCentralized(const std::filesystem::path& initial_adapter,
                                                  const std::vector<text::Document>& train,
                                                  int steps, int batch_factor,
                                                  const std::filesystem::path& out);

 private:
  struct Impl;
  explicit SimulateModel(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace tontine::cli

#endif  // TONTINE_CLI_SIMULATE_MODEL_H_
