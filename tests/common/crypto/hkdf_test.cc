#include "common/crypto/hkdf.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "tests/testing/hex.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

using ::tontine::testing::HexBytes;

// HKDF-SHA256 of the hex inputs, `length` bytes, as hex.
std::string HkdfHex(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                    size_t length) {
  std::vector<uint8_t> out(length);
  EXPECT_THAT(HkdfSha256(HexBytes(ikm), HexBytes(salt), HexBytes(info), out), IsOk());
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
}

// RFC 5869 Appendix A.1: basic test case with SHA-256.
TEST(HkdfTest, MatchesRfc5869TestCase1) {
  EXPECT_EQ(HkdfHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
                    "f0f1f2f3f4f5f6f7f8f9", 42),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 Appendix A.2: longer inputs and outputs (82 bytes: three HMAC blocks).
TEST(HkdfTest, MatchesRfc5869TestCase2) {
  EXPECT_EQ(
      HkdfHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
              "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
              "404142434445464748494a4b4c4d4e4f",
              "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
              "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
              "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
              "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
              "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
              "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
              82),
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
      "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// RFC 5869 Appendix A.3: zero-length salt and info.
TEST(HkdfTest, MatchesRfc5869TestCase3WithEmptySaltAndInfo) {
  EXPECT_EQ(HkdfHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// RFC 5869 §2.2: an absent salt is HashLen zero bytes.
TEST(HkdfTest, EmptySaltEqualsThirtyTwoZeroBytes) {
  EXPECT_EQ(HkdfHex("0b0b0b0b", "", "01", 32),
            HkdfHex("0b0b0b0b", std::string(64, '0'), "01", 32));
}

TEST(HkdfTest, KeyIsTheFirstThirtyTwoBytesOfTheOutput) {
  std::string ikm = HexBytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  std::string salt = HexBytes("000102030405060708090a0b0c");
  std::string info = HexBytes("f0f1f2f3f4f5f6f7f8f9");
  absl::StatusOr<Secret32> key = HkdfSha256Key(ikm, salt, info);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(HexEncode(key->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
  absl::StatusOr<Secret32> other_use = HkdfSha256Key(ikm, salt, "pairwise-mask");
  ASSERT_THAT(other_use, IsOk());
  EXPECT_FALSE(*key == *other_use);
}

TEST(HkdfTest, AcceptsOneToEightThousandOneHundredSixtyBytesOnly) {
  std::vector<uint8_t> out(kHkdfSha256MaxBytes + 1);
  EXPECT_THAT(HkdfSha256("ikm", "salt", "info", std::span<uint8_t>(out).first(0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("8160")));
  EXPECT_THAT(HkdfSha256("ikm", "salt", "info", out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("8160")));
  EXPECT_THAT(HkdfSha256("ikm", "salt", "info", std::span<uint8_t>(out).first(1)), IsOk());
  EXPECT_THAT(HkdfSha256("ikm", "salt", "info", std::span<uint8_t>(out).first(8160)), IsOk());
}

}  // namespace
}  // namespace tontine::crypto
