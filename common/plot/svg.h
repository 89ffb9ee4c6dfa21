// A minimal writer of standalone SVG 1.1 documents: the elements the charts need, every text
// escaped, every number finite. No scripts, no stylesheets, no external fonts: presentation
// attributes only and the generic `sans-serif` family, so the file opens in any browser.
//
//   SvgWriter svg(640, 480, "Perplexity per round");
//   svg.Line({10, 10}, {100, 10}, {.stroke = "#000"});
//   svg.Text({50, 30}, "wol", {.anchor = "middle"});
//   std::string document = std::move(svg).Finish();
//
// Not thread-safe.
#ifndef TONTINE_COMMON_PLOT_SVG_H_
#define TONTINE_COMMON_PLOT_SVG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tontine::plot {

// `text` made safe for XML character data and attribute values: & < > " ' as entities,
// ill-formed UTF-8 bytes as U+FFFD, and the control characters XML 1.0 forbids (all below
// U+0020 except tab, line feed and carriage return) dropped.
std::string XmlEscape(absl::string_view text);

// A coordinate or length in user units, at most two decimals ("12.5", "300"); a non-finite
// value becomes "0" so that no NaN reaches the document.
std::string SvgNumber(double value);

struct SvgPoint {
  double x = 0;
  double y = 0;
};

struct Stroke {
  std::string stroke = "#000000";
  double width = 1;
  std::string dash;  // stroke-dasharray, e.g. "6 3"; "" = solid
};

struct TextStyle {
  double size = 12;
  std::string anchor = "start";  // start, middle or end
  std::string fill = "#222222";
  bool bold = false;
  double rotate = 0;  // degrees, about the text's anchor point
};

class SvgWriter {
 public:
  // Opens the document: `width` × `height` user units, white background, and `title` as the
  // document's <title> (what a browser tab shows).
  SvgWriter(int width, int height, absl::string_view title);

  // A group, e.g. one series; `css_class` (may be "") marks it for readers of the file, and
  // `tooltip` (may be "") becomes its <title>. Groups nest; each Begin needs an End.
  void BeginGroup(absl::string_view css_class, absl::string_view tooltip = "");
  void EndGroup();

  void Line(SvgPoint from, SvgPoint to, const Stroke& stroke, absl::string_view css_class = "");
  // An open polyline through `points` (at least two).
  void Polyline(const std::vector<SvgPoint>& points, const Stroke& stroke);
  void Circle(SvgPoint centre, double radius, absl::string_view fill,
              absl::string_view tooltip = "");
  void Rect(SvgPoint corner, double width, double height, absl::string_view fill,
            absl::string_view tooltip = "");
  void Text(SvgPoint at, absl::string_view text, const TextStyle& style = {},
            absl::string_view css_class = "");

  // Closes every open group and the document and returns it.
  std::string Finish() &&;

 private:
  std::string out_;
  int open_groups_ = 0;
};

// The width of `text` at font size `size` in sans-serif, estimated (0.6 em per character, as
// nothing here measures fonts): enough to lay out legends and margins.
double EstimateTextWidth(absl::string_view text, double size);

}  // namespace tontine::plot

#endif  // TONTINE_COMMON_PLOT_SVG_H_
