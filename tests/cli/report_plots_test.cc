#include "cli/report_plots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Evaluation Ppl(double wol, double yor) {
  return {.macro_perplexity = (wol + yor) / 2,
          .perplexity_by_language = {{"wol", wol}, {"yor", yor}}};
}

std::vector<std::pair<double, double>> Points(const plot::LineSeries& s) {
  std::vector<std::pair<double, double>> points;
  for (const plot::DataPoint& p : s.points) points.emplace_back(p.x, p.y);
  return points;
}

SimulateReport ThreeAttempts() {
  SimulateReport r;
  r.experiment = "udhr-demo";
  r.languages = {"wol", "yor"};
  r.base = Ppl(20, 30);
  r.rounds.push_back({.round = 1, .committed = 1, .outcome = "committed", .evaluation = Ppl(14, 16)});
  r.rounds.push_back({.round = 2, .outcome = "aborted", .reason = "too few survivors"});
  r.rounds.push_back({.round = 3, .committed = 2, .outcome = "committed", .evaluation = Ppl(10, 12)});
  return r;
}

TEST(SimulatePerplexityChartTest, OneLinePerLanguageAndTheMacroAverageAgainstCommittedRounds) {
  plot::LineChart chart = SimulatePerplexityChart(ThreeAttempts());
  EXPECT_THAT(chart.title, HasSubstr("udhr-demo"));
  EXPECT_TRUE(chart.integer_x);
  ASSERT_EQ(chart.series.size(), 3u);
  EXPECT_EQ(chart.series[0].name, "wol");
  // The aborted attempt has no point; committed rounds count 1, 2 after the base model at 0.
  EXPECT_THAT(Points(chart.series[0]), ElementsAre(std::pair(0.0, 20.0), std::pair(1.0, 14.0),
                                                   std::pair(2.0, 10.0)));
  EXPECT_EQ(chart.series[1].name, "yor");
  EXPECT_EQ(chart.series[2].name, "macro average");
  EXPECT_TRUE(chart.series[2].emphasised);
  EXPECT_FALSE(chart.series[0].emphasised);
  EXPECT_THAT(Points(chart.series[2]), ElementsAre(std::pair(0.0, 25.0), std::pair(1.0, 15.0),
                                                   std::pair(2.0, 11.0)));
  EXPECT_THAT(chart.references, IsEmpty());
}

TEST(SimulatePerplexityChartTest, CentralizedBaselineIsAReferenceLine) {
  SimulateReport r = ThreeAttempts();
  r.centralized = CentralizedRow{.evaluation = Ppl(8, 9)};
  plot::LineChart chart = SimulatePerplexityChart(r);
  ASSERT_EQ(chart.references.size(), 1u);
  EXPECT_THAT(chart.references[0].name, HasSubstr("centralized"));
  EXPECT_EQ(chart.references[0].y, 8.5);
  EXPECT_THAT(plot::RenderLineChart(chart), HasSubstr("stroke-dasharray"));
}

TEST(SimulatePerplexityChartTest, BeforeAnyEvaluationTheChartStillRenders) {
  SimulateReport r;
  r.experiment = "empty";
  r.languages = {"wol"};
  plot::LineChart chart = SimulatePerplexityChart(r);
  EXPECT_TRUE(chart.series[0].points.empty());
  EXPECT_THAT(plot::RenderLineChart(chart), HasSubstr("no data"));
}

TEST(EvalPerplexityChartTest, ABarPerGroupAndTheMacroAverageWhenThereAreSeveral) {
  plot::BarChart chart =
      EvalPerplexityChart({{"wol", 12}, {"yor", 8}}, 10, "bundled + wol-adapter", "held-out");
  EXPECT_THAT(chart.title, HasSubstr("bundled + wol-adapter"));
  EXPECT_THAT(chart.title, HasSubstr("held-out"));
  ASSERT_EQ(chart.bars.size(), 2u);
  EXPECT_EQ(chart.bars[1].label, "yor");
  EXPECT_EQ(chart.bars[1].value, 8);
  ASSERT_EQ(chart.references.size(), 1u);
  EXPECT_EQ(chart.references[0].y, 10);
  EXPECT_THAT(EvalPerplexityChart({{"all", 5}}, 5, "bundled", "all").references, IsEmpty());
}

}  // namespace
}  // namespace tontine::cli
