// The forward pass against an independent, naive plain-C++ Llama (no torch ops), computed in
// double: RMSNorm, rotate-half RoPE with rope_theta, grouped-query causal attention, SwiGLU,
// optional q/k/v (and o) bias, tied or untied output head.
#include "common/ml/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/common/ml/ml_testing.h"

namespace tontine::ml {
namespace {

using fixtures::AllClose;
using ::testing::ElementsAreArray;

// Logits agree with the double-precision reference to 1e-4 relative (plus 1e-4 absolute for
// logits near zero); fp32 rounding gives errors around 1e-6, a wrong formula errors of O(0.1).
constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-4;

struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> values;  // row-major
};
using RefWeights = std::map<std::string, RefTensor>;

RefWeights Snapshot(CausalLm& model) {
  RefWeights out;
  for (const auto& [name, tensor] : model->BaseWeights()) {
    std::vector<float> v = fixtures::FloatValues(tensor);
    out[name] = {tensor.sizes().vec(), std::vector<double>(v.begin(), v.end())};
  }
  return out;
}

// Throws (failing the test) when the model lacks the weight.
const RefTensor& Get(const RefWeights& w, const std::string& name) {
  auto it = w.find(name);
  if (it == w.end()) throw std::out_of_range("the model has no weight " + name);
  return it->second;
}

// W x (+ b) for W [out, in].
std::vector<double> MatVec(const RefTensor& w, const std::vector<double>& x,
                           const RefTensor* b = nullptr) {
  const size_t out = static_cast<size_t>(w.shape[0]), in = static_cast<size_t>(w.shape[1]);
  std::vector<double> y(out, 0.0);
  for (size_t o = 0; o < out; ++o) {
    double s = b ? b->values[o] : 0.0;
    for (size_t i = 0; i < in; ++i) s += w.values[o * in + i] * x[i];
    y[o] = s;
  }
  return y;
}

std::vector<double> RmsNorm(const std::vector<double>& x, const RefTensor& w, double eps) {
  double ms = 0;
  for (double v : x) ms += v * v;
  ms /= static_cast<double>(x.size());
  const double r = 1.0 / std::sqrt(ms + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * w.values[i];
  return y;
}

// Rotates every head of `v` (heads × d) for position `pos`, Hugging Face's rotate-half layout:
// element i pairs with i + d/2 at frequency θ^(−2i/d).
void Rope(std::vector<double>& v, int64_t heads, int64_t d, int64_t pos, double theta) {
  const int64_t half = d / 2;
  for (int64_t h = 0; h < heads; ++h) {
    double* u = v.data() + h * d;
    for (int64_t i = 0; i < half; ++i) {
      const double angle =
          static_cast<double>(pos) * std::pow(theta, -2.0 * static_cast<double>(i) / d);
      const double c = std::cos(angle), s = std::sin(angle);
      const double a = u[i], b = u[i + half];
      u[i] = a * c - b * s;
      u[i + half] = b * c + a * s;
    }
  }
}

double Silu(double x) { return x / (1.0 + std::exp(-x)); }

// Deliberate departures from the model, to show the comparison would catch them.
struct Mistakes {
  double theta_factor = 1.0;    // use rope_theta · factor
  bool kv_head_modulo = false;  // query head h reads KV head h mod Hkv instead of h / rep
};

// Logits [B, T, V] (flattened) of `ids`.
std::vector<double> ReferenceLogits(const ModelConfig& c, const RefWeights& w,
                                    const torch::Tensor& ids, Mistakes mistakes = {}) {
  const int64_t batch = ids.size(0), len = ids.size(1), d = c.head_dim;
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, rep = nh / nkv;
  const double theta = c.rope_theta * mistakes.theta_factor;
  const bool qkv_bias = c.attention_bias, o_bias = c.attention_bias && !c.qkv_bias_only;
  const RefTensor& embed = Get(w, "model.embed_tokens.weight");
  const RefTensor& head =
      Get(w, c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  std::vector<double> logits;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<std::vector<double>> x(static_cast<size_t>(len));
    for (int64_t t = 0; t < len; ++t) {
      const int64_t id = ids[b][t].item<int64_t>();
      auto row = embed.values.begin() + id * c.hidden_size;
      x[static_cast<size_t>(t)].assign(row, row + c.hidden_size);
    }
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      auto bias = [&](const std::string& name, bool present) {
        return present ? &Get(w, p + name) : nullptr;
      };
      std::vector<std::vector<double>> q(x.size()), k(x.size()), v(x.size());
      for (size_t t = 0; t < x.size(); ++t) {
        auto h = RmsNorm(x[t], Get(w, p + "input_layernorm.weight"), c.rms_norm_eps);
        q[t] = MatVec(Get(w, p + "self_attn.q_proj.weight"), h,
                      bias("self_attn.q_proj.bias", qkv_bias));
        k[t] = MatVec(Get(w, p + "self_attn.k_proj.weight"), h,
                      bias("self_attn.k_proj.bias", qkv_bias));
        v[t] = MatVec(Get(w, p + "self_attn.v_proj.weight"), h,
                      bias("self_attn.v_proj.bias", qkv_bias));
        Rope(q[t], nh, d, static_cast<int64_t>(t), theta);
        Rope(k[t], nkv, d, static_cast<int64_t>(t), theta);
      }
      for (size_t t = 0; t < x.size(); ++t) {
        std::vector<double> attn(static_cast<size_t>(nh * d), 0.0);
        for (int64_t hh = 0; hh < nh; ++hh) {
          const int64_t g = mistakes.kv_head_modulo ? hh % nkv : hh / rep;
          std::vector<double> scores(t + 1);
          double top = -INFINITY;
          for (size_t j = 0; j <= t; ++j) {
            double s = 0;
            for (int64_t i = 0; i < d; ++i) s += q[t][hh * d + i] * k[j][g * d + i];
            scores[j] = s / std::sqrt(static_cast<double>(d));
            top = std::max(top, scores[j]);
          }
          double z = 0;
          for (double& s : scores) z += (s = std::exp(s - top));
          for (size_t j = 0; j <= t; ++j) {
            for (int64_t i = 0; i < d; ++i) attn[hh * d + i] += scores[j] / z * v[j][g * d + i];
          }
        }
        auto o = MatVec(Get(w, p + "self_attn.o_proj.weight"), attn,
                        bias("self_attn.o_proj.bias", o_bias));
        for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
        auto h = RmsNorm(x[t], Get(w, p + "post_attention_layernorm.weight"), c.rms_norm_eps);
        auto gate = MatVec(Get(w, p + "mlp.gate_proj.weight"), h);
        auto up = MatVec(Get(w, p + "mlp.up_proj.weight"), h);
        for (size_t i = 0; i < gate.size(); ++i) gate[i] = Silu(gate[i]) * up[i];
        auto down = MatVec(Get(w, p + "mlp.down_proj.weight"), gate);
        for (size_t i = 0; i < down.size(); ++i) x[t][i] += down[i];
      }
    }
    for (const auto& xt : x) {
      auto out = MatVec(head, RmsNorm(xt, Get(w, "model.norm.weight"), c.rms_norm_eps));
      logits.insert(logits.end(), out.begin(), out.end());
    }
  }
  return logits;
}

std::vector<double> ToDoubles(const torch::Tensor& t) {
  std::vector<float> v = fixtures::FloatValues(t);
  return std::vector<double>(v.begin(), v.end());
}

ModelConfig GqaLlama() {
  ModelConfig c = fixtures::TinyConfig();  // 4 heads, 2 KV heads, untied
  c.rope_theta = 10000;
  return c;
}

ModelConfig TiedLlamaWithBiasAndWideHeads() {
  ModelConfig c = fixtures::TinyConfig();
  c.num_key_value_heads = 4;  // plain multi-head attention
  c.head_dim = 6;             // heads · head_dim = 24 ≠ hidden_size
  c.attention_bias = true;    // llama: q, k, v and o
  c.tie_word_embeddings = true;
  c.rope_theta = 500;
  return c;
}

ModelConfig Qwen2() {
  ModelConfig c = fixtures::TinyConfig();
  c.model_type = "qwen2";
  c.num_key_value_heads = 1;  // four query heads share one KV head
  c.attention_bias = true;
  c.qkv_bias_only = true;
  c.tie_word_embeddings = true;
  c.rope_theta = 1e6;
  c.rms_norm_eps = 1e-6;
  return c;
}

void ExpectMatchesReference(const ModelConfig& config, uint64_t seed) {
  CausalLm model = fixtures::MakeModel(config, seed);
  const torch::Tensor ids = fixtures::RandomIds(2, 9, config.vocab_size, seed + 1);
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = model->Logits(ids);
  }
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 9, config.vocab_size}));
  EXPECT_TRUE(
      AllClose(ToDoubles(logits), ReferenceLogits(config, Snapshot(model), ids), kRtol, kAtol));
}

