#include "common/crypto/shamir.h"

#include <algorithm>

#include <openssl/crypto.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/random.h"

namespace tontine::crypto {

namespace gf61 {

uint64_t Add(uint64_t a, uint64_t b) {
  uint64_t sum = a + b;  // < 2^62: no overflow
  return sum >= kShamirPrime ? sum - kShamirPrime : sum;
}

uint64_t Subtract(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kShamirPrime - b; }

// Mersenne reduction: 2^61 ≡ 1 (mod p), so x = hi·2^61 + lo ≡ hi + lo.
uint64_t Multiply(uint64_t a, uint64_t b) {
  unsigned __int128 product = static_cast<unsigned __int128>(a) * b;  // < 2^122
  uint64_t r = (static_cast<uint64_t>(product) & kShamirPrime) +
               static_cast<uint64_t>(product >> 61);  // < 2^62
  r = (r & kShamirPrime) + (r >> 61);                  // ≤ p + 1
  return r >= kShamirPrime ? r - kShamirPrime : r;
}

uint64_t Power(uint64_t base, uint64_t exponent) {
  uint64_t result = 1;
  while (exponent != 0) {
    if (exponent & 1) result = Multiply(result, base);
    base = Multiply(base, base);
    exponent >>= 1;
  }
  return result;
}

uint64_t Inverse(uint64_t a) { return Power(a, kShamirPrime - 2); }

}  // namespace gf61

namespace {

using Limbs = std::array<uint64_t, kShamirLimbs>;

// Limb i covers bytes 7i .. 7i + size − 1 of the secret.
constexpr size_t LimbSize(size_t limb) { return limb + 1 < kShamirLimbs ? 7 : 4; }

Limbs SecretLimbs(const Secret32& secret) {
  Limbs limbs{};
  for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
    for (size_t k = 0; k < LimbSize(limb); ++k) {
      limbs[limb] |= uint64_t{secret.bytes()[7 * limb + k]} << (8 * k);
    }
  }
  return limbs;
}

// INVALID_ARGUMENT if a limb does not fit its bytes (inconsistent shares).
absl::StatusOr<Secret32> SecretFromLimbs(const Limbs& limbs) {
  Secret32 secret;
  for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
    if (limbs[limb] >> (8 * LimbSize(limb)) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Shamir: inconsistent shares (reconstructed limb ", limb, " exceeds ",
          8 * LimbSize(limb), " bits): wrong, corrupted or too few shares"));
    }
    for (size_t k = 0; k < LimbSize(limb); ++k) {
      secret.mutable_bytes()[7 * limb + k] = static_cast<uint8_t>(limbs[limb] >> (8 * k));
    }
  }
  return secret;
}

// Uniform elements of GF(p) from the CSPRNG: 61 random bits, redrawn in the one case
// (probability 2^−61) where they equal p.
absl::Status RandomFieldElements(std::span<uint64_t> out) {
  TONTINE_RETURN_IF_ERROR(
      RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size_bytes())));
  for (uint64_t& v : out) {
    v &= kShamirPrime;
    while (v == kShamirPrime) {
      TONTINE_RETURN_IF_ERROR(
          RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v)));
      v &= kShamirPrime;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateShares(std::span<const ShamirShare> shares) {
  std::vector<uint32_t> xs;
  xs.reserve(shares.size());
  for (const ShamirShare& share : shares) {
    if (share.x == 0) return absl::InvalidArgumentError("Shamir: a share has x = 0");
    for (uint64_t y : share.y) {
      if (y >= kShamirPrime) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Shamir: the share at x = ", share.x, " has an evaluation ≥ 2^61 − 1"));
      }
    }
    xs.push_back(share.x);
  }
  std::sort(xs.begin(), xs.end());
  auto dup = std::adjacent_find(xs.begin(), xs.end());
  if (dup != xs.end()) {
    return absl::InvalidArgumentError(absl::StrCat("Shamir: two shares have x = ", *dup));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Secret32& secret, int threshold,
                                                     int share_count) {
  if (threshold < 1 || share_count < threshold) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Shamir: need 1 ≤ threshold ≤ share_count, got threshold ", threshold,
        " and share_count ", share_count));
  }
  const size_t degree = static_cast<size_t>(threshold) - 1;
  // coefficients[limb * degree + k − 1] is the coefficient of x^k of that limb's polynomial.
  std::vector<uint64_t> coefficients(kShamirLimbs * degree);
  TONTINE_RETURN_IF_ERROR(RandomFieldElements(coefficients));
  Limbs limbs = SecretLimbs(secret);

  std::vector<ShamirShare> shares(static_cast<size_t>(share_count));
  for (size_t s = 0; s < shares.size(); ++s) {
    shares[s].x = static_cast<uint32_t>(s + 1);
    for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
      const uint64_t* c = coefficients.data() + limb * degree;
      uint64_t y = 0;  // Horner, from the top coefficient down to the secret limb
      for (size_t k = degree; k >= 1; --k) {
        y = gf61::Add(gf61::Multiply(y, shares[s].x), c[k - 1]);
      }
      shares[s].y[limb] = gf61::Add(gf61::Multiply(y, shares[s].x), limbs[limb]);
    }
  }
  OPENSSL_cleanse(coefficients.data(), coefficients.size() * sizeof(uint64_t));
  OPENSSL_cleanse(limbs.data(), sizeof limbs);
  return shares;
}

