#include "common/ml/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "common/base/files.h"
#include "common/ml/lora.h"
#include "common/safetensors/dtype.h"
#include "common/safetensors/reader.h"
#include "common/safetensors/shard_index.h"
#include "common/safetensors/writer.h"
#include "common/update/peft_format.h"
#include "tests/common/ml/ml_testing.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

namespace fs = std::filesystem;
using safetensors::Dtype;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Pair;
using testing::StatusIs;

using Shape = std::vector<int64_t>;
using Weights = std::map<std::string, torch::Tensor>;

// ---- Helpers ----

struct Typed {
  std::string name;
  Dtype dtype;
  torch::Tensor value;  // fp32; converted to `dtype` on writing
};

// Writes `tensors` converted with the torch-free dtype functions (F32, F16, BF16 or I32).
void WriteTyped(const fs::path& path, const std::vector<Typed>& tensors) {
  std::vector<std::string> bytes(tensors.size());
  std::vector<safetensors::TensorToWrite> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::vector<float> v = fixtures::FloatValues(tensors[i].value);
    std::string& b = bytes[i];
    for (float f : v) {
      switch (tensors[i].dtype) {
        case Dtype::kF32:
          b.append(reinterpret_cast<const char*>(&f), 4);
          break;
        case Dtype::kF16: {
          const uint16_t h = safetensors::F32ToF16(f);
          b.append(reinterpret_cast<const char*>(&h), 2);
          break;
        }
        case Dtype::kBf16: {
          const uint16_t h = safetensors::F32ToBf16(f);
          b.append(reinterpret_cast<const char*>(&h), 2);
          break;
        }
        case Dtype::kI32: {
          const int32_t n = static_cast<int32_t>(f * 100);
          b.append(reinterpret_cast<const char*>(&n), 4);
          break;
        }
        default:
          FAIL() << "unsupported dtype in the test";
      }
    }
    out.push_back({tensors[i].name, tensors[i].dtype, tensors[i].value.sizes().vec(), b});
  }
  ASSERT_THAT(safetensors::WriteSafetensors(path, out, {{"format", "pt"}}), IsOk());
}

// `t` after a trip through `dtype` and back, with the torch-free conversions.
torch::Tensor Rounded(const torch::Tensor& t, Dtype dtype) {
  std::vector<float> v = fixtures::FloatValues(t);
  for (float& f : v) {
    f = dtype == Dtype::kBf16 ? safetensors::Bf16ToF32(safetensors::F32ToBf16(f))
                              : safetensors::F16ToF32(safetensors::F32ToF16(f));
  }
  return torch::from_blob(v.data(), t.sizes(), torch::kFloat32).clone();
}

std::vector<Typed> AllAs(const Weights& weights, Dtype dtype) {
  std::vector<Typed> out;
  for (const auto& [name, t] : weights) out.push_back({name, dtype, t});
  return out;
}

Weights Detached(CausalLm& model) {
  Weights out;
  for (const auto& [name, t] : model->BaseWeights()) out[name] = t.detach().clone();
  return out;
}

void WriteConfig(const fs::path& dir, const ModelConfig& config) {
  ASSERT_THAT(MakeDirs(dir), IsOk());
  ASSERT_THAT(WriteFileAtomic(dir / "config.json", ModelConfigToJson(config)), IsOk());
}

// A single-file model directory holding `tensors`.
void WriteSingle(const fs::path& dir, const ModelConfig& config,
                 const std::vector<Typed>& tensors) {
  ASSERT_NO_FATAL_FAILURE(WriteConfig(dir, config));
  ASSERT_NO_FATAL_FAILURE(WriteTyped(dir / "model.safetensors", tensors));
}

constexpr char kShard1[] = "model-00001-of-00002.safetensors";
constexpr char kShard2[] = "model-00002-of-00002.safetensors";

