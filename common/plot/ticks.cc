#include "common/plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace tontine::plot {
namespace {

// The smallest 1, 2 or 5 × 10^k at or above `rough` (> 0).
double NiceStepAtLeast(double rough) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  for (double nice : {1.0, 2.0, 5.0, 10.0}) {
    // A little slack so that rough = 2.0000000001 × 10^k (rounding) still gives 2.
    if (nice * magnitude >= rough * (1 - 1e-9)) return nice * magnitude;
  }
  return 10 * magnitude;
}

// The next nice step after `step`: 1 → 2 → 5 → 10 (× 10^k).
double NextNiceStep(double step) { return NiceStepAtLeast(step * 1.01); }

}  // namespace

Ticks NiceTicks(double lo, double hi, int max_ticks, double min_step) {
  // Three ticks always suffice: a range that straddles zero needs one on each side of it.
  max_ticks = std::max(max_ticks, 3);
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double half = lo == 0 ? 0.5 : std::max(std::abs(lo) * 0.1, 1e-9);
    lo -= half;
    hi += half;
  }
  double step = NiceStepAtLeast((hi - lo) / (max_ticks - 1));
  if (min_step > 0 && step < min_step) step = NiceStepAtLeast(min_step);
  Ticks ticks;
  // Each pass at least doubles the step, so this ends within a few passes.
  for (int pass = 0; pass < 64; ++pass) {
    ticks.min = std::floor(lo / step + 1e-9) * step;
    ticks.max = std::ceil(hi / step - 1e-9) * step;
    if (std::llround((ticks.max - ticks.min) / step) + 1 <= max_ticks) break;
    step = NextNiceStep(step);
  }
  ticks.step = step;
  ticks.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  const long long count = std::llround((ticks.max - ticks.min) / step) + 1;
  for (long long i = 0; i < count; ++i) ticks.values.push_back(ticks.min + i * step);
  return ticks;
}

std::string FormatTick(double value, int decimals) {
  std::string text = absl::StrFormat("%.*f", decimals, value);
  if (text.find_first_not_of("-0.") == std::string::npos && text[0] == '-') text.erase(0, 1);
  return text;
}

}  // namespace tontine::plot
