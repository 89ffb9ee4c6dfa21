// The line chart of common/plot/chart.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/plot/chart.h"
#include "common/plot/chart_frame.h"

namespace tontine::plot {
namespace {

bool Finite(const DataPoint& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// The series in drawing order: the emphasised ones last, so that they stay on top.
std::vector<size_t> DrawingOrder(const std::vector<LineSeries>& series) {
  std::vector<size_t> order(series.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_partition(order.begin(), order.end(),
                        [&series](size_t i) { return !series[i].emphasised; });
  return order;
}

}  // namespace

std::string RenderLineChart(const LineChart& chart) {
  Range xs, ys;
  for (const LineSeries& s : chart.series) {
    for (const DataPoint& p : s.points) {
      if (!Finite(p)) continue;
      xs.Add(p.x);
      ys.Add(p.y);
    }
  }
  const bool empty = xs.empty();
  for (const ReferenceLine& r : chart.references) {
    if (std::isfinite(r.y)) ys.Add(r.y);
  }
  if (ys.empty()) ys = {0, 1};
  if (xs.empty()) xs = {0, 1};
  const Ticks y_ticks = NiceTicks(ys.lo, ys.hi, 7);

  std::vector<LegendEntry> legend;
  std::vector<Stroke> strokes;
  size_t plain = 0;
  for (const LineSeries& s : chart.series) {
    strokes.push_back(s.emphasised ? EmphasisedStroke() : SeriesStroke(plain++));
    legend.push_back({s.name, strokes.back()});
  }
  for (const ReferenceLine& r : chart.references) {
    if (!std::isfinite(r.y)) continue;
    legend.push_back({absl::StrCat(r.name, " ", FormatValue(r.y)),
                      {.stroke = kReferenceColour, .width = 1.8, .dash = kReferenceDash}});
  }
  ChartFrame frame(chart.width, chart.height, y_ticks, legend);
  const int max_x_ticks = std::max(2, static_cast<int>(frame.plot_width() / 55));
  const Ticks x_ticks = NiceTicks(xs.lo, xs.hi, max_x_ticks, chart.integer_x ? 1 : 0);
  const auto px = [&](double x) {
    return frame.left() + (x - x_ticks.min) / (x_ticks.max - x_ticks.min) * frame.plot_width();
  };

  SvgWriter svg(std::max(chart.width, 240), std::max(chart.height, 180), chart.title);
  svg.BeginGroup("x-axis");
  for (double v : x_ticks.values) frame.DrawXTick(svg, px(v), FormatTick(v, x_ticks.decimals), true);
  svg.EndGroup();
  frame.DrawFrame(svg, chart.title, chart.x_label, chart.y_label);
  for (const ReferenceLine& r : chart.references) {
    if (std::isfinite(r.y)) frame.DrawReference(svg, r.name, r.y);
  }
  for (size_t i : DrawingOrder(chart.series)) {
    const LineSeries& s = chart.series[i];
    svg.BeginGroup("series", s.name);
    std::vector<SvgPoint> segment;
    const auto flush = [&] {
      svg.Polyline(segment, strokes[i]);
      segment.clear();
    };
    for (const DataPoint& p : s.points) {
      if (!Finite(p)) {
        flush();
        continue;
      }
      segment.push_back({px(p.x), frame.Y(p.y)});
    }
    flush();
    for (const DataPoint& p : s.points) {
      if (!Finite(p)) continue;
      svg.Circle({px(p.x), frame.Y(p.y)}, s.emphasised ? 4 : 3, strokes[i].stroke,
                 absl::StrCat(s.name, ", ", chart.x_label, " ", FormatTick(p.x, x_ticks.decimals),
                              ": ", FormatValue(p.y)));
    }
    svg.EndGroup();
  }
  if (empty) frame.DrawEmpty(svg);
  frame.DrawLegend(svg);
  return std::move(svg).Finish();
}

}  // namespace tontine::plot
