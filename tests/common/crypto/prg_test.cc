#include "common/crypto/prg.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/cpu.h"
#include "common/base/encoding.h"
#include "tests/testing/hex.h"
#include "tests/testing/status_matchers.h"

namespace tontine::crypto {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

constexpr PrgAlgorithm kBoth[] = {PrgAlgorithm::kAes256Ctr, PrgAlgorithm::kChaCha20};

using ::tontine::testing::HexBytes;

Secret32 SeedFromHex(absl::string_view hex) { return *Secret32FromBytes(HexBytes(hex)); }

// Seed bytes 0x00, 0x01, …, 0x1f.
Secret32 CountingSeed() {
  Secret32 seed;
  for (size_t i = 0; i < kSecretBytes; ++i) seed.mutable_bytes()[i] = static_cast<uint8_t>(i);
  return seed;
}

std::array<uint8_t, 16> Iv(absl::string_view hex) {
  std::string bytes = HexBytes(hex);
  std::array<uint8_t, 16> iv{};
  std::memcpy(iv.data(), bytes.data(), std::min(bytes.size(), iv.size()));
  return iv;
}

// The words as bytes, little-endian, independently of the host's byte order.
std::string LittleEndianBytes(const std::vector<uint32_t>& words) {
  std::string bytes;
  for (uint32_t w : words) {
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<char>(w >> (8 * k)));
  }
  return bytes;
}

std::vector<uint32_t> Words(Prg& prg, size_t n) {
  std::vector<uint32_t> out(n);
  EXPECT_THAT(prg.Fill(out), IsOk());
  return out;
}

std::vector<uint32_t> StreamWords(PrgAlgorithm algorithm, const Secret32& seed, size_t n,
                                  uint64_t offset = 0) {
  absl::StatusOr<Prg> prg = Prg::Create(algorithm, seed, offset);
  EXPECT_THAT(prg, IsOk());
  return prg.ok() ? Words(*prg, n) : std::vector<uint32_t>();
}

