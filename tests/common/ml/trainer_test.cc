#include "common/ml/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "common/ml/evaluate.h"
#include "common/ml/lora.h"
#include "common/text/packing.h"
#include "common/text/tokenizer.h"
#include "tests/common/ml/ml_testing.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::ml {
namespace {

namespace fs = std::filesystem;
using ::testing::DoubleEq;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

constexpr int32_t B = text::ByteTokenizer::kBos;
constexpr int32_t E = text::ByteTokenizer::kEos;
constexpr int32_t P = text::ByteTokenizer::kPad;

config::LocalTrainingConfig Schedule(config::Schedule kind, int steps, int warmup) {
  config::LocalTrainingConfig s;
  s.schedule = kind;
  s.steps = steps;
  s.warmup_steps = warmup;
  s.learning_rate = 0.01;
  return s;
}

TEST(LearningRateAtTest, WarmsUpLinearlyToThePeak) {
  for (auto kind : {config::Schedule::kCosine, config::Schedule::kConstant}) {
    const auto s = Schedule(kind, 20, 4);
    EXPECT_THAT(LearningRateAt(s, 0), DoubleEq(0.0025));
    EXPECT_THAT(LearningRateAt(s, 1), DoubleEq(0.005));
    EXPECT_THAT(LearningRateAt(s, 2), DoubleEq(0.0075));
    EXPECT_THAT(LearningRateAt(s, 3), DoubleEq(0.01));
  }
}

// After warm-up: lr · ½(1 + cos(π · (step − warm-up) / (steps − warm-up))), as transformers'
// get_cosine_schedule_with_warmup: the peak at the first step after warm-up, 0 after the last.
TEST(LearningRateAtTest, CosineDecaysFromThePeakToZeroAfterTheLastStep) {
  const auto s = Schedule(config::Schedule::kCosine, 20, 4);
  EXPECT_THAT(LearningRateAt(s, 4), DoubleEq(0.01));
  EXPECT_THAT(LearningRateAt(s, 8), DoubleEq(0.01 * 0.5 * (1 + std::cos(std::numbers::pi / 4))));
  EXPECT_THAT(LearningRateAt(s, 12), DoubleEq(0.005));
  EXPECT_THAT(LearningRateAt(s, 19),
              DoubleEq(0.01 * 0.5 * (1 + std::cos(std::numbers::pi * 15 / 16))));
  EXPECT_THAT(LearningRateAt(s, 20), DoubleNear(0, 1e-18));
  for (int step = 4; step < 20; ++step) {
    EXPECT_GT(LearningRateAt(s, step), LearningRateAt(s, step + 1)) << step;
  }
}

TEST(LearningRateAtTest, ConstantHoldsThePeakAfterWarmUp) {
  const auto s = Schedule(config::Schedule::kConstant, 20, 4);
  for (int step = 3; step < 20; ++step) {
    EXPECT_THAT(LearningRateAt(s, step), DoubleEq(0.01)) << step;
  }
}

TEST(LearningRateAtTest, WithoutWarmUpStartsAtThePeak) {
  EXPECT_THAT(LearningRateAt(Schedule(config::Schedule::kCosine, 10, 0), 0), DoubleEq(0.01));
  EXPECT_THAT(LearningRateAt(Schedule(config::Schedule::kCosine, 10, 0), 5), DoubleEq(0.005));
  EXPECT_THAT(LearningRateAt(Schedule(config::Schedule::kConstant, 10, 0), 0), DoubleEq(0.01));
}

text::PackedSequences PackOrDie(const std::vector<text::Document>& docs, int length) {
  absl::StatusOr<text::PackedSequences> packed = text::Pack(docs, text::ByteTokenizer(), length);
  EXPECT_THAT(packed, IsOk());
  return packed.ok() ? *std::move(packed) : text::PackedSequences();
}

std::vector<int64_t> Ints(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

TEST(MakeBatchTest, ShiftsTargetsByOneAndMasksByWhatCounts) {
  // Rows [B h i E B] and [B x E P P] (packing.h); targets are tokens 1..L of each row.
  const text::PackedSequences data =
      PackOrDie({{"hi", "a.txt", 0, "a"}, {"x", "a.txt", 0, "a"}}, 4);
  ASSERT_EQ(data.rows(), 2);
  Batch batch = MakeBatch(data, {1, 0});
  EXPECT_EQ(batch.inputs.dtype(), torch::kInt64);
  EXPECT_EQ(batch.targets.dtype(), torch::kInt64);
  EXPECT_EQ(batch.mask.dtype(), torch::kFloat32);
  EXPECT_THAT(Ints(batch.inputs), ElementsAre(B, 'x', E, P, B, 'h', 'i', E));
  EXPECT_THAT(Ints(batch.targets), ElementsAre('x', E, P, P, 'h', 'i', E, B));
  EXPECT_THAT(fixtures::FloatValues(batch.mask), ElementsAre(1, 1, 0, 0, 1, 1, 1, 0));
}

// A byte-level model: vocab 259 (ByteTokenizer), hidden 32, 2 layers, 4 heads, 2 KV heads.
ModelConfig ByteConfig() {
  ModelConfig c = fixtures::TinyConfig();
  c.vocab_size = text::ByteTokenizer::kVocabSize;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.head_dim = 8;
  c.tie_word_embeddings = true;
  return c;
}

// Pretrains a random byte-level model on the "en" grammar for 60 steps.
absl::StatusOr<TrainResult> Pretrain(CausalLm& model) {
  const text::PackedSequences train = PackOrDie(fixtures::GrammarDocuments(200, 1, "en"), 32);
  TrainOptions options;
  options.schedule = Schedule(config::Schedule::kCosine, 60, 5);
  options.schedule.batch_size = 8;
  options.schedule.seed = 3;
  return Train(model, train, options, {});
}

TEST(TrainTest, PretrainingOnASyntheticLanguageLowersHeldOutLoss) {
  const text::PackedSequences held_out = PackOrDie(fixtures::GrammarDocuments(20, 2, "en"), 32);
  CausalLm model(ByteConfig());
  model->InitRandom(1);
  const double before = Evaluate(model, held_out).total.MeanNll();
  EXPECT_NEAR(before, std::log(259.0), 0.1);  // a random model is close to uniform
  absl::StatusOr<TrainResult> result = Pretrain(model);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->steps_done, 60);
  EXPECT_FALSE(result->aborted);
  EXPECT_GT(result->tokens, 60 * 8 * 20);
  const double after = Evaluate(model, held_out).total.MeanNll();
  EXPECT_LT(after, before - 2.0) << "before " << before << " nats/token, after " << after;
  EXPECT_LT(result->last_loss, before - 2.0);
}

// FFA-LoRA (B only) adapts the pretrained model to the other flavour of the grammar, and
// leaves every base weight as it was.
TEST(TrainTest, LoraAdaptsAPretrainedModelToANewLanguage) {
  CausalLm model(ByteConfig());
  model->InitRandom(1);
  ASSERT_THAT(Pretrain(model), IsOk());
  std::map<std::string, torch::Tensor> base;
  for (const auto& [name, t] : model->BaseWeights()) base[name] = t.detach().clone();
  ASSERT_THAT(InjectLora(model, {.rank = 8,
                                 .alpha = 16,
                                 .dropout = 0,
                                 .target_modules = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"}}),
              IsOk());
  SeedLoraA(model, 4);
  SetTrainable(model, TrainedMatrices::kB);
  const text::PackedSequences train = PackOrDie(fixtures::GrammarDocuments(100, 5, "fr", 1), 32);
  const text::PackedSequences held_out = PackOrDie(fixtures::GrammarDocuments(20, 6, "fr", 1), 32);
  const double before = Evaluate(model, held_out).total.MeanNll();
  TrainOptions options;
  options.schedule = Schedule(config::Schedule::kConstant, 40, 0);
  options.schedule.learning_rate = 0.02;
  options.schedule.batch_size = 8;
  ASSERT_THAT(Train(model, train, options, {}), IsOk());
  const double after = Evaluate(model, held_out).total.MeanNll();
  EXPECT_LT(after, before - 0.5) << "before " << before << " nats/token, after " << after;
  for (const auto& [name, t] : model->BaseWeights()) {
    EXPECT_TRUE(torch::equal(t, base.at(name))) << name << " changed";
  }
}

TEST(TrainTest, RefusesWhenNothingTrainsOrThereIsNoData) {
  CausalLm model = fixtures::MakeModel(ByteConfig(), 1);
  const text::PackedSequences data = PackOrDie(fixtures::GrammarDocuments(2, 1, "en"), 16);
  SetTrainable(model, TrainedMatrices::kB);  // no LoRA: nothing requires grad
  EXPECT_THAT(Train(model, data, {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("requires grad")));
  CausalLm trainable = fixtures::MakeModel(ByteConfig(), 1);
  EXPECT_THAT(Train(trainable, text::PackedSequences(), {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no training sequences")));
}

// One step over every row (so the batch is the whole data, whatever the order): SGD moves
// each trained tensor by exactly −lr·gradient; AdamW's first step is close to −lr·sign.
TEST(TrainTest, SgdStepsAlongTheNegativeGradientAndAdamWByItsSign) {
  const text::PackedSequences data = PackOrDie(fixtures::GrammarDocuments(3, 1, "en"), 16);
  auto fresh = [] {
    CausalLm model = fixtures::MakeModel(ByteConfig(), 1);
    EXPECT_THAT(InjectLora(model, {.rank = 2, .alpha = 4, .dropout = 0,
                                   .target_modules = {"q_proj", "v_proj"}}),
                IsOk());
    SeedLoraA(model, 5);
    SetTrainable(model, TrainedMatrices::kAB);
    return model;
  };
  // The expected gradient: the same loss on every row, by hand.
  CausalLm reference = fresh();
  std::vector<int64_t> all(static_cast<size_t>(data.rows()));
  for (int64_t r = 0; r < data.rows(); ++r) all[static_cast<size_t>(r)] = r;
  Batch batch = MakeBatch(data, all);
  (reference->NllSum(batch.inputs, batch.targets, batch.mask) / batch.mask.sum()).backward();
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> before;  // value, gradient
  for (auto& [name, p] : LoraParameters(reference)) {
    before[name] = {p.detach().clone(), p.grad().clone()};
  }
  ASSERT_FALSE(before.empty());

  for (config::LocalOptimizer optimizer :
       {config::LocalOptimizer::kSgd, config::LocalOptimizer::kAdamW}) {
    CausalLm model = fresh();
    TrainOptions options;
    options.schedule = Schedule(config::Schedule::kConstant, 1, 0);
    options.schedule.optimizer = optimizer;
    options.schedule.learning_rate = 0.5;
    options.schedule.batch_size = static_cast<int>(data.rows());
    options.schedule.gradient_clip = 0;
    ASSERT_THAT(Train(model, data, options, {}), IsOk());
    for (auto& [name, p] : LoraParameters(model)) {
      const auto& [value, gradient] = before.at(name);
      const torch::Tensor moved = p.detach() - value;
      if (optimizer == config::LocalOptimizer::kSgd) {
        EXPECT_TRUE(torch::allclose(moved, -0.5 * gradient, 1e-4, 1e-7)) << name;
      } else {
        const torch::Tensor where = gradient.abs() > 1e-6;
        EXPECT_TRUE(torch::allclose(moved.masked_select(where),
                                    -0.5 * gradient.sign().masked_select(where), 1e-2, 1e-3))
            << name;
      }
    }
  }
}

// ---- Resumption ----

// A LoRA run small enough to repeat several times: 12 steps of 2 × 4 rows over ~60 rows, so
// the data order wraps into a second epoch.
class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = torch::get_num_threads();
    torch::set_num_threads(1);  // bit-for-bit comparisons between runs
    data_ = PackOrDie(fixtures::GrammarDocuments(12, 5, "en"), 16);
    ASSERT_GT(data_.rows(), 30);
    ASSERT_LT(data_.rows(), 12 * 2 * 4);
  }
  void TearDown() override { torch::set_num_threads(threads_); }

  // The same starting point every time: fixed base weights, seeded A, zero B. With LoRA
  // dropout, so that bit-identical resumption also covers the dropout masks' randomness.
  CausalLm FreshModel() {
    CausalLm model = fixtures::MakeModel(ByteConfig(), 1);
    EXPECT_THAT(InjectLora(model, {.rank = 4,
                                   .alpha = 8,
                                   .dropout = 0.1,
                                   .target_modules = {"q_proj", "v_proj", "down_proj"}}),
                IsOk());
    SeedLoraA(model, 11);
    SetTrainable(model, TrainedMatrices::kAB);
    return model;
  }

  TrainOptions Options(int steps, bool with_checkpoint) {
    TrainOptions o;
    o.schedule = Schedule(config::Schedule::kCosine, steps, 2);
    o.schedule.batch_size = 4;
    o.schedule.gradient_accumulation = 2;
    o.schedule.seed = 9;
    o.schedule.weight_decay = 0.01;
    if (with_checkpoint) o.checkpoint = checkpoint_;
    o.checkpoint_every = 5;
    return o;
  }

  // The adapter after an uninterrupted run of `steps`.
  std::map<std::string, torch::Tensor> Uninterrupted(int steps) {
    CausalLm model = FreshModel();
    absl::StatusOr<TrainResult> r = Train(model, data_, Options(steps, false), {});
    EXPECT_THAT(r, IsOk());
    return LoraParameters(model);
  }

  // Trains with the checkpoint and aborts once `abort_after` steps are done.
  absl::StatusOr<TrainResult> RunAndAbort(int steps, int abort_after) {
    CausalLm model = FreshModel();
    int done = 0;
    TrainHooks hooks{.should_abort = [&] { return done >= abort_after; },
                     .on_step = [&](const StepReport&) { ++done; }};
    return Train(model, data_, Options(steps, true), hooks);
  }

  static void ExpectSameAdapter(const std::map<std::string, torch::Tensor>& got,
                                const std::map<std::string, torch::Tensor>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [name, t] : want) {
      EXPECT_TRUE(torch::equal(got.at(name), t)) << name << " differs";
    }
  }

  int threads_ = 0;
  text::PackedSequences data_;
  testing::TempDir tmp_;
  fs::path checkpoint_ = tmp_.path() / "train.ckpt";
};

TEST_F(ResumeTest, AbortedRunResumesWhereItStoppedAndEndsBitIdentical) {
  const auto expected = Uninterrupted(12);

  absl::StatusOr<TrainResult> first = RunAndAbort(12, 7);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->aborted);
  EXPECT_EQ(first->steps_done, 7);
  ASSERT_TRUE(fs::exists(checkpoint_));

  CausalLm model = FreshModel();
  absl::StatusOr<TrainResult> second = Train(model, data_, Options(12, true), {});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->resumed_at, 7);
  EXPECT_EQ(second->steps_done, 5);
  EXPECT_FALSE(second->aborted);
  EXPECT_FALSE(fs::exists(checkpoint_));  // finished: nothing left to resume
  ExpectSameAdapter(LoraParameters(model), expected);

  // The comparison has teeth: a run one step shorter ends elsewhere.
  const auto shorter = Uninterrupted(11);
  int differing = 0;
  for (const auto& [name, t] : expected) differing += !torch::equal(shorter.at(name), t);
  EXPECT_GT(differing, 0);
}

// A crash after the periodic checkpoint at step 5: the run resumes from step 5.
TEST_F(ResumeTest, PeriodicCheckpointResumesBitIdentical) {
  const auto expected = Uninterrupted(12);
  const fs::path saved = tmp_.path() / "step5.ckpt";
  {
    CausalLm model = FreshModel();
    TrainHooks hooks{.on_step = [&](const StepReport& report) {
      // on_step(6) runs before step 6's save point; the file still holds step 5's state.
      if (report.step == 6) fs::copy_file(checkpoint_, saved);
    }};
    ASSERT_THAT(Train(model, data_, Options(12, true), hooks), IsOk());
  }
  ASSERT_TRUE(fs::exists(saved));
  fs::copy_file(saved, checkpoint_);
  CausalLm model = FreshModel();
  absl::StatusOr<TrainResult> resumed = Train(model, data_, Options(12, true), {});
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ(resumed->resumed_at, 5);
  EXPECT_EQ(resumed->steps_done, 7);
  ExpectSameAdapter(LoraParameters(model), expected);
}

TEST_F(ResumeTest, CheckpointOfADifferentRunIsIgnored) {
  ASSERT_THAT(RunAndAbort(12, 3), IsOk());
  ASSERT_TRUE(fs::exists(checkpoint_));
  CausalLm model = FreshModel();
  absl::StatusOr<TrainResult> other = Train(model, data_, Options(10, true), {});  // 10 steps
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->resumed_at, 0);
  EXPECT_EQ(other->steps_done, 10);
  ExpectSameAdapter(LoraParameters(model), Uninterrupted(10));
}

TEST_F(ResumeTest, UnreadableCheckpointIsIgnored) {
  { std::ofstream(checkpoint_) << "not a checkpoint"; }
  CausalLm model = FreshModel();
  absl::StatusOr<TrainResult> r = Train(model, data_, Options(4, true), {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->resumed_at, 0);
  EXPECT_EQ(r->steps_done, 4);
  ExpectSameAdapter(LoraParameters(model), Uninterrupted(4));
}

TEST_F(ResumeTest, AbortBeforeTheFirstStepChangesNothing) {
  CausalLm model = FreshModel();
  const auto before = LoraParameters(model);
  std::map<std::string, torch::Tensor> copy;
  for (const auto& [n, t] : before) copy[n] = t.detach().clone();
  absl::StatusOr<TrainResult> r =
      Train(model, data_, Options(12, false), {.should_abort = [] { return true; }});
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->aborted);
  EXPECT_EQ(r->steps_done, 0);
  ExpectSameAdapter(LoraParameters(model), copy);
}

TEST_F(ResumeTest, ReportsEveryStepWithItsLearningRate) {
  CausalLm model = FreshModel();
  std::vector<StepReport> reports;
  const TrainOptions options = Options(6, false);
  absl::StatusOr<TrainResult> r =
      Train(model, data_, options, {.on_step = [&](const StepReport& s) { reports.push_back(s); }});
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(reports.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(reports[i].step, i + 1);
    EXPECT_EQ(reports[i].steps, 6);
    EXPECT_THAT(reports[i].learning_rate, DoubleEq(LearningRateAt(options.schedule, i)));
    EXPECT_GT(reports[i].loss, 0);
    EXPECT_TRUE(std::isfinite(reports[i].loss));
  }
  EXPECT_EQ(r->last_loss, reports.back().loss);
  EXPECT_GT(r->tokens_per_second, 0);
  EXPECT_FALSE(model->is_training());
}

}  // namespace
}  // namespace tontine::ml
