#include "common/update/server_optimizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace tontine::update {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pointwise;
using ::tontine::testing::IsOk;
using ::tontine::testing::StatusIs;

constexpr float kTolerance = 1e-6f;

config::AggregationConfig Config(config::ServerOptimizer optimizer, double lr) {
  config::AggregationConfig c;
  c.server_optimizer = optimizer;
  c.server_learning_rate = lr;
  return c;
}

// fedadam / fedyogi with β1 = 0.5, β2 = 0.75, τ = 0.5 (so v starts at 0.25) and η = 1.
config::AggregationConfig Adaptive(config::ServerOptimizer optimizer) {
  config::AggregationConfig c = Config(optimizer, 1.0);
  c.beta1 = 0.5;
  c.beta2 = 0.75;
  c.epsilon = 0.5;
  return c;
}

// Steps tensor `name` once and fails the test if the step fails.
void Step(const config::AggregationConfig& c, const std::string& name, std::vector<float>& x,
          const std::vector<double>& delta, ServerOptimizerState& state) {
  ASSERT_THAT(ApplyServerOptimizer(c, name, x, delta, state), IsOk());
}

TEST(ServerOptimizerTest, FedAvgAddsLearningRateTimesDeltaAndKeepsNoState) {
  const config::AggregationConfig c = Config(config::ServerOptimizer::kFedAvg, 0.5);
  ServerOptimizerState state;
  std::vector<float> x = {1.0f, -2.0f};
  Step(c, "t", x, {0.25, 0.5}, state);  // x + 0.5·Δ
  EXPECT_THAT(x, ElementsAre(1.125f, -1.75f));
  Step(c, "t", x, {-1.0, 0.0}, state);
  EXPECT_THAT(x, ElementsAre(0.625f, -1.75f));
  EXPECT_THAT(state.first_moment, IsEmpty());
  EXPECT_THAT(state.second_moment, IsEmpty());
}

TEST(ServerOptimizerTest, FedAvgMAccumulatesMomentumOverThreeSteps) {
  config::AggregationConfig c = Config(config::ServerOptimizer::kFedAvgM, 2.0);
  c.momentum = 0.5;
  ServerOptimizerState state;
  std::vector<float> x = {0.0f};
  // m = 0.5·0 + 1 = 1;        x = 0 + 2·1 = 2
  Step(c, "t", x, {1.0}, state);
  EXPECT_THAT(x, ElementsAre(2.0f));
  EXPECT_THAT(state.first_moment["t"], ElementsAre(1.0f));
  // m = 0.5·1 + 1 = 1.5;      x = 2 + 2·1.5 = 5
  Step(c, "t", x, {1.0}, state);
  EXPECT_THAT(x, ElementsAre(5.0f));
  // m = 0.5·1.5 − 2 = −1.25;  x = 5 − 2·1.25 = 2.5
  Step(c, "t", x, {-2.0}, state);
  EXPECT_THAT(x, ElementsAre(2.5f));
  EXPECT_THAT(state.first_moment["t"], ElementsAre(-1.25f));
  EXPECT_THAT(state.second_moment, IsEmpty());
}

TEST(ServerOptimizerTest, FedAdamMatchesTheFormulaOverThreeSteps) {
  const config::AggregationConfig c = Adaptive(config::ServerOptimizer::kFedAdam);
  ServerOptimizerState state;
  std::vector<float> x = {0.0f, 0.0f};
  // Element 0, Δ = 0.5, 0.5, 0:
  //   m = 0.25, v = 0.75·0.25 + 0.25·0.25 = 0.25;   x = 0.25/(0.5 + 0.5) = 0.25
  //   m = 0.375, v = 0.25;                           x = 0.25 + 0.375/1 = 0.625
  //   m = 0.1875, v = 0.1875;                        x = 0.625 + 0.1875/(√0.1875 + 0.5)
  // Element 1, Δ = 2, −1, 0.25:
  //   m = 1, v = 0.1875 + 1 = 1.1875;                x = 1/(√1.1875 + 0.5) = 0.629039718
  //   m = 0, v = 0.890625 + 0.25 = 1.140625;         x unchanged
  //   m = 0.125, v = 0.85546875 + 0.015625 = 0.87109375;
  //                                                  x = 0.629039718 + 0.125/(√0.87109375 + 0.5)
  Step(c, "t", x, {0.5, 2.0}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.25f, 0.629039718f}));
  EXPECT_THAT(state.first_moment["t"], Pointwise(FloatNear(kTolerance), {0.25f, 1.0f}));
  EXPECT_THAT(state.second_moment["t"], Pointwise(FloatNear(kTolerance), {0.25f, 1.1875f}));
  Step(c, "t", x, {0.5, -1.0}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.625f, 0.629039718f}));
  Step(c, "t", x, {0.0, 0.25}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.825961894f, 0.716249586f}));
  EXPECT_THAT(state.first_moment["t"], Pointwise(FloatNear(kTolerance), {0.1875f, 0.125f}));
  EXPECT_THAT(state.second_moment["t"],
              Pointwise(FloatNear(kTolerance), {0.1875f, 0.87109375f}));
}

