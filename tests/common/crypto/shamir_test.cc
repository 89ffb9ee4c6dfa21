#include "common/crypto/shamir.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

constexpr uint64_t kP = kShamirPrime;

Secret32 FreshSecret() {
  absl::StatusOr<Secret32> secret = RandomSecret32();
  EXPECT_THAT(secret, IsOk());
  return secret.ok() ? *secret : Secret32();
}

std::vector<ShamirShare> Split(const Secret32& secret, int threshold, int share_count) {
  absl::StatusOr<std::vector<ShamirShare>> shares = ShamirSplit(secret, threshold, share_count);
  EXPECT_THAT(shares, IsOk());
  return shares.ok() ? *shares : std::vector<ShamirShare>();
}

// Independent reference for GF(p) multiplication: the full 128-bit remainder.
uint64_t MulModReference(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(a) * b % kP);
}

TEST(ShamirTest, ReconstructsFromExactlyThresholdShares) {
  Secret32 secret = FreshSecret();
  std::vector<ShamirShare> shares = Split(secret, 3, 5);
  ASSERT_EQ(shares.size(), 5u);
  for (size_t i = 0; i < shares.size(); ++i) EXPECT_EQ(shares[i].x, i + 1);
  absl::StatusOr<Secret32> back = ShamirCombine(std::span(shares).first(3), 3);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(*back == secret);
}

TEST(ShamirTest, ReconstructsFromAnyThresholdSubset) {
  std::mt19937 rng(20170101);
  for (int trial = 0; trial < 200; ++trial) {
    int share_count = std::uniform_int_distribution<int>(1, 20)(rng);
    int threshold = std::uniform_int_distribution<int>(1, share_count)(rng);
    Secret32 secret = FreshSecret();
    std::vector<ShamirShare> shares = Split(secret, threshold, share_count);
    std::shuffle(shares.begin(), shares.end(), rng);
    absl::StatusOr<Secret32> back = ShamirCombine(shares, threshold);  // the first t, shuffled
    ASSERT_THAT(back, IsOk()) << "t=" << threshold << " n=" << share_count;
    EXPECT_TRUE(*back == secret) << "t=" << threshold << " n=" << share_count;
  }
}

TEST(ShamirTest, ReconstructsAtCohortScale) {
  Secret32 secret = FreshSecret();
  std::vector<ShamirShare> shares = Split(secret, 300, 500);
  std::reverse(shares.begin(), shares.end());
  absl::StatusOr<Secret32> back = ShamirCombine(shares, 300);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(*back == secret);
}

