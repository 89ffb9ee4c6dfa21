#include "common/plot/chart.h"

#include <cmath>
#include <limits>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/plot/xml_dom.h"
#include "tests/testing/status_matchers.h"

namespace tontine::plot {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using tontine::testing::IsOk;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::unique_ptr<XmlElement> Parse(const std::string& svg) {
  absl::StatusOr<std::unique_ptr<XmlElement>> dom = ParseXml(svg);
  EXPECT_THAT(dom, IsOk()) << svg;
  return dom.ok() ? std::move(dom).value() : std::make_unique<XmlElement>();
}

// The axis position of each tick label in g.<axis> (y for the y axis, x for the x axis), read
// from the tick's line.
std::map<std::string, double> TickPositions(const XmlElement& root, const std::string& axis) {
  std::map<std::string, double> positions;
  for (const XmlElement* tick : root.FindAll("g", "tick")) {
    if (tick->parent == nullptr || tick->parent->Attr("class") != axis) continue;
    const XmlElement* line = tick->FindAll("line")[0];
    const XmlElement* text = tick->FindAll("text")[0];
    positions[text->text] = line->Number(axis == "y-axis" ? "y1" : "x1");
  }
  return positions;
}

std::vector<std::string> Texts(const XmlElement& root) {
  std::vector<std::string> texts;
  for (const XmlElement* t : root.FindAll("text")) texts.push_back(t->text);
  return texts;
}

LineChart ThreeRounds() {
  LineChart chart;
  chart.title = "Held-out perplexity";
  chart.x_label = "round";
  chart.y_label = "perplexity";
  chart.integer_x = true;
  chart.series.push_back({"wol", {{0, 10}, {1, 20}, {2, 15}}, false});
  chart.series.push_back({"macro", {{0, 12}, {1, 18}, {2, 16}}, true});
  return chart;
}

TEST(LineChartTest, IsAStandaloneSvgWithTitleAxesAndLegend) {
  const std::string svg = RenderLineChart(ThreeRounds());
  auto root = Parse(svg);
  EXPECT_EQ(root->name, "svg");
  EXPECT_EQ(root->Attr("xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(root->Title(), "Held-out perplexity");
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("<style")));
  EXPECT_THAT(svg, Not(HasSubstr("href")));
  const std::vector<std::string> texts = Texts(*root);
  EXPECT_THAT(texts, Contains("round"));
  EXPECT_THAT(texts, Contains("perplexity"));
  ASSERT_EQ(root->FindAll("g", "legend").size(), 1u);
  std::vector<std::string> legend = Texts(*root->FindAll("g", "legend")[0]);
  EXPECT_THAT(legend, ::testing::ElementsAre("wol", "macro"));
  // Rounds are whole numbers.
  std::map<std::string, double> x = TickPositions(*root, "x-axis");
  EXPECT_TRUE(x.count("0") && x.count("1") && x.count("2"));
  EXPECT_FALSE(x.count("0.5"));
}

TEST(LineChartTest, PointsLandWhereTheAxesSayTheirValuesAre) {
  auto root = Parse(RenderLineChart(ThreeRounds()));
  std::map<std::string, double> y = TickPositions(*root, "y-axis");
  std::map<std::string, double> x = TickPositions(*root, "x-axis");
  ASSERT_TRUE(y.count("10") && y.count("20")) << ::testing::PrintToString(y);
  ASSERT_TRUE(x.count("2"));
  const XmlElement* wol = nullptr;
  for (const XmlElement* g : root->FindAll("g", "series")) {
    if (g->Title() == "wol") wol = g;
  }
  ASSERT_NE(wol, nullptr);
  std::vector<const XmlElement*> points = wol->FindAll("circle");
  ASSERT_EQ(points.size(), 3u);
  // (2, 15): halfway between the ticks 10 and 20, on the tick 2.
  EXPECT_NEAR(points[2]->Number("cy"), (y["10"] + y["20"]) / 2, 0.01);
  EXPECT_NEAR(points[2]->Number("cx"), x["2"], 0.01);
  EXPECT_EQ(points[2]->Title(), "wol, round 2: 15.00");
  EXPECT_NEAR(points[1]->Number("cy"), y["20"], 0.01);
  // Larger values are higher up.
  EXPECT_LT(y["20"], y["10"]);
}

TEST(LineChartTest, EmphasisedSeriesIsDrawnThickAndLast) {
  auto root = Parse(RenderLineChart(ThreeRounds()));
  std::vector<const XmlElement*> series = root->FindAll("g", "series");
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series.back()->Title(), "macro");
  const XmlElement* line = series.back()->FindAll("polyline")[0];
  EXPECT_GT(line->Number("stroke-width"), series[0]->FindAll("polyline")[0]->Number("stroke-width"));
}

TEST(LineChartTest, ReferenceLineIsDashedAtItsValueAndInTheLegend) {
  LineChart chart = ThreeRounds();
  chart.references.push_back({"centralized", 12.5});
  auto root = Parse(RenderLineChart(chart));
  std::map<std::string, double> y = TickPositions(*root, "y-axis");
  std::vector<const XmlElement*> references = root->FindAll("g", "reference");
  ASSERT_EQ(references.size(), 1u);
  const XmlElement* line = references[0]->FindAll("line")[0];
  EXPECT_FALSE(line->Attr("stroke-dasharray").empty());
  EXPECT_NEAR(line->Number("y1"), y["10"] + (y["20"] - y["10"]) * 0.25, 0.01);
  EXPECT_EQ(line->Number("y1"), line->Number("y2"));
  EXPECT_THAT(Texts(*root->FindAll("g", "legend")[0]), Contains("centralized 12.50"));
}

