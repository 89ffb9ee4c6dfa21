#include "common/config/experiment_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::config {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

// Reads `yaml` as the experiment file "exp.yaml" in a temporary directory.
class ExperimentConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<ExperimentConfig> Read(const std::string& yaml) {
    absl::StatusOr<ConfigFile> file = ConfigFile::Parse(yaml, "exp.yaml", dir_.path());
    if (!file.ok()) return file.status();
    ExperimentConfig config = ReadExperimentConfig(*file);
    if (absl::Status st = file->ToStatus(); !st.ok()) return st;
    return config;
  }
  // The whole error text for `yaml`, which must fail.
  std::string Errors(const std::string& yaml) {
    absl::StatusOr<ExperimentConfig> config = Read(yaml);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(config.status().message());
  }

  testing::TempDir dir_;
};

TEST_F(ExperimentConfigTest, MinimalFileTakesEveryDefault) {
  absl::StatusOr<ExperimentConfig> c = Read("kind: experiment\nname: tiny\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->name, "tiny");
  EXPECT_FALSE(c->model.base_dir.has_value());
  EXPECT_EQ(c->lora.rank, 8);
  EXPECT_EQ(c->lora.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(c->aggregation.rule, AggregationRule::kFfa);
  EXPECT_EQ(c->secagg.bits, 16);
  EXPECT_FALSE(c->secagg.neighbours.has_value());
  EXPECT_EQ(c->deadlines.masked_input, absl::Minutes(10));
  EXPECT_TRUE(c->simulate.dropout.empty());
}

TEST_F(ExperimentConfigTest, ReadsEverySectionIntoTypedFields) {
  std::filesystem::create_directories(dir_.path() / "base");
  std::filesystem::create_directories(dir_.path() / "data");
  absl::StatusOr<ExperimentConfig> c = Read(R"(kind: experiment
name: full.run-1
model: {base: base, tokenizer: hf}
lora: {rank: 4, alpha: 8, dropout: 0, target_modules: [q_proj, k_proj, down_proj], seed: 7}
rounds: {count: 3, target_perplexity: 12.5}
cohort: {min_participants: 3, max_participants: 6, sampling: round_robin,
         filter: {language: [wol, yor], region: west}}
local_training: {steps: 5, warmup_steps: 5, schedule: constant, optimizer: sgd,
                 learning_rate: 50}
aggregation: {rule: alternating, server_optimizer: fedyogi, weighting: uniform}
secagg: {bits: 12, neighbours: 4, reconstruction_threshold: 3, prg: chacha20}
deadlines: {cohort: 1m, unmask: 1500ms}
evaluation: {held_out_fraction: 0.2, group_by_tag: region}
simulate:
  clients: 6
  data: data
  dropout: [{phase: share_keys, probability: 0.1}, {phase: training, probability: 0.5}]
)");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->model.base_dir, (dir_.path() / "base").lexically_normal());
  EXPECT_EQ(c->model.tokenizer, TokenizerKind::kHuggingFace);
  EXPECT_EQ(c->lora.seed, 7u);
  EXPECT_EQ(c->cohort.sampling, Sampling::kRoundRobin);
  EXPECT_EQ(c->cohort.filter.at("language"), (std::vector<std::string>{"wol", "yor"}));
  EXPECT_EQ(c->cohort.filter.at("region"), (std::vector<std::string>{"west"}));
  EXPECT_EQ(c->local_training.schedule, Schedule::kConstant);
  EXPECT_EQ(c->local_training.optimizer, LocalOptimizer::kSgd);
  EXPECT_DOUBLE_EQ(c->local_training.learning_rate, 50);
  EXPECT_EQ(c->aggregation.server_optimizer, ServerOptimizer::kFedYogi);
  EXPECT_EQ(c->secagg.neighbours, 4);
  EXPECT_EQ(c->secagg.reconstruction_threshold, 3);
  EXPECT_EQ(c->secagg.prg, PrgChoice::kChaCha20);
  EXPECT_EQ(c->deadlines.unmask, absl::Milliseconds(1500));
  ASSERT_EQ(c->simulate.dropout.size(), 2u);
  EXPECT_EQ(c->simulate.dropout[1].phase, SimulatedPhase::kTraining);
  EXPECT_DOUBLE_EQ(c->simulate.dropout[1].probability, 0.5);
}

TEST_F(ExperimentConfigTest, MisspelledKeyNamesLineColumnAndSuggestion) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  rnak: 8\n"),
            "exp.yaml:4:3: unknown key 'rnak' in 'lora'; did you mean 'rank'?");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nmodle: {}\n"),
            "exp.yaml:3:1: unknown top-level key 'modle'; did you mean 'model'?");
}

