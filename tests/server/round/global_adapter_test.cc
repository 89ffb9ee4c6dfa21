#include "server/round/global_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/crypto/sha256.h"
#include "common/safetensors/reader.h"
#include "common/safetensors/writer.h"
#include "common/update/lora_init.h"
#include "common/update/peft_format.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::round {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;
using ::tontine::testing::TempDir;

constexpr uint64_t kSeed = 1234;

// hidden 16, intermediate 24, 2 layers, 4 heads of 4, 2 KV heads: k_proj is 16 → 8.
ml::ModelConfig SmallModel() {
  ml::ModelConfig c;
  c.vocab_size = 32;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 4;
  return c;
}

update::LoraSpec Spec() {
  update::LoraSpec spec;
  spec.rank = 2;
  spec.alpha = 4;
  spec.dropout = 0.1;
  spec.target_modules = {"k_proj", "down_proj"};
  spec.base_model_name_or_path = "/models/small";
  return spec;
}

GlobalAdapter Initial() {
  absl::StatusOr<GlobalAdapter> adapter = InitialAdapter(SmallModel(), Spec(), kSeed);
  EXPECT_THAT(adapter, IsOk());
  return adapter.ok() ? *std::move(adapter) : GlobalAdapter{};
}

constexpr char kDownA0[] = "model.layers.0.mlp.down_proj.lora_A.weight";
constexpr char kDownB0[] = "model.layers.0.mlp.down_proj.lora_B.weight";
constexpr char kKA0[] = "model.layers.0.self_attn.k_proj.lora_A.weight";
constexpr char kKB0[] = "model.layers.0.self_attn.k_proj.lora_B.weight";
constexpr char kDownA1[] = "model.layers.1.mlp.down_proj.lora_A.weight";
constexpr char kDownB1[] = "model.layers.1.mlp.down_proj.lora_B.weight";
constexpr char kKA1[] = "model.layers.1.self_attn.k_proj.lora_A.weight";
constexpr char kKB1[] = "model.layers.1.self_attn.k_proj.lora_B.weight";

std::vector<std::string> Names(const GlobalAdapter& adapter) {
  std::vector<std::string> names;
  for (const auto& [name, unused] : adapter.tensors) names.push_back(name);
  return names;
}

// Gives every tensor distinct non-zero values and runs one fedadam step, so that a round
// trip has moments to carry.
GlobalAdapter Trained() {
  GlobalAdapter adapter = Initial();
  const std::vector<std::string> names = TrainedTensorNames(adapter, v1::TRAINED_MATRICES_A_AND_B);
  std::vector<double> delta(ElementCount(adapter, names));
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = 0.001 * static_cast<double>(i) - 0.1;
  config::AggregationConfig fedadam;
  fedadam.server_optimizer = config::ServerOptimizer::kFedAdam;
  EXPECT_THAT(ApplyMeanDelta(adapter, names, delta, fedadam), IsOk());
  return adapter;
}

void ExpectSameAdapter(const GlobalAdapter& actual, const GlobalAdapter& expected) {
  EXPECT_EQ(actual.spec.rank, expected.spec.rank);
  EXPECT_EQ(actual.spec.alpha, expected.spec.alpha);
  EXPECT_EQ(actual.spec.dropout, expected.spec.dropout);
  EXPECT_EQ(actual.spec.target_modules, expected.spec.target_modules);
  EXPECT_EQ(actual.spec.base_model_name_or_path, expected.spec.base_model_name_or_path);
  ASSERT_EQ(Names(actual), Names(expected));
  for (const auto& [name, tensor] : expected.tensors) {
    EXPECT_EQ(actual.tensors.at(name).shape, tensor.shape) << name;
    EXPECT_EQ(actual.tensors.at(name).values, tensor.values) << name;
  }
  EXPECT_EQ(actual.optimizer.first_moment, expected.optimizer.first_moment);
  EXPECT_EQ(actual.optimizer.second_moment, expected.optimizer.second_moment);
}

// ---- InitialAdapter ----

