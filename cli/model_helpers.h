// The LibTorch side shared by the commands of `tontine` that train or evaluate (pretrain,
// train-local, eval, simulate): loading the experiment, data and base model, packing, training
// with a progress line, and evaluation results as JSON. Includes LibTorch: only the torch
// translation units of cli/ include it.
#ifndef TONTINE_CLI_MODEL_HELPERS_H_
#define TONTINE_CLI_MODEL_HELPERS_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/ml/evaluate.h"
#include "common/ml/lora.h"
#include "common/ml/model.h"
#include "common/ml/trainer.h"
#include "common/text/corpus.h"
#include "common/text/packing.h"

namespace tontine::cli {

// The experiment at `path`, or the documented defaults when `path` is empty, with `overrides`
// (--set key.path=value flags, common/config/overrides.h) applied; INVALID_ARGUMENT naming
// the flag for a malformed or invalid override.
absl::StatusOr<config::ExperimentConfig> ExperimentOrDefaults(
    const std::filesystem::path& path, const std::vector<std::string>& overrides = {});

// Loads a data directory (text::LoadCorpus), logging warnings, skipped documents and the
// split's sizes. Errors name the file (and line).
absl::StatusOr<text::Corpus> LoadData(const std::filesystem::path& dir, double held_out_fraction,
                                      bool skip_bad_documents);

// The base model in `dir`, checked against the byte tokenizer (the only one built so far):
// UNIMPLEMENTED for model.tokenizer: hf, FAILED_PRECONDITION for another vocabulary size.
absl::StatusOr<ml::CausalLm> LoadBase(const std::filesystem::path& dir,
                                      const config::ExperimentConfig& experiment);

// Packs `documents` with the byte tokenizer into rows of `sequence_length`.
absl::StatusOr<text::PackedSequences> PackDocuments(const std::vector<text::Document>& documents,
                                                    int sequence_length);

// What a round of `experiment` trains: B alone under ffa, otherwise A and B.
ml::TrainedMatrices TrainedMatricesOf(const config::ExperimentConfig& experiment);

// Trains with a progress line on stderr labelled `label`, stopping between steps once
// Interrupted() (cli/interrupt.h): CANCELLED then, naming the step reached and, when
// options.checkpoint is set, the checkpoint the same command resumes from.
absl::StatusOr<ml::TrainResult> TrainWithProgress(ml::CausalLm& model,
                                                  const text::PackedSequences& train,
                                                  const ml::TrainOptions& options,
                                                  const char* label);

// {"groups": [{group, tokens, bytes, nll, perplexity, bits_per_byte}…], "total": {…},
//  "macro_perplexity": …}
nlohmann::json EvalJson(const ml::EvalResult& result);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_MODEL_HELPERS_H_
