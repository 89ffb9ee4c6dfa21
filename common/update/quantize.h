// Clipping and B-bit stochastic quantisation of an update into Z_2^32, and the inverse map
// on a cohort's sum (DESIGN.md §5).
//
// With M = 2^(B−1)−1 and step = c/M, a coordinate x is
//   1. scaled (by the caller's weight factor) and clipped: first the whole vector to L2 norm
//      ≤ clip_l2, then each coordinate to [−c, c] (c = clip_linf);
//   2. mapped to s = x·M/c ∈ [−M, M] and rounded stochastically: q = ⌊s⌋ + 1 with
//      probability s − ⌊s⌋, else ⌊s⌋, so E[q] = s (unbiased; stochastic k-level quantisation,
//      Suresh et al., ICML 2017) and Var[q] ≤ 1/4;
//   3. stored as the two's complement of q in a uint32.
// Words add modulo 2^32 (as SecAgg+ masks do). The sum of n participants' words, read as an
// int32, is the exact integer Σq while n·M < 2^31, and then Σq·step lies within n·step of
// the sum of the clipped inputs.
//
// The rounding bits come from the CSPRNG (crypto::RandomBytes), drawn in bulk (4 KiB per
// call) and wiped after use.
//
// Example, B = 16 and c = 1 (M = 32767, step ≈ 3.05·10^−5):
//   x =  0.3  ↦ s = 9830.1 ↦ q = 9831 with probability 0.1, else 9830
//   x = −1    ↦ q = −32767 ↦ word 0xffff8001
//   x = −2.5  ↦ clipped to −1, the same word
// and a cohort of n ≤ 65538 sums exactly.
//
// Choosing c: a coordinate beyond ±c is clipped (a bias the rounding cannot undo); one within
// it costs a rounding error of standard deviation ≤ step/2. The L2 bound limits any one
// participant's influence on the sum. With the configs' defaults (B = 16, c = 0.05,
// clip_l2 = 1) the step is ≈ 1.53·10^−6.
//
// Words are uint32 because the SecAgg+ masks are too (AES-256-CTR keystream read as
// little-endian uint32, DESIGN.md §7), so masking and unmasking are plain wrapping adds.
// The functions keep no state and are safe to call concurrently (OpenSSL 3's DRBG is).
#ifndef TONTINE_COMMON_UPDATE_QUANTIZE_H_
#define TONTINE_COMMON_UPDATE_QUANTIZE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine::update {

inline constexpr uint32_t kMinQuantizationBits = 2;
inline constexpr uint32_t kMaxQuantizationBits = 24;

// How an update is clipped and quantised; the Round's SecAgg parameters. Coordinator and
// every participant must hold the same value.
struct QuantizationParams {
  // B: signed bits per coordinate, 2–24. Default 16 (c ↦ 32767).
  uint32_t bits = 16;
  // L2 norm bound on the (weighted) delta, applied first. ≥ 0 and finite; 0 (default) = none.
  float clip_l2 = 0;
  // L∞ bound c, applied second; c ↦ 2^(B−1)−1. Must be > 0 and finite; no usable default.
  float clip_linf = 0;
};

// What clipping did to one update (norms of the scaled input, in the deltas' unit).
struct QuantizeStats {
  double l2_before = 0;              // before clipping
  double l2_after = 0;               // after both clips, before rounding
  uint64_t clipped_coordinates = 0;  // coordinates the L∞ bound changed (|x| > c)
};

// INVALID_ARGUMENT unless bits ∈ [2, 24], clip_linf > 0 and finite, clip_l2 ≥ 0 and finite.
absl::Status ValidateQuantizationParams(const QuantizationParams& params);

// M = 2^(B−1)−1, the integer that c maps to. REQUIRES: 2 ≤ bits ≤ 24.
uint32_t MaxQuantizedMagnitude(uint32_t bits);

// step = c/M, the value of one quantisation level. REQUIRES: params valid.
double QuantizationStep(const QuantizationParams& params);

// The largest n with n·(2^(B−1)−1) < 2^31: up to this many participants' words sum without
// wrapping (e.g. 65538 for B = 16, 256 for B = 24). REQUIRES: 2 ≤ bits ≤ 24.
uint64_t MaxExactSummands(uint32_t bits);

// Clips `deltas` and rounds each coordinate stochastically to a word, as above.
// INVALID_ARGUMENT for invalid params or a NaN/±Inf delta (naming the first bad index);
// INTERNAL if the CSPRNG fails. `stats`, if given, receives what clipping did.
absl::StatusOr<std::vector<uint32_t>> QuantizeDeltas(std::span<const float> deltas,
                                                     const QuantizationParams& params,
                                                     QuantizeStats* stats = nullptr);

// As QuantizeDeltas on scale·deltas (the weight factor w/W_max; clipping applies to the
// scaled vector), writing into `out`. Besides QuantizeDeltas' errors, INVALID_ARGUMENT
// unless 0 < scale ≤ 1 and out.size() == deltas.size(). On error `out` is unspecified.
absl::Status QuantizeScaledDeltasInto(std::span<const float> deltas, double scale,
                                      const QuantizationParams& params, std::span<uint32_t> out,
                                      QuantizeStats* stats = nullptr);

// Reads each word of a sum as a two's complement int32 and scales it back by step:
// word_sum · c/(2^(B−1)−1). Exact (up to double rounding) when the sum did not wrap, i.e.
// for at most MaxExactSummands(bits) participants. INVALID_ARGUMENT for invalid params.
absl::StatusOr<std::vector<double>> DequantizeSum(std::span<const uint32_t> words,
                                                  const QuantizationParams& params);

}  // namespace tontine::update

#endif  // TONTINE_COMMON_UPDATE_QUANTIZE_H_
