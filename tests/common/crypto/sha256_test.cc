#include "common/crypto/sha256.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/encoding.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using tontine::testing::IsOkAndHolds;

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf"): "abc" and the 448-bit message.
TEST(Sha256Test, MatchesNistExampleDigests) {
  EXPECT_THAT(Sha256Digest("abc"),
              IsOkAndHolds(*HexDecode(
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")));
  EXPECT_THAT(Sha256Digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              IsOkAndHolds(*HexDecode(
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")));
  EXPECT_THAT(Sha256Digest(""),
              IsOkAndHolds(*HexDecode(
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")));
}

TEST(Sha256Test, IncrementalAndFileDigestsEqualTheOneShotDigest) {
  std::string data(3 << 20, 'x');  // spans several 1 MiB read chunks
  absl::StatusOr<Sha256> h = Sha256::Create();
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h->Update(absl::string_view(data).substr(0, 12345)).ok());
  ASSERT_TRUE(h->Update(absl::string_view(data).substr(12345)).ok());
  absl::StatusOr<std::string> expected = Sha256Digest(data);
  ASSERT_TRUE(expected.ok());
  EXPECT_THAT(h->Finish(), IsOkAndHolds(*expected));

  tontine::testing::TempDir dir;
  std::ofstream(dir.path() / "blob", std::ios::binary) << data;
  EXPECT_THAT(Sha256File(dir.path() / "blob"), IsOkAndHolds(*expected));
}

TEST(Sha256Test, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace tontine::crypto
