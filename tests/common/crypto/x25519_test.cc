#include "common/crypto/x25519.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "common/crypto/secret.h"
#include "tests/testing/hex.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

using ::tontine::testing::HexBytes;

Secret32 SecretFromHex(absl::string_view hex) {
  absl::StatusOr<Secret32> secret = Secret32FromBytes(HexBytes(hex));
  EXPECT_THAT(secret, IsOk());
  return secret.ok() ? *secret : Secret32();
}

std::string AgreeHex(absl::string_view scalar_hex, absl::string_view u_hex) {
  absl::StatusOr<Secret32> shared = X25519Agree(SecretFromHex(scalar_hex), HexBytes(u_hex));
  EXPECT_THAT(shared, IsOk());
  return shared.ok() ? HexEncode(shared->view()) : "";
}

TEST(Secret32Test, StartsAsZerosAndCopiesCompareEqual) {
  Secret32 zero;
  EXPECT_EQ(zero.view(), std::string(32, '\0'));
  Secret32 a = SecretFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  Secret32 b = a;
  EXPECT_TRUE(a == b);
  EXPECT_EQ(b.view(), a.view());
  b = zero;
  EXPECT_TRUE(b == zero);
}

TEST(Secret32Test, EqualityLooksAtEveryByte) {
  for (size_t i = 0; i < kSecretBytes; ++i) {
    Secret32 a, b;
    b.mutable_bytes()[i] = 1;
    EXPECT_FALSE(a == b) << "byte " << i;
  }
}

TEST(Secret32Test, RandomSecretsDifferAndWrongLengthsAreRejected) {
  absl::StatusOr<Secret32> a = RandomSecret32(), b = RandomSecret32();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_FALSE(*a == *b);
  EXPECT_THAT(Secret32FromBytes(std::string(31, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(Secret32FromBytes(std::string(33, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
}

// RFC 7748 §5.2, the two single-scalar-multiplication vectors. The second u-coordinate has
// its top bit set, which must be ignored.
TEST(X25519Test, MatchesRfc7748ScalarMultiplicationVectors) {
  EXPECT_EQ(AgreeHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(AgreeHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 §5.2 iteration: k = u = 9; repeatedly (k, u) ← (X25519(k, u), k). The
// 1,000,000-iteration value is not checked: through EVP it takes about a minute.
TEST(X25519Test, MatchesRfc7748IteratedVectorsAfterOneAndOneThousandIterations) {
  std::string k = HexBytes("0900000000000000000000000000000000000000000000000000000000000000");
  std::string u = k;
  for (int i = 1; i <= 1000; ++i) {
    absl::StatusOr<Secret32> next = X25519Agree(*Secret32FromBytes(k), u);
    ASSERT_THAT(next, IsOk()) << "iteration " << i;
    u = k;
    k = std::string(next->view());
    if (i == 1) {
      EXPECT_EQ(HexEncode(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(HexEncode(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
TEST(X25519Test, AliceAndBobDeriveTheRfc7748KeysAndSharedSecret) {
  absl::StatusOr<X25519KeyPair> alice = X25519KeyPairFromPrivate(
      SecretFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  absl::StatusOr<X25519KeyPair> bob = X25519KeyPairFromPrivate(
      SecretFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_THAT(alice, IsOk());
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(HexEncode(PublicKeyView(alice->public_key)),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexEncode(PublicKeyView(bob->public_key)),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  absl::StatusOr<Secret32> k_alice =
      X25519Agree(alice->private_key, PublicKeyView(bob->public_key));
  absl::StatusOr<Secret32> k_bob =
      X25519Agree(bob->private_key, PublicKeyView(alice->public_key));
  ASSERT_THAT(k_alice, IsOk());
  ASSERT_THAT(k_bob, IsOk());
  EXPECT_EQ(HexEncode(k_alice->view()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_TRUE(*k_alice == *k_bob);
}

TEST(X25519Test, GeneratedKeyPairsAreFreshAndAgree) {
  absl::StatusOr<X25519KeyPair> a = GenerateX25519KeyPair();
  absl::StatusOr<X25519KeyPair> b = GenerateX25519KeyPair();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_FALSE(a->private_key == b->private_key);
  EXPECT_NE(a->public_key, b->public_key);
  absl::StatusOr<X25519KeyPair> again = X25519KeyPairFromPrivate(a->private_key);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->public_key, a->public_key);
  absl::StatusOr<Secret32> ab = X25519Agree(a->private_key, PublicKeyView(b->public_key));
  absl::StatusOr<Secret32> ba = X25519Agree(b->private_key, PublicKeyView(a->public_key));
  ASSERT_THAT(ab, IsOk());
  ASSERT_THAT(ba, IsOk());
  EXPECT_TRUE(*ab == *ba);
}

// Points of order 1, 2, 4 and 8 (and their non-canonical encodings p − 1, p, p + 1) give an
// all-zero agreement with any clamped scalar: RFC 7748 §6.1 says to refuse it.
TEST(X25519Test, RejectsLowOrderPeerPoints) {
  Secret32 own = SecretFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  for (absl::string_view point : {
           "0000000000000000000000000000000000000000000000000000000000000000",
           "0100000000000000000000000000000000000000000000000000000000000000",
           "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
           "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
           "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
       }) {
    EXPECT_THAT(X25519Agree(own, HexBytes(point)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("low-order")))
        << point;
  }
  // The check is on the result, not the encoding: an ordinary point is accepted.
  EXPECT_THAT(
      X25519Agree(own, HexBytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")),
      IsOk());
}

TEST(X25519Test, RejectsPeerKeysThatAreNot32Bytes) {
  Secret32 own = SecretFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  EXPECT_THAT(X25519Agree(own, ""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(X25519Agree(own, std::string(31, '\x09')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(X25519Agree(own, std::string(33, '\x09')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
}

}  // namespace
}  // namespace tontine::crypto
