#include "common/plot/svg.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/plot/xml_dom.h"
#include "tests/testing/status_matchers.h"

namespace tontine::plot {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;

TEST(XmlEscapeTest, EscapesMarkupCharacters) {
  EXPECT_EQ(XmlEscape(R"(a<b & 'c' "d">)"), "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;");
}

TEST(XmlEscapeTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(XmlEscape("wolof \xC3\xB1 \xE2\x80\x94 \xF0\x9F\x98\x80"),
            "wolof \xC3\xB1 \xE2\x80\x94 \xF0\x9F\x98\x80");
  EXPECT_EQ(XmlEscape("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(XmlEscape("\xC3"), "\xEF\xBF\xBD");           // truncated sequence
  EXPECT_EQ(XmlEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(XmlEscapeTest, DropsControlCharactersXmlCannotCarry) {
  EXPECT_EQ(XmlEscape(std::string("a\0b\x01\x1F\tc\n", 8)), "ab\tc\n");
}

TEST(SvgNumberTest, PrintsShortFiniteNumbers) {
  EXPECT_EQ(SvgNumber(300), "300");
  EXPECT_EQ(SvgNumber(12.5), "12.5");
  EXPECT_EQ(SvgNumber(1.0 / 3), "0.33");
  EXPECT_EQ(SvgNumber(-0.001), "0");
  EXPECT_EQ(SvgNumber(std::nan("")), "0");
  EXPECT_EQ(SvgNumber(std::numeric_limits<double>::infinity()), "0");
}

TEST(SvgWriterTest, WritesAWellFormedStandaloneDocument) {
  SvgWriter svg(320, 200, "a <title> & more");
  svg.BeginGroup("series", "wol & \"yor\"");
  svg.Polyline({{0, 0}, {10, 10}}, {.stroke = "#123456", .width = 2, .dash = "6 3"});
  svg.Circle({5, 5}, 3, "#ff0000", "tip <1>");
  svg.Text({1, 2}, "\xFF label", {.rotate = -90});
  // Left open: Finish closes it.
  const std::string text = std::move(svg).Finish();
  absl::StatusOr<std::unique_ptr<XmlElement>> dom = ParseXml(text);
  ASSERT_THAT(dom, IsOk()) << text;
  const XmlElement& root = **dom;
  EXPECT_EQ(root.name, "svg");
  EXPECT_EQ(root.Attr("xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(root.Attr("version"), "1.1");
  EXPECT_EQ(root.Attr("viewBox"), "0 0 320 200");
  EXPECT_EQ(root.Title(), "a <title> & more");
  auto groups = root.FindAll("g", "series");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]->Title(), "wol & \"yor\"");
  auto lines = root.FindAll("polyline");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]->Attr("points"), "0,0 10,10");
  EXPECT_EQ(lines[0]->Attr("stroke-dasharray"), "6 3");
  EXPECT_EQ(root.FindAll("circle")[0]->Title(), "tip <1>");
  EXPECT_EQ(root.FindAll("text")[0]->text, "\xEF\xBF\xBD label");
  EXPECT_EQ(root.FindAll("text")[0]->Attr("transform"), "rotate(-90 1 2)");
}

TEST(SvgWriterTest, PolylineOfOnePointIsNotDrawn) {
  SvgWriter svg(320, 200, "t");
  svg.Polyline({{1, 1}}, {});
  EXPECT_THAT(std::move(svg).Finish(), ::testing::Not(HasSubstr("polyline")));
}

}  // namespace
}  // namespace tontine::plot
