#include "client/runner/cpu_budget.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace tontine::runner {

absl::StatusOr<CpuBudgetLedger> CpuBudgetLedger::Open(std::filesystem::path path,
                                                      absl::TimeZone time_zone) {
  CpuBudgetLedger ledger(std::move(path), time_zone);
  absl::StatusOr<std::string> text = ReadFile(ledger.path_);
  if (absl::IsNotFound(text.status())) return ledger;
  if (!text.ok()) return text.status();
  auto corrupt = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        ledger.path_.string(), ": not a CPU-budget ledger (", why,
        "); delete the file to start today's count again"));
  };
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  const auto day = j.find("day");
  const auto seconds = j.find("cpu_seconds");
  if (day == j.end() || !day->is_string()) return corrupt("no \"day\" string");
  if (seconds == j.end() || !seconds->is_number()) return corrupt("no \"cpu_seconds\" number");
  const double s = seconds->get<double>();
  absl::CivilDay civil;
  if (!absl::ParseCivilTime(day->get<std::string>(), &civil)) {
    return corrupt("\"day\" is not YYYY-MM-DD");
  }
  if (!std::isfinite(s) || s < 0) return corrupt("\"cpu_seconds\" is negative or not finite");
  ledger.day_ = day->get<std::string>();
  ledger.spent_ = absl::Seconds(s);
  return ledger;
}

std::string CpuBudgetLedger::DayOf(absl::Time t) const {
  return absl::FormatCivilTime(absl::ToCivilDay(t, time_zone_));
}

absl::Duration CpuBudgetLedger::SpentOn(absl::Time now) const {
  return DayOf(now) == day_ ? spent_ : absl::ZeroDuration();
}

absl::Status CpuBudgetLedger::Charge(absl::Duration cpu, absl::Time now) {
  const std::string today = DayOf(now);
  if (today != day_) {
    day_ = today;
    spent_ = absl::ZeroDuration();
  }
  spent_ += cpu;
  const nlohmann::json j = {{"day", day_}, {"cpu_seconds", absl::ToDoubleSeconds(spent_)}};
  return WriteFileAtomic(path_, j.dump() + "\n", 0600);
}

absl::Time CpuBudgetLedger::NextDay(absl::Time now) const {
  return absl::FromCivil(absl::ToCivilDay(now, time_zone_) + 1, time_zone_);
}

}  // namespace tontine::runner
