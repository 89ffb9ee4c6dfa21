#include "common/ml/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "common/ml/trainer.h"
#include "common/text/packing.h"
#include "common/text/tokenizer.h"
#include "tests/common/ml/ml_testing.h"
#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using testing::IsOk;

ModelConfig ByteConfig() {
  ModelConfig c = fixtures::TinyConfig();
  c.vocab_size = text::ByteTokenizer::kVocabSize;
  return c;
}

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    en_ = fixtures::GrammarDocuments(6, 1, "en", 0);
    fr_ = fixtures::GrammarDocuments(4, 2, "fr", 1);
    std::vector<text::Document> docs = fr_;  // groups come out sorted whatever the order
    docs.insert(docs.end(), en_.begin(), en_.end());
    absl::StatusOr<text::PackedSequences> packed = text::Pack(docs, text::ByteTokenizer(), 16);
    ASSERT_THAT(packed, IsOk());
    data_ = *std::move(packed);
  }

  std::vector<text::Document> en_, fr_;
  text::PackedSequences data_;
  CausalLm model_ = fixtures::MakeModel(ByteConfig(), 3);
};

// Every document byte and every EOS is scored once (ByteTokenizer: one token per byte).
TEST_F(EvaluateTest, CountsEveryScoredTokenAndByteOfEachGroup) {
  const EvalResult result = Evaluate(model_, data_, 3);
  ASSERT_EQ(result.groups.size(), 2u);
  EXPECT_EQ(result.groups[0].group, "en");
  EXPECT_EQ(result.groups[1].group, "fr");
  for (size_t g = 0; g < 2; ++g) {
    int64_t tokens = 0;
    uint64_t bytes = 0;
    for (const text::Document& d : g == 0 ? en_ : fr_) {
      tokens += static_cast<int64_t>(d.text.size()) + 1;
      bytes += d.text.size();
    }
    EXPECT_EQ(result.groups[g].tokens, tokens) << result.groups[g].group;
    EXPECT_EQ(result.groups[g].bytes, bytes) << result.groups[g].group;
  }
  EXPECT_EQ(result.total.group, "all");
  EXPECT_EQ(result.total.tokens, result.groups[0].tokens + result.groups[1].tokens);
  EXPECT_EQ(result.total.bytes, result.groups[0].bytes + result.groups[1].bytes);
  EXPECT_THAT(result.total.nll_sum, DoubleEq(result.groups[0].nll_sum + result.groups[1].nll_sum));
}

// Each group's NLL against the training loss (NllSum, a different code path) row by row.
TEST_F(EvaluateTest, GroupNllEqualsTheTrainingLossOverTheGroupsRows) {
  const EvalResult result = Evaluate(model_, data_, 4);
  std::vector<double> expected(2, 0.0);
  torch::NoGradGuard no_grad;
  for (int64_t row = 0; row < data_.rows(); ++row) {
    Batch b = MakeBatch(data_, {row});
    expected[static_cast<size_t>(data_.RowGroup(row))] +=
        model_->NllSum(b.inputs, b.targets, b.mask).item<double>();
  }
  for (size_t g = 0; g < 2; ++g) {
    EXPECT_NEAR(result.groups[g].nll_sum, expected[g], 1e-5 * expected[g]);
    EXPECT_GT(result.groups[g].nll_sum, 0);
  }
}

TEST_F(EvaluateTest, DerivedMetricsFollowTheirDefinitions) {
  const EvalResult result = Evaluate(model_, data_);
  for (const GroupMetrics& g : {result.groups[0], result.groups[1], result.total}) {
    EXPECT_THAT(g.MeanNll(), DoubleEq(g.nll_sum / static_cast<double>(g.tokens)));
    EXPECT_THAT(g.Perplexity(), DoubleEq(std::exp(g.nll_sum / static_cast<double>(g.tokens))));
    EXPECT_THAT(g.BitsPerByte(),
                DoubleEq(g.nll_sum / std::log(2.0) / static_cast<double>(g.bytes)));
  }
  const double macro = (result.groups[0].Perplexity() + result.groups[1].Perplexity()) / 2;
  EXPECT_THAT(result.MacroPerplexity(), DoubleEq(macro));
  // Unweighted: the two groups have different sizes, so it is not the pooled perplexity.
  EXPECT_GT(std::abs(result.MacroPerplexity() - result.total.Perplexity()), 1e-6);
}

TEST_F(EvaluateTest, DoesNotDependOnBatchSizeAndTouchesNoGradients) {
  model_->train();
  const EvalResult one = Evaluate(model_, data_, 1);
  const EvalResult many = Evaluate(model_, data_, 64);
  EXPECT_FALSE(model_->is_training());
  for (size_t g = 0; g < 2; ++g) {
    EXPECT_NEAR(one.groups[g].nll_sum, many.groups[g].nll_sum, 1e-6 * many.groups[g].nll_sum);
    EXPECT_EQ(one.groups[g].tokens, many.groups[g].tokens);
  }
  for (const auto& p : model_->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(GroupMetricsTest, EmptyGroupsScoreZero) {
  GroupMetrics empty;
  EXPECT_EQ(empty.MeanNll(), 0);
  EXPECT_EQ(empty.Perplexity(), 1);
  EXPECT_EQ(empty.BitsPerByte(), 0);
  EXPECT_EQ(EvalResult().MacroPerplexity(), 0);
  GroupMetrics g{.group = "x", .nll_sum = 10 * std::numbers::ln2, .tokens = 5, .bytes = 4};
  EXPECT_THAT(g.BitsPerByte(), DoubleEq(2.5));
  EXPECT_THAT(g.Perplexity(), DoubleEq(std::pow(2.0, 2.0)));
  EXPECT_THAT((EvalResult{.groups = {g, empty}}).MacroPerplexity(), DoubleEq(2.5));
}

}  // namespace
}  // namespace tontine::ml
