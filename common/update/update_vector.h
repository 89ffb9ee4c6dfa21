// The canonical update vector: the one thing a participant uploads (masked) each Round, and
// the decoding of a cohort's sum of them (DESIGN.md §5).
//
// Slot order, for D = delta_words and buckets b = 0 … metric_buckets−1:
//   words [0, D)         quantised weighted adapter deltas, canonical order (sorted tensor
//                        names), as quantize.h: two's complement, |q| ≤ M = 2^(B−1)−1
//   word  D              the weight w, an integer in [1, W_max]
//   word  D+1+3b         bucket b: held-out NLL sum in fixed point, round(nats × 2^4)
//   word  D+1+3b+1       bucket b: held-out token count
//   word  D+1+3b+2       bucket b: held-out byte count
// A participant with no held-out text in a bucket puts zeros in its three words.
//
// Weighting: the participant scales its delta by w/W_max before clipping and quantising; the
// coordinator recovers Σ w_i·Δ_i / Σ w_i as W_max · dequantise(Σ words) / Σ w. Uniform
// weighting is W_max = w = 1. Token weighting capped at `cap` tokens (the experiment's
// aggregation.max_weight) maps to, e.g., W_max = 2^16 and w = max(1, round(2^16·min(t, cap)/cap)).
//
// Every slot is summed modulo 2^32, so each has a per-participant bound that keeps the sum
// of n participants exact:
//   deltas   |q| ≤ 2^(B−1)−1 (signed)          exact while n·(2^(B−1)−1) < 2^31
//   weight   1 ≤ w ≤ W_max ≤ 2^16               exact while n·W_max ≤ 2^32−1
//   metrics  each word ≤ 2^22−1 (unsigned)      exact while n ≤ 1024
// So per bucket a participant reports at most 4,194,303 tokens, 4,194,303 bytes and an NLL
// sum of at most ≈262,143.97 nats (at 2–3 nats per token the NLL bound binds first, near
// 100k tokens; a participant with more held-out text must evaluate only part of it).
// The NLL scale 2^4 keeps a 1024-participant total under 2^32 at 1/16-nat resolution; each
// participant's rounding error is ≤ 1/32 nat.
#ifndef TONTINE_COMMON_UPDATE_UPDATE_VECTOR_H_
#define TONTINE_COMMON_UPDATE_UPDATE_VECTOR_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/update/quantize.h"

namespace tontine::update {

// The largest W_max a Round may choose.
inline constexpr uint32_t kMaxWeightBound = uint32_t{1} << 16;
// The largest value of any metric word, per participant and bucket.
inline constexpr uint32_t kMaxMetricWord = (uint32_t{1} << 22) - 1;
// NLL fixed point: the word is round(nats × kNllScale).
inline constexpr double kNllScale = 16;
// Sanity bounds on the shape, far above any adapter: keep vector_words() well inside size_t.
inline constexpr uint64_t kMaxDeltaWords = uint64_t{1} << 32;
inline constexpr uint32_t kMaxMetricBuckets = 1024;

// The Round's shape of the update vector. Coordinator and every participant must hold the
// same value (it travels with the Round's SecAgg parameters).
struct UpdateLayout {
  // D: trainable adapter elements, in canonical order. 0 = an evaluation-only Round.
  uint64_t delta_words = 0;
  // Language buckets with metric slots (0 = no metrics), ≤ kMaxMetricBuckets.
  uint32_t metric_buckets = 0;
  // W_max: the largest weight a participant may report, 1–2^16. Default 1 (uniform).
  uint32_t max_weight = 1;

  // D + 1 + 3·metric_buckets.
  uint64_t vector_words() const { return delta_words + 1 + 3 * uint64_t{metric_buckets}; }
  // Index of the weight word.
  uint64_t weight_index() const { return delta_words; }
  // Index of bucket b's NLL word; its tokens and bytes follow. REQUIRES: b < metric_buckets.
  uint64_t metric_index(uint32_t bucket) const { return delta_words + 1 + 3 * uint64_t{bucket}; }
};

// One participant's held-out metrics in one bucket, or (decoded) the cohort's totals.
struct BucketMetrics {
  double nll_sum = 0;  // Σ −log p(token), in nats
  uint64_t tokens = 0;
  uint64_t bytes = 0;  // UTF-8 bytes of the text those tokens cover (for bits per byte)
};

// The decoded sum of a cohort's update vectors.
struct AggregateUpdate {
  std::vector<double> mean_delta;      // [delta_words]: Σ w_i·Δ_i / Σ w_i of the clipped Δ_i
  uint64_t weight_sum = 0;             // Σ w_i
  std::vector<BucketMetrics> metrics;  // [metric_buckets]: cohort totals
};

// W_max of a Round: 1 under uniform weighting, else kMaxWeightBound. Coordinator and
// participants derive it the same way from TrainingTask.uniform_weighting.
uint32_t RoundMaxWeight(bool uniform_weighting);

// A participant's weight under token weighting: max(1, round(W_max · min(tokens, cap) / cap)),
// where `cap` (> 0) training tokens count as W_max. 1 under uniform weighting.
uint32_t ParticipantWeight(bool uniform_weighting, uint64_t tokens, double cap);

// INVALID_ARGUMENT unless delta_words ≤ 2^32, metric_buckets ≤ 1024 and
// 1 ≤ max_weight ≤ 2^16.
absl::Status ValidateLayout(const UpdateLayout& layout);

// The largest cohort whose sum is exact in every slot: the minimum over the delta, weight
// and (if metric_buckets > 0) metric slots of the bounds above. INVALID_ARGUMENT for an
// invalid layout or params.
absl::StatusOr<uint64_t> MaxParticipants(const UpdateLayout& layout,
                                         const QuantizationParams& params);

// For the coordinator before it invites a cohort: OK if the sum of `participants` (≥ 1)
// update vectors is exact in every slot; else INVALID_ARGUMENT naming the slot that could
// overflow and the largest cohort it allows.
absl::Status CheckSlotBounds(uint64_t participants, const UpdateLayout& layout,
                             const QuantizationParams& params);

// A participant's update vector: `deltas` (delta_words floats, canonical order) scaled by
// weight/max_weight, clipped and quantised; the weight; and one BucketMetrics per bucket.
// INVALID_ARGUMENT for an invalid layout or params, a wrong number of deltas or buckets
// (naming expected and actual), a weight outside [1, max_weight], a NaN/Inf delta (naming
// the first bad index), or a metric that is negative, not finite or over its bound (naming
// the bucket). INTERNAL if the CSPRNG fails. `stats` receives what clipping did.
absl::StatusOr<std::vector<uint32_t>> EncodeUpdate(std::span<const float> deltas,
                                                   uint32_t weight,
                                                   std::span<const BucketMetrics> metrics,
                                                   const UpdateLayout& layout,
                                                   const QuantizationParams& params,
                                                   QuantizeStats* stats = nullptr);

// Decodes the sum (modulo 2^32, masks removed) of a cohort's update vectors. Exact in every
// slot when CheckSlotBounds held for the cohort. INVALID_ARGUMENT for an invalid layout or
// params, a sum of the wrong length (naming expected and actual) or a weight sum of 0 (no
// participant, or a wrapped sum).
absl::StatusOr<AggregateUpdate> DecodeAggregate(std::span<const uint32_t> sum,
                                                const UpdateLayout& layout,
                                                const QuantizationParams& params);

}  // namespace tontine::update

#endif  // TONTINE_COMMON_UPDATE_UPDATE_VECTOR_H_
