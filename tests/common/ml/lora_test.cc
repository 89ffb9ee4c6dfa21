#include "common/ml/lora.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/ml/model_config.h"
#include "common/update/lora_init.h"
#include "tests/common/ml/ml_testing.h"
#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

using fixtures::AllClose;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;

const std::vector<std::string> kAllSeven = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                            "gate_proj", "up_proj", "down_proj"};

update::LoraSpec Spec(std::vector<std::string> targets, int64_t rank = 4, double alpha = 8,
                      double dropout = 0) {
  return {.rank = rank, .alpha = alpha, .dropout = dropout, .target_modules = std::move(targets)};
}

torch::Tensor Logits(CausalLm& model, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return model->Logits(ids);
}

TEST(InjectLoraTest, ZeroBGivesExactlyTheBaseOutput) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  const torch::Tensor ids = fixtures::RandomIds(2, 7, 32, 2);
  const torch::Tensor base = Logits(model, ids);
  ASSERT_THAT(InjectLora(model, Spec(kAllSeven, 4, 8, /*dropout=*/0.1)), IsOk());
  for (const auto& [name, t] : LoraParameters(model)) {
    if (name.find(".lora_B.") != std::string::npos) {
      EXPECT_TRUE(torch::equal(t, torch::zeros_like(t))) << name;
    }
  }
  model->eval();
  EXPECT_TRUE(torch::equal(Logits(model, ids), base));
  model->train();  // dropout on the branch changes nothing while B is zero
  EXPECT_TRUE(torch::equal(Logits(model, ids), base));
}

TEST(InjectLoraTest, StartsWithPeftsInitBoundedAAndZeroB) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(InjectLora(model, Spec(kAllSeven, 3, 6)), IsOk());
  for (auto& [path, linear] : model->Projections()) {
    ASSERT_TRUE(linear->lora_enabled()) << path;
    EXPECT_EQ(linear->lora_A->weight.sizes(), (std::vector<int64_t>{3, linear->in_features}));
    EXPECT_EQ(linear->lora_B->weight.sizes(), (std::vector<int64_t>{linear->out_features, 3}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(linear->in_features));
    EXPECT_LE(linear->lora_A->weight.abs().max().item<double>(), bound) << path;
    EXPECT_GT(linear->lora_A->weight.abs().max().item<double>(), 0.5 * bound) << path;
    EXPECT_TRUE(torch::equal(linear->lora_B->weight, torch::zeros_like(linear->lora_B->weight)));
    EXPECT_EQ(linear->lora_scale, 2.0);
  }
}

// One projection: y = W x + b + (α/r)·B A x, against a double-precision reference.
TEST(LoraLinearTest, BranchAddsScaleTimesBAx) {
  const int64_t in = 6, out = 5, rank = 3;
  LoraLinear linear(in, out, /*bias=*/true);
  torch::NoGradGuard no_grad;
  linear->weight.copy_(fixtures::RandomTensor({out, in}, 0.5, 1));
  linear->bias.copy_(fixtures::RandomTensor({out}, 0.5, 2));
  linear->EnableLora(rank, /*alpha=*/6.0, /*dropout=*/0.0);
  linear->lora_B->weight.copy_(fixtures::RandomTensor({out, rank}, 0.5, 3));
  const torch::Tensor x = fixtures::RandomTensor({2, 4, in}, 1.0, 4);
  const torch::Tensor y = linear(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 4, out}));

  const std::vector<float> w = fixtures::FloatValues(linear->weight);
  const std::vector<float> b = fixtures::FloatValues(linear->bias);
  const std::vector<float> a_mat = fixtures::FloatValues(linear->lora_A->weight);
  const std::vector<float> b_mat = fixtures::FloatValues(linear->lora_B->weight);
  const std::vector<float> xs = fixtures::FloatValues(x);
  std::vector<double> expected_y, expected_delta;
  for (int64_t n = 0; n < 8; ++n) {
    const float* xn = xs.data() + n * in;
    std::vector<double> ax(rank, 0.0);
    for (int64_t r = 0; r < rank; ++r) {
      for (int64_t i = 0; i < in; ++i) ax[r] += a_mat[r * in + i] * xn[i];
    }
    for (int64_t o = 0; o < out; ++o) {
      double base = b[o], delta = 0;
      for (int64_t i = 0; i < in; ++i) base += w[o * in + i] * xn[i];
      for (int64_t r = 0; r < rank; ++r) delta += b_mat[o * rank + r] * ax[r];
      delta *= 6.0 / 3.0;
      expected_y.push_back(base + delta);
      expected_delta.push_back(delta);
    }
  }
  const torch::Tensor delta = y - torch::linear(x, linear->weight, linear->bias);
  std::vector<float> yv = fixtures::FloatValues(y), dv = fixtures::FloatValues(delta);
  EXPECT_TRUE(AllClose(std::vector<double>(yv.begin(), yv.end()), expected_y, 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(std::vector<double>(dv.begin(), dv.end()), expected_delta, 1e-5, 1e-6));
}

