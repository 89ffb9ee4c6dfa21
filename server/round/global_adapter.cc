#include "server/round/global_adapter.h"

#include <cstring>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"
#include "common/safetensors/reader.h"
#include "common/safetensors/writer.h"
#include "common/update/lora_init.h"

namespace tontine::round {
namespace {

namespace fs = std::filesystem;

constexpr char kOptimizerFile[] = "server_optimizer.safetensors";
constexpr char kLoraA[] = ".lora_A.weight";
constexpr char kLoraB[] = ".lora_B.weight";

absl::string_view AsBytes(const std::vector<float>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)};
}

absl::StatusOr<std::vector<float>> ReadF32(const safetensors::SafetensorsFile& file,
                                           const safetensors::TensorInfo& info) {
  if (info.dtype != safetensors::Dtype::kF32) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path().string(), ": tensor ", info.name, " is not F32"));
  }
  std::vector<float> values(static_cast<size_t>(info.NumElements()));
  absl::Span<const uint8_t> data = file.Data(info);
  std::memcpy(values.data(), data.data(), data.size());
  return values;
}

// INVALID_ARGUMENT "<file>: <message>".
absl::Status Malformed(const fs::path& file, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", message));
}

// A is [rank, in] and B [out, rank] (both 2-D), as the adapter's config states the rank.
absl::Status CheckLoraShape(const fs::path& file, const std::string& name,
                            const std::vector<int64_t>& shape, bool is_a, int64_t rank) {
  if (shape.size() == 2 && shape[is_a ? 0 : 1] == rank) return absl::OkStatus();
  return Malformed(file, absl::StrCat("tensor ", name, " has shape [", absl::StrJoin(shape, ", "),
                                      "]; with r = ", rank, " it must be ",
                                      is_a ? "[r, in_features]" : "[out_features, r]"));
}

}  // namespace

absl::StatusOr<GlobalAdapter> InitialAdapter(const ml::ModelConfig& model,
                                             const update::LoraSpec& spec, uint64_t seed) {
  GlobalAdapter adapter;
  adapter.spec = spec;
  for (const ml::LinearShape& linear : ml::LoraTargetShapes(model, spec.target_modules)) {
    AdapterTensor a{{spec.rank, linear.in_features},
                    update::InitLoraA(seed, linear.module, spec.rank, linear.in_features)};
    AdapterTensor b{{linear.out_features, spec.rank},
                    std::vector<float>(static_cast<size_t>(linear.out_features * spec.rank))};
    adapter.tensors.emplace(linear.module + kLoraA, std::move(a));
    adapter.tensors.emplace(linear.module + kLoraB, std::move(b));
  }
  if (adapter.tensors.empty()) {
    return absl::InvalidArgumentError("lora.target_modules matches no module of the base model");
  }
  return adapter;
}

v1::TrainedMatrices TrainedMatricesFor(config::AggregationRule rule, int number) {
  switch (rule) {
    case config::AggregationRule::kFfa:
      return v1::TRAINED_MATRICES_B;
    case config::AggregationRule::kAlternating:
      return number % 2 == 1 ? v1::TRAINED_MATRICES_B : v1::TRAINED_MATRICES_A;
    case config::AggregationRule::kFedIt:
      return v1::TRAINED_MATRICES_A_AND_B;
  }
  return v1::TRAINED_MATRICES_B;
}

std::vector<std::string> TrainedTensorNames(const GlobalAdapter& adapter,
                                            v1::TrainedMatrices trained) {
  const bool a = trained == v1::TRAINED_MATRICES_A || trained == v1::TRAINED_MATRICES_A_AND_B;
  const bool b = trained == v1::TRAINED_MATRICES_B || trained == v1::TRAINED_MATRICES_A_AND_B;
  std::vector<std::string> names;
  for (const auto& [name, unused] : adapter.tensors) {
    if ((a && absl::EndsWith(name, kLoraA)) || (b && absl::EndsWith(name, kLoraB))) {
      names.push_back(name);
    }
  }
  return names;
}

uint64_t ElementCount(const GlobalAdapter& adapter, const std::vector<std::string>& names) {
  uint64_t total = 0;
  for (const std::string& name : names) total += adapter.tensors.at(name).values.size();
  return total;
}

absl::Status ApplyMeanDelta(GlobalAdapter& adapter, const std::vector<std::string>& names,
                            std::span<const double> mean_delta,
                            const config::AggregationConfig& aggregation) {
  if (mean_delta.size() != ElementCount(adapter, names)) {
    return absl::InvalidArgumentError(absl::StrCat("the averaged update has ", mean_delta.size(),
                                                   " elements; the trained tensors have ",
                                                   ElementCount(adapter, names)));
  }
  size_t offset = 0;
  for (const std::string& name : names) {
    std::vector<float>& values = adapter.tensors.at(name).values;
    TONTINE_RETURN_IF_ERROR(update::ApplyServerOptimizer(
        aggregation, name, values, mean_delta.subspan(offset, values.size()), adapter.optimizer));
    offset += values.size();
  }
  return absl::OkStatus();
}