TEST(InitialAdapterTest, HoldsAAndBOfEveryTargetModuleSortedByName) {
  const GlobalAdapter adapter = Initial();
  EXPECT_THAT(Names(adapter),
              ElementsAre(kDownA0, kDownB0, kKA0, kKB0, kDownA1, kDownB1, kKA1, kKB1));
  EXPECT_EQ(adapter.spec.target_modules, Spec().target_modules);
  EXPECT_EQ(adapter.spec.rank, 2);
}

TEST(InitialAdapterTest, ShapesAreRankByInForAAndOutByRankForB) {
  const GlobalAdapter adapter = Initial();
  ASSERT_THAT(adapter.tensors, SizeIs(8));
  for (int layer = 0; layer < 2; ++layer) {
    const std::string k = absl::StrCat("model.layers.", layer, ".self_attn.k_proj");
    const std::string down = absl::StrCat("model.layers.", layer, ".mlp.down_proj");
    EXPECT_THAT(adapter.tensors.at(k + ".lora_A.weight").shape, ElementsAre(2, 16));
    EXPECT_THAT(adapter.tensors.at(k + ".lora_B.weight").shape, ElementsAre(8, 2));
    EXPECT_THAT(adapter.tensors.at(down + ".lora_A.weight").shape, ElementsAre(2, 24));
    EXPECT_THAT(adapter.tensors.at(down + ".lora_B.weight").shape, ElementsAre(16, 2));
  }
  for (const auto& [name, tensor] : adapter.tensors) {
    EXPECT_EQ(tensor.values.size(), static_cast<size_t>(tensor.shape[0] * tensor.shape[1]))
        << name;
  }
}

TEST(InitialAdapterTest, AIsInitLoraAOfTheModuleAndBIsZero) {
  const GlobalAdapter adapter = Initial();
  for (const auto& [name, tensor] : adapter.tensors) {
    const std::string suffix = name.substr(name.size() - std::string(".lora_A.weight").size());
    const std::string module = name.substr(0, name.size() - suffix.size());
    if (suffix == ".lora_A.weight") {
      EXPECT_EQ(tensor.values, update::InitLoraA(kSeed, module, 2, tensor.shape[1])) << name;
    } else {
      EXPECT_THAT(tensor.values, Each(Eq(0.0f))) << name;
    }
  }
  // Another seed gives another A.
  absl::StatusOr<GlobalAdapter> other = InitialAdapter(SmallModel(), Spec(), kSeed + 1);
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->tensors.at(kKA0).values, adapter.tensors.at(kKA0).values);
}

TEST(InitialAdapterTest, RejectsTargetsThatMatchNoModule) {
  update::LoraSpec spec = Spec();
  spec.target_modules = {"query_key_value"};
  EXPECT_THAT(InitialAdapter(SmallModel(), spec, kSeed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target_modules")));
}

// ---- TrainedMatricesFor / TrainedTensorNames / ElementCount ----

TEST(TrainedMatricesForTest, FfaTrainsBEveryRound) {
  for (int number : {1, 2, 3, 10}) {
    EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kFfa, number), v1::TRAINED_MATRICES_B);
  }
}

TEST(TrainedMatricesForTest, AlternatingTrainsBOnOddAndAOnEvenRounds) {
  EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kAlternating, 1), v1::TRAINED_MATRICES_B);
  EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kAlternating, 2), v1::TRAINED_MATRICES_A);
  EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kAlternating, 3), v1::TRAINED_MATRICES_B);
  EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kAlternating, 4), v1::TRAINED_MATRICES_A);
}

TEST(TrainedMatricesForTest, FedItTrainsBothEveryRound) {
  for (int number : {1, 2, 3}) {
    EXPECT_EQ(TrainedMatricesFor(config::AggregationRule::kFedIt, number),
              v1::TRAINED_MATRICES_A_AND_B);
  }
}

TEST(TrainedTensorNamesTest, SelectsTheTrainedMatricesInSortedOrder) {
  const GlobalAdapter adapter = Initial();
  EXPECT_THAT(TrainedTensorNames(adapter, v1::TRAINED_MATRICES_B),
              ElementsAre(kDownB0, kKB0, kDownB1, kKB1));
  EXPECT_THAT(TrainedTensorNames(adapter, v1::TRAINED_MATRICES_A),
              ElementsAre(kDownA0, kKA0, kDownA1, kKA1));
  EXPECT_EQ(TrainedTensorNames(adapter, v1::TRAINED_MATRICES_A_AND_B), Names(adapter));
  EXPECT_THAT(TrainedTensorNames(adapter, v1::TRAINED_MATRICES_UNSPECIFIED), IsEmpty());
}

