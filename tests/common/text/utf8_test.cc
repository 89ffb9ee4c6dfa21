#include "common/text/utf8.h"

#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::text {
namespace {

using ::testing::Eq;
using ::testing::Optional;

TEST(Utf8Test, AcceptsWellFormedTextAtEveryLength) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8(std::string("a\0b", 3)), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("\x7F"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("\xC2\x80"), std::nullopt);          // U+0080
  EXPECT_EQ(FindInvalidUtf8("\xDF\xBF"), std::nullopt);          // U+07FF
  EXPECT_EQ(FindInvalidUtf8("\xE0\xA0\x80"), std::nullopt);      // U+0800
  EXPECT_EQ(FindInvalidUtf8("\xED\x9F\xBF"), std::nullopt);      // U+D7FF
  EXPECT_EQ(FindInvalidUtf8("\xEE\x80\x80"), std::nullopt);      // U+E000
  EXPECT_EQ(FindInvalidUtf8("\xEF\xBF\xBF"), std::nullopt);      // U+FFFF
  EXPECT_EQ(FindInvalidUtf8("\xF0\x90\x80\x80"), std::nullopt);  // U+10000
  EXPECT_EQ(FindInvalidUtf8("\xF4\x8F\xBF\xBF"), std::nullopt);  // U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("Ñu jàpp 日本 😀"), std::nullopt);
}

TEST(Utf8Test, ReportsWhereTheIllFormedSequenceStarts) {
  struct Case {
    const char* name;
    std::string bytes;
    size_t offset;
  };
  const Case cases[] = {
      {"stray continuation byte", "ab\x80", 2},
      {"lead byte C0 (overlong)", "\xC0\xAF", 0},
      {"lead byte C1 (overlong)", "x\xC1\xBF", 1},
      {"overlong 3-byte slash", "ok\xE0\x80\xAF", 2},
      {"overlong 4-byte", "\xF0\x8F\xBF\xBF", 0},
      {"high surrogate", "a\xED\xA0\x80", 1},
      {"low surrogate", "ab\xED\xBF\xBF", 2},
      {"above U+10FFFF", "\xF4\x90\x80\x80", 0},
      {"lead byte F5", "\xF5\x80\x80\x80", 0},
      {"byte FF", "abc\xFF", 3},
      {"truncated at end", "abc\xE6\x97", 3},
      {"truncated by ASCII", "\xC3(", 0},
      {"truncated 4-byte then ASCII", "\xF0\x9F\x98 ", 0},
      {"second of two characters", "\xC3\xA9\xE6\x97", 2},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(FindInvalidUtf8(c.bytes), Optional(Eq(c.offset))) << c.name;
  }
}

}  // namespace
}  // namespace tontine::text
