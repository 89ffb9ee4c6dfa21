// Charts as standalone SVG 1.1 documents (common/plot/svg.h): a line chart (a metric per
// round, one line per series) and a bar chart (a metric per category). Both have a title,
// axes with ticks at 1-2-5 steps (common/plot/ticks.h) and their labels, light grid lines, a
// legend on the right when there is something to tell apart, and tooltips (<title>) on every
// point and bar. Values that are NaN or infinite are left out, never drawn at a made-up place.
//
// The output marks its parts with class attributes, for tests and anyone post-processing it:
// g.y-axis / g.x-axis hold one g.tick each (a line and a text), g.series one line series
// (its <title> is the series' name), g.reference a horizontal reference line, g.bars the
// bars (rect.bar), g.legend the legend, text.title the title.
#ifndef TONTINE_COMMON_PLOT_CHART_H_
#define TONTINE_COMMON_PLOT_CHART_H_

#include <string>
#include <vector>

namespace tontine::plot {

// A horizontal line across the plot at `y`, dashed, named in the legend (e.g. a baseline).
struct ReferenceLine {
  std::string name;
  double y = 0;
};

struct DataPoint {
  double x = 0;
  double y = 0;
};

struct LineSeries {
  std::string name;
  std::vector<DataPoint> points;  // in drawing order; the line breaks at a non-finite point
  bool emphasised = false;        // drawn thick and black, above the others (e.g. an average)
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<LineSeries> series;
  std::vector<ReferenceLine> references;
  bool integer_x = false;  // x ticks at whole numbers only (rounds, steps)
  int width = 800;         // user units (pixels at 100 %); at least 240
  int height = 480;        // at least 180
};

struct Bar {
  std::string label;
  double value = 0;  // non-finite: no bar, the label shows "n/a"
};

struct BarChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Bar> bars;  // in order, left to right
  std::vector<ReferenceLine> references;
  int width = 800;
  int height = 480;
};

std::string RenderLineChart(const LineChart& chart);
std::string RenderBarChart(const BarChart& chart);

}  // namespace tontine::plot

#endif  // TONTINE_COMMON_PLOT_CHART_H_
