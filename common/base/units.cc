#include "common/base/units.h"

#include <cctype>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace tontine {
namespace {

// Splits "1.5h" at the first non-number character: ("1.5", "h"). Empty number on failure.
std::pair<absl::string_view, absl::string_view> SplitNumber(absl::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  return {text.substr(0, i), text.substr(i)};
}

bool TakeUnit(absl::string_view& rest, absl::Duration& unit) {
  static constexpr std::pair<absl::string_view, int64_t> kUnits[] = {
      // Longest first, so that "ms" is not read as "m".
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (const auto& [name, millis] : kUnits) {
    if (absl::ConsumePrefix(&rest, name)) {
      unit = absl::Milliseconds(millis);
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a duration; write e.g. 30s, 5m, 1h30m, 7d or 250ms"));
  };
  if (text == "0") return absl::ZeroDuration();
  if (text.empty()) return bad();
  absl::Duration total = absl::ZeroDuration();
  absl::string_view rest = text;
  while (!rest.empty()) {
    auto [number, after] = SplitNumber(rest);
    double value = 0;
    if (number.empty() || !absl::SimpleAtod(number, &value)) return bad();
    rest = after;
    absl::Duration unit;
    if (!TakeUnit(rest, unit)) return bad();
    total += value * unit;
  }
  return total;
}

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  static constexpr std::pair<absl::string_view, uint64_t> kUnits[] = {
      {"", 1},           {"B", 1},           {"KB", 1000},
      {"MB", 1000'000},  {"GB", 1000'000'000}, {"KiB", 1ull << 10},
      {"MiB", 1ull << 20}, {"GiB", 1ull << 30}};
  auto [number, unit] = SplitNumber(text);
  double value = 0;
  if (!number.empty() && absl::SimpleAtod(number, &value)) {
    for (const auto& [name, scale] : kUnits) {
      if (unit == name) {
        double bytes = value * static_cast<double>(scale);
        if (bytes < 1.8e19) return static_cast<uint64_t>(std::llround(bytes));
      }
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is not a byte size; write e.g. 512MiB, 2GiB, 100MB or 4096"));
}

std::string FormatShortDuration(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0";
  int64_t ms = absl::ToInt64Milliseconds(d);
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  static constexpr std::pair<absl::string_view, int64_t> kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}};
  for (const auto& [name, millis] : kUnits) {
    if (ms >= millis) {
      absl::StrAppend(&out, ms / millis, name);
      ms %= millis;
    }
  }
  return out;
}

std::string FormatByteSize(uint64_t bytes) {
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  static constexpr std::pair<absl::string_view, double> kUnits[] = {
      {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}};
  const double value = static_cast<double>(bytes);
  size_t unit = 0;
  // 999.95 KB would print as "1000.0 KB": move up a unit once the rounded value reaches 1000.
  while (unit + 1 < std::size(kUnits) && value / kUnits[unit].second >= 999.95) ++unit;
  return absl::StrFormat("%.1f %s", value / kUnits[unit].second, kUnits[unit].first);
}

}  // namespace tontine