// A sharded model directory in Hugging Face's layout: embeddings and layer 0 in the first
// shard as BF16, the rest in the second as F16. Returns the dtype each tensor was stored in.
std::map<std::string, Dtype> WriteSharded(const fs::path& dir, const ModelConfig& config,
                                          const Weights& weights) {
  WriteConfig(dir, config);
  std::vector<Typed> first, second;
  std::map<std::string, Dtype> dtype_of;
  safetensors::ShardIndex index;
  for (const auto& [name, t] : weights) {
    const bool in_first =
        name == "model.embed_tokens.weight" || name.rfind("model.layers.0.", 0) == 0;
    (in_first ? first : second).push_back({name, in_first ? Dtype::kBf16 : Dtype::kF16, t});
    dtype_of[name] = in_first ? Dtype::kBf16 : Dtype::kF16;
    index.weight_map[name] = in_first ? kShard1 : kShard2;
    index.total_size += static_cast<uint64_t>(t.numel()) * 2;
  }
  WriteTyped(dir / kShard1, first);
  WriteTyped(dir / kShard2, second);
  EXPECT_THAT(safetensors::WriteShardIndex(dir / safetensors::kShardIndexFile, index), IsOk());
  return dtype_of;
}

torch::Tensor Logits(CausalLm& model, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return model->Logits(ids);
}

class CheckpointTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_;
  fs::path dir_ = tmp_.path() / "model";
};

// ---- Model directories ----

TEST_F(CheckpointTest, ShardedBf16AndF16CheckpointLoadsWithTheirRounding) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 9);
  const Weights weights = Detached(source);
  const std::map<std::string, Dtype> dtype_of = WriteSharded(dir_, config, weights);
  ASSERT_FALSE(HasFatalFailure());

  absl::StatusOr<CausalLm> loaded = LoadCausalLm(dir_);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_FALSE((*loaded)->is_training());
  EXPECT_EQ((*loaded)->config().num_key_value_heads, 2);
  std::map<std::string, torch::Tensor> got = (*loaded)->BaseWeights();
  ASSERT_EQ(got.size(), weights.size());
  int rounded = 0;
  for (const auto& [name, original] : weights) {
    const torch::Tensor expected = Rounded(original, dtype_of.at(name));
    EXPECT_TRUE(torch::equal(got.at(name), expected)) << name;
    rounded += !torch::equal(expected, original);
  }
  EXPECT_GT(rounded, 10);  // the 16-bit formats really rounded the fp32 weights
}

TEST_F(CheckpointTest, SingleFileF32RoundTripsThroughSaveAndLoad) {
  for (bool qwen : {false, true}) {
    ModelConfig config = fixtures::TinyConfig();
    if (qwen) {
      config.model_type = "qwen2";
      config.attention_bias = config.qkv_bias_only = config.tie_word_embeddings = true;
    }
    const fs::path dir = tmp_.path() / (qwen ? "qwen" : "llama");
    CausalLm source = fixtures::MakeModel(config, 4);
    ASSERT_THAT(SaveCausalLm(dir, source), IsOk());

    absl::StatusOr<safetensors::SafetensorsFile> file =
        safetensors::SafetensorsFile::Open(dir / "model.safetensors");
    ASSERT_THAT(file, IsOk());
    std::vector<std::string> names;
    for (const auto& info : file->tensors()) {
      names.push_back(info.name);
      EXPECT_EQ(info.dtype, Dtype::kF32) << info.name;
    }
    std::vector<std::string> expected_names;
    for (const auto& [name, t] : source->BaseWeights()) expected_names.push_back(name);
    EXPECT_EQ(names, expected_names);
    EXPECT_THAT(file->metadata(), ElementsAre(Pair("format", "pt")));

    absl::StatusOr<CausalLm> loaded = LoadCausalLm(dir);
    ASSERT_THAT(loaded, IsOk());
    EXPECT_EQ((*loaded)->config().model_type, config.model_type);
    EXPECT_EQ((*loaded)->config().tie_word_embeddings, config.tie_word_embeddings);
    EXPECT_EQ((*loaded)->config().attention_bias, config.attention_bias);
    for (const auto& [name, t] : source->BaseWeights()) {
      EXPECT_TRUE(torch::equal((*loaded)->BaseWeights().at(name), t)) << name;
    }
    const torch::Tensor ids = fixtures::RandomIds(1, 6, config.vocab_size, 5);
    EXPECT_TRUE(torch::equal(Logits(*loaded, ids), Logits(source, ids)));
  }
}

