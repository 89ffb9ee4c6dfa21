// What the line and bar charts share: the layout (title on top, legend on the right, room for
// the axis labels), the mapping from data to user units, the y axis with its grid, and the
// legend. Internal to common/plot.
//
// Not thread-safe.
#ifndef TONTINE_COMMON_PLOT_CHART_FRAME_H_
#define TONTINE_COMMON_PLOT_CHART_FRAME_H_

#include <string>
#include <vector>

#include "common/plot/svg.h"
#include "common/plot/ticks.h"

namespace tontine::plot {

inline constexpr double kTickFont = 11;
inline constexpr double kLabelFont = 13;
inline constexpr double kLegendFont = 12;
inline constexpr char kAxisColour[] = "#444444";
inline constexpr char kGridColour[] = "#e4e4e4";
inline constexpr char kReferenceColour[] = "#555555";
inline constexpr char kReferenceDash[] = "8 4";

// The stroke of the i-th series that is not emphasised: ten colours that stay apart for most
// colour vision (Tableau 10), then the same with dashes.
Stroke SeriesStroke(size_t i);
// The emphasised series' stroke: black and thick.
Stroke EmphasisedStroke();

struct LegendEntry {
  std::string label;
  Stroke stroke;
};

// `value` with three significant decimals at most, for tooltips and value labels: "12.47".
std::string FormatValue(double value);

class ChartFrame {
 public:
  // `bottom_extra` is room below the x axis beyond one line of tick labels and the axis label
  // (rotated category labels need it).
  ChartFrame(int width, int height, const Ticks& y, const std::vector<LegendEntry>& legend,
             double bottom_extra = 0);

  double left() const { return left_; }
  double right() const { return left_ + plot_width_; }
  double top() const { return top_; }
  double bottom() const { return top_ + plot_height_; }
  double plot_width() const { return plot_width_; }

  // The user-unit y of data value `y` on the y axis.
  double Y(double y) const;

  // The title, the y axis (grid lines, ticks, labels, axis label) and the x axis line and
  // label; the caller draws the x ticks.
  void DrawFrame(SvgWriter& svg, const std::string& title, const std::string& x_label,
                 const std::string& y_label) const;
  // A tick on the x axis at user-unit `x` with `label` under it; `rotate` slants it.
  void DrawXTick(SvgWriter& svg, double x, const std::string& label, bool grid,
                 bool rotate = false) const;
  void DrawReference(SvgWriter& svg, const std::string& name, double y) const;
  void DrawLegend(SvgWriter& svg) const;
  // "no data" in the middle of the plot.
  void DrawEmpty(SvgWriter& svg) const;

 private:
  int width_;
  int height_;
  Ticks y_;
  std::vector<LegendEntry> legend_;
  double legend_width_ = 0;
  double left_ = 0;
  double top_ = 0;
  double plot_width_ = 0;
  double plot_height_ = 0;
};

}  // namespace tontine::plot

#endif  // TONTINE_COMMON_PLOT_CHART_FRAME_H_
