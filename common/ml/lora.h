// Putting LoRA adapters on a CausalLm and choosing what trains.
#ifndef TONTINE_COMMON_ML_LORA_H_
#define TONTINE_COMMON_ML_LORA_H_

#include <cstdint>
#include <map>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "common/ml/model.h"
#include "common/update/peft_format.h"

namespace tontine::ml {

// Which LoRA matrices receive gradients (FFA-LoRA trains B only; alternating switches).
enum class TrainedMatrices { kA, kB, kAB };

// Adds a LoRA branch to every projection whose own name (the last path component, e.g.
// "q_proj") is in spec.target_modules, with PEFT's init (kaiming-uniform A, zero B).
// INVALID_ARGUMENT when a target matches no module; FAILED_PRECONDITION if LoRA is already on.
absl::Status InjectLora(CausalLm& model, const update::LoraSpec& spec);

// Replaces every A with update::InitLoraA(seed, module path, …): bit-identical in every
// process, including the coordinator's (which has no LibTorch).
void SeedLoraA(CausalLm& model, uint64_t seed);

// Freezes every base weight and sets requires_grad on A and/or B.
void SetTrainable(CausalLm& model, TrainedMatrices trained);

// Every LoRA tensor by its name in the model ("model.layers.0.self_attn.q_proj.lora_A.weight"),
// sorted (the canonical order of the update vector).
std::map<std::string, torch::Tensor> LoraParameters(CausalLm& model);

// The tensors that currently require grad.
std::vector<torch::Tensor> TrainableParameters(CausalLm& model);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_LORA_H_