TEST_F(CheckpointTest, TiedModelIgnoresACheckpointsLmHeadAndRotaryBuffers) {
  ModelConfig config = fixtures::TinyConfig();
  config.tie_word_embeddings = true;
  CausalLm source = fixtures::MakeModel(config, 4);
  std::vector<Typed> tensors = AllAs(Detached(source), Dtype::kF32);
  tensors.push_back({"lm_head.weight", Dtype::kF32, fixtures::RandomTensor({32, 16}, 1, 1)});
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", Dtype::kF32,
                     fixtures::RandomTensor({2}, 1, 2)});
  WriteSingle(dir_, config, tensors);
  absl::StatusOr<CausalLm> loaded = LoadCausalLm(dir_);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_TRUE(torch::equal((*loaded)->OutputWeight(), source->model->embed_tokens->weight));
}

TEST_F(CheckpointTest, MissingTensorIsInvalidNamingItAndTheDirectory) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  Weights weights = Detached(source);
  weights.erase("model.norm.weight");
  WriteSingle(dir_, config, AllAs(weights, Dtype::kF32));
  EXPECT_THAT(
      LoadCausalLm(dir_),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr(dir_.string()), HasSubstr("missing tensor \"model.norm.weight\""))));
}

TEST_F(CheckpointTest, MisShapedTensorIsInvalidNamingTheFileTensorAndShapes) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  Weights weights = Detached(source);
  weights["model.layers.1.self_attn.k_proj.weight"] = torch::zeros({16, 16});
  WriteSingle(dir_, config, AllAs(weights, Dtype::kF32));
  EXPECT_THAT(LoadCausalLm(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_ / "model.safetensors").string()),
                             HasSubstr("tensor \"model.layers.1.self_attn.k_proj.weight\" has "
                                       "shape [16, 16], the config needs [8, 16]"))));
}

TEST_F(CheckpointTest, UnexpectedTensorIsInvalidNamingTheFileAndTensor) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  Weights weights = Detached(source);
  weights["model.layers.2.mlp.up_proj.weight"] = torch::zeros({24, 16});
  WriteSingle(dir_, config, AllAs(weights, Dtype::kF32));
  EXPECT_THAT(
      LoadCausalLm(dir_),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr((dir_ / "model.safetensors").string()),
                     HasSubstr("unexpected tensor \"model.layers.2.mlp.up_proj.weight\""))));
}

TEST_F(CheckpointTest, IntegerTensorIsInvalidNamingTheFileTensorAndDtype) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  std::vector<Typed> tensors = AllAs(Detached(source), Dtype::kF32);
  for (Typed& t : tensors) {
    if (t.name == "model.layers.0.mlp.gate_proj.weight") t.dtype = Dtype::kI32;
  }
  WriteSingle(dir_, config, tensors);
  EXPECT_THAT(LoadCausalLm(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_ / "model.safetensors").string()),
                             HasSubstr("tensor \"model.layers.0.mlp.gate_proj.weight\" has dtype "
                                       "I32"))));
}

TEST_F(CheckpointTest, TensorInAShardOtherThanTheIndexSaysIsInvalidNamingTheShard) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  WriteSharded(dir_, config, Detached(source));
  // model.norm.weight lies in the second shard; the index now claims the first.
  absl::StatusOr<safetensors::ShardIndex> index =
      safetensors::ReadShardIndex(dir_ / safetensors::kShardIndexFile);
  ASSERT_THAT(index, IsOk());
  index->weight_map["model.norm.weight"] = kShard1;
  ASSERT_THAT(safetensors::WriteShardIndex(dir_ / safetensors::kShardIndexFile, *index), IsOk());
  EXPECT_THAT(
      LoadCausalLm(dir_),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr((dir_ / kShard2).string()),
                     HasSubstr("tensor \"model.norm.weight\" is not listed for this shard"))));
  // A tensor the index does not list at all.
  index->weight_map.erase("model.norm.weight");
  ASSERT_THAT(safetensors::WriteShardIndex(dir_ / safetensors::kShardIndexFile, *index), IsOk());
  EXPECT_THAT(LoadCausalLm(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                           AllOf(HasSubstr((dir_ / kShard2).string()),
                                                 HasSubstr("model.norm.weight"))));
}

