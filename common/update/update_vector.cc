#include "common/update/update_vector.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace tontine::update {
namespace {

constexpr uint64_t kUint32Max = 0xffffffffu;

absl::Status CheckLength(const char* what, uint64_t actual, uint64_t expected) {
  if (actual == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("expected ", expected, " ", what, ", got ", actual));
}

// The largest n for which n·bound ≤ limit, i.e. n values in [0, bound] sum to at most limit.
uint64_t MaxCount(uint64_t limit, uint64_t bound) { return limit / bound; }

// round(nll × 2^4) into a metric word; INVALID_ARGUMENT naming the bucket if out of bounds.
absl::StatusOr<uint32_t> EncodeNll(double nll_sum, uint32_t bucket) {
  if (!std::isfinite(nll_sum) || nll_sum < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bucket ", bucket, ": NLL sum must be finite and >= 0, got ", nll_sum));
  }
  const double word = std::round(nll_sum * kNllScale);
  if (word > kMaxMetricWord) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bucket ", bucket, ": NLL sum ", nll_sum, " nats exceeds the per-participant bound ",
        kMaxMetricWord / kNllScale));
  }
  return static_cast<uint32_t>(word);
}

absl::Status CheckCount(const char* what, uint64_t value, uint32_t bucket) {
  if (value <= kMaxMetricWord) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("bucket ", bucket, ": ", value, " ", what,
                                                 " exceed the per-participant bound ",
                                                 kMaxMetricWord));
}

// Writes the metric words of every bucket into `out` (3 per bucket: NLL, tokens, bytes).
absl::Status EncodeMetrics(std::span<const BucketMetrics> metrics, std::span<uint32_t> out) {
  for (uint32_t b = 0; b < metrics.size(); ++b) {
    TONTINE_ASSIGN_OR_RETURN(out[3 * b], EncodeNll(metrics[b].nll_sum, b));
    TONTINE_RETURN_IF_ERROR(CheckCount("tokens", metrics[b].tokens, b));
    TONTINE_RETURN_IF_ERROR(CheckCount("bytes", metrics[b].bytes, b));
    out[3 * b + 1] = static_cast<uint32_t>(metrics[b].tokens);
    out[3 * b + 2] = static_cast<uint32_t>(metrics[b].bytes);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateLayout(const UpdateLayout& layout) {
  if (layout.delta_words > kMaxDeltaWords) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delta_words ", layout.delta_words, " exceeds the bound ", kMaxDeltaWords));
  }
  if (layout.metric_buckets > kMaxMetricBuckets) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metric_buckets ", layout.metric_buckets, " exceeds the bound ", kMaxMetricBuckets));
  }
  if (layout.max_weight < 1 || layout.max_weight > kMaxWeightBound) {
    return absl::InvalidArgumentError(absl::StrCat("max_weight must be in [1, ",
                                                   kMaxWeightBound, "], got ",
                                                   layout.max_weight));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MaxParticipants(const UpdateLayout& layout,
                                         const QuantizationParams& params) {
  TONTINE_RETURN_IF_ERROR(ValidateLayout(layout));
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  uint64_t n = std::min(MaxExactSummands(params.bits), MaxCount(kUint32Max, layout.max_weight));
  if (layout.metric_buckets > 0) n = std::min(n, MaxCount(kUint32Max, kMaxMetricWord));
  return n;
}

absl::Status CheckSlotBounds(uint64_t participants, const UpdateLayout& layout,
                             const QuantizationParams& params) {
  TONTINE_RETURN_IF_ERROR(ValidateLayout(layout));
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  if (participants < 1) return absl::InvalidArgumentError("a cohort needs >= 1 participant");
  const uint64_t delta_max = MaxExactSummands(params.bits);
  if (participants > delta_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        participants, " participants could overflow the delta slots: n*(2^(B-1)-1) < 2^31 "
        "allows at most ", delta_max, " for B = ", params.bits));
  }
  const uint64_t weight_max = MaxCount(kUint32Max, layout.max_weight);
  if (participants > weight_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        participants, " participants could overflow the weight slot: n*W_max <= 2^32-1 "
        "allows at most ", weight_max, " for W_max = ", layout.max_weight));
  }
  const uint64_t metric_max = MaxCount(kUint32Max, kMaxMetricWord);
  if (layout.metric_buckets > 0 && participants > metric_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        participants, " participants could overflow the metric slots: n*(2^22-1) <= 2^32-1 "
        "allows at most ", metric_max));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> EncodeUpdate(std::span<const float> deltas,
                                                   uint32_t weight,
                                                   std::span<const BucketMetrics> metrics,
                                                   const UpdateLayout& layout,
                                                   const QuantizationParams& params,
                                                   QuantizeStats* stats) {
  TONTINE_RETURN_IF_ERROR(ValidateLayout(layout));
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  TONTINE_RETURN_IF_ERROR(CheckLength("delta values", deltas.size(), layout.delta_words));
  TONTINE_RETURN_IF_ERROR(CheckLength("metric buckets", metrics.size(), layout.metric_buckets));
  if (weight < 1 || weight > layout.max_weight) {
    return absl::InvalidArgumentError(absl::StrCat("weight must be in [1, ", layout.max_weight,
                                                   "], got ", weight));
  }
  std::vector<uint32_t> words(layout.vector_words());
  std::span<uint32_t> all(words);
  TONTINE_RETURN_IF_ERROR(
      EncodeMetrics(metrics, all.subspan(layout.delta_words + 1, 3 * metrics.size())));
  words[layout.weight_index()] = weight;
  const double scale = static_cast<double>(weight) / layout.max_weight;
  TONTINE_RETURN_IF_ERROR(QuantizeScaledDeltasInto(deltas, scale, params,
                                                   all.first(layout.delta_words), stats));
  return words;
}

