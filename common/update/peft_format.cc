#include "common/update/peft_format.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tontine::update {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kKeyPrefix = "base_model.model.";

absl::Status Bad(absl::string_view source, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
}

// Keys whose non-default values would change the adapter's meaning; we refuse them rather
// than load an adapter we would apply wrongly.
absl::Status CheckPlainLora(const Json& j, absl::string_view source) {
  if (j.value("peft_type", std::string()) != "LORA") return Bad(source, "peft_type is not \"LORA\"");
  if (j.contains("task_type") && !j["task_type"].is_null() &&
      j["task_type"] != "CAUSAL_LM") {
    return Bad(source, "task_type is not \"CAUSAL_LM\"");
  }
  if (j.value("bias", std::string("none")) != "none") return Bad(source, "bias must be \"none\"");
  if (j.value("fan_in_fan_out", false)) return Bad(source, "fan_in_fan_out is not supported");
  if (j.value("use_dora", false)) return Bad(source, "DoRA adapters are not supported");
  if (j.value("use_rslora", false)) return Bad(source, "rsLoRA scaling is not supported");
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (j.contains(key) && j[key].is_object() && !j[key].empty()) {
      return Bad(source, absl::StrCat(key, " is not supported"));
    }
  }
  return absl::OkStatus();
}

// ParsePeftConfig on a parsed object; may throw Json::exception for a key of the wrong type.
absl::StatusOr<LoraSpec> ParsePeftObject(const Json& j, absl::string_view source) {
  if (absl::Status st = CheckPlainLora(j, source); !st.ok()) return st;
  LoraSpec spec;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0) {
    return Bad(source, "\"r\" must be a positive integer");
  }
  spec.rank = j["r"].get<int64_t>();
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number()) {
    return Bad(source, "\"lora_alpha\" must be a number");
  }
  spec.alpha = j["lora_alpha"].get<double>();
  spec.dropout = j.value("lora_dropout", 0.0);
  const Json& targets = j.value("target_modules", Json());
  if (!targets.is_array() || targets.empty()) {
    return Bad(source, "\"target_modules\" must be a non-empty list of module names");
  }
  spec.target_modules.clear();
  for (const Json& t : targets) {
    if (!t.is_string()) return Bad(source, "\"target_modules\" must hold strings");
    spec.target_modules.push_back(t.get<std::string>());
  }
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()) {
    spec.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  }
  return spec;
}

}  // namespace

LoraSpec LoraSpecOf(const config::LoraConfig& lora, const std::filesystem::path& base_dir) {
  LoraSpec spec;
  spec.rank = lora.rank;
  spec.alpha = lora.alpha;
  spec.dropout = lora.dropout;
  spec.target_modules = lora.target_modules;
  spec.base_model_name_or_path = std::filesystem::absolute(base_dir).lexically_normal().string();
  return spec;
}

std::string PeftConfigJson(const LoraSpec& spec) {
  Json j = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", spec.base_model_name_or_path},
      {"r", spec.rank},
      {"lora_alpha", spec.alpha},
      {"lora_dropout", spec.dropout},
      {"target_modules", spec.target_modules},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", Json::object()},
      {"alpha_pattern", Json::object()},
      {"revision", nullptr},
      {"use_rslora", false},
      {"use_dora", false},
  };
  return j.dump(2) + "\n";
}

absl::StatusOr<LoraSpec> ParsePeftConfig(absl::string_view json, absl::string_view source) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad(source, "not a JSON object");
  // value() and get() throw type_error for a key of the wrong type (e.g. "bias": null).
  try {
    return ParsePeftObject(j, source);
  } catch (const Json::exception& e) {
    return Bad(source, absl::StrCat("a key has the wrong type: ", e.what()));
  }
}

std::string PeftTensorKey(absl::string_view module_path, LoraMatrix matrix) {
  return absl::StrCat(kKeyPrefix, module_path,
                      matrix == LoraMatrix::kA ? ".lora_A.weight" : ".lora_B.weight");
}

absl::StatusOr<std::pair<std::string, LoraMatrix>> ParsePeftTensorKey(absl::string_view key) {
  absl::string_view rest = key;
  LoraMatrix matrix;
  if (!absl::ConsumePrefix(&rest, kKeyPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is not a PEFT LoRA tensor (no base_model.model. prefix)"));
  }
  if (absl::ConsumeSuffix(&rest, ".lora_A.weight")) {
    matrix = LoraMatrix::kA;
  } else if (absl::ConsumeSuffix(&rest, ".lora_B.weight")) {
    matrix = LoraMatrix::kB;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is not a lora_A.weight or lora_B.weight tensor"));
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" names no module"));
  }
  return std::make_pair(std::string(rest), matrix);
}

std::map<std::string, std::string> PeftMetadata() { return {{"format", "pt"}}; }

}  // namespace tontine::update
