// Hugging Face layout on disk, through the torch-free safetensors library:
//   a model directory:   config.json + model.safetensors, or model.safetensors.index.json
//                        with its shards (F32, F16 or BF16; computed in fp32);
//   a PEFT adapter:      adapter_config.json + adapter_model.safetensors.
#ifndef TONTINE_COMMON_ML_CHECKPOINT_H_
#define TONTINE_COMMON_ML_CHECKPOINT_H_

#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "common/ml/model.h"
#include "common/update/peft_format.h"

namespace tontine::ml {

// Every tensor of one .safetensors file as an fp32 torch tensor (F32/F16/BF16 only).
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadTensors(
    const std::filesystem::path& file);

// Writes fp32 tensors (made contiguous) as F32 with `metadata`, atomically.
absl::Status WriteTensors(const std::filesystem::path& file,
                          const std::map<std::string, torch::Tensor>& tensors,
                          const std::map<std::string, std::string>& metadata);

// Copies base weights in by Hugging Face name (fp32, F16 or BF16 tensors). INVALID_ARGUMENT
// naming `source` and the tensor when one is missing, unexpected or mis-shaped.
absl::Status LoadWeights(CausalLm& model, const std::map<std::string, torch::Tensor>& weights,
                         const std::string& source);

// Loads the model in `dir` with one call. Errors name the file and the problem: missing
// config.json or weights, a malformed shard index, a shard named outside `dir`, a tensor
// missing or mis-shaped for the config.
absl::StatusOr<CausalLm> LoadCausalLm(const std::filesystem::path& dir);

// Writes config.json and model.safetensors (F32) into `dir` (created if needed).
absl::Status SaveCausalLm(const std::filesystem::path& dir, CausalLm& model);

// Writes the model's LoRA tensors and `spec` as a PEFT adapter directory.
absl::Status SavePeftAdapter(const std::filesystem::path& dir, CausalLm& model,
                             const update::LoraSpec& spec);

// Reads a PEFT adapter directory into `model`, injecting LoRA as its config says when the
// model has none. INVALID_ARGUMENT naming the file for a key or shape that does not fit.
absl::StatusOr<update::LoraSpec> LoadPeftAdapter(const std::filesystem::path& dir,
                                                 CausalLm& model);

// As LoadPeftAdapter, from `dir`'s adapter_config.json and its lora_B-only weights
// (update::kLoraBWeightsFile, as ffa participants download it), with every lora_A drawn from
// `lora_a_seed` (SeedLoraA, bit-identical to the coordinator's). INVALID_ARGUMENT also for a
// lora_A tensor in that file.
absl::StatusOr<update::LoraSpec> LoadPeftAdapterLoraB(const std::filesystem::path& dir,
                                                      CausalLm& model, uint64_t lora_a_seed);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_CHECKPOINT_H_
