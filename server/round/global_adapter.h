// The coordinator's copy of the global LoRA adapter: its tensors in memory, the rule that
// says which of them a round trains, the server optimiser step, and the version directories
// it writes under the state dir (PEFT format, so `peft.PeftModel.from_pretrained` loads them).
//
//   adapters/v<N>/adapter_config.json
//   adapters/v<N>/adapter_model.safetensors     A and B of every target module (F32)
//   adapters/v<N>/server_optimizer.safetensors  the optimiser's moments ("m/<name>", "v/<name>");
//                                                absent for fedavg. PEFT ignores the file.
//
// Tensor names are the model's ("model.layers.0.self_attn.q_proj.lora_B.weight"); sorted,
// they are the canonical order of the update vector (DESIGN.md §5).
#ifndef TONTINE_SERVER_ROUND_GLOBAL_ADAPTER_H_
#define TONTINE_SERVER_ROUND_GLOBAL_ADAPTER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/ml/model_config.h"
#include "common/update/peft_format.h"
#include "common/update/server_optimizer.h"
#include "tontine/v1/round.pb.h"

namespace tontine::round {

struct AdapterTensor {
  std::vector<int64_t> shape;  // [r, in] for A, [out, r] for B
  std::vector<float> values;   // row-major
};

struct GlobalAdapter {
  update::LoraSpec spec;
  std::map<std::string, AdapterTensor> tensors;  // by model tensor name, sorted
  update::ServerOptimizerState optimizer;
};

// The experiment's initial adapter: PEFT's init with A drawn from `seed` (update::InitLoraA,
// bit-identical to the clients' ml::SeedLoraA) and B zero, on every target module of `model`.
// INVALID_ARGUMENT when no module matches the spec's targets.
absl::StatusOr<GlobalAdapter> InitialAdapter(const ml::ModelConfig& model,
                                             const update::LoraSpec& spec, uint64_t seed);

// What round `number` (1-based within the experiment) trains under `rule`: B (ffa), B on
// odd and A on even rounds (alternating), or both (fedit).
v1::TrainedMatrices TrainedMatricesFor(config::AggregationRule rule, int number);

// The names of `adapter`'s tensors that `trained` covers, sorted: the update vector's order.
std::vector<std::string> TrainedTensorNames(const GlobalAdapter& adapter,
                                            v1::TrainedMatrices trained);

// Σ elements of the named tensors: the update vector's delta words.
uint64_t ElementCount(const GlobalAdapter& adapter, const std::vector<std::string>& names);

// Moves the named tensors by `mean_delta` (their elements back to back, in `names` order)
// under the experiment's server optimiser. INVALID_ARGUMENT when the length does not match.
absl::Status ApplyMeanDelta(GlobalAdapter& adapter, const std::vector<std::string>& names,
                            std::span<const double> mean_delta,
                            const config::AggregationConfig& aggregation);

struct WrittenAdapter {
  std::string sha256;  // of adapter_model.safetensors, 32 bytes
  int64_t size_bytes = 0;
  std::string lora_b_sha256;  // of its lora_B-only copy (update::kLoraBWeightsFile)
  int64_t lora_b_size_bytes = 0;
};

// Writes `adapter` as the version directory `dir` (adapter_config.json,
// adapter_model.safetensors, its lora_B-only copy update::kLoraBWeightsFile, and the server
// optimiser's moments if any): into `dir`.partial, then renamed into
// place, so that `dir` is complete or absent. An existing `dir` (left by a crash between this
// and the round's commit) is replaced.
absl::StatusOr<WrittenAdapter> WriteAdapterDir(const std::filesystem::path& dir,
                                               const GlobalAdapter& adapter);

// Reads a version directory written by WriteAdapterDir. INVALID_ARGUMENT / NOT_FOUND naming
// the file for anything missing or malformed.
absl::StatusOr<GlobalAdapter> ReadAdapterDir(const std::filesystem::path& dir);

}  // namespace tontine::round

#endif  // TONTINE_SERVER_ROUND_GLOBAL_ADAPTER_H_