TEST(ElementCountTest, SumsTheNamedTensorsElements) {
  const GlobalAdapter adapter = Initial();
  EXPECT_EQ(ElementCount(adapter, {}), 0u);
  EXPECT_EQ(ElementCount(adapter, {kKB0}), 16u);
  EXPECT_EQ(ElementCount(adapter, {kKB0, kDownA1}), 16u + 48u);
  // B: 2 × (8·2 + 16·2); A: 2 × (2·16 + 2·24).
  EXPECT_EQ(ElementCount(adapter, TrainedTensorNames(adapter, v1::TRAINED_MATRICES_B)), 96u);
  EXPECT_EQ(ElementCount(adapter, TrainedTensorNames(adapter, v1::TRAINED_MATRICES_A)), 160u);
}

// ---- ApplyMeanDelta ----

TEST(ApplyMeanDeltaTest, SlicesTheDeltaInTheOrderOfNames) {
  GlobalAdapter adapter = Initial();
  const GlobalAdapter before = adapter;
  // Deliberately not sorted: layer 1's k B (16 elements) first, then layer 0's down B (32).
  const std::vector<std::string> names = {kKB1, kDownB0};
  std::vector<double> delta(48);
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = static_cast<double>(i + 1);
  config::AggregationConfig fedavg;  // x + 1·Δ
  ASSERT_THAT(ApplyMeanDelta(adapter, names, delta, fedavg), IsOk());
  std::vector<float> first(16), second(32);
  for (size_t i = 0; i < 16; ++i) first[i] = static_cast<float>(i + 1);
  for (size_t i = 0; i < 32; ++i) second[i] = static_cast<float>(i + 17);
  EXPECT_EQ(adapter.tensors.at(kKB1).values, first);
  EXPECT_EQ(adapter.tensors.at(kDownB0).values, second);
  for (const auto& [name, tensor] : before.tensors) {
    if (name == kKB1 || name == kDownB0) continue;
    EXPECT_EQ(adapter.tensors.at(name).values, tensor.values) << name;
  }
}

TEST(ApplyMeanDeltaTest, KeepsServerOptimizerMomentsUnderEachTrainedTensorsName) {
  GlobalAdapter adapter = Initial();
  const std::vector<std::string> names = TrainedTensorNames(adapter, v1::TRAINED_MATRICES_B);
  config::AggregationConfig fedavgm;
  fedavgm.server_optimizer = config::ServerOptimizer::kFedAvgM;
  fedavgm.momentum = 0.5;
  fedavgm.server_learning_rate = 1.0;
  const std::vector<double> delta(96, 0.25);
  ASSERT_THAT(ApplyMeanDelta(adapter, names, delta, fedavgm), IsOk());
  ASSERT_THAT(ApplyMeanDelta(adapter, names, delta, fedavgm), IsOk());
  // m = 0.25, then 0.375; B = 0.25 + 0.375.
  ASSERT_THAT(adapter.optimizer.first_moment, SizeIs(4));
  for (const std::string& name : names) {
    EXPECT_THAT(adapter.optimizer.first_moment.at(name), Each(Eq(0.375f))) << name;
    EXPECT_THAT(adapter.tensors.at(name).values, Each(Eq(0.625f))) << name;
  }
}

TEST(ApplyMeanDeltaTest, RejectsADeltaOfTheWrongLengthAndChangesNothing) {
  GlobalAdapter adapter = Initial();
  const GlobalAdapter before = adapter;
  const std::vector<double> delta(47, 1.0);
  EXPECT_THAT(ApplyMeanDelta(adapter, {kKB1, kDownB0}, delta, config::AggregationConfig{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("47"), HasSubstr("48"))));
  ExpectSameAdapter(adapter, before);
}

