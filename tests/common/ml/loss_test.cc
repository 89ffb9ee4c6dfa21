// CausalLm::NllSum (the chunked loss with its hand-written backward, loss.cc) against plain
// autograd cross-entropy over full logits: the value, and the gradients that flow through the
// hidden states and into the output weight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

#include "common/ml/lora.h"
#include "common/ml/model.h"
#include "tests/common/ml/ml_testing.h"
#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

namespace F = torch::nn::functional;
using testing::IsOk;

// An upstream gradient other than 1, as the trainer divides the sum by the token count.
constexpr double kUpstream = 0.37;

torch::Tensor ReferenceNll(CausalLm& model, const torch::Tensor& ids, const torch::Tensor& targets,
                           const torch::Tensor& mask) {
  torch::Tensor logits = model->Logits(ids);
  torch::Tensor nll = F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
                                       F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (nll * mask.reshape({-1})).sum();
}

// Gradients of every trainable parameter after backward of kUpstream · loss(model).
std::map<std::string, torch::Tensor> Gradients(CausalLm& model,
                                               const std::function<torch::Tensor()>& loss,
                                               double* value) {
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  torch::Tensor l = loss();
  *value = l.item<double>();
  (l * kUpstream).backward();
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters()) {
    if (p.value().requires_grad()) out[p.key()] = p.value().grad().clone();
  }
  return out;
}

// Compares NllSum with the reference on `model`, for ids/targets [batch, length] and a mask
// with zeros: random ones, and a run of masked positions at the end of the last row.
void ExpectMatchesAutograd(CausalLm& model, int64_t batch, int64_t length, uint64_t seed) {
  const int64_t vocab = model->config().vocab_size;
  const torch::Tensor ids = fixtures::RandomIds(batch, length, vocab, seed);
  const torch::Tensor targets = fixtures::RandomIds(batch, length, vocab, seed + 1);
  torch::Tensor mask = (fixtures::RandomIds(batch, length, 3, seed + 2) > 0).to(torch::kFloat32);
  mask[batch - 1].narrow(0, length - length / 3, length / 3).zero_();
  ASSERT_GT(mask.sum().item<double>(), 0);
  ASSERT_LT(mask.sum().item<double>(), static_cast<double>(batch * length));

  double chunked_value = 0, reference_value = 0;
  auto chunked = Gradients(
      model, [&] { return model->NllSum(ids, targets, mask); }, &chunked_value);
  auto reference = Gradients(
      model, [&] { return ReferenceNll(model, ids, targets, mask); }, &reference_value);
  EXPECT_NEAR(chunked_value, reference_value, 1e-5 * reference_value);
  ASSERT_EQ(chunked.size(), reference.size());
  ASSERT_FALSE(chunked.empty());
  for (const auto& [name, expected] : reference) {
    const double scale = expected.abs().max().item<double>();
    ASSERT_GT(scale, 0) << name;  // every trainable parameter gets a gradient
    EXPECT_TRUE(fixtures::AllClose(chunked.at(name), expected, 1e-4, 1e-5 * scale)) << name;
  }
}

// 2^24 / 100003 = 167 rows per chunk (loss.cc ChunkRows), and 2 × 100 = 200 positions: two
// chunks, the second partial.
ModelConfig WideVocabConfig(bool tied) {
  ModelConfig c = fixtures::TinyConfig();
  c.vocab_size = 100003;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 4;
  c.tie_word_embeddings = tied;
  return c;
}

TEST(NllSumTest, MatchesAutogradInOneChunkWhenPretrainingUntied) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);  // everything trainable
  ExpectMatchesAutograd(model, 3, 7, 10);
}

TEST(NllSumTest, MatchesAutogradOverSeveralChunksWhenPretrainingTied) {
  CausalLm model = fixtures::MakeModel(WideVocabConfig(/*tied=*/true), 2);
  // The embedding gets the output-weight gradient and the lookup's, both through autograd.
  ExpectMatchesAutograd(model, 2, 100, 20);
}

TEST(NllSumTest, MatchesAutogradOverSeveralChunksWhenPretrainingUntied) {
  CausalLm model = fixtures::MakeModel(WideVocabConfig(/*tied=*/false), 3);
  ExpectMatchesAutograd(model, 2, 100, 30);
}

// Only LoRA matrices and the final norm train: the output weight needs no gradient, and every
// gradient reaches the parameters through the hidden-state gradient alone.
TEST(NllSumTest, MatchesAutogradOverSeveralChunksThroughHiddenStatesOnly) {
  CausalLm model = fixtures::MakeModel(WideVocabConfig(/*tied=*/true), 4);
  ASSERT_THAT(
      InjectLora(
          model,
          {.rank = 2, .alpha = 4, .dropout = 0, .target_modules = {"q_proj", "v_proj", "up_proj"}}),
      IsOk());
  SeedLoraA(model, 5);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : LoraParameters(model)) {
      if (name.find("lora_B") != std::string::npos) {
        t.copy_(fixtures::RandomTensor(t.sizes().vec(), 0.3, t.numel()));
      }
    }
  }
  SetTrainable(model, TrainedMatrices::kAB);
  model->model->norm->weight.set_requires_grad(true);
  ExpectMatchesAutograd(model, 2, 100, 40);
}

TEST(NllSumTest, IsZeroWithGradientsZeroWhenEverythingIsMasked) {
  CausalLm model = fixtures::MakeModel(fixtures::TinyConfig(), 1);
  const torch::Tensor ids = fixtures::RandomIds(2, 5, 32, 1);
  torch::Tensor loss = model->NllSum(ids, ids, torch::zeros({2, 5}));
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_EQ(p.value().grad().abs().max().item<double>(), 0.0) << p.key();
  }
}

}  // namespace
}  // namespace tontine::ml
