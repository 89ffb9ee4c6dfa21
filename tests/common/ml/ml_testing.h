// Shared by the common/ml tests: tiny configs, deterministic weights, a synthetic language,
// and tensor comparison that prints the first mismatches (llm.c `check_tensor`).
#ifndef TONTINE_TESTS_COMMON_ML_ML_TESTING_H_
#define TONTINE_TESTS_COMMON_ML_ML_TESTING_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/ml/model.h"
#include "common/ml/model_config.h"
#include "common/text/corpus.h"

namespace tontine::ml::fixtures {

// vocab 32, hidden 16, intermediate 24, 2 layers, 4 heads of 4, 2 KV heads, untied, llama.
ModelConfig TinyConfig();

// Overwrites every base weight with values from a counter-based generator keyed by `seed`:
// embeddings U(−1, 1); other matrices U(−1, 1)·1.5/√in; norm weights 1 + U(−0.3, 0.3);
// biases U(−0.3, 0.3). Activations stay O(1) and every weight matters.
void FillWeights(CausalLm& model, uint64_t seed);

// A constructed model with FillWeights applied, in eval mode.
CausalLm MakeModel(const ModelConfig& config, uint64_t seed);

// Token ids [batch, length] in [0, vocab), deterministic in `seed`.
torch::Tensor RandomIds(int64_t batch, int64_t length, int64_t vocab, uint64_t seed);

// Uniform values in [−scale, scale) of the given shape, deterministic in `seed`.
torch::Tensor RandomTensor(std::vector<int64_t> shape, double scale, uint64_t seed);

// The elements of `t` as fp32 / fp64, row-major.
std::vector<float> FloatValues(const torch::Tensor& t);

// |actual − expected| ≤ atol + rtol·|expected| for every element; on failure the message
// gives the count, the largest error and the first mismatches with their indices.
::testing::AssertionResult AllClose(const std::vector<double>& actual,
                                    const std::vector<double>& expected, double rtol, double atol);
::testing::AssertionResult AllClose(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rtol, double atol);

// `count` documents of a small deterministic language: sentences "the cat sees a dog ."
// from a fixed grammar with a few words per slot, so a model can learn it quickly.
// `flavour` varies the vocabulary so that two groups differ.
std::vector<text::Document> GrammarDocuments(int count, uint64_t seed, const std::string& group,
                                             int flavour = 0);

}  // namespace tontine::ml::fixtures

#endif  // TONTINE_TESTS_COMMON_ML_ML_TESTING_H_
