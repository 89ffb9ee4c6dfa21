#include "common/update/peft_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace tontine::update {
namespace {

using Json = nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Pair;
using testing::StatusIs;

constexpr char kSource[] = "/adapters/round-7/adapter_config.json";

// adapter_config.json as PEFT 0.13 writes it for a LoRA on SmolLM2-135M.
constexpr char kPeftWritten[] = R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 32,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 16,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "v_proj",
    "q_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
})";

LoraSpec ExampleSpec() {
  return LoraSpec{.rank = 4,
                  .alpha = 8.5,
                  .dropout = 0.1,
                  .target_modules = {"q_proj", "k_proj", "v_proj", "o_proj"},
                  .base_model_name_or_path = "HuggingFaceTB/SmolLM2-135M"};
}

TEST(PeftConfigJsonTest, HoldsPeftsKeysWithPeftsValues) {
  Json j = Json::parse(PeftConfigJson(ExampleSpec()));
  ASSERT_TRUE(j.is_object());
  std::set<std::string> keys;
  for (const auto& item : j.items()) keys.insert(item.key());
  EXPECT_EQ(keys,
            (std::set<std::string>{
                "alpha_pattern", "base_model_name_or_path", "bias", "fan_in_fan_out",
                "inference_mode", "init_lora_weights", "layers_pattern", "layers_to_transform",
                "lora_alpha", "lora_dropout", "modules_to_save", "peft_type", "r", "rank_pattern",
                "revision", "target_modules", "task_type", "use_dora", "use_rslora"}));
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  ASSERT_TRUE(j["r"].is_number_integer());  // PEFT reads r as an int
  EXPECT_EQ(j["r"].get<int64_t>(), 4);
  EXPECT_EQ(j["lora_alpha"].get<double>(), 8.5);
  EXPECT_EQ(j["lora_dropout"].get<double>(), 0.1);
  EXPECT_EQ(j["target_modules"], Json::array({"q_proj", "k_proj", "v_proj", "o_proj"}));
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_EQ(j["use_rslora"], false);
  EXPECT_EQ(j["rank_pattern"], Json::object());
  EXPECT_EQ(j["alpha_pattern"], Json::object());
  EXPECT_TRUE(j["modules_to_save"].is_null());
  EXPECT_EQ(j["base_model_name_or_path"], "HuggingFaceTB/SmolLM2-135M");
}

TEST(PeftConfigJsonTest, RoundTripsThroughParsePeftConfig) {
  const LoraSpec spec = ExampleSpec();
  absl::StatusOr<LoraSpec> back = ParsePeftConfig(PeftConfigJson(spec), kSource);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->rank, spec.rank);
  EXPECT_EQ(back->alpha, spec.alpha);
  EXPECT_EQ(back->dropout, spec.dropout);
  EXPECT_EQ(back->target_modules, spec.target_modules);
  EXPECT_EQ(back->base_model_name_or_path, spec.base_model_name_or_path);
}

TEST(ParsePeftConfigTest, ReadsAConfigAsPeftWritesIt) {
  absl::StatusOr<LoraSpec> spec = ParsePeftConfig(kPeftWritten, kSource);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->rank, 16);
  EXPECT_EQ(spec->alpha, 32);
  EXPECT_EQ(spec->dropout, 0.05);
  EXPECT_THAT(spec->target_modules, ElementsAre("v_proj", "q_proj"));
  EXPECT_EQ(spec->base_model_name_or_path, "HuggingFaceTB/SmolLM2-135M");
}

TEST(ParsePeftConfigTest, AcceptsANullTaskType) {
  Json j = Json::parse(kPeftWritten);
  j["task_type"] = nullptr;
  EXPECT_THAT(ParsePeftConfig(j.dump(), kSource), IsOk());
}

struct Rejected {
  const char* key;
  Json value;  // the value to set (ignored when `remove`)
  const char* problem;
  bool remove = false;  // drop the key instead
};

