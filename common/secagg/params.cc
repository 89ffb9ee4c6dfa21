#include "common/secagg/params.h"

#include <math.h>  // lgamma_r: std::lgamma writes the global signgam, a data race

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"

namespace tontine::secagg {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kLog2E = 1.4426950408889634;  // 1 / ln 2
// A tail sum stops once what is left cannot change it by more than this relative amount.
constexpr double kTailPrecision = 1e-17;
// Margins (in bits) closer than this count as equal when choosing t.
constexpr double kTieBits = 1e-9;

double LogGamma(double x) {
  int sign = 0;
  return lgamma_r(x, &sign);
}

double LogChoose(double n, double k) {
  return LogGamma(n + 1) - LogGamma(k + 1) - LogGamma(n - k + 1);
}

// ln(e^a + e^b) without overflow; −∞ stays the neutral element.
double LogAdd(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b == -kInfinity) return a;
  return a + std::log1p(std::exp(b - a));
}

// X ~ Hypergeometric: the number of marked items among `draws` drawn without replacement
// from `population` items of which `marked` are marked.
class Hypergeometric {
 public:
  Hypergeometric(uint64_t population, uint64_t marked, uint64_t draws)
      : population_(static_cast<double>(population)),
        marked_(static_cast<double>(marked)),
        draws_(static_cast<double>(draws)),
        low_(draws + marked > population ? draws + marked - population : 0),
        high_(std::min(marked, draws)),
        mode_(static_cast<uint64_t>(static_cast<unsigned __int128>(draws + 1) * (marked + 1) /
                                    (population + 2))) {}

  // ln P(X ≥ x), exact up to rounding: the pmf is log-concave, so the terms beyond the mode
  // shrink at least geometrically and the sum stops when the rest is negligible.
  double LogUpperTail(uint64_t x) const {
    if (x <= low_) return 0;
    if (x > high_) return -kInfinity;
    if (x > mode_) return LogPmf(x) + std::log(RelativeSum(x, /*upward=*/true));
    // At or below the mode: 1 − P(X ≤ x − 1), without harmful cancellation since the result
    // is at least P(X = mode) ≥ 1/(draws + 1).
    double lower = std::exp(LogPmf(x - 1)) * RelativeSum(x - 1, /*upward=*/false);
    return std::log1p(-std::min(lower, 1.0));
  }

 private:
  double LogPmf(uint64_t i) const {
    double d = static_cast<double>(i);
    return LogChoose(marked_, d) + LogChoose(population_ - marked_, draws_ - d) -
           LogChoose(population_, draws_);
  }

  // p(i + 1) / p(i) upward, p(i − 1) / p(i) downward.
  double Ratio(uint64_t i, bool upward) const {
    double d = static_cast<double>(i);
    double rest = population_ - marked_ - draws_;
    if (upward) return (marked_ - d) * (draws_ - d) / ((d + 1) * (rest + d + 1));
    return d * (rest + d) / ((marked_ - d + 1) * (draws_ - d + 1));
  }

  // Σ p(j) / p(from) over j from `from` away from the mode to the end of the support.
  double RelativeSum(uint64_t from, bool upward) const {
    double term = 1, sum = 1;
    for (uint64_t i = from; upward ? i < high_ : i > low_; upward ? ++i : --i) {
      double r = Ratio(i, upward);
      // Later ratios are smaller, so what is left is at most term·r/(1 − r).
      if (r < 1 && term * r / (1 - r) <= kTailPrecision * sum) break;
      term *= r;
      sum += term;
    }
    return sum;
  }

  double population_, marked_, draws_;
  uint64_t low_, high_, mode_;
};

// The participants the bounds are about.
struct Model {
  uint64_t n = 0;        // cohort size
  uint64_t corrupt = 0;  // c = ⌈γ·n⌉
  uint64_t dropped = 0;  // d = ⌈δ·n⌉
  int sigma = 0;
  int eta = 0;
};

// ⌈fraction·n⌉, taking a product within 1e-9 of an integer as that integer (0.07·100 is 7).
uint64_t CountOf(double fraction, uint32_t n) {
  double x = fraction * n;
  double nearest = std::round(x);
  if (std::abs(x - nearest) <= 1e-9 * std::max(1.0, x)) return static_cast<uint64_t>(nearest);
  return static_cast<uint64_t>(std::ceil(x));
}

Model ModelOf(const SecAggRequirements& r) {
  return Model{r.cohort_size, CountOf(r.corrupt_fraction, r.cohort_size),
               CountOf(r.dropout_rate, r.cohort_size), r.security_bits, r.correctness_bits};
}