absl::StatusOr<AggregateUpdate> DecodeAggregate(std::span<const uint32_t> sum,
                                                const UpdateLayout& layout,
                                                const QuantizationParams& params) {
  TONTINE_RETURN_IF_ERROR(ValidateLayout(layout));
  TONTINE_RETURN_IF_ERROR(ValidateQuantizationParams(params));
  TONTINE_RETURN_IF_ERROR(CheckLength("words in the summed update vector", sum.size(),
                                      layout.vector_words()));
  AggregateUpdate aggregate;
  aggregate.weight_sum = sum[layout.weight_index()];
  if (aggregate.weight_sum == 0) {
    return absl::InvalidArgumentError(
        "the summed weight is 0: the sum holds no participant's update, or it wrapped");
  }
  TONTINE_ASSIGN_OR_RETURN(aggregate.mean_delta,
                           DequantizeSum(sum.first(layout.delta_words), params));
  // Each participant sent (w_i/W_max)·Δ_i, so Σ w_i·Δ_i / Σ w_i = W_max · Σ / Σ w_i.
  const double factor = static_cast<double>(layout.max_weight) / aggregate.weight_sum;
  for (double& v : aggregate.mean_delta) v *= factor;
  aggregate.metrics.resize(layout.metric_buckets);
  for (uint32_t b = 0; b < layout.metric_buckets; ++b) {
    const uint64_t i = layout.metric_index(b);
    aggregate.metrics[b].nll_sum = sum[i] / kNllScale;
    aggregate.metrics[b].tokens = sum[i + 1];
    aggregate.metrics[b].bytes = sum[i + 2];
  }
  return aggregate;
}

uint32_t RoundMaxWeight(bool uniform_weighting) {
  return uniform_weighting ? 1 : kMaxWeightBound;
}

uint32_t ParticipantWeight(bool uniform_weighting, uint64_t tokens, double cap) {
  if (uniform_weighting || !(cap > 0)) return 1;
  const double share = std::min(static_cast<double>(tokens), cap) / cap;
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(kMaxWeightBound * share)));
}

}  // namespace tontine::update
