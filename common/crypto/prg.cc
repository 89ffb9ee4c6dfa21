#include "common/crypto/prg.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/base/cpu.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"

namespace tontine::crypto {
namespace {

// The keystream is produced in blocks of 8 KiB: large enough that the EVP call overhead is
// negligible, small enough that the block and the zero source stay in L1/L2 while the
// caller's vector streams through once.
constexpr size_t kChunkWords = 2048;
constexpr size_t kChunkBytes = kChunkWords * sizeof(uint32_t);
alignas(64) const uint8_t kZeros[kChunkBytes] = {};

constexpr uint64_t kAesBlockWords = 4;
constexpr uint64_t kChaChaBlockWords = 16;
constexpr uint64_t kChaChaStreamWords = (uint64_t{1} << 32) * kChaChaBlockWords;
constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

using Iv = std::array<uint8_t, 16>;

// The OpenSSL IV that starts our stream at `word_offset` (a multiple of kPrgAlignWords).
Iv StreamIv(PrgAlgorithm algorithm, uint64_t word_offset) {
  Iv iv{};
  if (algorithm == PrgAlgorithm::kAes256Ctr) {
    uint64_t block = word_offset / kAesBlockWords;  // 128-bit big-endian counter block
    for (int i = 0; i < 8; ++i) iv[15 - i] = static_cast<uint8_t>(block >> (8 * i));
  } else {
    uint64_t block = word_offset / kChaChaBlockWords;  // 32-bit LE counter || zero nonce
    for (int i = 0; i < 4; ++i) iv[i] = static_cast<uint8_t>(block >> (8 * i));
  }
  return iv;
}

// Words the cipher can produce from `iv` before its block counter wraps. OpenSSL's ChaCha20
// would carry into the nonce; we stop instead. A 128-bit AES counter never wraps here.
uint64_t WordsAvailable(PrgAlgorithm algorithm, const Iv& iv) {
  if (algorithm == PrgAlgorithm::kAes256Ctr) return kUnlimited;
  uint64_t counter = uint64_t{iv[0]} | uint64_t{iv[1]} << 8 | uint64_t{iv[2]} << 16 |
                     uint64_t{iv[3]} << 24;
  return ((uint64_t{1} << 32) - counter) * kChaChaBlockWords;
}

absl::StatusOr<EvpCipherCtxPtr> NewKeystreamContext(PrgAlgorithm algorithm,
                                                    const Secret32& key, const Iv& iv) {
  const EVP_CIPHER* cipher =
      algorithm == PrgAlgorithm::kAes256Ctr ? EVP_aes_256_ctr() : EVP_chacha20();
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.bytes().data(), iv.data()) != 1) {
    return absl::InternalError(absl::StrCat(PrgAlgorithmName(algorithm),
                                            " set-up failed: ", OpenSslErrorText()));
  }
  return ctx;
}

// Writes the next `n` keystream bytes to `out` (the encryption of zeros).
absl::Status EncryptZeros(EVP_CIPHER_CTX* ctx, uint8_t* out, size_t n) {
  for (size_t done = 0; done < n;) {
    int len = static_cast<int>(std::min(n - done, kChunkBytes));
    int out_len = 0;
    if (EVP_EncryptUpdate(ctx, out + done, &out_len, kZeros, len) != 1 || out_len != len) {
      return absl::InternalError(absl::StrCat("keystream failed: ", OpenSslErrorText()));
    }
    done += static_cast<size_t>(len);
  }
  return absl::OkStatus();
}

absl::Status PastTheEnd(uint64_t wanted, uint64_t available) {
  return absl::OutOfRangeError(absl::StrCat("PRG: ", wanted, " words requested but the ",
                                            "ChaCha20 stream has ", available, " left"));
}

// The combining loops. Blocks of 16 words with a constant trip count let GCC vectorise
// them at -O2 (its "very cheap" cost model refuses loops that need an epilogue).
constexpr size_t kLane = 16;

void CopyWords(uint32_t* __restrict dst, const uint32_t* __restrict src, size_t n) {
  std::memcpy(dst, src, n * sizeof(uint32_t));
}

void AddWords(uint32_t* __restrict dst, const uint32_t* __restrict src, size_t n) {
  size_t i = 0;
  for (; i + kLane <= n; i += kLane) {
    for (size_t j = 0; j < kLane; ++j) dst[i + j] += src[i + j];
  }
  for (; i < n; ++i) dst[i] += src[i];
}