TEST(LoraLinearTest, DropoutActsOnlyInTraining) {
  LoraLinear linear(8, 4, /*bias=*/false);
  torch::NoGradGuard no_grad;
  linear->weight.copy_(fixtures::RandomTensor({4, 8}, 0.5, 1));
  linear->EnableLora(2, 2.0, /*dropout=*/0.5);
  linear->lora_B->weight.copy_(fixtures::RandomTensor({4, 2}, 0.5, 2));
  const torch::Tensor x = fixtures::RandomTensor({16, 8}, 1.0, 3);
  const torch::Tensor expected =
      torch::linear(x, linear->weight) +
      torch::linear(torch::linear(x, linear->lora_A->weight), linear->lora_B->weight);
  linear->eval();
  EXPECT_TRUE(AllClose(linear(x), expected, 1e-6, 1e-6));
  linear->train();
  EXPECT_FALSE(torch::allclose(linear(x), expected));
}

// With B perturbed on one projection the model equals the base model with that projection's
// weight merged: W + (α/r)·B A.
TEST(InjectLoraTest, PerturbedBEqualsTheMergedWeight) {
  const std::string path = "model.layers.1.self_attn.v_proj";
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 5);
  CausalLm merged = fixtures::MakeModel(fixtures::TinyConfig(), 5);
  const torch::Tensor ids = fixtures::RandomIds(2, 6, 32, 6);
  const torch::Tensor base = Logits(model, ids);
  ASSERT_THAT(InjectLora(model, Spec({"q_proj", "v_proj"}, 2, 3)), IsOk());
  LoraLinear target = model->Projections().at(path);
  {
    torch::NoGradGuard no_grad;
    target->lora_B->weight.copy_(fixtures::RandomTensor({target->out_features, 2}, 0.5, 7));
    merged->Projections().at(path)->weight.add_(
        torch::matmul(target->lora_B->weight, target->lora_A->weight) * 1.5);
  }
  model->eval();
  const torch::Tensor adapted = Logits(model, ids);
  EXPECT_FALSE(torch::allclose(adapted, base, 1e-3, 1e-3));
  EXPECT_TRUE(AllClose(adapted, Logits(merged, ids), 1e-5, 1e-5));
}

TEST(SeedLoraATest, IsBitIdenticalAcrossModelsAndEqualsInitLoraA) {
  const update::LoraSpec spec = Spec(kAllSeven, 4);
  CausalLm first = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  CausalLm second = fixtures::MakeModel(fixtures::TinyConfig(), 2);  // other base weights
  CausalLm other_seed = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  for (CausalLm* m : {&first, &second, &other_seed}) ASSERT_THAT(InjectLora(*m, spec), IsOk());
  SeedLoraA(first, 99);
  SeedLoraA(second, 99);
  SeedLoraA(other_seed, 100);
  auto second_projections = second->Projections();
  auto other_projections = other_seed->Projections();
  int checked = 0;
  for (auto& [path, linear] : first->Projections()) {
    const torch::Tensor a = linear->lora_A->weight;  // [rank, in]
    EXPECT_TRUE(torch::equal(a, second_projections.at(path)->lora_A->weight)) << path;
    EXPECT_FALSE(torch::equal(a, other_projections.at(path)->lora_A->weight)) << path;
    std::vector<float> expected = update::InitLoraA(99, path, 4, linear->in_features);
    EXPECT_EQ(fixtures::FloatValues(a), expected) << path;
    EXPECT_TRUE(torch::equal(linear->lora_B->weight, torch::zeros_like(linear->lora_B->weight)));
    ++checked;
  }
  EXPECT_EQ(checked, 14);
}