// The bounds of one (k, t), as log2 of probabilities.
struct Evaluation {
  double corrupt_log2 = 0;     // some honest participant has ≥ t corrupt neighbours
  double disconnect_log2 = 0;  // the honest survivors' graph splits
  double security_log2 = 0;    // the sum of the two
  double correctness_log2 = 0; // some participant keeps < t surviving neighbours
  double security_margin = 0;  // −security_log2 − σ; ≥ 0 when secure
  double correctness_margin = 0;
};

// Union bound over pairs of disjoint runs of k/2 consecutive removed ring positions: there
// are n(n − 2r + 1)/2 placements of two runs of r, each all removed with probability
// (removed)_2r / (n)_2r. A complete graph never splits.
double LogDisconnected(const Model& m, uint64_t k) {
  if (k + 1 >= m.n) return -kInfinity;
  uint64_t removed = std::min(m.corrupt + m.dropped, m.n);
  uint64_t both_runs = 2 * (k / 2);
  if (both_runs > removed) return -kInfinity;
  double n = static_cast<double>(m.n), len = static_cast<double>(both_runs);
  double removed_d = static_cast<double>(removed);
  return std::log(n) + std::log(n - len + 1) - std::log(2.0) + LogGamma(removed_d + 1) -
         LogGamma(removed_d - len + 1) - LogGamma(n + 1) + LogGamma(n - len + 1);
}

// Bell et al. CCS 2020 conditions, each as a union bound over the n participants with exact
// hypergeometric tails (all c corrupt and d dropped counted among a participant's n − 1 others).
Evaluation Evaluate(const Model& m, uint64_t k, uint64_t t) {
  double log_n = std::log(static_cast<double>(m.n));
  Hypergeometric corrupt(m.n - 1, std::min(m.corrupt, m.n - 1), k);
  Hypergeometric dropped(m.n - 1, std::min(m.dropped, m.n - 1), k);
  Evaluation e;
  e.corrupt_log2 = (log_n + corrupt.LogUpperTail(t)) * kLog2E;
  e.disconnect_log2 = LogDisconnected(m, k) * kLog2E;
  e.security_log2 = LogAdd(e.corrupt_log2 / kLog2E, e.disconnect_log2 / kLog2E) * kLog2E;
  e.correctness_log2 = (log_n + dropped.LogUpperTail(k - t + 1)) * kLog2E;
  e.security_margin = -e.security_log2 - m.sigma;
  e.correctness_margin = -e.correctness_log2 - m.eta;
  return e;
}

// Smallest t in [low, high] with pred(t), for pred false…false true…true; high + 1 if none.
template <typename Pred>
uint64_t FirstTrue(uint64_t low, uint64_t high, Pred pred) {
  uint64_t end = high + 1;
  while (low < end) {
    uint64_t mid = low + (end - low) / 2;
    if (pred(mid)) {
      end = mid;
    } else {
      low = mid + 1;
    }
  }
  return low;
}

// The threshold for degree k, or nullopt when none meets both bounds. The security margin
// grows with t and the correctness margin shrinks, so the qualifying t form an interval.
std::optional<uint32_t> ChooseThreshold(const Model& m, uint64_t k) {
  auto secure = [&](uint64_t t) { return Evaluate(m, k, t).security_margin >= 0; };
  auto incorrect = [&](uint64_t t) { return Evaluate(m, k, t).correctness_margin < 0; };
  uint64_t low = FirstTrue(1, k, secure);
  if (low > k || incorrect(low)) return std::nullopt;
  uint64_t high = FirstTrue(low, k, incorrect) - 1;
  // The largest min(margins). That is a rising then falling function of t, so its near-ties
  // (within kTieBits, to ignore rounding) are adjacent; take their middle, rounded up.
  std::vector<double> margins;
  for (uint64_t t = low; t <= high; ++t) {
    Evaluation e = Evaluate(m, k, t);
    margins.push_back(std::min(e.security_margin, e.correctness_margin));
  }
  double best = *std::max_element(margins.begin(), margins.end());
  auto near_best = [&](double margin) { return margin >= best - kTieBits; };
  uint64_t tie_low = low + (std::find_if(margins.begin(), margins.end(), near_best) -
                            margins.begin());
  uint64_t tie_high = high - (std::find_if(margins.rbegin(), margins.rend(), near_best) -
                              margins.rbegin());
  return static_cast<uint32_t>(tie_low + (tie_high - tie_low + 1) / 2);
}

