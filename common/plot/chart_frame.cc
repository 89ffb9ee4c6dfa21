#include "common/plot/chart_frame.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace tontine::plot {
namespace {

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr double kSwatch = 24;  // legend line sample length

// `text` cut on a character boundary, with an ellipsis, to at most `max_width` (estimated).
std::string Truncate(const std::string& text, double max_width, double size) {
  if (EstimateTextWidth(text, size) <= max_width) return text;
  const double room = max_width - EstimateTextWidth("\xE2\x80\xA6", size);
  size_t end = 0;  // bytes kept
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool boundary = i == text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (!boundary) continue;
    if (EstimateTextWidth(absl::string_view(text).substr(0, i), size) > room) break;
    end = i;
  }
  return text.substr(0, end) + "\xE2\x80\xA6";  // …
}

}  // namespace

Stroke SeriesStroke(size_t i) {
  Stroke s;
  s.stroke = kPalette[i % kPaletteSize];
  s.width = 1.8;
  const size_t cycle = i / kPaletteSize;
  if (cycle == 1) s.dash = "6 3";
  if (cycle >= 2) s.dash = "2 3";
  return s;
}

Stroke EmphasisedStroke() { return {.stroke = "#000000", .width = 3.5}; }

std::string FormatValue(double value) {
  if (!std::isfinite(value)) return "n/a";
  const double magnitude = std::abs(value);
  const int decimals = magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : 3;
  return FormatTick(value, decimals);
}

ChartFrame::ChartFrame(int width, int height, const Ticks& y,
                       const std::vector<LegendEntry>& legend, double bottom_extra)
    : width_(std::max(width, 240)), height_(std::max(height, 180)), y_(y), legend_(legend) {
  double tick_width = 0;
  for (double v : y_.values) {
    tick_width = std::max(tick_width, EstimateTextWidth(FormatTick(v, y_.decimals), kTickFont));
  }
  left_ = 28 + tick_width + 8;
  top_ = 44;
  if (!legend_.empty()) {
    const double max_label = width_ * 0.3;
    double widest = 0;
    for (LegendEntry& e : legend_) {
      e.label = Truncate(e.label, max_label, kLegendFont);
      widest = std::max(widest, EstimateTextWidth(e.label, kLegendFont));
    }
    legend_width_ = 16 + kSwatch + 6 + widest + 8;
  }
  plot_width_ = std::max(40.0, width_ - left_ - legend_width_ - 16);
  plot_height_ = std::max(40.0, height_ - top_ - 52 - bottom_extra);
}

double ChartFrame::Y(double y) const {
  const double span = y_.max - y_.min;
  return bottom() - (y - y_.min) / span * plot_height_;
}

void ChartFrame::DrawFrame(SvgWriter& svg, const std::string& title, const std::string& x_label,
                           const std::string& y_label) const {
  svg.Text({width_ / 2.0, 26}, title, {.size = 16, .anchor = "middle", .bold = true}, "title");
  svg.BeginGroup("y-axis");
  for (double v : y_.values) {
    const double py = Y(v);
    svg.BeginGroup("tick");
    svg.Line({left(), py}, {right(), py}, {.stroke = kGridColour, .width = 1});
    svg.Text({left() - 6, py + 4}, FormatTick(v, y_.decimals),
             {.size = kTickFont, .anchor = "end"});
    svg.EndGroup();
  }
  svg.EndGroup();
  const Stroke axis{.stroke = kAxisColour, .width = 1};
  svg.Line({left(), top()}, {left(), bottom()}, axis, "axis");
  svg.Line({left(), bottom()}, {right(), bottom()}, axis, "axis");
  const double mid_y = (top() + bottom()) / 2;
  svg.Text({16, mid_y}, y_label, {.size = kLabelFont, .anchor = "middle", .rotate = -90},
           "axis-label");
  svg.Text({(left() + right()) / 2, height_ - 12.0}, x_label,
           {.size = kLabelFont, .anchor = "middle"}, "axis-label");
}

void ChartFrame::DrawXTick(SvgWriter& svg, double x, const std::string& label, bool grid,
                           bool rotate) const {
  svg.BeginGroup("tick");
  if (grid) {
    svg.Line({x, top()}, {x, bottom()}, {.stroke = kGridColour, .width = 1});
  } else {
    svg.Line({x, bottom()}, {x, bottom() + 5}, {.stroke = kAxisColour, .width = 1});
  }
  if (rotate) {
    svg.Text({x, bottom() + 14}, label, {.size = kTickFont, .anchor = "end", .rotate = -35});
  } else {
    svg.Text({x, bottom() + 17}, label, {.size = kTickFont, .anchor = "middle"});
  }
  svg.EndGroup();
}

void ChartFrame::DrawReference(SvgWriter& svg, const std::string& name, double y) const {
  svg.BeginGroup("reference", absl::StrFormat("%s: %s", name, FormatValue(y)));
  svg.Line({left(), Y(y)}, {right(), Y(y)},
           {.stroke = kReferenceColour, .width = 1.8, .dash = kReferenceDash});
  svg.EndGroup();
}

void ChartFrame::DrawLegend(SvgWriter& svg) const {
  if (legend_.empty()) return;
  svg.BeginGroup("legend");
  const double x = right() + 16;
  double y = top() + 8;
  for (const LegendEntry& e : legend_) {
    svg.Line({x, y}, {x + kSwatch, y}, e.stroke);
    svg.Text({x + kSwatch + 6, y + 4}, e.label, {.size = kLegendFont});
    y += 20;
  }
  svg.EndGroup();
}

void ChartFrame::DrawEmpty(SvgWriter& svg) const {
  svg.Text({(left() + right()) / 2, (top() + bottom()) / 2}, "no data",
           {.size = kLabelFont, .anchor = "middle", .fill = "#888888"});
}

}  // namespace tontine::plot