TEST(ModelForwardTest, MatchesReferenceWithGroupedQueryAttentionAndUntiedHead) {
  ExpectMatchesReference(GqaLlama(), 11);
}

TEST(ModelForwardTest, MatchesReferenceTiedWithLlamaAttentionBiasAndExplicitHeadDim) {
  ExpectMatchesReference(TiedLlamaWithBiasAndWideHeads(), 12);
}

TEST(ModelForwardTest, MatchesReferenceForQwen2WithQkvBias) { ExpectMatchesReference(Qwen2(), 13); }

// The comparison has teeth: a reference with the wrong rotary base, or the wrong
// query-to-KV-head mapping, disagrees with the model far beyond the tolerance.
TEST(ModelForwardTest, ReferenceWithAMistakeDisagrees) {
  const ModelConfig config = GqaLlama();
  CausalLm model = fixtures::MakeModel(config, 11);
  const torch::Tensor ids = fixtures::RandomIds(2, 9, config.vocab_size, 12);
  torch::NoGradGuard no_grad;
  const std::vector<double> logits = ToDoubles(model->Logits(ids));
  const RefWeights w = Snapshot(model);
  EXPECT_FALSE(
      AllClose(logits, ReferenceLogits(config, w, ids, {.theta_factor = 2}), kRtol, kAtol));
  EXPECT_FALSE(
      AllClose(logits, ReferenceLogits(config, w, ids, {.kv_head_modulo = true}), kRtol, kAtol));
}