TEST_F(CheckpointTest, MissingShardIsNotFoundNamingIt) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  WriteSharded(dir_, config, Detached(source));
  fs::remove(dir_ / kShard2);
  EXPECT_THAT(LoadCausalLm(dir_), StatusIs(absl::StatusCode::kNotFound, HasSubstr(kShard2)));
}

TEST_F(CheckpointTest, MissingOrMalformedConfigIsNotFoundOrInvalidNamingIt) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  WriteSharded(dir_, config, Detached(source));
  ASSERT_THAT(WriteFileAtomic(dir_ / "config.json", R"({"model_type": "llama"})"), IsOk());
  EXPECT_THAT(LoadCausalLm(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                           AllOf(HasSubstr((dir_ / "config.json").string()),
                                                 HasSubstr("missing \"vocab_size\""))));
  fs::remove(dir_ / "config.json");
  EXPECT_THAT(LoadCausalLm(dir_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr((dir_ / "config.json").string())));
  EXPECT_THAT(LoadCausalLm(tmp_.path() / "absent"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent")));
}

TEST(LoadWeightsTest, CopiesByNameAndNamesTheSourceOnErrors) {
  const ModelConfig config = fixtures::TinyConfig();
  CausalLm source = fixtures::MakeModel(config, 1);
  CausalLm target(config);
  ASSERT_THAT(LoadWeights(target, Detached(source), "memory"), IsOk());
  for (const auto& [name, t] : source->BaseWeights()) {
    EXPECT_TRUE(torch::equal(target->BaseWeights().at(name), t)) << name;
  }
  Weights missing = Detached(source);
  missing.erase("lm_head.weight");
  EXPECT_THAT(
      LoadWeights(target, missing, "memory"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("memory: "), HasSubstr("missing tensor \"lm_head.weight\""))));
  Weights misshaped = Detached(source);
  misshaped["model.norm.weight"] = torch::ones({17});
  EXPECT_THAT(
      LoadWeights(target, misshaped, "memory"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("memory: "), HasSubstr("\"model.norm.weight\" has shape [17]"))));
  Weights unexpected = Detached(source);
  unexpected["model.layers.0.mlp.bias"] = torch::ones({16});
  EXPECT_THAT(LoadWeights(target, unexpected, "memory"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("memory: "),
                             HasSubstr("unexpected tensor \"model.layers.0.mlp.bias\""))));
}

TEST_F(CheckpointTest, ReadTensorsConvertsSixteenBitFloatsExactlyAndRefusesIntegers) {
  const torch::Tensor values = fixtures::RandomTensor({3, 5}, 4.0, 3);
  WriteTyped(tmp_.path() / "mixed.safetensors",
             {{"b", Dtype::kBf16, values}, {"f", Dtype::kF32, values}, {"h", Dtype::kF16, values}});
  absl::StatusOr<Weights> read = ReadTensors(tmp_.path() / "mixed.safetensors");
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ(read->at("b").dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(read->at("b"), Rounded(values, Dtype::kBf16)));
  EXPECT_TRUE(torch::equal(read->at("f"), values));
  EXPECT_TRUE(torch::equal(read->at("h"), Rounded(values, Dtype::kF16)));

  WriteTyped(tmp_.path() / "ints.safetensors", {{"i", Dtype::kI32, values}});
  EXPECT_THAT(ReadTensors(tmp_.path() / "ints.safetensors"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ints.safetensors"), HasSubstr("\"i\" has dtype I32"))));
}

TEST_F(CheckpointTest, WriteTensorsWritesContiguousF32WithMetadata) {
  const torch::Tensor t = fixtures::RandomTensor({4, 3}, 1.0, 1);
  ASSERT_THAT(WriteTensors(tmp_.path() / "t.safetensors", {{"x", t.t()}}, {{"k", "v"}}), IsOk());
  absl::StatusOr<Weights> read = ReadTensors(tmp_.path() / "t.safetensors");
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE(torch::equal(read->at("x"), t.t()));  // the transpose's values, not its storage
}