// ---- WriteAdapterDir / ReadAdapterDir ----

TEST(AdapterDirTest, RoundTripsTensorsSpecAndOptimizerMoments) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "adapters" / "v2";
  const GlobalAdapter adapter = Trained();
  ASSERT_THAT(adapter.optimizer.first_moment, SizeIs(8));
  ASSERT_THAT(adapter.optimizer.second_moment, SizeIs(8));
  ASSERT_THAT(WriteAdapterDir(dir, adapter), IsOk());
  EXPECT_TRUE(fs::exists(dir / "server_optimizer.safetensors"));
  EXPECT_FALSE(fs::exists(fs::path(dir.string() + ".partial")));
  absl::StatusOr<GlobalAdapter> read = ReadAdapterDir(dir);
  ASSERT_THAT(read, IsOk());
  ExpectSameAdapter(*read, adapter);
}

TEST(AdapterDirTest, WritesNoOptimizerFileWithoutMoments) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "v1";
  ASSERT_THAT(WriteAdapterDir(dir, Initial()), IsOk());
  EXPECT_FALSE(fs::exists(dir / "server_optimizer.safetensors"));
  absl::StatusOr<GlobalAdapter> read = ReadAdapterDir(dir);
  ASSERT_THAT(read, IsOk());
  ExpectSameAdapter(*read, Initial());
}

TEST(AdapterDirTest, WritesPeftKeysMetadataAndConfig) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "v1";
  const GlobalAdapter adapter = Trained();
  ASSERT_THAT(WriteAdapterDir(dir, adapter), IsOk());
  absl::StatusOr<safetensors::SafetensorsFile> file =
      safetensors::SafetensorsFile::Open(dir / "adapter_model.safetensors");
  ASSERT_THAT(file, IsOk());
  std::vector<std::string> keys;
  for (const safetensors::TensorInfo& info : file->tensors()) {
    keys.push_back(info.name);
    EXPECT_EQ(info.dtype, safetensors::Dtype::kF32) << info.name;
  }
  EXPECT_THAT(keys, ElementsAre("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight",
                                "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
                                "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                                "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight",
                                "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
                                "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight",
                                "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight",
                                "base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"));
  EXPECT_THAT(file->metadata(), ElementsAre(Pair("format", "pt")));
  absl::StatusOr<const safetensors::TensorInfo*> kb =
      file->Find("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight");
  ASSERT_THAT(kb, IsOk());
  EXPECT_THAT((*kb)->shape, ElementsAre(8, 2));
  absl::StatusOr<std::vector<float>> values = safetensors::ToFloat32(**kb, file->Data(**kb));
  ASSERT_THAT(values, IsOk());
  EXPECT_EQ(*values, adapter.tensors.at(kKB1).values);

  absl::StatusOr<std::string> config = ReadFile(dir / "adapter_config.json");
  ASSERT_THAT(config, IsOk());
  absl::StatusOr<update::LoraSpec> spec = update::ParsePeftConfig(*config, "adapter_config.json");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->rank, 2);
  EXPECT_EQ(spec->alpha, 4);
  EXPECT_EQ(spec->target_modules, Spec().target_modules);
}

// The lora_B-only copy that ffa participants download: exactly the B tensors, same bytes.
TEST(AdapterDirTest, WritesALoraBOnlyCopyWithTheSameBTensors) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "v1";
  const GlobalAdapter adapter = Trained();
  ASSERT_THAT(WriteAdapterDir(dir, adapter), IsOk());
  absl::StatusOr<safetensors::SafetensorsFile> full =
      safetensors::SafetensorsFile::Open(dir / "adapter_model.safetensors");
  absl::StatusOr<safetensors::SafetensorsFile> b =
      safetensors::SafetensorsFile::Open(dir / "adapter_model.lora_b.safetensors");
  ASSERT_THAT(full, IsOk());
  ASSERT_THAT(b, IsOk());
  std::vector<std::string> keys;
  for (const safetensors::TensorInfo& info : b->tensors()) {
    keys.push_back(info.name);
    absl::StatusOr<const safetensors::TensorInfo*> same = full->Find(info.name);
    ASSERT_THAT(same, IsOk());
    EXPECT_EQ(b->Data(info), full->Data(**same)) << info.name;
    EXPECT_EQ(info.shape, (*same)->shape) << info.name;
  }
  EXPECT_THAT(keys, ElementsAre("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
                                "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight",
                                "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight",
                                "base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"));
  EXPECT_THAT(b->metadata(), ElementsAre(Pair("format", "pt")));
}

