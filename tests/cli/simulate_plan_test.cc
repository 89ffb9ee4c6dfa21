#include "cli/simulate_plan.h"

#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/base/files.h"
#include "common/config/client_config.h"
#include "common/config/coordinator_config.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::SourceDir;
using tontine::testing::StatusIs;

TEST(SimulatePlanTest, TheGeneratedCoordinatorConfigLoadsWithTheExperiment) {
  testing::TempDir dir;
  const fs::path run = dir.path() / "run with \"quotes\": and spaces";
  const fs::path experiment = SourceDir() / "configs/experiments/udhr-demo.yaml";
  ASSERT_THAT(MakeDirs(run), IsOk());
  const RunLayout layout(run);
  ASSERT_THAT(WriteFileAtomic(layout.coordinator_yaml,
                              CoordinatorYaml(layout.coordinator_state, experiment)),
              IsOk());
  absl::StatusOr<config::CoordinatorConfig> config =
      config::LoadCoordinatorConfig(layout.coordinator_yaml);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->state_dir, layout.coordinator_state);
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_FALSE(config->insecure);
  EXPECT_EQ(fs::weakly_canonical(config->experiment_path), fs::weakly_canonical(experiment));
  EXPECT_EQ(config->experiment.name, "udhr-demo");
}

TEST(SimulatePlanTest, TheGeneratedClientConfigLoads) {
  testing::TempDir dir;
  const RunLayout layout(dir.path());
  ASSERT_THAT(MakeDirs(layout.ClientData(3)), IsOk());
  ASSERT_THAT(MakeDirs(layout.ClientYaml(3).parent_path()), IsOk());
  for (const std::optional<fs::path>& base : {std::optional<fs::path>(), std::optional(dir.path())}) {
    ASSERT_THAT(WriteFileAtomic(layout.ClientYaml(3),
                                ClientYaml(layout.ClientState(3), layout.ClientData(3), base, 2)),
                IsOk());
    absl::StatusOr<config::ClientConfig> config = config::LoadClientConfig(layout.ClientYaml(3));
    ASSERT_THAT(config, IsOk());
    EXPECT_EQ(config->state_dir, layout.ClientState(3));
    EXPECT_EQ(config->data_dir, layout.ClientData(3));
    EXPECT_EQ(config->base_model_dir, base);
    EXPECT_EQ(config->threads, 2);
    EXPECT_EQ(config->log_level, "info");
  }
}

TEST(SimulatePlanTest, RunLayoutPlacesEveryFileUnderTheRunDirectory) {
  const RunLayout layout("/runs/r1");
  EXPECT_EQ(layout.coordinator_state, "/runs/r1/coordinator");
  EXPECT_EQ(layout.CoordinatorLog(), "/runs/r1/logs/coordinator.log");
  EXPECT_EQ(layout.ClientYaml(2), "/runs/r1/clients/client-2/client.yaml");
  EXPECT_EQ(layout.ClientState(2), "/runs/r1/clients/client-2/state");
  EXPECT_EQ(layout.ClientData(2), "/runs/r1/data/client-2");
  EXPECT_EQ(layout.ClientLog(2), "/runs/r1/logs/client-2.log");
}

// The phase names --drop-at receives are the ones the experiment file accepts.
TEST(SimulatePlanTest, PhaseNamesAreTheExperimentFilesSpelling) {
  testing::TempDir dir;
  for (const char* phase : {"advertise_keys", "share_keys", "training", "masked_input", "unmask"}) {
    const fs::path file = dir.path() / "exp.yaml";
    std::ofstream(file) << "kind: experiment\nname: t\nsimulate:\n  dropout: {phase: " << phase
                        << ", probability: 0.5}\n";
    absl::StatusOr<config::ExperimentConfig> experiment = config::LoadExperimentConfig(file);
    ASSERT_THAT(experiment, IsOk());
    ASSERT_EQ(experiment->simulate.dropout.size(), 1u);
    EXPECT_EQ(PhaseName(experiment->simulate.dropout[0].phase), phase);
  }
}

TEST(SimulatePlanTest, JoinPassesTheClientsDropoutFlags) {
  const std::vector<std::string> plain = {"/bin/tontine-client", "join", "--config", "/c.yaml",
                                          "--state-dir", "/s"};
  EXPECT_THAT(JoinArgv("/bin/tontine-client", "/c.yaml", "/s", std::nullopt, 9),
              ElementsAreArray(plain));
  std::vector<std::string> dropping = plain;
  dropping.insert(dropping.end(), {"--drop-at", "masked_input", "--drop-probability", "0.25",
                                   "--drop-seed", "9"});
  EXPECT_THAT(JoinArgv("/bin/tontine-client", "/c.yaml", "/s",
                       config::SimulatedDropout{config::SimulatedPhase::kMaskedInput, 0.25}, 9),
              ElementsAreArray(dropping));
}