std::string Xor(absl::string_view a, absl::string_view b) {
  std::string out(std::min(a.size(), b.size()), '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

// NIST SP 800-38A F.5.5 CTR-AES256.Encrypt. With the F.5.5 initial counter block in place of
// our block number, the Prg's keystream XOR the plaintext must be the ciphertext; the
// counter f0…feff carries into byte 14 on the second block.
TEST(PrgTest, AesCtrCounterLayoutMatchesSp80038aF55) {
  absl::StatusOr<Prg> prg = prg_internal::CreateWithIv(
      PrgAlgorithm::kAes256Ctr,
      SeedFromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"),
      Iv("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
  ASSERT_THAT(prg, IsOk());
  std::string keystream = LittleEndianBytes(Words(*prg, 16));
  EXPECT_EQ(HexEncode(Xor(keystream, HexBytes("6bc1bee22e409f96e93d7e117393172a"
                                         "ae2d8a571e03ac9c9eb76fac45af8e51"
                                         "30c81c46a35ce411e5fbc1191a0a52ef"
                                         "f69f2445df4f9b17ad2b417be66c3710"))),
            "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
            "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
}

// RFC 8439 §2.4.2: key 00..1f, nonce 000000000000004a00000000, block counter 1. OpenSSL's
// IV is the 32-bit little-endian counter followed by the nonce.
TEST(PrgTest, ChaCha20MatchesRfc8439Section242) {
  absl::StatusOr<Prg> prg = prg_internal::CreateWithIv(
      PrgAlgorithm::kChaCha20, CountingSeed(), Iv("01000000000000000000004a00000000"));
  ASSERT_THAT(prg, IsOk());
  std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  ASSERT_EQ(plaintext.size(), 114u);
  std::string keystream = LittleEndianBytes(Words(*prg, 29)).substr(0, 114);
  EXPECT_EQ(HexEncode(Xor(keystream, plaintext)),
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
            "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
            "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
            "5af90bbf74a35be6b40b8eedf2785e42874d");
}

// RFC 8439 A.2 test vector #1 (all-zero key, nonce and counter) is exactly our ChaCha20
// stream for the all-zero seed: it pins the nonce and counter layout of Prg::Create.
TEST(PrgTest, ChaCha20StreamOfTheZeroSeedIsRfc8439A2Vector1) {
  EXPECT_EQ(HexEncode(LittleEndianBytes(StreamWords(PrgAlgorithm::kChaCha20, Secret32(), 16))),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
}

// Our own default streams, frozen. Seed = bytes 0x00..0x1f; the first 8 words. Obtained with
//   K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//   head -c 32 /dev/zero | openssl enc -aes-256-ctr -K $K -iv 00000000000000000000000000000000
//   head -c 32 /dev/zero | openssl enc -chacha20 -K $K -iv 00000000000000000000000000000000
// (OpenSSL 3.0.22) and read as little-endian uint32. Cross-checked independently: the AES
// bytes equal AES-256-ECB of the big-endian counter blocks 0 and 1 (Python `cryptography`),
// and the ChaCha20 words equal a from-scratch Python RFC 8439 block function (key 00..1f,
// counter 0, zero nonce).
TEST(PrgTest, MatchesFrozenFixedSeedVectors) {
  EXPECT_THAT(StreamWords(PrgAlgorithm::kAes256Ctr, CountingSeed(), 8),
              ElementsAreArray<uint32_t>({0xb60090f2, 0xd09f492a, 0x6a9af3a9, 0x80772edd,
                                          0xae765df0, 0xe59fb94a, 0x319bf6a6, 0x3d36c248}));
  EXPECT_THAT(StreamWords(PrgAlgorithm::kChaCha20, CountingSeed(), 8),
              ElementsAreArray<uint32_t>({0x7d2bfd39, 0x6a19c5d9, 0x7703bd8d, 0x494adcb8,
                                          0x6fd8358a, 0xcc6adebc, 0x4c7dccb2, 0x9224ead8}));
}

// Reads of odd sizes, crossing the 2048-word internal blocks, give the same stream.
TEST(PrgTest, StreamIsTheSameReadInOneCallOrInManyOddSizedCalls) {
  for (PrgAlgorithm algorithm : kBoth) {
    SCOPED_TRACE(std::string(PrgAlgorithmName(algorithm)));
    const size_t total = 3 * 2048 + 777;
    std::vector<uint32_t> whole = StreamWords(algorithm, CountingSeed(), total);
    absl::StatusOr<Prg> prg = Prg::Create(algorithm, CountingSeed());
    ASSERT_THAT(prg, IsOk());
    std::vector<uint32_t> pieces(total);
    const size_t sizes[] = {1, 3, 0, 15, 17, 2047, 2, 2049, 5, 1000, 31};
    size_t done = 0;
    for (size_t i = 0; done < total; ++i) {
      size_t n = std::min(sizes[i % std::size(sizes)], total - done);
      ASSERT_THAT(prg->Fill(std::span<uint32_t>(pieces).subspan(done, n)), IsOk());
      done += n;
    }
    EXPECT_EQ(pieces, whole);
  }
}

TEST(PrgTest, CreateAtAnOffsetContinuesTheStreamExactly) {
  for (PrgAlgorithm algorithm : kBoth) {
    SCOPED_TRACE(std::string(PrgAlgorithmName(algorithm)));
    const size_t total = 3 * 2048 + 100;
    std::vector<uint32_t> whole = StreamWords(algorithm, CountingSeed(), total);
    for (uint64_t offset : {16u, 64u, 2032u, 2048u, 2064u, 4096u + 16 * 7}) {
      std::vector<uint32_t> tail = StreamWords(algorithm, CountingSeed(), total - offset, offset);
      EXPECT_TRUE(std::equal(tail.begin(), tail.end(), whole.begin() + offset))
          << "offset " << offset;
    }
  }
}

TEST(PrgTest, RejectsOffsetsThatAreNotMultiplesOfSixteenWords) {
  for (PrgAlgorithm algorithm : kBoth) {
    for (uint64_t offset : {1u, 4u, 8u, 15u, 17u, 2050u}) {
      EXPECT_THAT(Prg::Create(algorithm, CountingSeed(), offset),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multiple of 16")))
          << PrgAlgorithmName(algorithm) << " offset " << offset;
    }
  }
}

// Some CTR implementations increment only the low 32 bits of the counter block; ours must
// carry over all 128 (block 2^32 − 1 is followed by block 2^32).
TEST(PrgTest, AesCtrCounterCarriesPastThirtyTwoBits) {
  const uint64_t first_high_word = (uint64_t{1} << 32) * 4;  // block 2^32
  // Words of blocks 2^32 − 4 … 2^32, read in one stream from the aligned offset before it.
  std::vector<uint32_t> across =
      StreamWords(PrgAlgorithm::kAes256Ctr, CountingSeed(), 20, first_high_word - 16);
  std::vector<uint32_t> after =
      StreamWords(PrgAlgorithm::kAes256Ctr, CountingSeed(), 4, first_high_word);
  ASSERT_EQ(across.size(), 20u);
  ASSERT_EQ(after.size(), 4u);
  EXPECT_TRUE(std::equal(after.begin(), after.end(), across.begin() + 16));
  // And block 2^32 is not block 0, as a 32-bit counter would make it.
  EXPECT_NE(after, StreamWords(PrgAlgorithm::kAes256Ctr, CountingSeed(), 4));
}

// The ChaCha20 counter is 32 bits: the stream ends after 2^32 blocks rather than wrap.
TEST(PrgTest, ChaCha20StreamEndsAfterTwoToThe32Blocks) {
  const uint64_t end = uint64_t{1} << 36;  // words
  absl::StatusOr<Prg> prg = Prg::Create(PrgAlgorithm::kChaCha20, CountingSeed(), end - 32);
  ASSERT_THAT(prg, IsOk());
  std::vector<uint32_t> out(33);
  EXPECT_THAT(prg->Fill(out), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ChaCha20")));
  EXPECT_THAT(prg->Fill(std::span<uint32_t>(out).first(32)), IsOk());
  EXPECT_THAT(prg->Fill(std::span<uint32_t>(out).first(1)),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ChaCha20")));
  EXPECT_THAT(Prg::Create(PrgAlgorithm::kChaCha20, CountingSeed(), end),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("ChaCha20")));
}

// AddTo and SubtractFrom apply the same words as Fill, modulo 2^32, and undo each other.
TEST(PrgTest, AddToAndSubtractFromApplyTheStreamModuloTwoToThe32) {
  std::mt19937 rng(20240917);
  for (PrgAlgorithm algorithm : kBoth) {
    SCOPED_TRACE(std::string(PrgAlgorithmName(algorithm)));
    const size_t n = 5000;
    std::vector<uint32_t> v(n);
    for (uint32_t& x : v) x = rng();
    v[0] = 0xffffffffu;  // wraps on any non-zero word
    std::vector<uint32_t> stream = StreamWords(algorithm, CountingSeed(), n);
    std::vector<uint32_t> masked = v;
    absl::StatusOr<Prg> adder = Prg::Create(algorithm, CountingSeed());
    ASSERT_THAT(adder, IsOk());
    ASSERT_THAT(adder->AddTo(std::span<uint32_t>(masked).first(1)), IsOk());
    ASSERT_THAT(adder->AddTo(std::span<uint32_t>(masked).subspan(1)), IsOk());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(masked[i], static_cast<uint32_t>(uint64_t{v[i]} + stream[i])) << "word " << i;
    }
    absl::StatusOr<Prg> subtracter = Prg::Create(algorithm, CountingSeed());
    ASSERT_THAT(subtracter, IsOk());
    ASSERT_THAT(subtracter->SubtractFrom(std::span<uint32_t>(masked).first(2049)), IsOk());
    ASSERT_THAT(subtracter->SubtractFrom(std::span<uint32_t>(masked).subspan(2049)), IsOk());
    EXPECT_EQ(masked, v);
  }
}

TEST(PrgTest, KeystreamFloorIsTheStreamAsLittleEndianBytes) {
  for (PrgAlgorithm algorithm : kBoth) {
    std::string bytes(4 * 2048 + 64, '\0');
    ASSERT_THAT(KeystreamFloor(algorithm, CountingSeed(),
                               std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()),
                                                  bytes.size())),
                IsOk());
    EXPECT_EQ(bytes, LittleEndianBytes(StreamWords(algorithm, CountingSeed(), bytes.size() / 4)))
        << PrgAlgorithmName(algorithm);
  }
}

TEST(PrgTest, DifferentSeedsGiveDifferentStreams) {
  for (PrgAlgorithm algorithm : kBoth) {
    Secret32 other = CountingSeed();
    other.mutable_bytes()[31] ^= 1;
    EXPECT_NE(StreamWords(algorithm, CountingSeed(), 16), StreamWords(algorithm, other, 16));
  }
}

TEST(PrgTest, DefaultAlgorithmIsAesCtrExactlyWhenTheCpuHasAesNi) {
  EXPECT_EQ(DefaultPrgAlgorithm(),
            DetectCpu().aes ? PrgAlgorithm::kAes256Ctr : PrgAlgorithm::kChaCha20);
  EXPECT_EQ(PrgAlgorithmName(PrgAlgorithm::kAes256Ctr), "AES-256-CTR");
  EXPECT_EQ(PrgAlgorithmName(PrgAlgorithm::kChaCha20), "ChaCha20");
}

}  // namespace
}  // namespace tontine::crypto
