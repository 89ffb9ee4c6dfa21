#include "tests/common/ml/ml_testing.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/text/rng.h"

namespace tontine::ml::fixtures {
namespace {

// Uniform in [−1, 1) from the next output of `rng`, with 24-bit resolution.
double Uniform(text::SplitMix64& rng) {
  return static_cast<double>(rng.Next() >> 40) / static_cast<double>(1 << 23) - 1.0;
}

}  // namespace

ModelConfig TinyConfig() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 32;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 4;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000;
  c.tie_word_embeddings = false;
  return c;
}

void FillWeights(CausalLm& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  text::SplitMix64 rng(seed);
  for (auto& [name, param] : model->BaseWeights()) {  // sorted by name: deterministic
    std::vector<float> values(static_cast<size_t>(param.numel()));
    const bool norm = name.find("norm") != std::string::npos;
    const bool embed = name.find("embed_tokens") != std::string::npos;
    double scale = 0.3;
    if (param.dim() == 2) scale = embed ? 1.0 : 1.5 / std::sqrt(static_cast<double>(param.size(1)));
    for (float& v : values) v = static_cast<float>((norm ? 1.0 : 0.0) + scale * Uniform(rng));
    param.copy_(torch::from_blob(values.data(), param.sizes(), torch::kFloat32));
  }
}

CausalLm MakeModel(const ModelConfig& config, uint64_t seed) {
  CausalLm model(config);
  FillWeights(model, seed);
  model->eval();
  return model;
}

torch::Tensor RandomIds(int64_t batch, int64_t length, int64_t vocab, uint64_t seed) {
  text::Xoshiro256StarStar rng(seed);
  torch::Tensor ids = torch::empty({batch, length}, torch::kInt64);
  auto* p = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < batch * length; ++i) {
    p[i] = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(vocab)));
  }
  return ids;
}

torch::Tensor RandomTensor(std::vector<int64_t> shape, double scale, uint64_t seed) {
  text::SplitMix64 rng(seed);
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  auto* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(scale * Uniform(rng));
  return t;
}

std::vector<float> FloatValues(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

::testing::AssertionResult AllClose(const std::vector<double>& actual,
                                    const std::vector<double>& expected, double rtol, double atol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << actual.size() << " vs " << expected.size();
  }
  size_t bad = 0;
  double worst = 0;
  std::string first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::abs(actual[i] - expected[i]);
    worst = std::max(worst, err);
    if (!(err <= atol + rtol * std::abs(expected[i]))) {  // NaN fails too
      if (++bad <= 5) absl::StrAppend(&first, "\n  [", i, "] ", actual[i], " vs ", expected[i]);
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << actual.size() << " elements differ (largest error " << worst
         << ", rtol " << rtol << ", atol " << atol << "); first:" << first;
}

::testing::AssertionResult AllClose(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rtol, double atol) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shapes differ: " << actual.sizes() << " vs " << expected.sizes();
  }
  auto to_double = [](const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  return AllClose(to_double(actual), to_double(expected), rtol, atol);
}

std::vector<text::Document> GrammarDocuments(int count, uint64_t seed, const std::string& group,
                                             int flavour) {
  const std::vector<std::vector<std::string>> nouns = {{"cat", "dog", "bird", "fish"},
                                                       {"chat", "chien", "oiseau", "poisson"}};
  const std::vector<std::vector<std::string>> verbs = {{"sees", "likes", "chases"},
                                                       {"voit", "aime", "suit"}};
  const std::vector<std::vector<std::string>> articles = {{"the", "a"}, {"le", "un"}};
  const size_t f = static_cast<size_t>(flavour) % 2;
  text::Xoshiro256StarStar rng(seed);
  auto pick = [&](const std::vector<std::string>& words) -> const std::string& {
    return words[rng.Below(words.size())];
  };
  std::vector<text::Document> docs;
  for (int d = 0; d < count; ++d) {
    std::string doc;
    const int sentences = 2 + static_cast<int>(rng.Below(3));
    for (int s = 0; s < sentences; ++s) {
      absl::StrAppend(&doc, s ? " " : "", pick(articles[f]), " ", pick(nouns[f]), " ",
                      pick(verbs[f]), " ", pick(articles[f]), " ", pick(nouns[f]), ".");
    }
    docs.push_back({doc, absl::StrCat(group, ".txt"), 0, group});
  }
  return docs;
}

}  // namespace tontine::ml::fixtures
