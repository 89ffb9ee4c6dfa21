// Hugging Face PEFT's on-disk LoRA format, without LibTorch (the coordinator writes adapters
// too): adapter_config.json and the tensor names of adapter_model.safetensors.
//
//   base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight   [r, in]
//   base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight   [out, r]
// with safetensors metadata {"format": "pt"}.
#ifndef TONTINE_COMMON_UPDATE_PEFT_FORMAT_H_
#define TONTINE_COMMON_UPDATE_PEFT_FORMAT_H_

#include <filesystem>

#include "common/config/experiment_config.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::update {

inline constexpr char kPeftConfigFile[] = "adapter_config.json";
inline constexpr char kPeftWeightsFile[] = "adapter_model.safetensors";
// The coordinator's copy of a version without its lora_A tensors: what ffa participants
// download (A never changes under ffa; they rebuild it from the experiment's seed).
inline constexpr char kLoraBWeightsFile[] = "adapter_model.lora_b.safetensors";

// The LoRA adapter's shape and origin, as adapter_config.json states it.
struct LoraSpec {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.05;
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  std::string base_model_name_or_path;
};

// The spec an experiment's `lora:` section describes, on the base model in `base_dir`
// (recorded, absolute and normalised, as base_model_name_or_path).
LoraSpec LoraSpecOf(const config::LoraConfig& lora, const std::filesystem::path& base_dir);

// adapter_config.json text: peft_type LORA, task_type CAUSAL_LM, r, lora_alpha,
// lora_dropout, target_modules, bias "none", fan_in_fan_out false, and PEFT's other keys at
// their defaults.
std::string PeftConfigJson(const LoraSpec& spec);

// Parses adapter_config.json. INVALID_ARGUMENT naming `source` for anything but a plain LoRA
// causal-LM adapter (wrong peft_type, bias other than "none", fan_in_fan_out, DoRA, rsLoRA,
// rank or alpha patterns, non-positive r).
absl::StatusOr<LoraSpec> ParsePeftConfig(absl::string_view json, absl::string_view source);

enum class LoraMatrix { kA, kB };

// "base_model.model." + module_path + ".lora_A.weight" (or lora_B).
std::string PeftTensorKey(absl::string_view module_path, LoraMatrix matrix);

// The module path and matrix of a PEFT LoRA key; INVALID_ARGUMENT for any other key.
absl::StatusOr<std::pair<std::string, LoraMatrix>> ParsePeftTensorKey(absl::string_view key);

// The safetensors metadata PEFT writes.
std::map<std::string, std::string> PeftMetadata();

}  // namespace tontine::update

#endif  // TONTINE_COMMON_UPDATE_PEFT_FORMAT_H_
