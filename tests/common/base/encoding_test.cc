#include "common/base/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine {
namespace {

using ::testing::Eq;
using ::testing::Optional;

TEST(EncodingTest, HexRoundTripsAndRejectsMalformedText) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_THAT(HexDecode("00FF10"), Optional(Eq(std::string("\x00\xff\x10", 3))));
  EXPECT_EQ(HexDecode("abc"), std::nullopt);
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
}

TEST(EncodingTest, Base64UrlUsesTheUrlAlphabetWithoutPadding) {
  // RFC 4648 §10 vector "fooba" with the URL-safe alphabet and no padding.
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_THAT(Base64UrlDecode("-_8"), Optional(Eq(std::string("\xfb\xff", 2))));
  EXPECT_EQ(Base64UrlDecode("not base64!"), std::nullopt);
}

TEST(EncodingTest, FingerprintFormatsLikeOpenSslAndParsesEverySpelling) {
  std::string digest(32, '\xab');
  std::string formatted = FormatFingerprint(digest);
  EXPECT_EQ(formatted.substr(0, 13), "SHA256:AB:AB:");
  EXPECT_EQ(formatted.size(), 7 + 32 * 3 - 1);
  EXPECT_THAT(ParseFingerprint(formatted), Optional(Eq(digest)));
  EXPECT_THAT(ParseFingerprint("sha256:" + std::string(64, 'a')), Optional(Eq(std::string(32, '\xaa'))));
  EXPECT_THAT(ParseFingerprint(std::string(64, 'A')), Optional(Eq(std::string(32, '\xaa'))));
  EXPECT_EQ(ParseFingerprint("SHA256:AB:CD"), std::nullopt);  // too short
  EXPECT_EQ(ParseFingerprint("SHA256:" + std::string(64, 'g')), std::nullopt);
}

}  // namespace
}  // namespace tontine