absl::StatusOr<WrittenAdapter> WriteAdapterDir(const fs::path& dir, const GlobalAdapter& adapter) {
  fs::path partial = dir;
  partial += ".partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  TONTINE_RETURN_IF_ERROR(MakeDirs(partial));
  std::vector<safetensors::TensorToWrite> tensors, b_only;
  for (const auto& [name, tensor] : adapter.tensors) {
    const bool is_a = absl::EndsWith(name, kLoraA);
    const std::string module = name.substr(0, name.size() - std::strlen(kLoraA));  // same length as kLoraB
    tensors.push_back({update::PeftTensorKey(module, is_a ? update::LoraMatrix::kA
                                                          : update::LoraMatrix::kB),
                       safetensors::Dtype::kF32, tensor.shape, AsBytes(tensor.values)});
    if (!is_a) b_only.push_back(tensors.back());
  }
  TONTINE_ASSIGN_OR_RETURN(std::string bytes,
                           safetensors::SerializeSafetensors(tensors, update::PeftMetadata()));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(partial / update::kPeftWeightsFile, bytes));
  TONTINE_ASSIGN_OR_RETURN(std::string b_bytes,
                           safetensors::SerializeSafetensors(b_only, update::PeftMetadata()));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(partial / update::kLoraBWeightsFile, b_bytes));
  TONTINE_RETURN_IF_ERROR(
      WriteFileAtomic(partial / update::kPeftConfigFile, update::PeftConfigJson(adapter.spec)));
  std::vector<safetensors::TensorToWrite> moments;
  for (const auto& [prefix, map] : {std::pair{"m/", &adapter.optimizer.first_moment},
                                    std::pair{"v/", &adapter.optimizer.second_moment}}) {
    for (const auto& [name, values] : *map) {
      moments.push_back({absl::StrCat(prefix, name), safetensors::Dtype::kF32,
                         {static_cast<int64_t>(values.size())}, AsBytes(values)});
    }
  }
  if (!moments.empty()) {
    TONTINE_RETURN_IF_ERROR(safetensors::WriteSafetensors(partial / kOptimizerFile, moments, {}));
  }
  fs::remove_all(dir, ec);
  fs::rename(partial, dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot move ", partial.string(), " to ", dir.string(), ": ", ec.message()));
  }
  TONTINE_RETURN_IF_ERROR(SyncDir(dir.parent_path()));
  TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256Digest(bytes));
  TONTINE_ASSIGN_OR_RETURN(std::string b_digest, crypto::Sha256Digest(b_bytes));
  return WrittenAdapter{digest, static_cast<int64_t>(bytes.size()), b_digest,
                        static_cast<int64_t>(b_bytes.size())};
}

absl::StatusOr<GlobalAdapter> ReadAdapterDir(const fs::path& dir) {
  GlobalAdapter adapter;
  TONTINE_ASSIGN_OR_RETURN(std::string config, ReadFile(dir / update::kPeftConfigFile));
  TONTINE_ASSIGN_OR_RETURN(adapter.spec,
                           update::ParsePeftConfig(config, (dir / update::kPeftConfigFile).string()));
  TONTINE_ASSIGN_OR_RETURN(safetensors::SafetensorsFile weights,
                           safetensors::SafetensorsFile::Open(dir / update::kPeftWeightsFile));
  for (const safetensors::TensorInfo& info : weights.tensors()) {
    auto key = update::ParsePeftTensorKey(info.name);
    if (!key.ok()) return Malformed(weights.path(), key.status().message());
    const bool is_a = key->second == update::LoraMatrix::kA;
    const std::string name = key->first + (is_a ? kLoraA : kLoraB);
    TONTINE_RETURN_IF_ERROR(
        CheckLoraShape(weights.path(), name, info.shape, is_a, adapter.spec.rank));
    TONTINE_ASSIGN_OR_RETURN(std::vector<float> values, ReadF32(weights, info));
    adapter.tensors.emplace(name, AdapterTensor{info.shape, std::move(values)});
  }
  std::error_code ec;
  if (fs::exists(dir / kOptimizerFile, ec)) {
    TONTINE_ASSIGN_OR_RETURN(safetensors::SafetensorsFile moments,
                             safetensors::SafetensorsFile::Open(dir / kOptimizerFile));
    for (const safetensors::TensorInfo& info : moments.tensors()) {
      TONTINE_ASSIGN_OR_RETURN(std::vector<float> values, ReadF32(moments, info));
      const bool first = absl::StartsWith(info.name, "m/");
      if (!first && !absl::StartsWith(info.name, "v/")) {
        return Malformed(moments.path(), absl::StrCat("unexpected tensor ", info.name));
      }
      // A moment belongs to one of the adapter's tensors and has its length; otherwise the
      // next server step would fail (ApplyServerOptimizer) long after this file was read.
      const std::string name = info.name.substr(2);
      auto tensor = adapter.tensors.find(name);
      if (tensor == adapter.tensors.end() || tensor->second.values.size() != values.size()) {
        return Malformed(moments.path(), absl::StrCat("tensor ", info.name, " (", values.size(),
                                                      " elements) fits no adapter tensor"));
      }
      (first ? adapter.optimizer.first_moment
             : adapter.optimizer.second_moment)[name] = std::move(values);
    }
  }
  return adapter;
}

}  // namespace tontine::round
