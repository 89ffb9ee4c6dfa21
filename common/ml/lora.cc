#include "common/ml/lora.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/update/lora_init.h"

namespace tontine::ml {
namespace {

// "model.layers.0.self_attn.q_proj" → "q_proj".
std::string LastComponent(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

}  // namespace

absl::Status InjectLora(CausalLm& model, const update::LoraSpec& spec) {
  std::map<std::string, LoraLinear> projections = model->Projections();
  for (auto& [path, linear] : projections) {
    if (linear->lora_enabled()) {
      return absl::FailedPreconditionError(absl::StrCat("LoRA is already on ", path));
    }
  }
  const std::set<std::string> wanted(spec.target_modules.begin(), spec.target_modules.end());
  std::set<std::string> matched;
  for (auto& [path, linear] : projections) {
    if (wanted.count(LastComponent(path))) matched.insert(LastComponent(path));
  }
  if (matched.size() != wanted.size()) {
    std::vector<std::string> missing;
    for (const std::string& name : wanted) {
      if (!matched.count(name)) missing.push_back(name);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "LoRA target modules match nothing in the model: ", absl::StrJoin(missing, ", ")));
  }
  for (auto& [path, linear] : projections) {
    if (wanted.count(LastComponent(path))) {
      linear->EnableLora(spec.rank, spec.alpha, spec.dropout);
    }
  }
  return absl::OkStatus();
}

void SeedLoraA(CausalLm& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  for (auto& [path, linear] : model->Projections()) {
    if (!linear->lora_enabled()) continue;
    torch::Tensor a = linear->lora_A->weight;  // [rank, in]
    std::vector<float> values = update::InitLoraA(seed, path, a.size(0), a.size(1));
    a.copy_(torch::from_blob(values.data(), a.sizes(), torch::kFloat32));
  }
}

void SetTrainable(CausalLm& model, TrainedMatrices trained) {
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  for (auto& [path, linear] : model->Projections()) {
    if (!linear->lora_enabled()) continue;
    linear->lora_A->weight.set_requires_grad(trained != TrainedMatrices::kB);
    linear->lora_B->weight.set_requires_grad(trained != TrainedMatrices::kA);
  }
}

std::map<std::string, torch::Tensor> LoraParameters(CausalLm& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters()) {
    if (p.key().find(".lora_") != std::string::npos) out.emplace(p.key(), p.value());
  }
  return out;
}

std::vector<torch::Tensor> TrainableParameters(CausalLm& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) out.push_back(p.value());
  }
  return out;
}

}  // namespace tontine::ml