void SubtractWords(uint32_t* __restrict dst, const uint32_t* __restrict src, size_t n) {
  size_t i = 0;
  for (; i + kLane <= n; i += kLane) {
    for (size_t j = 0; j < kLane; ++j) dst[i + j] -= src[i + j];
  }
  for (; i < n; ++i) dst[i] -= src[i];
}

}  // namespace

namespace prg_internal {

struct State {
  EvpCipherCtxPtr ctx;  // keyed; its position is just past the buffer's last word
  uint64_t words_left;  // words the cipher can still produce (kUnlimited for AES)
  size_t pos = 0;       // buffer[pos, end) is unread keystream
  size_t end = 0;
  alignas(64) uint32_t buffer[kChunkWords];

  // Generates the next block of keystream into the buffer. REQUIRES: pos == end.
  absl::Status Refill() {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkWords, words_left));
    TONTINE_RETURN_IF_ERROR(
        EncryptZeros(ctx.get(), reinterpret_cast<uint8_t*>(buffer), n * sizeof(uint32_t)));
    if constexpr (std::endian::native == std::endian::big) {
      for (size_t i = 0; i < n; ++i) buffer[i] = __builtin_bswap32(buffer[i]);
    }
    words_left -= n;
    pos = 0;
    end = n;
    return absl::OkStatus();
  }
};

void StateDeleter::operator()(State* state) const {
  OPENSSL_cleanse(state->buffer, sizeof state->buffer);
  delete state;
}

absl::StatusOr<Prg> CreateWithIv(PrgAlgorithm algorithm, const Secret32& key, const Iv& iv) {
  TONTINE_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, NewKeystreamContext(algorithm, key, iv));
  std::unique_ptr<State, StateDeleter> state(new State);
  state->ctx = std::move(ctx);
  state->words_left = WordsAvailable(algorithm, iv);
  return Prg(algorithm, std::move(state));
}

}  // namespace prg_internal

PrgAlgorithm DefaultPrgAlgorithm() {
  static const PrgAlgorithm kDefault =
      DetectCpu().aes ? PrgAlgorithm::kAes256Ctr : PrgAlgorithm::kChaCha20;
  return kDefault;
}

absl::string_view PrgAlgorithmName(PrgAlgorithm algorithm) {
  return algorithm == PrgAlgorithm::kAes256Ctr ? "AES-256-CTR" : "ChaCha20";
}

absl::StatusOr<Prg> Prg::Create(PrgAlgorithm algorithm, const Secret32& seed,
                                uint64_t word_offset) {
  if (word_offset % kPrgAlignWords != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PRG word offset ", word_offset, " is not a multiple of ", kPrgAlignWords));
  }
  if (algorithm == PrgAlgorithm::kChaCha20 && word_offset >= kChaChaStreamWords) {
    return absl::OutOfRangeError(absl::StrCat("PRG word offset ", word_offset,
                                              " is past the end of a ChaCha20 stream"));
  }
  return prg_internal::CreateWithIv(algorithm, seed, StreamIv(algorithm, word_offset));
}

template <typename Combine>
absl::Status Prg::Apply(std::span<uint32_t> v, Combine combine) {
  prg_internal::State& s = *state_;
  size_t buffered = s.end - s.pos;
  if (v.size() > buffered && v.size() - buffered > s.words_left) {
    return PastTheEnd(v.size(), buffered + s.words_left);
  }
  for (size_t done = 0; done < v.size();) {
    if (s.pos == s.end) TONTINE_RETURN_IF_ERROR(s.Refill());
    size_t n = std::min(v.size() - done, s.end - s.pos);
    combine(v.data() + done, s.buffer + s.pos, n);
    done += n;
    s.pos += n;
  }
  return absl::OkStatus();
}

absl::Status Prg::Fill(std::span<uint32_t> out) { return Apply(out, CopyWords); }
absl::Status Prg::AddTo(std::span<uint32_t> v) { return Apply(v, AddWords); }
absl::Status Prg::SubtractFrom(std::span<uint32_t> v) { return Apply(v, SubtractWords); }

absl::Status KeystreamFloor(PrgAlgorithm algorithm, const Secret32& seed,
                            std::span<uint8_t> out) {
  Iv iv = StreamIv(algorithm, 0);
  uint64_t words = WordsAvailable(algorithm, iv);
  if (words != kUnlimited && out.size() / sizeof(uint32_t) > words) {
    return PastTheEnd(out.size() / sizeof(uint32_t), words);
  }
  TONTINE_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, NewKeystreamContext(algorithm, seed, iv));
  return EncryptZeros(ctx.get(), out.data(), out.size());
}

}  // namespace tontine::crypto