TEST(ServerOptimizerTest, FedYogiMovesVBySignOfVMinusDeltaSquaredOverThreeSteps) {
  const config::AggregationConfig c = Adaptive(config::ServerOptimizer::kFedYogi);
  ServerOptimizerState state;
  std::vector<float> x = {0.0f, 0.0f};
  // Element 0, Δ = 0.5, 0.5, 0: v = Δ² = 0.25 (sign 0), then Δ² = 0: v stays 0.25.
  //   m = 0.25;   x = 0.25/(0.5 + 0.5) = 0.25
  //   m = 0.375;  x = 0.625
  //   m = 0.1875; x = 0.8125
  // Element 1, Δ = 2, −1, 0.25:
  //   v < Δ²: v = 0.25 + 0.25·4 = 1.25; m = 1;  x = 1/(√1.25 + 0.5) = 0.618033989
  //   v > Δ²: v = 1.25 − 0.25·1 = 1;    m = 0;  x unchanged
  //   v > Δ²: v = 1 − 0.25·0.0625 = 0.984375; m = 0.125;
  //                                             x = 0.618033989 + 0.125/(√0.984375 + 0.5)
  Step(c, "t", x, {0.5, 2.0}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.25f, 0.618033989f}));
  EXPECT_THAT(state.second_moment["t"], Pointwise(FloatNear(kTolerance), {0.25f, 1.25f}));
  Step(c, "t", x, {0.5, -1.0}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.625f, 0.618033989f}));
  EXPECT_THAT(state.second_moment["t"], Pointwise(FloatNear(kTolerance), {0.25f, 1.0f}));
  Step(c, "t", x, {0.0, 0.25}, state);
  EXPECT_THAT(x, Pointwise(FloatNear(kTolerance), {0.8125f, 0.701805349f}));
  EXPECT_THAT(state.first_moment["t"], Pointwise(FloatNear(kTolerance), {0.1875f, 0.125f}));
  EXPECT_THAT(state.second_moment["t"], Pointwise(FloatNear(kTolerance), {0.25f, 0.984375f}));
}

TEST(ServerOptimizerTest, FedYogiAddsToVWithoutDecayingItWhereFedAdamDecaysIt) {
  // From v = τ² = 0.25 with Δ² = 4 > v: fedadam decays v by β2, fedyogi does not.
  ServerOptimizerState adam, yogi;
  std::vector<float> xa = {0.0f}, xy = {0.0f};
  Step(Adaptive(config::ServerOptimizer::kFedAdam), "t", xa, {2.0}, adam);
  Step(Adaptive(config::ServerOptimizer::kFedYogi), "t", xy, {2.0}, yogi);
  EXPECT_THAT(adam.second_moment["t"], ElementsAre(1.1875f));  // 0.75·0.25 + 0.25·4
  EXPECT_THAT(yogi.second_moment["t"], ElementsAre(1.25f));    // 0.25 + 0.25·4
}