TEST(InjectLoraTest, RefusesATargetTheModelLacksAndChangesNothing) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  EXPECT_THAT(InjectLora(model, Spec({"w_proj"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("w_proj")));
  EXPECT_THAT(InjectLora(model, Spec({"q_proj", "query_key_value"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("query_key_value"), Not(HasSubstr("q_proj")))));
  EXPECT_THAT(LoraParameters(model), IsEmpty());
}

TEST(InjectLoraTest, RefusesToInjectTwice) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(InjectLora(model, Spec({"q_proj"})), IsOk());
  EXPECT_THAT(InjectLora(model, Spec({"q_proj"})),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already")));
  EXPECT_THAT(InjectLora(model, Spec({"up_proj"})),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already")));
}

TEST(LoraParametersTest, AreTheModelsNamesSorted) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  ASSERT_THAT(InjectLora(model, Spec({"v_proj", "q_proj"})), IsOk());
  std::vector<std::string> names;
  for (const auto& [name, t] : LoraParameters(model)) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("model.layers.0.self_attn.q_proj.lora_A.weight",
                                 "model.layers.0.self_attn.q_proj.lora_B.weight",
                                 "model.layers.0.self_attn.v_proj.lora_A.weight",
                                 "model.layers.0.self_attn.v_proj.lora_B.weight",
                                 "model.layers.1.self_attn.q_proj.lora_A.weight",
                                 "model.layers.1.self_attn.q_proj.lora_B.weight",
                                 "model.layers.1.self_attn.v_proj.lora_A.weight",
                                 "model.layers.1.self_attn.v_proj.lora_B.weight"));
}

// The coordinator builds the global adapter from LoraTargetShapes without LibTorch; clients
// load it into InjectLora's tensors. Names, order and shapes must agree exactly.
void ExpectLoraParametersMatchLoraTargetShapes(const ModelConfig& config,
                                               const std::vector<std::string>& targets,
                                               int64_t rank) {
  CausalLm model = fixtures::MakeModel(config, 1);
  ASSERT_THAT(InjectLora(model, Spec(targets, rank)), IsOk());
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected, actual;
  for (const LinearShape& linear : LoraTargetShapes(config, targets)) {
    expected.push_back({linear.module + ".lora_A.weight", {rank, linear.in_features}});
    expected.push_back({linear.module + ".lora_B.weight", {linear.out_features, rank}});
  }
  for (const auto& [name, t] : LoraParameters(model)) actual.push_back({name, t.sizes().vec()});
  EXPECT_EQ(actual, expected);
  EXPECT_FALSE(expected.empty());
}

TEST(LoraParametersTest, AgreeExactlyWithLoraTargetShapes) {
  ExpectLoraParametersMatchLoraTargetShapes(fixtures::TinyConfig(), kAllSeven, 3);
  ExpectLoraParametersMatchLoraTargetShapes(fixtures::TinyConfig(), {"v_proj", "down_proj"}, 2);
}

TEST(LoraParametersTest, AgreeWithLoraTargetShapesPastTenLayersAndWithAWideHeadDim) {
  // Eleven layers: "layers.10" sorts before "layers.2" in both. head_dim 6 with 4 heads makes
  // q_proj 16 → 24 and o_proj 24 → 16, so in and out cannot be swapped unnoticed.
  ModelConfig config = fixtures::TinyConfig();
  config.num_hidden_layers = 11;
  config.head_dim = 6;
  ExpectLoraParametersMatchLoraTargetShapes(config, kAllSeven, 2);
}

bool IsLora(const std::string& name, char matrix) {
  return name.find(std::string(".lora_") + matrix + ".") != std::string::npos;
}

// Runs one forward and backward of the loss and checks which parameters received gradients:
// exactly those whose names satisfy `trained`, each with a non-zero gradient.
void ExpectGradientsOnlyOn(CausalLm& model,
                           const std::function<bool(const std::string&)>& trained) {
  const torch::Tensor ids = fixtures::RandomIds(2, 6, 32, 8);
  const torch::Tensor targets = fixtures::RandomIds(2, 6, 32, 9);
  model->NllSum(ids, targets, torch::ones({2, 6})).backward();
  int with_grad = 0;
  for (const auto& p : model->named_parameters()) {
    if (trained(p.key())) {
      EXPECT_TRUE(p.value().requires_grad()) << p.key();
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
      ++with_grad;
    } else {
      EXPECT_FALSE(p.value().requires_grad()) << p.key();
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }
  std::vector<torch::Tensor> trainable = TrainableParameters(model);
  EXPECT_EQ(static_cast<int>(trainable.size()), with_grad);
  for (const torch::Tensor& t : trainable) EXPECT_TRUE(t.grad().defined());
}

CausalLm AdaptedModel() {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 3);
  EXPECT_THAT(InjectLora(model, Spec({"q_proj", "v_proj", "down_proj"}, 2)), IsOk());
  SeedLoraA(model, 4);
  torch::NoGradGuard no_grad;  // a non-zero B, so that A receives a non-zero gradient too
  for (auto& [name, t] : LoraParameters(model)) {
    if (IsLora(name, 'B')) t.copy_(fixtures::RandomTensor(t.sizes().vec(), 0.2, t.numel()));
  }
  return model;
}

TEST(SetTrainableTest, BOnlyGivesGradientsToEveryLoraBAndNothingElse) {
  CausalLm model = AdaptedModel();
  SetTrainable(model, TrainedMatrices::kB);
  ExpectGradientsOnlyOn(model, [](const std::string& n) { return IsLora(n, 'B'); });
  EXPECT_EQ(TrainableParameters(model).size(), 6u);
}

TEST(SetTrainableTest, AOnlyGivesGradientsToEveryLoraA) {
  CausalLm model = AdaptedModel();
  SetTrainable(model, TrainedMatrices::kA);
  ExpectGradientsOnlyOn(model, [](const std::string& n) { return IsLora(n, 'A'); });
}

TEST(SetTrainableTest, ABGivesGradientsToBothAndSwitchingBackFreezesA) {
  CausalLm model = AdaptedModel();
  SetTrainable(model, TrainedMatrices::kAB);
  ExpectGradientsOnlyOn(model,
                        [](const std::string& n) { return IsLora(n, 'A') || IsLora(n, 'B'); });
  EXPECT_EQ(TrainableParameters(model).size(), 12u);
  SetTrainable(model, TrainedMatrices::kB);
  for (const auto& [name, t] : LoraParameters(model)) {
    EXPECT_EQ(t.requires_grad(), IsLora(name, 'B')) << name;
  }
}

}  // namespace
}  // namespace tontine::ml