TEST(SimulatePlanTest, SeveralDropoutEntriesAreDealtToTheClientsInTurn) {
  const std::vector<config::SimulatedDropout> dropout = {
      {config::SimulatedPhase::kTraining, 0.1}, {config::SimulatedPhase::kUnmask, 1}};
  EXPECT_FALSE(DropoutOf({}, 0).has_value());
  EXPECT_EQ(DropoutOf(dropout, 0)->phase, config::SimulatedPhase::kTraining);
  EXPECT_EQ(DropoutOf(dropout, 1)->phase, config::SimulatedPhase::kUnmask);
  EXPECT_EQ(DropoutOf(dropout, 4)->phase, config::SimulatedPhase::kTraining);
  EXPECT_EQ(DropoutOf(dropout, 5)->probability, 1);
}

TEST(SimulatePlanTest, DropSeedsDifferPerClientAndFollowTheSeed) {
  std::set<uint64_t> seeds;
  for (int i = 0; i < 100; ++i) seeds.insert(DropSeed(1, i));
  EXPECT_EQ(seeds.size(), 100u);
  EXPECT_EQ(DropSeed(1, 5), DropSeed(1, 5));
  EXPECT_NE(DropSeed(1, 5), DropSeed(2, 5));
}

TEST(SimulatePlanTest, DefaultOutDirNamesTheExperimentAndTheUtcTime) {
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 11, 21, 16, 5, 9), absl::UTCTimeZone());
  EXPECT_EQ(DefaultOutDir("/work", "udhr-demo", t), "/work/simulate-runs/udhr-demo-20261121T160509Z");
}

TEST(SimulatePlanTest, PrepareOutDirNeverReusesADirectoryWithFiles) {
  testing::TempDir dir;
  EXPECT_THAT(PrepareOutDir(dir.path() / "a/b"), IsOk());
  EXPECT_TRUE(fs::is_directory(dir.path() / "a/b"));
  EXPECT_THAT(PrepareOutDir(dir.path() / "a/b"), IsOk());  // empty: fine
  std::ofstream(dir.path() / "a/b/report.json") << "{}";
  EXPECT_THAT(PrepareOutDir(dir.path() / "a/b"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is not empty")));
  EXPECT_THAT(PrepareOutDir(dir.path() / "a/b/report.json"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a directory")));
}

TEST(SimulatePlanTest, FindBinariesLooksNextToTontine) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "tontine-coordinator");
  EXPECT_THAT(FindBinaries(dir.path() / "tontine"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr((dir.path() / "tontine-client").string())));
  std::ofstream(dir.path() / "tontine-client");
  absl::StatusOr<SimulateBinaries> binaries = FindBinaries(dir.path() / "tontine");
  ASSERT_THAT(binaries, IsOk());
  EXPECT_EQ(binaries->coordinator, dir.path() / "tontine-coordinator");
  EXPECT_EQ(binaries->client, dir.path() / "tontine-client");
}

TEST(SimulatePlanTest, RoundTimeoutIsTwiceARoundsDeadlinesAndAtLeastTenMinutes) {
  EXPECT_EQ(RoundTimeout(config::DeadlinesConfig{}), absl::Minutes(33));  // 2 × (5m + 10m + 3×30s)
  config::DeadlinesConfig quick;
  quick.cohort = quick.advertise_keys = quick.share_keys = quick.unmask = absl::Seconds(5);
  quick.masked_input = absl::Minutes(1);
  EXPECT_EQ(RoundTimeout(quick), absl::Minutes(10));
}

TEST(SimulatePlanTest, TheRoundTimeoutFlagOverridesTheDefault) {
  EXPECT_THAT(ResolveRoundTimeout("", config::DeadlinesConfig{}),
              tontine::testing::IsOkAndHolds(absl::Minutes(33)));
  EXPECT_THAT(ResolveRoundTimeout("45m", config::DeadlinesConfig{}),
              tontine::testing::IsOkAndHolds(absl::Minutes(45)));
  EXPECT_THAT(ResolveRoundTimeout("soon", config::DeadlinesConfig{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--round-timeout: 'soon'")));
  EXPECT_THAT(ResolveRoundTimeout("0", config::DeadlinesConfig{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 0")));
}

TEST(SimulatePlanTest, CentralizedScheduleMatchesTheFederationsStepsAndSequences) {
  std::vector<RoundRow> rounds(3);
  rounds[0] = {.round = 1, .outcome = "committed", .participants = 8, .dropped = 0};
  rounds[1] = {.round = 2, .outcome = "aborted", .participants = 3, .dropped = 5};
  rounds[2] = {.round = 3, .outcome = "committed", .participants = 5, .dropped = 3};
  const CentralizedSchedule schedule = CentralizedStepsOf(rounds, 20);
  EXPECT_EQ(schedule.steps, 2 * 20);             // two committed rounds of 20 local steps
  EXPECT_EQ(schedule.batch_factor, 7);    // (8 + 5) / 2 = 6.5, rounded half up
  EXPECT_EQ(CentralizedStepsOf({}, 20).steps, 0);
}

}  // namespace
}  // namespace tontine::cli