absl::Status ValidateRequirements(const SecAggRequirements& r) {
  if (r.cohort_size < 3) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SecAgg+ needs a cohort of at least 3, got n = %u", r.cohort_size));
  }
  for (auto [name, rate] : {std::pair{"dropout_rate", r.dropout_rate},
                            std::pair{"corrupt_fraction", r.corrupt_fraction}}) {
    if (!(rate >= 0 && rate < 1)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s must be in [0, 1), got %g", name, rate));
    }
  }
  for (auto [name, bits] : {std::pair{"security_bits", r.security_bits},
                            std::pair{"correctness_bits", r.correctness_bits}}) {
    if (bits < 1 || bits > 128) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s must be in [1, 128], got %d", name, bits));
    }
  }
  return absl::OkStatus();
}

// Why (k, t) fails the bounds, or OK.
absl::Status ExplainBounds(const Model& m, const SecAggRequirements& r, uint64_t k,
                           uint64_t t) {
  Evaluation e = Evaluate(m, k, t);
  if (e.security_margin < 0 && e.corrupt_log2 >= e.disconnect_log2) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "t = %u is too small for security against %u corrupt of n = %u (γ = %g): some honest "
        "participant may have t corrupt neighbours with probability up to 2^%.1f, above 2^-%d",
        t, m.corrupt, m.n, r.corrupt_fraction, e.security_log2, m.sigma));
  }
  if (e.security_margin < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "k = %u is too small for security: with %u corrupt and %u dropped of n = %u the honest "
        "survivors' graph may split with probability up to 2^%.1f, above 2^-%d",
        k, m.corrupt, m.dropped, m.n, e.security_log2, m.sigma));
  }
  if (e.correctness_margin < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "t = %u is too large for %u dropouts of n = %u (δ = %g) with k = %u: the round may fail "
        "with probability up to 2^%.1f, above 2^-%d",
        t, m.dropped, m.n, r.dropout_rate, k, e.correctness_log2, m.eta));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecAggGraphParams> FindSecAggParams(const SecAggRequirements& requirements) {
  TONTINE_RETURN_IF_ERROR(ValidateRequirements(requirements));
  Model m = ModelOf(requirements);
  for (uint64_t k = 2; k + 1 < m.n; k += 2) {
    if (std::optional<uint32_t> t = ChooseThreshold(m, k)) {
      return SecAggGraphParams{static_cast<uint32_t>(k), *t, /*full_graph=*/false};
    }
  }
  if (std::optional<uint32_t> t = ChooseThreshold(m, m.n - 1)) {
    return SecAggGraphParams{static_cast<uint32_t>(m.n - 1), *t, /*full_graph=*/true};
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "no SecAgg+ graph for n = %u: %u corrupt (γ = %g) and %u dropouts (δ = %g) leave no "
      "threshold t with %u < t ≤ %u even in the full graph; lower γ or δ or invite more",
      m.n, m.corrupt, requirements.corrupt_fraction, m.dropped, requirements.dropout_rate,
      m.corrupt, m.n - 1 - std::min(m.dropped, m.n - 1)));
}

absl::Status CheckRingBound(uint32_t cohort_size, uint32_t quantisation_bits) {
  if (quantisation_bits < 1 || quantisation_bits > 31) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "quantisation bits B must be in [1, 31], got B = %u", quantisation_bits));
  }
  constexpr uint64_t kRing = uint64_t{1} << 31;
  uint64_t largest_value = (uint64_t{1} << (quantisation_bits - 1)) - 1;
  if (largest_value == 0 || uint64_t{cohort_size} * largest_value < kRing) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "ring bound n·(2^(B−1)−1) < 2^31 fails for n = %u, B = %u: the largest cohort that fits "
      "is n = %u",
      cohort_size, quantisation_bits, (kRing - 1) / largest_value));
}

absl::Status CheckSecAggParams(const SecAggRequirements& requirements,
                               const SecAggGraphParams& params) {
  TONTINE_RETURN_IF_ERROR(ValidateRequirements(requirements));
  Model m = ModelOf(requirements);
  uint64_t k = params.neighbours, t = params.reconstruction_threshold;
  if (k < 1 || k + 1 > m.n) {
    return absl::FailedPreconditionError(
        absl::StrFormat("k = %u is outside [1, n − 1 = %u]", k, m.n - 1));
  }
  bool full = k + 1 == m.n;
  if (!full && k % 2 != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "k = %u must be even (Harary graph) or n − 1 = %u (full graph)", k, m.n - 1));
  }
  if (params.full_graph != full) {
    return absl::FailedPreconditionError(
        absl::StrFormat("full_graph is %s but k = %u and n − 1 = %u",
                        params.full_graph ? "set" : "unset", k, m.n - 1));
  }
  if (t < 1 || t > k) {
    return absl::FailedPreconditionError(
        absl::StrFormat("t = %u is outside [1, k = %u]", t, k));
  }
  return ExplainBounds(m, requirements, k, t);
}

}  // namespace tontine::secagg