// t − 1 shares of a degree t − 1 polynomial interpolate to an unrelated field element: the
// limbs then almost never fit (error), and never give back the secret.
TEST(ShamirTest, ThresholdMinusOneSharesDoNotReconstruct) {
  for (int threshold = 2; threshold <= 12; ++threshold) {
    Secret32 secret = FreshSecret();
    std::vector<ShamirShare> shares = Split(secret, threshold, threshold + 2);
    absl::StatusOr<Secret32> guess = ShamirCombine(shares, threshold - 1);
    if (guess.ok()) {
      EXPECT_FALSE(*guess == secret) << "t=" << threshold;
    } else {
      EXPECT_THAT(guess, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inconsistent")));
    }
    EXPECT_THAT(ShamirCombine(std::span(shares).first(threshold - 1), threshold),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needed")));
  }
}

// A share replaced by random field elements moves every limb by a random amount: the limbs
// then fit their 56 (32) bits with probability 2^−49. (A small change such as y + 1 moves a
// limb by a small Lagrange coefficient and may go unnoticed: this is a consistency check,
// not authentication, which AES-256-GCM provides.)
TEST(ShamirTest, DetectsAShareReplacedByRandomValues) {
  std::mt19937_64 rng(4242);
  Secret32 secret = FreshSecret();
  std::vector<ShamirShare> shares = Split(secret, 4, 6);
  for (uint64_t& y : shares[2].y) y = rng() % kP;
  EXPECT_THAT(ShamirCombine(shares, 4),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inconsistent")));
}

TEST(ShamirTest, RejectsDuplicateOrZeroXAndEvaluationsOutsideTheField) {
  std::vector<ShamirShare> shares = Split(FreshSecret(), 3, 5);
  std::vector<ShamirShare> duplicate = shares;
  duplicate[2].x = duplicate[0].x;
  EXPECT_THAT(ShamirCombine(duplicate, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("two shares")));
  duplicate = shares;
  duplicate[4].x = duplicate[1].x;  // beyond the first t: still refused
  EXPECT_THAT(ShamirCombine(duplicate, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("two shares")));
  std::vector<ShamirShare> zero = shares;
  zero[1].x = 0;
  EXPECT_THAT(ShamirCombine(zero, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x = 0")));
  std::vector<ShamirShare> big = shares;
  big[0].y[4] = kP;
  EXPECT_THAT(ShamirCombine(big, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("evaluation")));
  EXPECT_THAT(ShamirCombine(shares, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("< 1")));
}

TEST(ShamirTest, SplitRejectsThresholdsOutsideOneToShareCount) {
  Secret32 secret = FreshSecret();
  for (auto [threshold, share_count] : {std::pair{0, 5}, {6, 5}, {-1, 3}, {1, 0}}) {
    EXPECT_THAT(ShamirSplit(secret, threshold, share_count),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threshold")))
        << threshold << " of " << share_count;
  }
  EXPECT_THAT(ShamirSplit(secret, 5, 5), IsOk());
}

// With threshold 1 the polynomials are constants: every share is the secret's limbs, which
// pins the limb layout (bytes 7i..7i+6 little-endian; the last limb is bytes 28..31).
TEST(ShamirTest, ThresholdOneSharesAreTheSecretLimbs) {
  Secret32 secret;
  for (size_t i = 0; i < kSecretBytes; ++i) secret.mutable_bytes()[i] = static_cast<uint8_t>(i);
  std::vector<ShamirShare> shares = Split(secret, 1, 3);
  ASSERT_EQ(shares.size(), 3u);
  for (const ShamirShare& share : shares) {
    EXPECT_THAT(share.y, ElementsAre(0x06050403020100u, 0x0d0c0b0a090807u, 0x14131211100f0eu,
                                     0x1b1a1918171615u, 0x1f1e1d1cu));
  }
}

TEST(ShamirTest, FieldArithmeticSatisfiesTheFieldIdentities) {
  std::mt19937_64 rng(61);
  std::vector<uint64_t> values = {0, 1, 2, kP - 1, kP - 2, uint64_t{1} << 60,
                                 (uint64_t{1} << 32) + 7};
  for (int i = 0; i < 200; ++i) values.push_back(rng() % kP);
  for (uint64_t a : values) {
    EXPECT_EQ(gf61::Add(a, gf61::Subtract(0, a)), 0u) << a;
    EXPECT_EQ(gf61::Multiply(a, 1), a);
    if (a != 0) {
      EXPECT_EQ(gf61::Multiply(a, gf61::Inverse(a)), 1u) << a;
      EXPECT_EQ(gf61::Power(a, kP - 1), 1u) << a;  // Fermat
    }
    for (uint64_t b : {values[3], values[5], values[values.size() - 1], a}) {
      EXPECT_EQ(gf61::Multiply(a, b), MulModReference(a, b)) << a << " * " << b;
      EXPECT_EQ(gf61::Add(a, b), (a + b) % kP);
      EXPECT_EQ(gf61::Subtract(gf61::Add(a, b), b), a);
      uint64_t c = values[7];
      EXPECT_EQ(gf61::Multiply(a, gf61::Add(b, c)),
                gf61::Add(gf61::Multiply(a, b), gf61::Multiply(a, c)));
    }
  }
  EXPECT_EQ(gf61::Multiply(kP - 1, kP - 1), 1u);  // (−1)² = 1
  EXPECT_EQ(gf61::Power(2, 61), 1u);              // 2^61 ≡ 1
}

TEST(ShamirTest, ShareValueBytesRoundTripAsLittleEndianWords) {
  ShamirShare share;
  share.x = 7;
  share.y = {0x0102030405060708u, 0, kP - 1, 1, 0x1f1e1d1cu};
  std::string bytes = ShamirShareValueBytes(share);
  ASSERT_EQ(bytes.size(), kShamirShareBytes);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  absl::StatusOr<ShamirShare> parsed = ParseShamirShareValue(7, bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->x, 7u);
  EXPECT_EQ(parsed->y, share.y);
  for (const ShamirShare& s : Split(FreshSecret(), 2, 3)) {
    absl::StatusOr<ShamirShare> again = ParseShamirShareValue(s.x, ShamirShareValueBytes(s));
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->y, s.y);
  }
}

TEST(ShamirTest, ParseRejectsWrongLengthsEvaluationsOutsideTheFieldAndXZero) {
  std::string good(kShamirShareBytes, '\0');
  EXPECT_THAT(ParseShamirShareValue(1, good.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("40 bytes")));
  EXPECT_THAT(ParseShamirShareValue(1, good + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("40 bytes")));
  EXPECT_THAT(ParseShamirShareValue(0, good),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x = 0")));
  std::string at_p = good;
  at_p.replace(24, 8, "\xff\xff\xff\xff\xff\xff\xff\x1f", 8);  // y[3] = 2^61 − 1 = p
  EXPECT_THAT(ParseShamirShareValue(1, at_p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("≥ p")));
  at_p[24] = static_cast<char>(0xfe);  // p − 1 is fine
  EXPECT_THAT(ParseShamirShareValue(1, at_p), IsOk());
  std::string high = good;
  high[39] = static_cast<char>(0x80);  // y[4] ≥ 2^63
  EXPECT_THAT(ParseShamirShareValue(1, high),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("≥ p")));
}

}  // namespace
}  // namespace tontine::crypto