TEST(LineChartTest, LabelsAreEscaped) {
  LineChart chart;
  chart.title = "a < b & \"c\"";
  chart.x_label = "x";
  chart.y_label = "y";
  chart.series.push_back({"<script>alert(1)</script>", {{0, 1}, {1, 2}}, false});
  const std::string svg = RenderLineChart(chart);
  EXPECT_THAT(svg, Not(HasSubstr("<script>")));
  auto root = Parse(svg);
  EXPECT_EQ(root->Title(), "a < b & \"c\"");
  EXPECT_THAT(Texts(*root), Contains("<script>alert(1)</script>"));
}

TEST(LineChartTest, NonFiniteValuesAreSkippedAndBreakTheLine) {
  LineChart chart;
  chart.x_label = "round";
  chart.series.push_back(
      {"gaps", {{0, 5}, {1, 6}, {2, kNan}, {3, 7}, {4, kInf}, {kNan, 3}, {5, 8}}, false});
  const std::string svg = RenderLineChart(chart);
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf")));
  auto root = Parse(svg);
  EXPECT_EQ(root->FindAll("circle").size(), 4u);
  // 0–1 is a line; 3 and 5 stand alone (each segment of one point draws no line).
  EXPECT_EQ(root->FindAll("polyline").size(), 1u);
}

TEST(LineChartTest, SinglePointAndEmptySeriesDoNotBreakTheChart) {
  LineChart chart;
  chart.series.push_back({"one", {{3, 7}}, false});
  chart.series.push_back({"none", {}, false});
  auto root = Parse(RenderLineChart(chart));
  EXPECT_EQ(root->FindAll("circle").size(), 1u);
  EXPECT_EQ(root->FindAll("polyline").size(), 0u);
  EXPECT_THAT(Texts(*root->FindAll("g", "legend")[0]), Contains("none"));
  std::map<std::string, double> y = TickPositions(*root, "y-axis");
  EXPECT_GE(y.size(), 2u);
}

TEST(LineChartTest, ChartWithoutDataSaysSo) {
  LineChart chart;
  chart.title = "nothing yet";
  chart.series.push_back({"all nan", {{0, kNan}}, false});
  auto root = Parse(RenderLineChart(chart));
  EXPECT_THAT(Texts(*root), Contains("no data"));
  auto empty = Parse(RenderLineChart(LineChart{}));
  EXPECT_THAT(Texts(*empty), Contains("no data"));
  EXPECT_TRUE(empty->FindAll("g", "legend").empty());
}

TEST(BarChartTest, BarsReachTheirValuesFromZero) {
  BarChart chart;
  chart.title = "Perplexity per language";
  chart.x_label = "language";
  chart.y_label = "perplexity";
  chart.bars = {{"wol", 20}, {"yor", 10}, {"bad", kNan}};
  chart.references.push_back({"macro average", 15});
  auto root = Parse(RenderBarChart(chart));
  std::map<std::string, double> y = TickPositions(*root, "y-axis");
  ASSERT_TRUE(y.count("0") && y.count("10") && y.count("20")) << ::testing::PrintToString(y);
  std::vector<const XmlElement*> bars = root->FindAll("rect", "bar");
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_NEAR(bars[0]->Number("y"), y["20"], 0.01);
  EXPECT_NEAR(bars[0]->Number("y") + bars[0]->Number("height"), y["0"], 0.01);
  EXPECT_NEAR(bars[1]->Number("y"), y["10"], 0.01);
  EXPECT_EQ(bars[0]->Title(), "wol: 20.00");
  // Bars sit over their category labels, left to right.
  std::map<std::string, double> x = TickPositions(*root, "x-axis");
  EXPECT_NEAR(bars[0]->Number("x") + bars[0]->Number("width") / 2, x["wol"], 0.01);
  EXPECT_LT(x["wol"], x["yor"]);
  EXPECT_LT(x["yor"], x["bad"]);
  EXPECT_THAT(Texts(*root), Contains("n/a"));
  EXPECT_THAT(Texts(*root->FindAll("g", "legend")[0]), Contains("macro average 15.00"));
}

TEST(BarChartTest, LongLabelsAreSlantedAndEmptyChartSaysSo) {
  BarChart chart;
  for (int i = 0; i < 12; ++i) chart.bars.push_back({"a-rather-long-group-name", 1.0 + i});
  auto root = Parse(RenderBarChart(chart));
  const XmlElement* label = root->FindAll("g", "x-axis")[0]->FindAll("text")[0];
  EXPECT_THAT(label->Attr("transform"), HasSubstr("rotate(-35"));
  auto empty = Parse(RenderBarChart(BarChart{}));
  EXPECT_THAT(Texts(*empty), Contains("no data"));
}

}  // namespace
}  // namespace tontine::plot