TEST(ParsePeftConfigTest, RejectsEachUnsupportedAdapterNamingTheSource) {
  const std::vector<Rejected> cases = {
      {"peft_type", "PREFIX_TUNING", "peft_type is not \"LORA\""},
      {"peft_type", "ADALORA", "peft_type is not \"LORA\""},
      {"peft_type", nullptr, "peft_type is not \"LORA\"", /*remove=*/true},
      {"task_type", "SEQ_CLS", "task_type is not \"CAUSAL_LM\""},
      {"bias", "all", "bias must be \"none\""},
      {"bias", "lora_only", "bias must be \"none\""},
      {"fan_in_fan_out", true, "fan_in_fan_out is not supported"},
      {"use_dora", true, "DoRA adapters are not supported"},
      {"use_rslora", true, "rsLoRA scaling is not supported"},
      {"rank_pattern", {{"model.layers.0.self_attn.q_proj", 4}}, "rank_pattern is not supported"},
      {"alpha_pattern", {{"q_proj", 8}}, "alpha_pattern is not supported"},
      {"r", 0, "\"r\" must be a positive integer"},
      {"r", -8, "\"r\" must be a positive integer"},
      {"r", 8.5, "\"r\" must be a positive integer"},
      {"r", "8", "\"r\" must be a positive integer"},
      {"r", nullptr, "\"r\" must be a positive integer", /*remove=*/true},
      {"lora_alpha", "32", "\"lora_alpha\" must be a number"},
      {"lora_alpha", nullptr, "\"lora_alpha\" must be a number", /*remove=*/true},
      {"target_modules", Json::array(), "\"target_modules\" must be a non-empty list"},
      {"target_modules", "all-linear", "\"target_modules\" must be a non-empty list"},
      {"target_modules", nullptr, "\"target_modules\" must be a non-empty list", true},
      {"target_modules", Json::array({"q_proj", 3}), "\"target_modules\" must hold strings"},
  };
  for (const Rejected& c : cases) {
    Json j = Json::parse(kPeftWritten);
    if (c.remove) {
      j.erase(c.key);
    } else {
      j[c.key] = c.value;
    }
    EXPECT_THAT(ParsePeftConfig(j.dump(), kSource),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(std::string(kSource) + ": "), HasSubstr(c.problem))))
        << c.key << " = " << (c.remove ? "(absent)" : c.value.dump());
  }
}

TEST(ParsePeftConfigTest, RejectsTextThatIsNotAJsonObject) {
  for (const char* text : {"", "{", "[]", "\"LORA\"", "{\"r\": 8,}"}) {
    EXPECT_THAT(ParsePeftConfig(text, kSource),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(kSource), HasSubstr("not a JSON object"))))
        << text;
  }
}

// A file from elsewhere must become a Status, never an uncaught nlohmann exception.
TEST(ParsePeftConfigTest, RejectsWrongTypesWithAStatus) {
  const std::vector<std::pair<const char*, Json>> cases = {
      {"peft_type", 1},    {"bias", nullptr}, {"bias", false},         {"fan_in_fan_out", "no"},
      {"use_dora", "yes"}, {"use_rslora", 1}, {"lora_dropout", "0.1"}, {"task_type", 3},
  };
  for (const auto& [key, value] : cases) {
    Json j = Json::parse(kPeftWritten);
    j[key] = value;
    EXPECT_THAT(ParsePeftConfig(j.dump(), kSource),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kSource)))
        << key << " = " << value.dump();
  }
}

TEST(PeftTensorKeyTest, SpellsPeftsNames) {
  EXPECT_EQ(PeftTensorKey("model.layers.0.self_attn.q_proj", LoraMatrix::kA),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(PeftTensorKey("model.layers.0.self_attn.q_proj", LoraMatrix::kB),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(PeftTensorKey("model.layers.29.mlp.down_proj", LoraMatrix::kB),
            "base_model.model.model.layers.29.mlp.down_proj.lora_B.weight");
}

TEST(ParsePeftTensorKeyTest, InvertsPeftTensorKey) {
  for (const char* path : {"model.layers.0.self_attn.q_proj", "model.layers.11.mlp.up_proj"}) {
    for (LoraMatrix m : {LoraMatrix::kA, LoraMatrix::kB}) {
      auto parsed = ParsePeftTensorKey(PeftTensorKey(path, m));
      ASSERT_THAT(parsed, IsOk());
      EXPECT_EQ(parsed->first, path);
      EXPECT_EQ(parsed->second, m);
    }
  }
}

TEST(ParsePeftTensorKeyTest, RejectsOtherKeysNamingThem) {
  for (const char* key : {
           "",
           "model.layers.0.self_attn.q_proj.lora_A.weight",            // no prefix
           "base_model.model.model.layers.0.self_attn.q_proj.weight",  // a base weight
           "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",  // in memory
           "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector",  // DoRA
           "base_model.model.lm_head.modules_to_save.default.weight",
           "base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias",
           "base_model.model.lora_A.weight",
           "base_model.model..lora_A.weight",  // no module path
       }) {
    EXPECT_THAT(ParsePeftTensorKey(key), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr(absl::StrCat("\"", key, "\""))))
        << key;
  }
}

TEST(PeftMetadataTest, IsFormatPt) {
  EXPECT_THAT(PeftMetadata(), ElementsAre(Pair("format", "pt")));
}

}  // namespace
}  // namespace tontine::update
