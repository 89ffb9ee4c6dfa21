#include "cli/simulate_model.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "cli/model_helpers.h"
#include "common/base/status_macros.h"
#include "common/config/base_model.h"
#include "common/ml/checkpoint.h"
#include "common/ml/runtime.h"
#include "spdlog/spdlog.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

Evaluation ToEvaluation(const ml::EvalResult& result) {
  Evaluation evaluation;
  evaluation.macro_perplexity = result.MacroPerplexity();
  for (const ml::GroupMetrics& g : result.groups) {
    evaluation.perplexity_by_language[g.group] = g.Perplexity();
  }
  evaluation.details = EvalJson(result);
  return evaluation;
}

}  // namespace

struct SimulateModel::Impl {
  config::ExperimentConfig experiment;
  ml::CausalLm model;
  text::PackedSequences held_out;
  Evaluation base;
};

SimulateModel::SimulateModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SimulateModel::~SimulateModel() = default;

absl::StatusOr<std::unique_ptr<SimulateModel>> SimulateModel::Create(
    const config::ExperimentConfig& experiment, const std::vector<text::Document>& held_out,
    int threads) {
  if (held_out.empty()) return absl::InvalidArgumentError("no held-out documents to evaluate on");
  ml::ConfigureRuntime(threads);
  TONTINE_ASSIGN_OR_RETURN(fs::path base_dir, config::ResolveBaseModel(experiment.model.base_dir));
  TONTINE_ASSIGN_OR_RETURN(ml::CausalLm model, LoadBase(base_dir, experiment));
  TONTINE_ASSIGN_OR_RETURN(
      text::PackedSequences packed,
      PackDocuments(held_out, experiment.local_training.sequence_length));
  auto impl = std::make_unique<Impl>(Impl{experiment, std::move(model), std::move(packed), {}});
  impl->base = ToEvaluation(ml::Evaluate(impl->model, impl->held_out));
  return std::unique_ptr<SimulateModel>(new SimulateModel(std::move(impl)));
}

const Evaluation& SimulateModel::base() const { return impl_->base; }

absl::StatusOr<Evaluation> SimulateModel::EvaluateAdapter(const fs::path& dir) {
  TONTINE_RETURN_IF_ERROR(ml::LoadPeftAdapter(dir, impl_->model).status());
  return ToEvaluation(ml::Evaluate(impl_->model, impl_->held_out));
}

absl::StatusOr<CentralizedRow> SimulateModel::TrainCentralized(
    const fs::path& initial_adapter, const std::vector<text::Document>& train, int steps,
    int batch_factor, const fs::path& out) {
  const config::ExperimentConfig& experiment = impl_->experiment;
  TONTINE_ASSIGN_OR_RETURN(update::LoraSpec spec,
                           ml::LoadPeftAdapter(initial_adapter, impl_->model));
  ml::SetTrainable(impl_->model, TrainedMatricesOf(experiment));
  TONTINE_ASSIGN_OR_RETURN(text::PackedSequences packed,
                           PackDocuments(train, experiment.local_training.sequence_length));
  ml::TrainOptions options;
  options.schedule = experiment.local_training;
  options.schedule.steps = steps;
  // Each step sees as many sequences as the round's clients together: their micro-batches
  // side by side in one larger batch (the same mean gradient as accumulating them one after
  // another, with larger and so faster matrix products).
  options.schedule.batch_size *= batch_factor;
  options.schedule.warmup_steps = std::min(options.schedule.warmup_steps, steps);
  spdlog::info("centralized baseline: {} steps of {} sequences on {} pooled sequences", steps,
               options.schedule.batch_size * options.schedule.gradient_accumulation,
               packed.rows());
  const absl::Time start = absl::Now();
  TONTINE_RETURN_IF_ERROR(
      TrainWithProgress(impl_->model, packed, options, "centralized").status());
  CentralizedRow row;
  row.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  row.steps = steps;
  row.sequences = static_cast<int64_t>(steps) * options.schedule.batch_size *
                  options.schedule.gradient_accumulation;
  TONTINE_RETURN_IF_ERROR(ml::SavePeftAdapter(out, impl_->model, spec));
  row.evaluation = ToEvaluation(ml::Evaluate(impl_->model, impl_->held_out));
  return row;
}

}  // namespace tontine::cli