TEST(AdapterDirTest, ReportsTheDigestAndSizeOfTheWeightsFile) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "v1";
  absl::StatusOr<WrittenAdapter> written = WriteAdapterDir(dir, Trained());
  ASSERT_THAT(written, IsOk());
  absl::StatusOr<std::string> bytes = ReadFile(dir / "adapter_model.safetensors");
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(written->size_bytes, static_cast<int64_t>(bytes->size()));
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(*bytes);
  ASSERT_THAT(digest, IsOk());
  EXPECT_EQ(written->sha256, *digest);
  EXPECT_EQ(written->sha256.size(), 32u);
}

TEST(AdapterDirTest, ReplacesAStaleDirAndAStalePartialDir) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "v3";
  const fs::path partial = tmp.path() / "v3.partial";
  // A crash left a complete v3 (with moments) and a half-written v3.partial.
  ASSERT_THAT(WriteAdapterDir(dir, Trained()), IsOk());
  ASSERT_THAT(WriteFileAtomic(dir / "stale.bin", "old"), IsOk());
  ASSERT_THAT(MakeDirs(partial), IsOk());
  ASSERT_THAT(WriteFileAtomic(partial / "junk.bin", "half"), IsOk());
  ASSERT_THAT(WriteFileAtomic(partial / "adapter_model.safetensors", "torn"), IsOk());

  const GlobalAdapter fresh = Initial();  // no moments
  ASSERT_THAT(WriteAdapterDir(dir, fresh), IsOk());
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(dir / "stale.bin"));
  EXPECT_FALSE(fs::exists(dir / "junk.bin"));
  EXPECT_FALSE(fs::exists(dir / "server_optimizer.safetensors"));
  absl::StatusOr<GlobalAdapter> read = ReadAdapterDir(dir);
  ASSERT_THAT(read, IsOk());
  ExpectSameAdapter(*read, fresh);
}

class ReadAdapterDirErrorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(WriteAdapterDir(dir_, Trained()), IsOk()); }

  // Overwrites one file of the written version directory.
  void Replace(const char* file, absl::string_view contents) {
    ASSERT_THAT(WriteFileAtomic(dir_ / file, contents), IsOk());
  }
  void ReplaceWithTensors(const char* file, std::vector<safetensors::TensorToWrite> tensors) {
    ASSERT_THAT(safetensors::WriteSafetensors(dir_ / file, std::move(tensors), {}), IsOk());
  }
  std::string PathOf(const char* file) const { return (dir_ / file).string(); }

  TempDir tmp_;
  const fs::path dir_ = tmp_.path() / "v1";
};

TEST_F(ReadAdapterDirErrorTest, MissingDirIsNotFoundNamingTheConfig) {
  EXPECT_THAT(ReadAdapterDir(tmp_.path() / "v9"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr((tmp_.path() / "v9" / "adapter_config.json").string())));
}

TEST_F(ReadAdapterDirErrorTest, MissingWeightsIsNotFoundNamingTheFile) {
  fs::remove(dir_ / "adapter_model.safetensors");
  EXPECT_THAT(ReadAdapterDir(dir_), StatusIs(absl::StatusCode::kNotFound,
                                             HasSubstr(PathOf("adapter_model.safetensors"))));
}

TEST_F(ReadAdapterDirErrorTest, GarbledConfigNamesTheFile) {
  Replace("adapter_config.json", "{\"peft_type\": ");
  EXPECT_THAT(ReadAdapterDir(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(PathOf("adapter_config.json"))));
}

TEST_F(ReadAdapterDirErrorTest, GarbledWeightsNameTheFile) {
  Replace("adapter_model.safetensors", "this is not a safetensors file");
  EXPECT_THAT(ReadAdapterDir(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(PathOf("adapter_model.safetensors"))));
}