TEST(ModelForwardTest, IsCausal) {
  CausalLm model = fixtures::MakeModel(GqaLlama(), 3);
  torch::Tensor ids = fixtures::RandomIds(1, 8, 32, 4);
  torch::NoGradGuard no_grad;
  torch::Tensor before = model->Logits(ids);
  ids[0][5] = (ids[0][5].item<int64_t>() + 1) % 32;
  torch::Tensor after = model->Logits(ids);
  EXPECT_TRUE(torch::equal(before.narrow(1, 0, 5), after.narrow(1, 0, 5)));
  EXPECT_FALSE(torch::allclose(before.narrow(1, 5, 3), after.narrow(1, 5, 3)));
}

// NllSum = Σ mask · (logsumexp(logits) − logits[target]), against the reference's logits.
TEST(ModelForwardTest, NllSumMatchesReferenceLogits) {
  const ModelConfig config = Qwen2();
  CausalLm model = fixtures::MakeModel(config, 21);
  const torch::Tensor ids = fixtures::RandomIds(2, 9, config.vocab_size, 22);
  const torch::Tensor targets = fixtures::RandomIds(2, 9, config.vocab_size, 23);
  const torch::Tensor mask = (fixtures::RandomIds(2, 9, 3, 24) > 0).to(torch::kFloat32);
  const std::vector<double> ref = ReferenceLogits(config, Snapshot(model), ids);
  double expected = 0;
  for (int64_t n = 0; n < 18; ++n) {
    if (mask.view(-1)[n].item<float>() == 0) continue;
    const double* row = ref.data() + n * config.vocab_size;
    double top = -INFINITY, z = 0;
    for (int64_t v = 0; v < config.vocab_size; ++v) top = std::max(top, row[v]);
    for (int64_t v = 0; v < config.vocab_size; ++v) z += std::exp(row[v] - top);
    expected += top + std::log(z) - row[targets.view(-1)[n].item<int64_t>()];
  }
  torch::NoGradGuard no_grad;
  EXPECT_NEAR(model->NllSum(ids, targets, mask).item<double>(), expected, 1e-4 * expected);
}

TEST(ModelTest, BaseWeightsHaveHuggingFaceNamesAndShapes) {
  ModelConfig c = fixtures::TinyConfig();
  c.num_hidden_layers = 1;
  CausalLm llama(c);
  std::vector<std::pair<std::string, std::vector<int64_t>>> got;
  for (const auto& [name, t] : llama->BaseWeights()) got.emplace_back(name, t.sizes().vec());
  using Shape = std::vector<int64_t>;
  EXPECT_THAT(got, ElementsAreArray(std::vector<std::pair<std::string, Shape>>{
                       {"lm_head.weight", {32, 16}},
                       {"model.embed_tokens.weight", {32, 16}},
                       {"model.layers.0.input_layernorm.weight", {16}},
                       {"model.layers.0.mlp.down_proj.weight", {16, 24}},
                       {"model.layers.0.mlp.gate_proj.weight", {24, 16}},
                       {"model.layers.0.mlp.up_proj.weight", {24, 16}},
                       {"model.layers.0.post_attention_layernorm.weight", {16}},
                       {"model.layers.0.self_attn.k_proj.weight", {8, 16}},
                       {"model.layers.0.self_attn.o_proj.weight", {16, 16}},
                       {"model.layers.0.self_attn.q_proj.weight", {16, 16}},
                       {"model.layers.0.self_attn.v_proj.weight", {8, 16}},
                       {"model.norm.weight", {16}},
                   }));

  ModelConfig q = Qwen2();  // tied: no lm_head; q/k/v bias, no o bias
  q.num_hidden_layers = 1;
  CausalLm qwen(q);
  got.clear();
  for (const auto& [name, t] : qwen->BaseWeights()) got.emplace_back(name, t.sizes().vec());
  EXPECT_THAT(got, ElementsAreArray(std::vector<std::pair<std::string, Shape>>{
                       {"model.embed_tokens.weight", {32, 16}},
                       {"model.layers.0.input_layernorm.weight", {16}},
                       {"model.layers.0.mlp.down_proj.weight", {16, 24}},
                       {"model.layers.0.mlp.gate_proj.weight", {24, 16}},
                       {"model.layers.0.mlp.up_proj.weight", {24, 16}},
                       {"model.layers.0.post_attention_layernorm.weight", {16}},
                       {"model.layers.0.self_attn.k_proj.bias", {4}},
                       {"model.layers.0.self_attn.k_proj.weight", {4, 16}},
                       {"model.layers.0.self_attn.o_proj.weight", {16, 16}},
                       {"model.layers.0.self_attn.q_proj.bias", {16}},
                       {"model.layers.0.self_attn.q_proj.weight", {16, 16}},
                       {"model.layers.0.self_attn.v_proj.bias", {4}},
                       {"model.layers.0.self_attn.v_proj.weight", {4, 16}},
                       {"model.norm.weight", {16}},
                   }));
}

