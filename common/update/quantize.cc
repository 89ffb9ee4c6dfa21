#include "common/update/quantize.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/random.h"

namespace tontine::update {
namespace {

// Coordinates rounded per CSPRNG draw: 4 KiB of randomness per RAND_bytes call.
constexpr size_t kChunk = 1024;

constexpr double kTwoTo32 = 4294967296.0;

// INVALID_ARGUMENT naming the first NaN/±Inf, else the L2 norm of scale·deltas.
absl::StatusOr<double> ScaledNorm(std::span<const float> deltas, double scale) {
  double sum_squares = 0;
  for (size_t i = 0; i < deltas.size(); ++i) {
    if (!std::isfinite(deltas[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("delta at index ", i, " is not finite (", deltas[i], ")"));
    }
    const double x = scale * deltas[i];
    sum_squares += x * x;
  }
  return std::sqrt(sum_squares);
}

// q = ⌊s⌋ + [u < frac(s)·2^32] for a uniform 32-bit u: up with probability frac(s), to
// within 2^−32. Clamped to [−m, m] against double rounding at the ends.
int32_t RoundStochastically(double s, uint32_t u, uint32_t m) {
  const double floor_s = std::floor(s);
  const bool up = static_cast<double>(u) < (s - floor_s) * kTwoTo32;
  const double q = std::clamp(floor_s + (up ? 1.0 : 0.0), -static_cast<double>(m),
                              static_cast<double>(m));
  return static_cast<int32_t>(q);
}

}  // namespace

absl::Status ValidateQuantizationParams(const QuantizationParams& params) {
  if (params.bits < kMinQuantizationBits || params.bits > kMaxQuantizationBits) {
    return absl::InvalidArgumentError(absl::StrCat("quantisation bits must be in [",
                                                   kMinQuantizationBits, ", ",
                                                   kMaxQuantizationBits, "], got ", params.bits));
  }
  if (!std::isfinite(params.clip_linf) || params.clip_linf <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("clip_linf must be > 0 and finite, got ", params.clip_linf));
  }
  if (!std::isfinite(params.clip_l2) || params.clip_l2 < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("clip_l2 must be >= 0 and finite, got ", params.clip_l2));
  }
  return absl::OkStatus();
}

uint32_t MaxQuantizedMagnitude(uint32_t bits) { return (uint32_t{1} << (bits - 1)) - 1; }

double QuantizationStep(const QuantizationParams& params) {
  return static_cast<double>(params.clip_linf) / MaxQuantizedMagnitude(params.bits);
}

uint64_t MaxExactSummands(uint32_t bits) {
  // n·M < 2^31 ⇔ n·M ≤ 2^31 − 1 ⇔ n ≤ ⌊(2^31 − 1)/M⌋.
  return ((uint64_t{1} << 31) - 1) / MaxQuantizedMagnitude(bits);
}

absl::StatusOr<std::vector<uint32_t>> QuantizeDeltas(std::span<const float> deltas,
                                                     const QuantizationParams& params,
                                                     QuantizeStats* stats) {
  std::vector<uint32_t> words(deltas.size());
  TONTINE_RETURN_IF_ERROR(QuantizeScaledDeltasInto(deltas, 1.0, params, words, stats));
  return words;
}

absl::Status QuantizeScaledDeltasInto(std::span<const float> deltas, double scale,
                                      const QuantizationParams& params, std::span<uint32_t> out,
                                      QuantizeStats* stats) {
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  if (!(scale > 0 && scale <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("scale must be in (0, 1], got ", scale));
  }
  if (out.size() != deltas.size()) {
    return absl::InvalidArgumentError(absl::StrCat("output holds ", out.size(),
                                                   " words, expected ", deltas.size()));
  }
  TONTINE_ASSIGN_OR_RETURN(const double l2_before, ScaledNorm(deltas, scale));

  // One factor applies the weight scale and the L2 clip together.
  double factor = scale;
  if (params.clip_l2 > 0 && l2_before > params.clip_l2) factor *= params.clip_l2 / l2_before;
  const double c = params.clip_linf;
  const uint32_t m = MaxQuantizedMagnitude(params.bits);

  QuantizeStats local;
  local.l2_before = l2_before;
  double after_squares = 0;
  std::array<uint32_t, kChunk> random;
  absl::Status status = absl::OkStatus();
  for (size_t start = 0; start < deltas.size(); start += kChunk) {
    const size_t count = std::min(kChunk, deltas.size() - start);
    status = crypto::RandomBytes(
        {reinterpret_cast<uint8_t*>(random.data()), count * sizeof(uint32_t)});
    if (!status.ok()) break;
    for (size_t j = 0; j < count; ++j) {
      double x = factor * deltas[start + j];
      if (std::fabs(x) > c) {
        x = std::copysign(c, x);
        ++local.clipped_coordinates;
      }
      after_squares += x * x;
      // Unscaled (x a float, or ±c), x·m is exact in double (24-bit times < 2^23), so a
      // value on the grid maps to an integer s and is never rounded.
      const int32_t q = RoundStochastically(x * m / c, random[j], m);
      out[start + j] = static_cast<uint32_t>(q);  // two's complement (C++20)
    }
  }
  // The rounding bits, with the words, would pin the delta down more finely than the words.
  OPENSSL_cleanse(random.data(), sizeof(random));
  TONTINE_RETURN_IF_ERROR(status);
  local.l2_after = std::sqrt(after_squares);
  if (stats != nullptr) *stats = local;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> DequantizeSum(std::span<const uint32_t> words,
                                                  const QuantizationParams& params) {
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  const double step = QuantizationStep(params);
  std::vector<double> values(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    values[i] = static_cast<int32_t>(words[i]) * step;  // two's complement (C++20)
  }
  return values;
}

}  // namespace tontine::update
