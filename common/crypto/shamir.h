// Shamir secret sharing (Shamir 1979) of 32-byte secrets over GF(2^61−1), as SecAgg
// shares the self-mask seed b_u and the mask private key (Bonawitz et al. 2017 §4;
// DESIGN.md §7).
//
// The secret is split into 5 limbs, little-endian: limb i (i < 4) is bytes 7i..7i+6 read as
// a little-endian 56-bit integer; limb 4 is bytes 28..31 (32 bits). Each limb is shared with
// its own random polynomial of degree threshold−1 whose coefficients come from the CSPRNG
// (uniform below p, by rejection). A share is the 5 evaluations at one x ≠ 0; in SecAgg+,
// x = 1 + the holder's position in the sorted neighbour list.
#ifndef TONTINE_COMMON_CRYPTO_SHAMIR_H_
#define TONTINE_COMMON_CRYPTO_SHAMIR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret.h"

namespace tontine::crypto {

inline constexpr uint64_t kShamirPrime = (uint64_t{1} << 61) - 1;
inline constexpr size_t kShamirLimbs = 5;
inline constexpr size_t kShamirShareBytes = 40;  // 5 × little-endian uint64

struct ShamirShare {
  uint32_t x = 0;
  std::array<uint64_t, kShamirLimbs> y{};  // each < kShamirPrime
};

// Shares at x = 1 .. share_count. INVALID_ARGUMENT unless 1 ≤ threshold ≤ share_count (< p
// holds for any int); INTERNAL if the CSPRNG fails. Any `threshold` shares reconstruct the
// secret; fewer reveal nothing about it.
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Secret32& secret, int threshold,
                                                     int share_count);

// Lagrange interpolation at 0 from the first `threshold` of `shares`. Every share given is
// validated, used or not. INVALID_ARGUMENT when: threshold < 1; fewer than threshold shares;
// an x is 0 or appears twice; an evaluation is ≥ p; or a reconstructed limb does not fit its
// 56 bits (32 for the last) — the sign of inconsistent shares (wrong or too few shares yield
// a random field element, which fits with probability 2^−49).
absl::StatusOr<Secret32> ShamirCombine(std::span<const ShamirShare> shares, int threshold);

// The 40 bytes of share.y, each evaluation as a little-endian uint64 (x travels apart).
std::string ShamirShareValueBytes(const ShamirShare& share);

// The share at `x` whose evaluations are `bytes`. INVALID_ARGUMENT unless `bytes` is 40
// bytes, each evaluation is below p, and x ≠ 0.
absl::StatusOr<ShamirShare> ParseShamirShareValue(uint32_t x, absl::string_view bytes);

// Arithmetic in GF(p), p = 2^61 − 1, with unsigned __int128 products and Mersenne
// reduction. REQUIRES: every argument < p. Results are < p.
namespace gf61 {
uint64_t Add(uint64_t a, uint64_t b);
uint64_t Subtract(uint64_t a, uint64_t b);
uint64_t Multiply(uint64_t a, uint64_t b);
uint64_t Power(uint64_t base, uint64_t exponent);
// a^(p−2) (Fermat). REQUIRES: a ≠ 0 (returns 0 for 0).
uint64_t Inverse(uint64_t a);
}  // namespace gf61

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_SHAMIR_H_