TEST(ModelTest, ParameterCountMatchesTheModelsParameters) {
  for (const ModelConfig& c : {GqaLlama(), TiedLlamaWithBiasAndWideHeads(), Qwen2()}) {
    CausalLm model(c);
    int64_t numel = 0;
    for (const auto& [name, t] : model->BaseWeights()) numel += t.numel();
    EXPECT_EQ(c.ParameterCount(), numel)
        << c.model_type << " tied=" << c.tie_word_embeddings << " bias=" << c.attention_bias;
  }
}

TEST(ModelTest, ProjectionsAreTheSevenLinearLayersOfEachLayer) {
  CausalLm model(fixtures::TinyConfig());
  std::vector<std::string> names;
  for (const auto& [path, linear] : model->Projections()) names.push_back(path);
  std::vector<std::string> expected;
  for (const char* layer : {"model.layers.0.", "model.layers.1."}) {
    for (const char* m : {"mlp.down_proj", "mlp.gate_proj", "mlp.up_proj", "self_attn.k_proj",
                          "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj"}) {
      expected.push_back(std::string(layer) + m);
    }
  }
  EXPECT_EQ(names, expected);
}

TEST(ModelTest, InitRandomIsSeededWithUnitNormsZeroBiasesAndSmallMatrices) {
  const ModelConfig c = Qwen2();
  CausalLm a(c), b(c), other(c);
  a->InitRandom(5);
  b->InitRandom(5);
  other->InitRandom(6);
  std::vector<float> matrices;
  for (const auto& [name, t] : a->BaseWeights()) {
    EXPECT_TRUE(torch::equal(t, b->BaseWeights().at(name))) << name;
    if (t.dim() == 2) {
      EXPECT_FALSE(torch::equal(t, other->BaseWeights().at(name))) << name;
      std::vector<float> v = fixtures::FloatValues(t);
      matrices.insert(matrices.end(), v.begin(), v.end());
    } else if (name.find("norm") != std::string::npos) {
      EXPECT_TRUE(torch::equal(t, torch::ones_like(t))) << name;
    } else {
      EXPECT_TRUE(torch::equal(t, torch::zeros_like(t))) << name;
    }
  }
  double sum = 0, sum_sq = 0;
  for (float v : matrices) {
    sum += v;
    sum_sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(matrices.size());
  EXPECT_NEAR(sum / n, 0.0, 0.002);
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.02, 0.001);
}

TEST(RotaryTablesTest, HoldsCosAndSinOfPositionTimesInverseFrequencyTwice) {
  auto [cos, sin] = RotaryTables(5, 6, 100.0);
  ASSERT_EQ(cos.sizes(), (std::vector<int64_t>{5, 6}));
  ASSERT_EQ(sin.sizes(), (std::vector<int64_t>{5, 6}));
  for (int64_t t = 0; t < 5; ++t) {
    for (int64_t i = 0; i < 6; ++i) {
      const double angle = static_cast<double>(t) * std::pow(100.0, -2.0 * (i % 3) / 6.0);
      EXPECT_NEAR(cos[t][i].item<float>(), std::cos(angle), 1e-6) << t << "," << i;
      EXPECT_NEAR(sin[t][i].item<float>(), std::sin(angle), 1e-6) << t << "," << i;
    }
  }
}

}  // namespace
}  // namespace tontine::ml
