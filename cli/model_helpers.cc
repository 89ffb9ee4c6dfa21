#include "cli/model_helpers.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/interrupt.h"
#include "common/base/progress.h"
#include "common/base/status_macros.h"
#include "common/config/overrides.h"
#include "common/ml/checkpoint.h"
#include "common/text/tokenizer.h"
#include "spdlog/spdlog.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

nlohmann::json GroupJson(const ml::GroupMetrics& g) {
  return {{"group", g.group},
          {"tokens", g.tokens},
          {"bytes", g.bytes},
          {"nll", g.MeanNll()},
          {"perplexity", g.Perplexity()},
          {"bits_per_byte", g.BitsPerByte()}};
}

}  // namespace

absl::StatusOr<config::ExperimentConfig> ExperimentOrDefaults(
    const fs::path& path, const std::vector<std::string>& overrides) {
  TONTINE_ASSIGN_OR_RETURN(std::vector<config::Override> parsed,
                           config::ParseOverrides(overrides));
  if (!path.empty()) return config::LoadExperimentConfig(path, parsed);
  if (parsed.empty()) return config::ExperimentConfig{};
  return config::DefaultExperimentConfig(parsed);
}

absl::StatusOr<text::Corpus> LoadData(const fs::path& dir, double held_out_fraction,
                                      bool skip_bad_documents) {
  TONTINE_ASSIGN_OR_RETURN(
      text::Corpus corpus,
      text::LoadCorpus(dir, {.held_out_fraction = held_out_fraction,
                             .skip_bad_documents = skip_bad_documents}));
  for (const std::string& warning : corpus.warnings) spdlog::warn("{}", warning);
  if (corpus.skipped > 0) {
    spdlog::warn("{}: skipped {} bad document(s) (--skip-bad-documents)", dir.string(),
                 corpus.skipped);
  }
  spdlog::info("{}: {} training and {} held-out documents", dir.string(), corpus.train.size(),
               corpus.held_out.size());
  return corpus;
}

absl::StatusOr<ml::CausalLm> LoadBase(const fs::path& dir,
                                      const config::ExperimentConfig& experiment) {
  if (experiment.model.tokenizer != config::TokenizerKind::kByte) {
    return absl::UnimplementedError(
        "model.tokenizer: hf is not supported yet; use a byte-level base model");
  }
  TONTINE_ASSIGN_OR_RETURN(ml::CausalLm model, ml::LoadCausalLm(dir));
  if (model->config().vocab_size != text::ByteTokenizer::kVocabSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir.string(), ": the model's vocabulary has ", model->config().vocab_size,
        " entries; the byte tokenizer needs ", text::ByteTokenizer::kVocabSize,
        " (Hugging Face tokenizers are not supported yet)"));
  }
  spdlog::info("{}: {} parameters, {} layers, hidden {}", dir.string(),
               model->config().ParameterCount(), model->config().num_hidden_layers,
               model->config().hidden_size);
  return model;
}

absl::StatusOr<text::PackedSequences> PackDocuments(const std::vector<text::Document>& documents,
                                                    int sequence_length) {
  return text::Pack(documents, text::ByteTokenizer(), sequence_length);
}

ml::TrainedMatrices TrainedMatricesOf(const config::ExperimentConfig& experiment) {
  return experiment.aggregation.rule == config::AggregationRule::kFfa ? ml::TrainedMatrices::kB
                                                                      : ml::TrainedMatrices::kAB;
}

absl::StatusOr<ml::TrainResult> TrainWithProgress(ml::CausalLm& model,
                                                  const text::PackedSequences& train,
                                                  const ml::TrainOptions& options,
                                                  const char* label) {
  ProgressLine progress(stderr, IsTerminal(stderr), label);
  ml::TrainHooks hooks;
  hooks.should_abort = [] { return Interrupted(); };
  hooks.on_step = [&progress](const ml::StepReport& r) {
    progress.Update({r.step, r.steps, r.loss, r.tokens_per_second, r.eta});
  };
  TONTINE_ASSIGN_OR_RETURN(ml::TrainResult result, ml::Train(model, train, options, hooks));
  progress.Finish();
  if (result.aborted) {
    std::string message = absl::StrCat("interrupted at step ", result.resumed_at + result.steps_done,
                                       " of ", options.schedule.steps);
    if (!options.checkpoint.empty()) {
      absl::StrAppend(&message, "; the same command resumes from ", options.checkpoint.string());
    }
    return absl::CancelledError(message);
  }
  return result;
}

nlohmann::json EvalJson(const ml::EvalResult& result) {
  nlohmann::json groups = nlohmann::json::array();
  for (const ml::GroupMetrics& g : result.groups) groups.push_back(GroupJson(g));
  return {{"groups", groups},
          {"total", GroupJson(result.total)},
          {"macro_perplexity", result.MacroPerplexity()}};
}

}  // namespace tontine::cli