TEST(ServerOptimizerTest, KeepsMomentsPerTensor) {
  for (config::ServerOptimizer optimizer :
       {config::ServerOptimizer::kFedAvgM, config::ServerOptimizer::kFedAdam,
        config::ServerOptimizer::kFedYogi}) {
    SCOPED_TRACE(static_cast<int>(optimizer));
    config::AggregationConfig c = Adaptive(optimizer);
    c.momentum = 0.5;
    // "a" stepped twice with "b" (of another length) stepped in between …
    ServerOptimizerState interleaved;
    std::vector<float> a = {0.0f, 1.0f}, b = {0.0f, 0.0f, 0.0f};
    Step(c, "a", a, {1.0, -0.5}, interleaved);
    Step(c, "b", b, {-3.0, 0.125, 7.0}, interleaved);
    Step(c, "a", a, {0.25, 0.5}, interleaved);
    // … ends exactly where "a" stepped twice alone does.
    ServerOptimizerState alone;
    std::vector<float> a_alone = {0.0f, 1.0f};
    Step(c, "a", a_alone, {1.0, -0.5}, alone);
    Step(c, "a", a_alone, {0.25, 0.5}, alone);
    EXPECT_EQ(a, a_alone);
    EXPECT_EQ(interleaved.first_moment["a"], alone.first_moment["a"]);
    EXPECT_EQ(interleaved.second_moment["a"], alone.second_moment["a"]);
    EXPECT_EQ(interleaved.first_moment["b"].size(), 3u);
  }
}

TEST(ServerOptimizerTest, RejectsDeltaOfAnotherLengthNamingTheTensorAndChangesNothing) {
  for (config::ServerOptimizer optimizer :
       {config::ServerOptimizer::kFedAvg, config::ServerOptimizer::kFedAvgM,
        config::ServerOptimizer::kFedAdam, config::ServerOptimizer::kFedYogi}) {
    SCOPED_TRACE(static_cast<int>(optimizer));
    ServerOptimizerState state;
    std::vector<float> x = {1.0f, 2.0f};
    const std::vector<double> delta = {0.5, 0.5, 0.5};
    EXPECT_THAT(ApplyServerOptimizer(Config(optimizer, 1.0), "layer.q", x, delta, state),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("layer.q"), HasSubstr("2 weights"),
                               HasSubstr("3 deltas"))));
    EXPECT_THAT(x, ElementsAre(1.0f, 2.0f));
    EXPECT_THAT(state.first_moment, IsEmpty());
    EXPECT_THAT(state.second_moment, IsEmpty());
  }
}

TEST(ServerOptimizerTest, RejectsStateOfAnotherLengthAndChangesNothing) {
  for (config::ServerOptimizer optimizer :
       {config::ServerOptimizer::kFedAvgM, config::ServerOptimizer::kFedAdam,
        config::ServerOptimizer::kFedYogi}) {
    SCOPED_TRACE(static_cast<int>(optimizer));
    ServerOptimizerState state;
    state.first_moment["layer.q"] = {0.5f, 0.5f, 0.5f};
    std::vector<float> x = {1.0f, 2.0f};
    EXPECT_THAT(ApplyServerOptimizer(Config(optimizer, 1.0), "layer.q", x,
                                     std::vector<double>{0.5, 0.5}, state),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("layer.q"), HasSubstr("holds 3"))));
    EXPECT_THAT(x, ElementsAre(1.0f, 2.0f));
    EXPECT_THAT(state.first_moment["layer.q"], ElementsAre(0.5f, 0.5f, 0.5f));
  }
  // A second moment of the wrong length, with a first moment of the right one.
  for (config::ServerOptimizer optimizer :
       {config::ServerOptimizer::kFedAdam, config::ServerOptimizer::kFedYogi}) {
    SCOPED_TRACE(static_cast<int>(optimizer));
    ServerOptimizerState state;
    state.first_moment["layer.q"] = {0.5f, 0.5f};
    state.second_moment["layer.q"] = {0.5f};
    std::vector<float> x = {1.0f, 2.0f};
    EXPECT_THAT(ApplyServerOptimizer(Config(optimizer, 1.0), "layer.q", x,
                                     std::vector<double>{0.5, 0.5}, state),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds 1")));
    EXPECT_THAT(x, ElementsAre(1.0f, 2.0f));
    EXPECT_THAT(state.first_moment["layer.q"], ElementsAre(0.5f, 0.5f));
  }
}

}  // namespace
}  // namespace tontine::update