// ---- PEFT adapters ----

struct Entry {
  std::string name;
  Shape shape;
  bool operator==(const Entry&) const = default;
};

void PrintTo(const Entry& e, std::ostream* os) {
  *os << e.name << " " << c10::IntArrayRef(e.shape);
}

std::vector<Entry> FileEntries(const safetensors::SafetensorsFile& file) {
  std::vector<Entry> out;
  for (const auto& info : file.tensors()) out.push_back({info.name, info.shape});
  return out;
}

// A two-layer tiny model (hidden 16, 4 heads, 2 KV heads: k/v out 8; intermediate 24) with
// LoRA on `targets`, A seeded and B perturbed so that every tensor is distinctive.
CausalLm AdaptedModel(const update::LoraSpec& spec) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  EXPECT_THAT(InjectLora(model, spec), IsOk());
  SeedLoraA(model, 7);
  torch::NoGradGuard no_grad;
  uint64_t seed = 100;
  for (auto& [name, t] : LoraParameters(model)) {
    if (name.find("lora_B") != std::string::npos) {
      t.copy_(fixtures::RandomTensor(t.sizes().vec(), 0.5, ++seed));
    }
  }
  return model;
}

update::LoraSpec QvSpec() {
  return {.rank = 4,
          .alpha = 8,
          .dropout = 0.05,
          .target_modules = {"q_proj", "v_proj"},
          .base_model_name_or_path = "tiny-llama"};
}

void ExpectPeftFile(const fs::path& dir, CausalLm& model, const std::vector<Entry>& expected) {
  absl::StatusOr<safetensors::SafetensorsFile> file =
      safetensors::SafetensorsFile::Open(dir / "adapter_model.safetensors");
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(FileEntries(*file), ElementsAreArray(expected));
  EXPECT_THAT(file->metadata(), ElementsAre(Pair("format", "pt")));
  std::map<std::string, torch::Tensor> lora = LoraParameters(model);
  for (const auto& info : file->tensors()) {
    EXPECT_EQ(info.dtype, Dtype::kF32) << info.name;
    absl::StatusOr<std::vector<float>> values = safetensors::ToFloat32(info, file->Data(info));
    ASSERT_THAT(values, IsOk());
    // "base_model.model.<model name>"
    const std::string model_name = info.name.substr(std::string("base_model.model.").size());
    ASSERT_TRUE(lora.count(model_name)) << info.name;
    EXPECT_EQ(*values, fixtures::FloatValues(lora.at(model_name))) << info.name;
  }
}

TEST_F(CheckpointTest, PeftAdapterHasPeftsNamesDtypesShapesAndConfigForQAndV) {
  const update::LoraSpec spec = QvSpec();
  CausalLm model = AdaptedModel(spec);
  ASSERT_THAT(SavePeftAdapter(dir_, model, spec), IsOk());
  ExpectPeftFile(dir_, model,
                 {
                     {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", {4, 16}},
                     {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", {16, 4}},
                     {"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", {4, 16}},
                     {"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", {8, 4}},
                     {"base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", {4, 16}},
                     {"base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", {16, 4}},
                     {"base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", {4, 16}},
                     {"base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", {8, 4}},
                 });
  absl::StatusOr<std::string> text = ReadFile(dir_ / "adapter_config.json");
  ASSERT_THAT(text, IsOk());
  nlohmann::json j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 4);
  EXPECT_EQ(j["lora_alpha"], 8.0);
  EXPECT_EQ(j["lora_dropout"], 0.05);
  EXPECT_EQ(j["target_modules"], nlohmann::json::array({"q_proj", "v_proj"}));
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["base_model_name_or_path"], "tiny-llama");
}

