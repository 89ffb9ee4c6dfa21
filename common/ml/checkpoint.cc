#include "common/ml/checkpoint.h"

#include <cstring>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/ml/lora.h"
#include "common/safetensors/model_dir.h"
#include "common/safetensors/reader.h"
#include "common/safetensors/shard_index.h"
#include "common/safetensors/writer.h"

namespace tontine::ml {
namespace {

namespace fs = std::filesystem;
using safetensors::Dtype;
using safetensors::SafetensorsFile;
using safetensors::TensorInfo;

std::vector<int64_t> Shape(const torch::Tensor& t) { return t.sizes().vec(); }

std::string ShapeString(const std::vector<int64_t>& shape) { return c10::str(c10::IntArrayRef(shape)); }

// The tensor `info` of `file` as fp32, copied out of the mapping (which the caller may
// close afterwards). INVALID_ARGUMENT for dtypes other than F32, F16 and BF16.
absl::StatusOr<torch::Tensor> ToTorch(const SafetensorsFile& file, const TensorInfo& info) {
  c10::ScalarType type;
  switch (info.dtype) {
    case Dtype::kF32: type = torch::kFloat32; break;
    case Dtype::kF16: type = torch::kFloat16; break;
    case Dtype::kBf16: type = torch::kBFloat16; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(file.path().string(), ": tensor \"", info.name, "\" has dtype ",
                       safetensors::DtypeName(info.dtype), "; weights must be F32, F16 or BF16"));
  }
  absl::Span<const uint8_t> bytes = file.Data(info);
  // Copy first: the mapping's offsets need not be aligned for the element type.
  torch::Tensor raw = torch::empty(info.shape, torch::TensorOptions().dtype(type));
  if (!bytes.empty()) std::memcpy(raw.data_ptr(), bytes.data(), bytes.size());
  return type == torch::kFloat32 ? raw : raw.to(torch::kFloat32);
}

// Tensors a checkpoint may carry that the model does not hold as parameters.
bool IgnoredCheckpointTensor(const ModelConfig& config, const std::string& name) {
  if (name == "lm_head.weight" && config.tie_word_embeddings) return true;  // equals the embedding
  return absl::StrContains(name, "rotary_emb.inv_freq");  // a buffer some exporters keep
}

// Copies checkpoint tensors into a model's base weights, one at a time, and reports what is
// missing at the end.
class WeightLoader {
 public:
  explicit WeightLoader(CausalLm& model) : config_(model->config()), params_(model->BaseWeights()) {}

  absl::Status Copy(const std::string& name, const std::vector<int64_t>& shape,
                    const std::function<absl::StatusOr<torch::Tensor>()>& read,
                    const std::string& source) {
    if (IgnoredCheckpointTensor(config_, name)) return absl::OkStatus();
    auto it = params_.find(name);
    if (it == params_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": unexpected tensor \"", name, "\" for this config"));
    }
    if (c10::IntArrayRef(shape) != it->second.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": tensor \"", name, "\" has shape ",
                                                     ShapeString(shape), ", the config needs ",
                                                     ShapeString(Shape(it->second))));
    }
    if (!loaded_.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": tensor \"", name, "\" appears twice"));
    }
    TONTINE_ASSIGN_OR_RETURN(torch::Tensor value, read());
    torch::NoGradGuard no_grad;
    it->second.copy_(value);
    return absl::OkStatus();
  }

  absl::Status Finish(const std::string& source) const {
    for (const auto& [name, param] : params_) {
      if (!loaded_.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": missing tensor \"", name, "\""));
      }
    }
    return absl::OkStatus();
  }

 private:
  const ModelConfig& config_;
  std::map<std::string, torch::Tensor> params_;
  std::set<std::string> loaded_;
};