absl::StatusOr<Secret32> ShamirCombine(std::span<const ShamirShare> shares, int threshold) {
  if (threshold < 1) {
    return absl::InvalidArgumentError(absl::StrCat("Shamir: threshold ", threshold, " < 1"));
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return absl::InvalidArgumentError(absl::StrCat("Shamir: ", shares.size(),
                                                   " shares given, ", threshold, " needed"));
  }
  TONTINE_RETURN_IF_ERROR(ValidateShares(shares));
  std::span<const ShamirShare> used = shares.first(static_cast<size_t>(threshold));

  // secret = Σ_j λ_j · y_j with λ_j = Π_{m≠j} x_m / (x_m − x_j): the Lagrange basis at 0.
  Limbs limbs{};
  for (size_t j = 0; j < used.size(); ++j) {
    uint64_t numerator = 1, denominator = 1;
    for (size_t m = 0; m < used.size(); ++m) {
      if (m == j) continue;
      numerator = gf61::Multiply(numerator, used[m].x);
      denominator = gf61::Multiply(denominator, gf61::Subtract(used[m].x, used[j].x));
    }
    uint64_t lambda = gf61::Multiply(numerator, gf61::Inverse(denominator));
    for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
      limbs[limb] = gf61::Add(limbs[limb], gf61::Multiply(lambda, used[j].y[limb]));
    }
  }
  absl::StatusOr<Secret32> secret = SecretFromLimbs(limbs);
  OPENSSL_cleanse(limbs.data(), sizeof limbs);
  return secret;
}

std::string ShamirShareValueBytes(const ShamirShare& share) {
  std::string bytes(kShamirShareBytes, '\0');
  for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
    for (size_t k = 0; k < 8; ++k) {
      bytes[8 * limb + k] = static_cast<char>(share.y[limb] >> (8 * k));
    }
  }
  return bytes;
}

absl::StatusOr<ShamirShare> ParseShamirShareValue(uint32_t x, absl::string_view bytes) {
  if (bytes.size() != kShamirShareBytes) {
    return absl::InvalidArgumentError(absl::StrCat("Shamir: a share value is ",
                                                   kShamirShareBytes, " bytes, got ",
                                                   bytes.size()));
  }
  if (x == 0) return absl::InvalidArgumentError("Shamir: a share cannot have x = 0");
  ShamirShare share;
  share.x = x;
  for (size_t limb = 0; limb < kShamirLimbs; ++limb) {
    for (size_t k = 0; k < 8; ++k) {
      share.y[limb] |= uint64_t{static_cast<uint8_t>(bytes[8 * limb + k])} << (8 * k);
    }
    if (share.y[limb] >= kShamirPrime) {
      return absl::InvalidArgumentError(
          absl::StrCat("Shamir: evaluation ", limb, " of the share at x = ", x, " is ≥ p"));
    }
  }
  return share;
}

}  // namespace tontine::crypto