TEST_F(CheckpointTest, PeftAdapterHasPeftsNamesAndShapesForAllSevenModules) {
  const update::LoraSpec spec{.rank = 2,
                              .alpha = 4,
                              .dropout = 0,
                              .target_modules = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"}};
  CausalLm model = AdaptedModel(spec);
  ASSERT_THAT(SavePeftAdapter(dir_, model, spec), IsOk());
  ExpectPeftFile(dir_, model,
                 {
                     {"base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", {2, 24}},
                     {"base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight", {24, 2}},
                     {"base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", {24, 2}},
                     {"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight", {8, 2}},
                     {"base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", {8, 2}},
                     {"base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", {2, 24}},
                     {"base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight", {24, 2}},
                     {"base_model.model.model.layers.1.mlp.up_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.mlp.up_proj.lora_B.weight", {24, 2}},
                     {"base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight", {8, 2}},
                     {"base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", {16, 2}},
                     {"base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", {2, 16}},
                     {"base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", {8, 2}},
                 });
}

TEST_F(CheckpointTest, SavingAModelWithoutLoraIsAFailedPrecondition) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  EXPECT_THAT(SavePeftAdapter(dir_, model, QvSpec()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no LoRA")));
}

TEST_F(CheckpointTest, PeftAdapterRoundTripsIntoAFreshModel) {
  const update::LoraSpec spec = QvSpec();
  CausalLm model = AdaptedModel(spec);
  ASSERT_THAT(SavePeftAdapter(dir_, model, spec), IsOk());

  CausalLm fresh = fixtures::MakeModel(fixtures::TinyConfig(), 1);  // same base, no LoRA yet
  absl::StatusOr<update::LoraSpec> loaded = LoadPeftAdapter(dir_, fresh);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->rank, 4);
  EXPECT_EQ(loaded->alpha, 8);
  EXPECT_EQ(loaded->target_modules, spec.target_modules);
  std::map<std::string, torch::Tensor> expected = LoraParameters(model),
                                       got = LoraParameters(fresh);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, t] : expected) EXPECT_TRUE(torch::equal(got.at(name), t)) << name;
  for (auto& [path, linear] : fresh->Projections()) {
    if (linear->lora_enabled()) {
      EXPECT_EQ(linear->lora_scale, 2.0) << path;
    }
  }
  const torch::Tensor ids = fixtures::RandomIds(2, 5, 32, 3);
  fresh->eval();
  model->eval();
  EXPECT_TRUE(torch::equal(Logits(fresh, ids), Logits(model, ids)));

  // Into a model that already carries a matching (freshly initialised) adapter.
  CausalLm injected = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(InjectLora(injected, spec), IsOk());
  ASSERT_THAT(LoadPeftAdapter(dir_, injected), IsOk());
  got = LoraParameters(injected);
  for (const auto& [name, t] : expected) EXPECT_TRUE(torch::equal(got.at(name), t)) << name;
}

// What ffa participants download: the version without its lora_A tensors, A rebuilt from the
// seed (AdaptedModel's A is SeedLoraA(7)).
TEST_F(CheckpointTest, LoraBOnlyAdapterWithTheSeedsARoundTripsAndRefusesAnA) {
  const update::LoraSpec spec = QvSpec();
  CausalLm model = AdaptedModel(spec);
  ASSERT_THAT(SavePeftAdapter(dir_, model, spec), IsOk());
  absl::StatusOr<Weights> all = ReadTensors(dir_ / update::kPeftWeightsFile);
  ASSERT_THAT(all, IsOk());
  Weights b_only;
  for (const auto& [name, t] : *all) {
    if (name.find("lora_B") != std::string::npos) b_only.emplace(name, t);
  }
  ASSERT_EQ(b_only.size() * 2, all->size());
  ASSERT_THAT(WriteTensors(dir_ / update::kLoraBWeightsFile, b_only, update::PeftMetadata()),
              IsOk());
  fs::remove(dir_ / update::kPeftWeightsFile);

  CausalLm fresh = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(LoadPeftAdapterLoraB(dir_, fresh, 7), IsOk());
  const std::map<std::string, torch::Tensor> expected = LoraParameters(model);
  std::map<std::string, torch::Tensor> got = LoraParameters(fresh);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [name, t] : expected) EXPECT_TRUE(torch::equal(got.at(name), t)) << name;

  // Another seed: the same B, another A.
  CausalLm other = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(LoadPeftAdapterLoraB(dir_, other, 8), IsOk());
  got = LoraParameters(other);
  for (const auto& [name, t] : expected) {
    EXPECT_EQ(torch::equal(got.at(name), t), name.find("lora_B") != std::string::npos) << name;
  }

  // A lora_B-only file that holds an A is refused, naming the file and tensor.
  ASSERT_THAT(WriteTensors(dir_ / update::kLoraBWeightsFile, *all, update::PeftMetadata()),
              IsOk());
  CausalLm refused = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  EXPECT_THAT(LoadPeftAdapterLoraB(dir_, refused, 7),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(update::kLoraBWeightsFile), HasSubstr("lora_A"))));
}