std::vector<safetensors::TensorToWrite> ToWrite(const std::map<std::string, torch::Tensor>& tensors,
                                               std::vector<torch::Tensor>& keep_alive) {
  std::vector<safetensors::TensorToWrite> out;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kFloat32).contiguous();
    keep_alive.push_back(t);
    out.push_back({name, Dtype::kF32, Shape(t),
                   absl::string_view(static_cast<const char*>(t.data_ptr()),
                                     static_cast<size_t>(t.numel()) * sizeof(float))});
  }
  return out;
}

// "model.layers.0.self_attn.q_proj.lora_A.weight" → ("model.layers.0.self_attn.q_proj", kA).
std::pair<std::string, update::LoraMatrix> SplitLoraName(const std::string& name) {
  const bool is_a = absl::StrContains(name, ".lora_A.");
  return {name.substr(0, name.find(is_a ? ".lora_A." : ".lora_B.")),
          is_a ? update::LoraMatrix::kA : update::LoraMatrix::kB};
}

}  // namespace

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadTensors(const fs::path& path) {
  TONTINE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
  std::map<std::string, torch::Tensor> out;
  for (const TensorInfo& info : file.tensors()) {
    TONTINE_ASSIGN_OR_RETURN(out[info.name], ToTorch(file, info));
  }
  return out;
}

absl::Status WriteTensors(const fs::path& path, const std::map<std::string, torch::Tensor>& tensors,
                          const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  return safetensors::WriteSafetensors(path, ToWrite(tensors, keep_alive), metadata);
}

absl::Status LoadWeights(CausalLm& model, const std::map<std::string, torch::Tensor>& weights,
                         const std::string& source) {
  WeightLoader loader(model);
  for (const auto& [name, tensor] : weights) {
    TONTINE_RETURN_IF_ERROR(loader.Copy(
        name, Shape(tensor), [&]() -> absl::StatusOr<torch::Tensor> { return tensor; }, source));
  }
  return loader.Finish(source);
}

absl::StatusOr<CausalLm> LoadCausalLm(const fs::path& dir) {
  TONTINE_ASSIGN_OR_RETURN(safetensors::ModelFiles files, safetensors::FindModelFiles(dir));
  TONTINE_ASSIGN_OR_RETURN(std::string config_text, ReadFile(files.config));
  TONTINE_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(config_text, files.config.string()));
  CausalLm model(config);
  WeightLoader loader(model);
  for (const fs::path& weights : files.weights) {
    TONTINE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(weights));
    for (const TensorInfo& info : file.tensors()) {
      if (!files.shard_of.empty()) {
        auto it = files.shard_of.find(info.name);
        if (it == files.shard_of.end() || it->second != weights) {
          return absl::InvalidArgumentError(
              absl::StrCat(weights.string(), ": tensor \"", info.name, "\" is not listed for ",
                           "this shard in ", safetensors::kShardIndexFile));
        }
      }
      TONTINE_RETURN_IF_ERROR(loader.Copy(
          info.name, info.shape, [&] { return ToTorch(file, info); }, weights.string()));
    }
  }
  TONTINE_RETURN_IF_ERROR(loader.Finish(dir.string()));
  model->eval();
  return model;
}

absl::Status SaveCausalLm(const fs::path& dir, CausalLm& model) {
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir));
  TONTINE_RETURN_IF_ERROR(
      WriteFileAtomic(dir / safetensors::kModelConfigFile, ModelConfigToJson(model->config())));
  return WriteTensors(dir / safetensors::kSingleWeightsFile, model->BaseWeights(), {{"format", "pt"}});
}

absl::Status SavePeftAdapter(const fs::path& dir, CausalLm& model, const update::LoraSpec& spec) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, tensor] : LoraParameters(model)) {
    auto [path, matrix] = SplitLoraName(name);
    tensors.emplace(update::PeftTensorKey(path, matrix), tensor);
  }
  if (tensors.empty()) return absl::FailedPreconditionError("the model has no LoRA adapter to save");
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir));
  TONTINE_RETURN_IF_ERROR(WriteTensors(dir / update::kPeftWeightsFile, tensors, update::PeftMetadata()));
  return WriteFileAtomic(dir / update::kPeftConfigFile, update::PeftConfigJson(spec));
}