TEST_F(ReadAdapterDirErrorTest, GarbledOptimizerStateNamesTheFile) {
  Replace("server_optimizer.safetensors", "this is not a safetensors file either");
  EXPECT_THAT(ReadAdapterDir(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(PathOf("server_optimizer.safetensors"))));
}

TEST_F(ReadAdapterDirErrorTest, AWeightThatIsNotAPeftLoraKeyNamesTheFile) {
  const std::vector<float> values(4, 0.5f);
  const absl::string_view bytes(reinterpret_cast<const char*>(values.data()), 16);
  ReplaceWithTensors("adapter_model.safetensors",
                     {{"model.layers.0.self_attn.k_proj.weight", safetensors::Dtype::kF32, {2, 2},
                       bytes}});
  EXPECT_THAT(ReadAdapterDir(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(PathOf("adapter_model.safetensors")),
                             HasSubstr("model.layers.0.self_attn.k_proj.weight"))));
}

TEST_F(ReadAdapterDirErrorTest, AWeightThatIsNotF32NamesTheFileAndTensor) {
  const std::string bytes(8, '\0');  // four F16 zeros
  ReplaceWithTensors("adapter_model.safetensors",
                     {{"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                       safetensors::Dtype::kF16, {2, 2}, bytes}});
  EXPECT_THAT(ReadAdapterDir(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(PathOf("adapter_model.safetensors")),
                             HasSubstr("not F32"))));
}

TEST_F(ReadAdapterDirErrorTest, AMatrixOfAnotherRankNamesTheFileAndTensor) {
  // The config says r = 2; this A has 3 rows.
  const std::vector<float> values(3 * 16, 0.5f);
  const absl::string_view bytes(reinterpret_cast<const char*>(values.data()),
                                values.size() * sizeof(float));
  ReplaceWithTensors("adapter_model.safetensors",
                     {{"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                       safetensors::Dtype::kF32, {3, 16}, bytes}});
  EXPECT_THAT(ReadAdapterDir(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(PathOf("adapter_model.safetensors")),
                             HasSubstr("model.layers.0.self_attn.k_proj.lora_A.weight"))));
}

TEST_F(ReadAdapterDirErrorTest, AnUnexpectedOptimizerTensorNamesTheFile) {
  const std::vector<float> values(16, 0.5f);
  const absl::string_view bytes(reinterpret_cast<const char*>(values.data()), 64);
  ReplaceWithTensors("server_optimizer.safetensors",
                     {{absl::StrCat("x/", kKB0), safetensors::Dtype::kF32, {16}, bytes}});
  EXPECT_THAT(ReadAdapterDir(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(PathOf("server_optimizer.safetensors")),
                             HasSubstr("unexpected tensor"))));
}

TEST_F(ReadAdapterDirErrorTest, AMomentThatDoesNotFitItsTensorNamesTheFile) {
  const std::vector<float> values(16, 0.5f);
  const absl::string_view bytes(reinterpret_cast<const char*>(values.data()), 64);
  // k_proj's B has 16 elements, down_proj's 32; and "m/nothing" names no tensor at all.
  for (const std::string& name : {absl::StrCat("m/", kDownB0), absl::StrCat("v/", kDownB0),
                                  std::string("m/nothing")}) {
    SCOPED_TRACE(name);
    ReplaceWithTensors("server_optimizer.safetensors",
                       {{name, safetensors::Dtype::kF32, {16}, bytes}});
    EXPECT_THAT(ReadAdapterDir(dir_),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(PathOf("server_optimizer.safetensors")),
                               HasSubstr(name))));
  }
  // The same tensor under a name it fits is read.
  ReplaceWithTensors("server_optimizer.safetensors",
                     {{absl::StrCat("m/", kKB0), safetensors::Dtype::kF32, {16}, bytes}});
  absl::StatusOr<GlobalAdapter> read = ReadAdapterDir(dir_);
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(read->optimizer.first_moment, ElementsAre(Pair(kKB0, values)));
  EXPECT_THAT(read->optimizer.second_moment, IsEmpty());
}

}  // namespace
}  // namespace tontine::round
