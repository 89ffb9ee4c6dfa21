#include "common/crypto/aead.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "tests/testing/hex.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

using ::tontine::testing::HexBytes;

Secret32 Key(absl::string_view hex) { return *Secret32FromBytes(HexBytes(hex)); }

struct GcmVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* associated_data;
  const char* ciphertext;
  const char* tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13–16 (the
// AES-256 ones; NIST's GCM validation uses the same). 16 has associated data and a partial
// final block.
constexpr char kKey15[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr char kPlain15[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr char kCipher15[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
const GcmVector kVectors[] = {
    {"13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"15", kKey15, "cafebabefacedbaddecaf888", kPlain15, "", kCipher15,
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"16", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AeadTest, MatchesGcmSpecTestCases13To16) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(std::string("test case ") + v.name);
    std::string sealed_hex = std::string(v.nonce) + v.ciphertext + v.tag;
    EXPECT_THAT(Aes256GcmSealWithNonce(Key(v.key), HexBytes(v.nonce), HexBytes(v.plaintext),
                                       HexBytes(v.associated_data)),
                IsOkAndHolds(HexBytes(sealed_hex)));
    EXPECT_THAT(Aes256GcmOpen(Key(v.key), HexBytes(sealed_hex), HexBytes(v.associated_data)),
                IsOkAndHolds(HexBytes(v.plaintext)));
  }
}

TEST(AeadTest, SealUsesAFreshNonceEachTimeAndOpens) {
  Secret32 key = Key(kKey15);
  absl::StatusOr<std::string> a = Aes256GcmSeal(key, "share of b_u", "session|3|7");
  absl::StatusOr<std::string> b = Aes256GcmSeal(key, "share of b_u", "session|3|7");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->size(), kGcmNonceBytes + 12 + kGcmTagBytes);
  EXPECT_NE(a->substr(0, kGcmNonceBytes), b->substr(0, kGcmNonceBytes));
  EXPECT_THAT(Aes256GcmOpen(key, *a, "session|3|7"), IsOkAndHolds(std::string("share of b_u")));
  EXPECT_THAT(Aes256GcmOpen(key, *b, "session|3|7"), IsOkAndHolds(std::string("share of b_u")));
}

// Every bit of nonce, ciphertext and tag is authenticated: flipping any byte fails.
TEST(AeadTest, TamperingWithAnyByteOfTheMessageFailsTheTag) {
  const GcmVector& v = kVectors[3];
  std::string sealed = HexBytes(std::string(v.nonce) + v.ciphertext + v.tag);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] ^= 0x01;
    EXPECT_THAT(Aes256GcmOpen(Key(v.key), tampered, HexBytes(v.associated_data)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")))
        << "byte " << i;
  }
}

TEST(AeadTest, TamperedAssociatedDataOrWrongKeyFailsTheTag) {
  const GcmVector& v = kVectors[3];
  std::string sealed = HexBytes(std::string(v.nonce) + v.ciphertext + v.tag);
  std::string aad = HexBytes(v.associated_data);
  for (size_t i = 0; i < aad.size(); ++i) {
    std::string tampered = aad;
    tampered[i] ^= 0x80;
    EXPECT_THAT(Aes256GcmOpen(Key(v.key), sealed, tampered),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")))
        << "byte " << i;
  }
  EXPECT_THAT(Aes256GcmOpen(Key(v.key), sealed, ""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")));
  EXPECT_THAT(Aes256GcmOpen(Key(v.key), sealed, aad + "x"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")));
  Secret32 wrong = Key(v.key);
  wrong.mutable_bytes()[31] ^= 1;
  EXPECT_THAT(Aes256GcmOpen(wrong, sealed, aad),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")));
}

TEST(AeadTest, RejectsMessagesShorterThanNonceAndTag) {
  EXPECT_THAT(Aes256GcmOpen(Key(kKey15), std::string(27, 'x'), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shorter")));
  EXPECT_THAT(Aes256GcmOpen(Key(kKey15), "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shorter")));
  // Exactly nonce + tag is an empty message: well-formed, and here unauthentic.
  EXPECT_THAT(Aes256GcmOpen(Key(kKey15), std::string(28, 'x'), ""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tag")));
}

TEST(AeadTest, RejectsNoncesThatAreNotTwelveBytes) {
  EXPECT_THAT(Aes256GcmSealWithNonce(Key(kKey15), std::string(11, 'n'), "p", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("12")));
  EXPECT_THAT(Aes256GcmSealWithNonce(Key(kKey15), std::string(16, 'n'), "p", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("12")));
}

}  // namespace
}  // namespace tontine::crypto