class PeftErrorTest : public CheckpointTest {
 protected:
  void SetUp() override {
    CausalLm model = AdaptedModel(QvSpec());
    ASSERT_THAT(SavePeftAdapter(dir_, model, QvSpec()), IsOk());
    absl::StatusOr<Weights> tensors = ReadTensors(weights_);
    ASSERT_THAT(tensors, IsOk());
    tensors_ = *tensors;
  }
  void Rewrite(const Weights& tensors) {
    ASSERT_THAT(WriteTensors(weights_, tensors, update::PeftMetadata()), IsOk());
  }
  absl::StatusOr<update::LoraSpec> LoadIntoFresh() {
    CausalLm fresh = fixtures::MakeModel(fixtures::TinyConfig(), 1);
    return LoadPeftAdapter(dir_, fresh);
  }
  fs::path weights_ = dir_ / "adapter_model.safetensors";
  Weights tensors_;
};

TEST_F(PeftErrorTest, ShapeMismatchIsInvalidNamingTheFile) {
  CausalLm rank_two = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  update::LoraSpec spec = QvSpec();
  spec.rank = 2;
  ASSERT_THAT(InjectLora(rank_two, spec), IsOk());
  EXPECT_THAT(LoadPeftAdapter(dir_, rank_two),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(weights_.string()),
                             HasSubstr("has shape [4, 16], the model needs [2, 16]"))));
  tensors_["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"] =
      torch::zeros({16, 4});
  Rewrite(tensors_);
  EXPECT_THAT(
      LoadIntoFresh(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr(weights_.string()),
                     HasSubstr("\"base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight\" "
                               "has shape [16, 4], the model needs [8, 4]"))));
}

TEST_F(PeftErrorTest, ForeignKeysAreInvalidNamingTheFile) {
  for (const char* key : {"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                          "base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight",
                          "base_model.model.model.layers.0.self_attn.q_proj.weight",
                          "model.layers.0.self_attn.q_proj.lora_A.weight",
                          "base_model.model.lm_head.modules_to_save.default.weight"}) {
    Weights tensors = tensors_;
    tensors[key] = torch::zeros({4, 16});
    Rewrite(tensors);
    EXPECT_THAT(LoadIntoFresh(), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr(weights_.string()), HasSubstr(key))))
        << key;
  }
}

TEST_F(PeftErrorTest, MissingBIsInvalidNamingTheFileAndTensor) {
  tensors_.erase("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight");
  Rewrite(tensors_);
  EXPECT_THAT(LoadIntoFresh(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(weights_.string()),
                             HasSubstr("missing tensor \"base_model.model.model.layers.1.self_attn."
                                       "q_proj.lora_B.weight\""))));
}

TEST_F(PeftErrorTest, ConfigTargetingAbsentModulesIsInvalidNamingTheConfig) {
  update::LoraSpec spec = QvSpec();
  spec.target_modules = {"c_attn"};
  ASSERT_THAT(WriteFileAtomic(dir_ / "adapter_config.json", update::PeftConfigJson(spec)), IsOk());
  EXPECT_THAT(LoadIntoFresh(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr((dir_ / "adapter_config.json").string()),
                                              HasSubstr("c_attn"))));
  fs::remove(dir_ / "adapter_config.json");
  EXPECT_THAT(LoadIntoFresh(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("adapter_config.json")));
}

}  // namespace
}  // namespace tontine::ml