TEST_F(ExperimentConfigTest, UnknownKeyWithoutNearMatchListsTheKnownKeys) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nrounds: {colour: red}\n"),
            "exp.yaml:3:10: unknown key 'colour' in 'rounds' (known keys: count, "
            "target_perplexity)");
}

TEST_F(ExperimentConfigTest, WrongTypeNamesWhatWasExpectedAndFound) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  rank: eight\n"),
            "exp.yaml:4:9: lora.rank: expected an integer, got 'eight'");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  alpha: [1, 2]\n"),
            "exp.yaml:4:10: lora.alpha: expected a number, got a list");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora: 3\n"),
            "exp.yaml:3:7: lora: expected a mapping of keys to values, got '3'");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  target_modules: q_proj\n"),
            "exp.yaml:4:19: lora.target_modules: expected a list such as [a, b], got 'q_proj'");
}

TEST_F(ExperimentConfigTest, OutOfRangeValueStatesTheRange) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  rank: 0\n"),
            "exp.yaml:4:9: lora.rank: 0 is out of range; must be between 1 and 1024");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora: {dropout: 1}\n"),
            "exp.yaml:3:17: lora.dropout: 1 is out of range; must be at least 0 and less than 1");
  EXPECT_EQ(Errors("kind: experiment\nname: x\ndeadlines: {unmask: 0s}\n"),
            "exp.yaml:3:21: deadlines.unmask: must be positive, got 0s");
  EXPECT_EQ(Errors("kind: experiment\nname: x\ndeadlines: {share_keys: 10ms}\n"),
            "exp.yaml:3:25: deadlines.share_keys: 10ms is out of range; must be between "
            "100ms and 7d");
}

TEST_F(ExperimentConfigTest, UnknownEnumValueSuggestsTheNearestChoice) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\naggregation: {rule: ffaa}\n"),
            "exp.yaml:3:21: aggregation.rule: unknown value 'ffaa'; did you mean 'ffa'? "
            "(one of ffa, alternating, fedit)");
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlocal_training: {optimizer: adam}\n"),
            "exp.yaml:3:29: local_training.optimizer: unknown value 'adam'; did you mean "
            "'adamw'? (one of adamw, sgd)");
}

TEST_F(ExperimentConfigTest, ReconstructionThresholdAboveCohortSizeIsRefused) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\ncohort: {min_participants: 3}\n"
                   "secagg: {reconstruction_threshold: 4}\nsimulate: {clients: 3}\n"),
            "exp.yaml:4:36: secagg.reconstruction_threshold: 4 exceeds the smallest cohort "
            "(cohort.min_participants = 3); such a round could never be unmasked");
}

TEST_F(ExperimentConfigTest, MinParticipantsAboveMaxIsRefused) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\n"
                   "cohort: {min_participants: 6, max_participants: 5}\n"
                   "simulate: {clients: 6}\n"),
            "exp.yaml:3:28: cohort.min_participants: 6 is greater than "
            "cohort.max_participants (5)");
}

TEST_F(ExperimentConfigTest, RingBoundViolationIsRefusedAtTheBitsKey) {
  // 1000 · (2^23 − 1) ≥ 2^31.
  EXPECT_EQ(Errors("kind: experiment\nname: x\ncohort: {max_participants: 1000}\n"
                   "secagg: {bits: 24}\n"),
            "exp.yaml:4:16: secagg.bits: with 24 bits and cohort.max_participants = 1000 the "
            "sum can overflow: n·(2^(B−1)−1) = 8388607000 must stay below 2^31; lower "
            "secagg.bits or the cohort size");
  // The largest cohort that fits 16 bits: 65538 · 32767 < 2^31.
  EXPECT_THAT(Read("kind: experiment\nname: x\ncohort: {max_participants: 65538}\n"), IsOk());
}

