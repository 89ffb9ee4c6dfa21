// The bar chart of common/plot/chart.h.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/plot/chart.h"
#include "common/plot/chart_frame.h"

namespace tontine::plot {
namespace {

constexpr char kBarColour[] = "#4e79a7";
constexpr double kSlant = 0.574;  // sin 35°: how far a slanted label reaches down per unit

}  // namespace

std::string RenderBarChart(const BarChart& chart) {
  // Bars grow from zero, so zero is always on the axis.
  double lo = 0, hi = 0;
  bool any = false;
  for (const Bar& b : chart.bars) {
    if (!std::isfinite(b.value)) continue;
    lo = std::min(lo, b.value);
    hi = std::max(hi, b.value);
    any = true;
  }
  std::vector<LegendEntry> legend;
  for (const ReferenceLine& r : chart.references) {
    if (!std::isfinite(r.y)) continue;
    lo = std::min(lo, r.y);
    hi = std::max(hi, r.y);
    legend.push_back({absl::StrCat(r.name, " ", FormatValue(r.y)),
                      {.stroke = kReferenceColour, .width = 1.8, .dash = kReferenceDash}});
  }
  if (lo == hi) hi = lo + 1;
  const Ticks y_ticks = NiceTicks(lo, hi, 7);

  // Slant the category labels when they do not fit under their bars.
  double widest = 0;
  for (const Bar& b : chart.bars) widest = std::max(widest, EstimateTextWidth(b.label, kTickFont));
  const ChartFrame upright(chart.width, chart.height, y_ticks, legend);
  const double slot_guess = upright.plot_width() / std::max<size_t>(chart.bars.size(), 1);
  const bool slant = widest > slot_guess * 0.95;
  const double extra = slant ? std::min(widest * kSlant, chart.height * 0.25) : 0;
  const ChartFrame frame(chart.width, chart.height, y_ticks, legend, extra);
  const double slot = frame.plot_width() / std::max<size_t>(chart.bars.size(), 1);

  SvgWriter svg(std::max(chart.width, 240), std::max(chart.height, 180), chart.title);
  frame.DrawFrame(svg, chart.title, chart.x_label, chart.y_label);
  svg.BeginGroup("x-axis");
  for (size_t i = 0; i < chart.bars.size(); ++i) {
    frame.DrawXTick(svg, frame.left() + (i + 0.5) * slot, chart.bars[i].label, false, slant);
  }
  svg.EndGroup();
  svg.BeginGroup("bars");
  const double zero = frame.Y(0);
  for (size_t i = 0; i < chart.bars.size(); ++i) {
    const Bar& b = chart.bars[i];
    const double centre = frame.left() + (i + 0.5) * slot;
    const std::string value = FormatValue(b.value);
    const bool fits = EstimateTextWidth(value, kTickFont - 1) < slot;
    if (!std::isfinite(b.value)) {
      svg.Text({centre, zero - 4}, value, {.size = kTickFont - 1, .anchor = "middle",
                                           .fill = "#888888"});
      continue;
    }
    const double top = std::min(zero, frame.Y(b.value));
    svg.Rect({centre - slot * 0.3, top}, slot * 0.6, std::abs(zero - frame.Y(b.value)), kBarColour,
             absl::StrCat(b.label, ": ", value));
    if (fits) {
      svg.Text({centre, b.value >= 0 ? top - 4 : top + std::abs(zero - frame.Y(b.value)) + 12},
               value, {.size = kTickFont - 1, .anchor = "middle"}, "value");
    }
  }
  svg.EndGroup();
  for (const ReferenceLine& r : chart.references) {
    if (std::isfinite(r.y)) frame.DrawReference(svg, r.name, r.y);
  }
  if (!any) frame.DrawEmpty(svg);
  frame.DrawLegend(svg);
  return std::move(svg).Finish();
}

}  // namespace tontine::plot
