#include "client/runner/resource_governor.h"

#include <time.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"

namespace tontine::runner {
namespace {

// Minutes are enough for a budget: "1h12m", not "1h12m3s250ms".
std::string Minutes(absl::Duration d) {
  if (d < absl::Minutes(1)) return "0m";
  return FormatShortDuration(absl::Trunc(d, absl::Minutes(1)));
}

}  // namespace

absl::Duration ResourceGovernorOptions::ProcessCpuTime() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

absl::StatusOr<std::unique_ptr<ResourceGovernor>> ResourceGovernor::Create(
    ResourceGovernorOptions options) {
  std::unique_ptr<ResourceGovernor> governor(new ResourceGovernor(std::move(options)));
  if (governor->options_.daily_cpu_budget > absl::ZeroDuration()) {
    TONTINE_ASSIGN_OR_RETURN(CpuBudgetLedger ledger,
                             CpuBudgetLedger::Open(governor->options_.ledger_path,
                                                   governor->options_.time_zone));
    absl::MutexLock lock(&governor->mu_);
    governor->ledger_ = std::move(ledger);
  }
  return governor;
}

PowerSource ResourceGovernor::Power() {
  const absl::Time now = options_.now();
  if (now - power_read_ >= options_.power_poll_interval) {
    power_ = ReadPowerSource(options_.power_supply_dir);
    power_read_ = now;
  }
  return power_;
}

absl::Duration ResourceGovernor::SpentToday(absl::Time now) {
  absl::Duration spent = ledger_->SpentOn(now);
  if (cpu_charged_at_.has_value()) spent += options_.cpu_time() - *cpu_charged_at_;
  return spent;
}

std::optional<std::string> ResourceGovernor::PauseReason() {
  absl::MutexLock lock(&mu_);
  if (options_.pause_when_on_battery && Power() == PowerSource::kBattery) return "on battery";
  if (!ledger_.has_value()) return std::nullopt;
  const absl::Time now = options_.now();
  if (SpentToday(now) < options_.daily_cpu_budget) return std::nullopt;
  const absl::Time next = ledger_->NextDay(now);
  return absl::StrCat("daily CPU budget of ", Minutes(options_.daily_cpu_budget),
                      " used; resumes at ", absl::FormatTime("%H:%M", next, options_.time_zone),
                      " (in ", Minutes(next - now + absl::Seconds(59)), ")");
}

void ResourceGovernor::StartRound() {
  absl::MutexLock lock(&mu_);
  cpu_charged_at_ = options_.cpu_time();
  last_charge_ = options_.now();
}

absl::Status ResourceGovernor::ChargeLocked(absl::Time now) {
  if (!cpu_charged_at_.has_value()) return absl::OkStatus();
  const absl::Duration cpu = options_.cpu_time();
  const absl::Duration used = cpu - *cpu_charged_at_;
  cpu_charged_at_ = cpu;
  last_charge_ = now;
  if (!ledger_.has_value()) return absl::OkStatus();
  return ledger_->Charge(used, now);
}

absl::Status ResourceGovernor::Tick() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.now();
  if (now - last_charge_ < options_.charge_interval) return absl::OkStatus();
  return ChargeLocked(now);
}

absl::Status ResourceGovernor::EndRound() {
  absl::MutexLock lock(&mu_);
  absl::Status status = ChargeLocked(options_.now());
  cpu_charged_at_.reset();
  return status;
}

std::string ResourceGovernor::Summary() {
  absl::MutexLock lock(&mu_);
  std::string out;
  if (options_.pause_when_on_battery) out = DescribePowerSource(Power());
  if (ledger_.has_value()) {
    absl::StrAppend(&out, out.empty() ? "" : " · ", "CPU today ",
                    Minutes(SpentToday(options_.now())), " of ",
                    Minutes(options_.daily_cpu_budget));
  }
  return out;
}

std::string ResourceGovernor::DescribeLimits() {
  std::string out = options_.pause_when_on_battery
                        ? absl::StrCat("pause on battery: ", DescribePower())
                        : "no pause on battery";
  absl::MutexLock lock(&mu_);
  if (!ledger_.has_value()) return absl::StrCat(out, "; no daily CPU budget");
  return absl::StrCat(out, "; daily CPU budget ", Minutes(options_.daily_cpu_budget), ", ",
                      Minutes(SpentToday(options_.now())), " used today");
}

std::string ResourceGovernor::DescribePower() {
  if (!options_.pause_when_on_battery) return "";
  absl::MutexLock lock(&mu_);
  const PowerSource source = Power();
  if (source == PowerSource::kNotReported) {
    return absl::StrCat("not reported by this machine (no battery under ",
                        options_.power_supply_dir.string(),
                        "): pause_when_on_battery has no effect");
  }
  return DescribePowerSource(source);
}

}  // namespace tontine::runner