namespace {

// LoadPeftAdapter and LoadPeftAdapterLoraB: the file `weights_name` holds both matrices, or,
// with a seed, only lora_B (lora_A then drawn from the seed).
absl::StatusOr<update::LoraSpec> LoadAdapter(const fs::path& dir, const char* weights_name,
                                             CausalLm& model,
                                             std::optional<uint64_t> lora_a_seed) {
  const fs::path config_path = dir / update::kPeftConfigFile;
  const fs::path weights_path = dir / weights_name;
  TONTINE_ASSIGN_OR_RETURN(std::string config_text, ReadFile(config_path));
  TONTINE_ASSIGN_OR_RETURN(update::LoraSpec spec,
                           update::ParsePeftConfig(config_text, config_path.string()));
  TONTINE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(weights_path));
  std::map<std::string, LoraLinear> projections = model->Projections();
  bool has_lora = false;
  for (auto& [path, linear] : projections) has_lora |= linear->lora_enabled();
  if (!has_lora) {
    absl::Status injected = InjectLora(model, spec);
    if (!injected.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(config_path.string(), ": ", injected.message()));
    }
  }
  if (lora_a_seed.has_value()) SeedLoraA(model, *lora_a_seed);
  std::set<std::string> loaded;
  for (const TensorInfo& info : file.tensors()) {
    auto key = update::ParsePeftTensorKey(info.name);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(weights_path.string(), ": ", key.status().message()));
    }
    auto it = projections.find(key->first);
    if (it == projections.end() || !it->second->lora_enabled()) {
      return absl::InvalidArgumentError(absl::StrCat(weights_path.string(), ": tensor \"", info.name,
                                                     "\" names no LoRA module of this model"));
    }
    if (lora_a_seed.has_value() && key->second == update::LoraMatrix::kA) {
      return absl::InvalidArgumentError(absl::StrCat(
          weights_path.string(), ": tensor \"", info.name,
          "\" is a lora_A, which this lora_B-only file must not hold"));
    }
    torch::Tensor target = key->second == update::LoraMatrix::kA ? it->second->lora_A->weight
                                                                 : it->second->lora_B->weight;
    if (c10::IntArrayRef(info.shape) != target.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          weights_path.string(), ": tensor \"", info.name, "\" has shape ", ShapeString(info.shape),
          ", the model needs ", ShapeString(Shape(target))));
    }
    TONTINE_ASSIGN_OR_RETURN(torch::Tensor value, ToTorch(file, info));
    torch::NoGradGuard no_grad;
    target.copy_(value);
    loaded.insert(info.name);
  }
  for (auto& [path, linear] : projections) {
    if (!linear->lora_enabled()) continue;
    for (auto matrix : {update::LoraMatrix::kA, update::LoraMatrix::kB}) {
      if (lora_a_seed.has_value() && matrix == update::LoraMatrix::kA) continue;
      if (!loaded.count(update::PeftTensorKey(path, matrix))) {
        return absl::InvalidArgumentError(absl::StrCat(weights_path.string(), ": missing tensor \"",
                                                       update::PeftTensorKey(path, matrix), "\""));
      }
    }
    linear->lora_scale = spec.alpha / static_cast<double>(spec.rank);
  }
  return spec;
}

}  // namespace

absl::StatusOr<update::LoraSpec> LoadPeftAdapter(const fs::path& dir, CausalLm& model) {
  return LoadAdapter(dir, update::kPeftWeightsFile, model, std::nullopt);
}

absl::StatusOr<update::LoraSpec> LoadPeftAdapterLoraB(const fs::path& dir, CausalLm& model,
                                                      uint64_t lora_a_seed) {
  return LoadAdapter(dir, update::kLoraBWeightsFile, model, lora_a_seed);
}

}  // namespace tontine::ml