TEST_F(ExperimentConfigTest, ThresholdAboveNeighboursAndWarmupAboveStepsAreRefused) {
  EXPECT_THAT(Read("kind: experiment\nname: x\nsecagg: {neighbours: 3, "
                   "reconstruction_threshold: 4}\ncohort: {min_participants: 4}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("secagg.reconstruction_threshold: 4 exceeds secagg.neighbours (3)")));
  EXPECT_THAT(Read("kind: experiment\nname: x\nlocal_training: {steps: 3, warmup_steps: 4}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exp.yaml:3:42: local_training.warmup_steps: 4 exceeds "
                                 "local_training.steps (3)")));
}

TEST_F(ExperimentConfigTest, PathsMustExist) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nmodel: {base: nowhere}\n"),
            "exp.yaml:3:15: model.base: directory does not exist: " +
                (dir_.path() / "nowhere").string());
  EXPECT_EQ(Errors("kind: experiment\nname: x\nsimulate: {data: ../x/../missing}\n"),
            "exp.yaml:3:18: simulate.data: directory does not exist: " +
                (dir_.path().parent_path() / "missing").string());
}

TEST_F(ExperimentConfigTest, KindAndNameAreRequiredAndChecked) {
  EXPECT_EQ(Errors("name: x\n"),
            "exp.yaml:1:1: kind: missing; every Tontine config file says what it is with kind: "
            "experiment, coordinator or client");
  EXPECT_EQ(Errors("kind: client\nname: x\n"),
            "exp.yaml:1:7: kind: this is a 'client' file, but a 'experiment' file is needed here");
  EXPECT_EQ(Errors("kind: experiment\n"), "exp.yaml:1:1: missing required key 'name'");
  EXPECT_THAT(Read("kind: experiment\nname: Big Name\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exp.yaml:2:7: name: 'Big Name' is not a valid name")));
}

TEST_F(ExperimentConfigTest, EveryErrorInTheFileIsReportedInFileOrder) {
  std::string errors = Errors(
      "kind: experiment\nname: x\nlora: {rank: 0}\nrounds: {count: many}\nsecagg: {bitz: 8}\n");
  EXPECT_EQ(errors,
            "exp.yaml:3:14: lora.rank: 0 is out of range; must be between 1 and 1024\n"
            "exp.yaml:4:17: rounds.count: expected an integer, got 'many'\n"
            "exp.yaml:5:10: unknown key 'bitz' in 'secagg'; did you mean 'bits'?");
}

TEST_F(ExperimentConfigTest, DuplicateKeysAndYamlSyntaxErrorsArePositioned) {
  EXPECT_EQ(Errors("kind: experiment\nname: x\nlora:\n  rank: 4\n  rank: 8\n"),
            "exp.yaml:5:3: duplicate key 'lora.rank' (first at line 4)");
  absl::StatusOr<ExperimentConfig> bad = Read("kind: experiment\nname: x\nlora: {rank: 8\n");
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("exp.yaml:4:1: invalid YAML")));
}

TEST_F(ExperimentConfigTest, BooleansAreOnlyTrueOrFalse) {
  // `no` is a string in YAML 1.2; accepting it as false would be a silent surprise.
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("flag: no\n", "b.yaml", dir_.path());
  ASSERT_THAT(file, IsOk());
  MapReader root(&*file, file->root(), "");
  bool flag = true;
  root.Bool("flag", &flag);
  root.Finish();
  EXPECT_EQ(file->ToStatus().message(), "b.yaml:1:7: flag: expected true or false, got 'no'");
  EXPECT_TRUE(flag);
}

TEST_F(ExperimentConfigTest, LoadExperimentConfigNamesAMissingFile) {
  EXPECT_THAT(LoadExperimentConfig(dir_.path() / "absent.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.yaml")));
}

}  // namespace
}  // namespace tontine::config
