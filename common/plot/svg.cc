#include "common/plot/svg.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tontine::plot {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 (Unicode §3.9,
// Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&s](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

std::string Attribute(absl::string_view name, absl::string_view value) {
  return absl::StrCat(" ", name, "=\"", XmlEscape(value), "\"");
}

std::string StrokeAttributes(const Stroke& s) {
  std::string a = absl::StrCat(Attribute("stroke", s.stroke),
                               Attribute("stroke-width", SvgNumber(s.width)));
  if (!s.dash.empty()) absl::StrAppend(&a, Attribute("stroke-dasharray", s.dash));
  return a;
}

std::string ClassAttribute(absl::string_view css_class) {
  return css_class.empty() ? "" : Attribute("class", css_class);
}

// A shape element: self-closing, or with a <title> child when there is a tooltip.
std::string Shape(absl::string_view name, const std::string& attributes,
                  absl::string_view tooltip) {
  if (tooltip.empty()) return absl::StrCat("<", name, attributes, "/>\n");
  return absl::StrCat("<", name, attributes, "><title>", XmlEscape(tooltip), "</title></", name,
                      ">\n");
}

}  // namespace

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
      continue;
    }
    const char c = text[0];
    if (length > 1) {
      out.append(text.data(), length);
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c == '\'') {
      out += "&apos;";
    } else if (static_cast<uint8_t>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
      out += c;
    }  // else: a control character XML 1.0 cannot carry; dropped.
    text.remove_prefix(length);
  }
  return out;
}

std::string SvgNumber(double value) {
  if (!std::isfinite(value)) return "0";
  std::string text = absl::StrFormat("%.2f", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

double EstimateTextWidth(absl::string_view text, double size) {
  size_t characters = 0;
  for (char c : text) {
    if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) ++characters;  // not a continuation byte
  }
  return 0.6 * size * static_cast<double>(characters);
}

SvgWriter::SvgWriter(int width, int height, absl::string_view title) {
  absl::StrAppend(&out_, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"",
                  Attribute("width", absl::StrCat(width)), Attribute("height", absl::StrCat(height)),
                  Attribute("viewBox", absl::StrCat("0 0 ", width, " ", height)),
                  " font-family=\"sans-serif\">\n<title>", XmlEscape(title), "</title>\n");
  absl::StrAppend(&out_, "<rect x=\"0\" y=\"0\"", Attribute("width", absl::StrCat(width)),
                  Attribute("height", absl::StrCat(height)), " fill=\"#ffffff\"/>\n");
}

void SvgWriter::BeginGroup(absl::string_view css_class, absl::string_view tooltip) {
  absl::StrAppend(&out_, "<g", ClassAttribute(css_class), ">\n");
  if (!tooltip.empty()) absl::StrAppend(&out_, "<title>", XmlEscape(tooltip), "</title>\n");
  ++open_groups_;
}

void SvgWriter::EndGroup() {
  if (open_groups_ == 0) return;
  out_ += "</g>\n";
  --open_groups_;
}

void SvgWriter::Line(SvgPoint from, SvgPoint to, const Stroke& stroke,
                     absl::string_view css_class) {
  absl::StrAppend(&out_, "<line", ClassAttribute(css_class), Attribute("x1", SvgNumber(from.x)),
                  Attribute("y1", SvgNumber(from.y)), Attribute("x2", SvgNumber(to.x)),
                  Attribute("y2", SvgNumber(to.y)), StrokeAttributes(stroke), "/>\n");
}

void SvgWriter::Polyline(const std::vector<SvgPoint>& points, const Stroke& stroke) {
  if (points.size() < 2) return;
  std::string list;
  for (const SvgPoint& p : points) {
    absl::StrAppend(&list, list.empty() ? "" : " ", SvgNumber(p.x), ",", SvgNumber(p.y));
  }
  absl::StrAppend(&out_, "<polyline", Attribute("points", list), " fill=\"none\"",
                  StrokeAttributes(stroke), " stroke-linejoin=\"round\"/>\n");
}

void SvgWriter::Circle(SvgPoint centre, double radius, absl::string_view fill,
                       absl::string_view tooltip) {
  out_ += Shape("circle",
                absl::StrCat(" class=\"point\"", Attribute("cx", SvgNumber(centre.x)),
                             Attribute("cy", SvgNumber(centre.y)),
                             Attribute("r", SvgNumber(radius)), Attribute("fill", fill)),
                tooltip);
}

void SvgWriter::Rect(SvgPoint corner, double width, double height, absl::string_view fill,
                     absl::string_view tooltip) {
  out_ += Shape("rect",
                absl::StrCat(" class=\"bar\"", Attribute("x", SvgNumber(corner.x)),
                             Attribute("y", SvgNumber(corner.y)),
                             Attribute("width", SvgNumber(width)),
                             Attribute("height", SvgNumber(height)), Attribute("fill", fill)),
                tooltip);
}

void SvgWriter::Text(SvgPoint at, absl::string_view text, const TextStyle& style,
                     absl::string_view css_class) {
  absl::StrAppend(&out_, "<text", ClassAttribute(css_class), Attribute("x", SvgNumber(at.x)),
                  Attribute("y", SvgNumber(at.y)), Attribute("font-size", SvgNumber(style.size)),
                  Attribute("text-anchor", style.anchor), Attribute("fill", style.fill));
  if (style.bold) out_ += " font-weight=\"bold\"";
  if (style.rotate != 0) {
    absl::StrAppend(&out_, Attribute("transform", absl::StrCat("rotate(", SvgNumber(style.rotate),
                                                               " ", SvgNumber(at.x), " ",
                                                               SvgNumber(at.y), ")")));
  }
  absl::StrAppend(&out_, ">", XmlEscape(text), "</text>\n");
}

std::string SvgWriter::Finish() && {
  while (open_groups_ > 0) EndGroup();
  out_ += "</svg>\n";
  return std::move(out_);
}

}  // namespace tontine::plot
