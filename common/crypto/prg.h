// The SecAgg+ mask PRG: a 32-byte seed expanded into a keystream read as little-endian
// uint32 words (DESIGN.md §7). Pairwise masks and self-masks are streams of this PRG added
// to (or subtracted from) the update vector in Z_2^32.
//
// AES-256-CTR (NIST SP 800-38A §6.5) where the CPU has AES-NI, else ChaCha20 (RFC 8439 §2.4),
// both through OpenSSL's EVP interface. The two give different streams: every participant
// of a Round must use the same algorithm, which the Round's parameters fix.
#ifndef TONTINE_COMMON_CRYPTO_PRG_H_
#define TONTINE_COMMON_CRYPTO_PRG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret.h"

namespace tontine::crypto {

enum class PrgAlgorithm { kAes256Ctr, kChaCha20 };

// kAes256Ctr when the CPU has AES-NI (DetectCpu().aes in common/base/cpu.h), else kChaCha20.
PrgAlgorithm DefaultPrgAlgorithm();
// "AES-256-CTR" / "ChaCha20".
absl::string_view PrgAlgorithmName(PrgAlgorithm algorithm);

class Prg;
namespace prg_internal {
struct State;
struct StateDeleter {
  void operator()(State* state) const;
};
// A Prg whose cipher starts at the raw 16-byte OpenSSL IV `iv` (AES-256-CTR: the initial
// counter block; ChaCha20: 32-bit little-endian block counter || 12-byte nonce). For the
// known-answer tests of SP 800-38A and RFC 8439, whose counters and nonces are not ours.
absl::StatusOr<Prg> CreateWithIv(PrgAlgorithm algorithm, const Secret32& key,
                                 const std::array<uint8_t, 16>& iv);
}  // namespace prg_internal

// One seed's keystream.
//   AES-256-CTR: key = seed, initial counter block = the 128-bit big-endian block number
//     (0 at the stream's start), incremented over all 128 bits.
//   ChaCha20 (RFC 8439 block function, OpenSSL's "ChaCha20"): key = seed, nonce = 12 zero
//     bytes, 32-bit block counter from 0. The stream ends after 2^32 blocks (2^36 words).
// Word i of the stream is bytes 4i..4i+3 of the keystream, little-endian.
//
// A seed must be used for one stream only (the protocol derives a fresh seed per pair and
// Round). Reads continue where the last one stopped: the words are the same whether read in
// one call or in many calls of any sizes. Lifecycle: Create → Fill / AddTo / SubtractFrom …
// The keystream is generated in 8 KiB blocks into a buffer that is wiped on destruction.
// Not thread-safe; use one Prg per thread (several threads expand disjoint ranges of one
// stream by creating one Prg each at their own `word_offset`).
class Prg {
 public:
  // 16 words = 64 bytes: one ChaCha20 block, four AES blocks.
  static constexpr uint64_t kPrgAlignWords = 16;

  // A Prg positioned at word `word_offset` of the stream. INVALID_ARGUMENT unless
  // `word_offset` is a multiple of kPrgAlignWords; OUT_OF_RANGE if it is past the end of a
  // ChaCha20 stream; INTERNAL if OpenSSL fails.
  static absl::StatusOr<Prg> Create(PrgAlgorithm algorithm, const Secret32& seed,
                                    uint64_t word_offset = 0);

  Prg(Prg&&) = default;
  Prg& operator=(Prg&&) = default;

  // Writes the next out.size() words of the stream into `out`.
  absl::Status Fill(std::span<uint32_t> out);
  // v[i] += next word (mod 2^32), for each i.
  absl::Status AddTo(std::span<uint32_t> v);
  // v[i] -= next word (mod 2^32), for each i.
  absl::Status SubtractFrom(std::span<uint32_t> v);
  // All three: OUT_OF_RANGE (and nothing read) if the request runs past the end of a
  // ChaCha20 stream; INTERNAL if OpenSSL fails.

  PrgAlgorithm algorithm() const { return algorithm_; }

 private:
  friend absl::StatusOr<Prg> prg_internal::CreateWithIv(PrgAlgorithm, const Secret32&,
                                                        const std::array<uint8_t, 16>&);
  Prg(PrgAlgorithm algorithm, std::unique_ptr<prg_internal::State, prg_internal::StateDeleter> s)
      : algorithm_(algorithm), state_(std::move(s)) {}
  template <typename Combine>
  absl::Status Apply(std::span<uint32_t> v, Combine combine);

  // Constant after construction.
  PrgAlgorithm algorithm_;
  // The keyed cipher context, the keystream buffer and the read position.
  std::unique_ptr<prg_internal::State, prg_internal::StateDeleter> state_;
};

// The raw keystream of `seed` from the stream's start, into `out` (bytes, not words): the
// cost floor that Fill / AddTo are measured against (tests/bench). out's bytes equal the
// stream's words written little-endian. OUT_OF_RANGE past the end of a ChaCha20 stream;
// INTERNAL if OpenSSL fails.
absl::Status KeystreamFloor(PrgAlgorithm algorithm, const Secret32& seed,
                            std::span<uint8_t> out);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_PRG_H_
