// `tontine simulate` end to end: a tiny base model pretrained here, four real tontine-client
// processes (two languages, two clients each) with a real tontine-coordinator over TLS, one
// client killed in training every round and restarted, the centralized baseline, a --set
// override that reaches the coordinator, and the perplexity plot.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "tests/testing/process.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::RunResult;

TEST(SimulateE2eTest, FederatesWithDropoutsAndWritesTheReport) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  RunResult pretrain = testing::Run(
      {testing::Binary("tontine"), "pretrain", "--data",
       (testing::SourceDir() / "examples/data/pretrain").string(), "--out",
       (root / "base").string(), "--steps", "20", "--hidden", "32", "--layers", "1", "--heads",
       "2", "--intermediate", "64", "--threads", "1"},
      absl::Minutes(3));
  ASSERT_EQ(pretrain.exit_code, 0) << pretrain.err;
  ASSERT_TRUE(WriteFileAtomic(root / "experiment.yaml", absl::StrCat(R"(kind: experiment
name: simulate-e2e
model: {base: )", (root / "base").string(), R"(}
lora: {rank: 4, alpha: 8, target_modules: [q_proj, v_proj, gate_proj]}
rounds: {count: 1}
cohort: {min_participants: 4, max_participants: 4}
local_training: {steps: 3, batch_size: 4, sequence_length: 64, learning_rate: 0.01}
secagg: {neighbours: 3, reconstruction_threshold: 2}
deadlines: {advertise_keys: 20s, share_keys: 20s, masked_input: 2m, unmask: 20s}
simulate:
  clients: 4
  data: )", (testing::SourceDir() / "examples/data/community").string(), R"(
  languages: [wol, yor]
  dropout: {phase: training, probability: 0.3}
  seed: 3
)")).ok());
  RunResult run = testing::Run({testing::Binary("tontine"), "simulate", "--config",
                                (root / "experiment.yaml").string(), "--out",
                                (root / "run").string(), "--centralized", "--threads", "1",
                                // The file says one round: the coordinator must run two.
                                "--set", "rounds.count=2"},
                               absl::Minutes(8));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("base"));
  EXPECT_THAT(run.out, HasSubstr("macro"));

  absl::StatusOr<std::string> text = ReadFile(root / "run" / "report.json");
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json report = nlohmann::json::parse(*text);
  ASSERT_TRUE(report.contains("base"));
  const double base = report["base"]["macro_perplexity"].get<double>();
  EXPECT_GT(base, 1.0);
  int committed = 0;
  for (const nlohmann::json& round : report["rounds"]) {
    for (const char* key : {"round", "participants", "dropped", "bytes_up", "bytes_down",
                            "seconds"}) {
      EXPECT_TRUE(round.contains(key)) << key << " in " << round.dump();
    }
    if (round.value("outcome", "") != "committed") continue;
    ++committed;
    EXPECT_GE(round["participants"].get<int>(), 2);
    EXPECT_GT(round["bytes_up"].get<int64_t>(), 0);
    EXPECT_GT(round["macro_perplexity"].get<double>(), 1.0);
    EXPECT_TRUE(round["perplexity_by_language"].contains("wol"));
    EXPECT_TRUE(round["perplexity_by_language"].contains("yor"));
  }
  EXPECT_EQ(committed, 2);
  ASSERT_TRUE(report.contains("centralized"));
  EXPECT_GT(report["centralized"]["macro_perplexity"].get<double>(), 1.0);
  absl::StatusOr<std::string> csv = ReadFile(root / "run" / "report.csv");
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(*csv, HasSubstr("perplexity_wol"));
  EXPECT_EQ(report["overrides"], nlohmann::json::array({"rounds.count=2"}));

  // The plot beside the report: a standalone SVG naming every language, the macro average and
  // the centralized baseline.
  absl::StatusOr<std::string> svg = ReadFile(root / "run" / "perplexity.svg");
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(*svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  for (const char* label : {">wol</text>", ">yor</text>", ">macro average</text>", "centralized"}) {
    EXPECT_THAT(*svg, HasSubstr(label));
  }
}

}  // namespace
}  // namespace tontine
