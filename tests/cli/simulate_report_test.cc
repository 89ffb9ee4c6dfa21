#include "cli/simulate_report.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using tontine::testing::IsOk;

Evaluation Ppl(double wol, double yor) {
  return {.macro_perplexity = (wol + yor) / 2,
          .perplexity_by_language = {{"wol", wol}, {"yor", yor}},
          .details = {{"macro_perplexity", (wol + yor) / 2}}};
}

SimulateReport Sample() {
  SimulateReport r;
  r.experiment = "udhr-demo";
  r.config = "/src/configs/experiments/udhr-demo.yaml";
  r.started = "2026-11-21T16:00:00Z";
  r.clients = 4;
  r.rounds_planned = 10;
  r.languages = {"wol", "yor"};
  r.client_languages = {"wol", "yor", "wol", "yor"};
  r.client_restarts = 1;
  r.base = Ppl(20, 30);
  r.rounds.push_back({.round = 1, .committed = 1, .outcome = "committed", .participants = 4, .dropped = 0,
                      .evaluation = Ppl(14.2, 13.0), .bytes_up = 1'234'567, .bytes_down = 900'000,
                      .seconds = 21.44, .adapter_version = 2,
                      .coordinator_metrics = {{"tokens", 10}}});
  r.rounds.push_back({.round = 2, .outcome = "aborted",
                      .reason = "2 survivors, fewer than t = 3, \"unmask\"", .participants = 2,
                      .dropped = 2, .bytes_up = 10, .bytes_down = 20, .seconds = 3});
  return r;
}

TEST(SimulateReportTest, JsonHasTheBaseAndEveryRoundWithNullPerplexitiesWhenAborted) {
  const nlohmann::json j = ReportJson(Sample());
  EXPECT_EQ(j["experiment"], "udhr-demo");
  EXPECT_EQ(j["client_restarts"], 1);
  EXPECT_DOUBLE_EQ(j["base"]["macro_perplexity"].get<double>(), 25);
  EXPECT_DOUBLE_EQ(j["base"]["perplexity_by_language"]["yor"].get<double>(), 30);
  ASSERT_EQ(j["rounds"].size(), 2u);
  const nlohmann::json& first = j["rounds"][0];
  for (const char* key : {"round", "participants", "dropped", "macro_perplexity",
                          "perplexity_by_language", "bytes_up", "bytes_down", "seconds"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first["round"], 1);
  EXPECT_EQ(first["bytes_up"], 1'234'567);
  EXPECT_DOUBLE_EQ(first["perplexity_by_language"]["wol"].get<double>(), 14.2);
  EXPECT_EQ(first["adapter_version"], 2);
  EXPECT_EQ(first["coordinator_metrics"]["tokens"], 10);
  const nlohmann::json& aborted = j["rounds"][1];
  EXPECT_EQ(aborted["outcome"], "aborted");
  EXPECT_TRUE(aborted["macro_perplexity"].is_null());
  EXPECT_TRUE(aborted["adapter_version"].is_null());
  EXPECT_FALSE(j.contains("centralized"));
}

TEST(SimulateReportTest, JsonHasTheCentralizedBaselineWhenItRan) {
  SimulateReport r = Sample();
  r.centralized = CentralizedRow{.evaluation = Ppl(10, 11), .steps = 80, .sequences = 640,
                                 .seconds = 12.5};
  const nlohmann::json j = ReportJson(r);
  EXPECT_DOUBLE_EQ(j["centralized"]["macro_perplexity"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(j["centralized"]["perplexity_by_language"]["wol"].get<double>(), 10);
  EXPECT_EQ(j["centralized"]["steps"], 80);
  EXPECT_EQ(j["centralized"]["sequences"], 640);
  EXPECT_DOUBLE_EQ(j["centralized"]["seconds"].get<double>(), 12.5);
}

TEST(SimulateReportTest, CsvHasOneColumnPerLanguageAndQuotesFreeText) {
  SimulateReport r = Sample();
  r.centralized = CentralizedRow{.evaluation = Ppl(10, 11), .steps = 80, .sequences = 640,
                                 .seconds = 12.5};
  std::istringstream csv(ReportCsv(r));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "round,outcome,participants,dropped,macro_perplexity,perplexity_wol,perplexity_yor,"
            "bytes_up,bytes_down,seconds,steps,reason");
  EXPECT_EQ(lines[1], "base,,,,25.0000,20.0000,30.0000,,,,,");
  EXPECT_EQ(lines[2], "1,committed,4,0,13.6000,14.2000,13.0000,1234567,900000,21.4,,");
  EXPECT_EQ(lines[3],
            "2,aborted,2,2,,,,10,20,3.0,,\"2 survivors, fewer than t = 3, \"\"unmask\"\"\"");
  EXPECT_EQ(lines[4], "centralized,,,,10.5000,10.0000,11.0000,,,12.5,80,");
}

TEST(SimulateReportTest, WritesJsonCsvAndThePlot) {
  testing::TempDir dir;
  ASSERT_THAT(WriteReport(Sample(), dir.path()), IsOk());
  std::ifstream json(dir.path() / "report.json");
  EXPECT_EQ(nlohmann::json::parse(json)["rounds"].size(), 2u);
  EXPECT_TRUE(fs::exists(dir.path() / "report.csv"));
  std::stringstream svg;
  svg << std::ifstream(dir.path() / "perplexity.svg").rdbuf();
  EXPECT_THAT(svg.str(), HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg.str(), HasSubstr(">wol</text>"));
  EXPECT_THAT(svg.str(), HasSubstr(">yor</text>"));
  EXPECT_THAT(WriteReport(Sample(), dir.path() / "missing"), Not(IsOk()));
}

TEST(SimulateReportTest, RoundLinesShowPerplexityTrafficAndTime) {
  const SimulateReport r = Sample();
  EXPECT_EQ(FormatRoundLine(r.rounds[0], 10),
            "round  1/10  4 participants  0 dropped  ppl wol 14.2 yor 13.0 macro 13.6  "
            "up 1.2 MB down 900.0 KB  21.4 s");
  EXPECT_EQ(FormatRoundLine(r.rounds[1], 10),
            "aborted      2 participants  2 dropped  (2 survivors, fewer than t = 3, "
            "\"unmask\")  up 10 B down 20 B  3.0 s");
  RoundRow third = r.rounds[0];
  third.round = 3;
  third.committed = 2;  // the coordinator's round 3 is the second committed one
  EXPECT_THAT(FormatRoundLine(third, 10), ::testing::StartsWith("round  2/10  4 participants"));
  EXPECT_EQ(FormatEvaluationLine("base", *r.base, 10),
            "base         ppl wol 20.0 yor 30.0 macro 25.0");
}

TEST(SimulateReportTest, SummaryComparesTheLastRoundAndTheBaselineWithTheBase) {
  SimulateReport r = Sample();
  EXPECT_EQ(FormatSummary(r),
            "macro perplexity: base 25.00 → 13.60 after round 1 (-45.6 %)\n"
            "1 round(s) committed, 1 aborted; 2 dropout(s), 1 client restart(s)\n");
  r.centralized = CentralizedRow{.evaluation = Ppl(10, 11), .steps = 80, .sequences = 640,
                                 .seconds = 12.5};
  EXPECT_THAT(FormatSummary(r), HasSubstr("centralized on the pooled data: 10.50 (-58.0 % from "
                                          "base) after 80 steps (640 sequences) in 12.5 s\n"));
  r.rounds.clear();
  EXPECT_THAT(FormatSummary(r), HasSubstr("no round committed an adapter"));
}

}  // namespace
}  // namespace tontine::cli
