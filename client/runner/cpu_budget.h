// The daily CPU-time budget (`daily_cpu_budget` in client.yaml): how much processor time the
// client has spent on rounds today, kept in <state dir>/cpu_budget.json so that restarting
// the client does not reset it:
//   {"day": "2026-11-21", "cpu_seconds": 1234.5}
// A day is a calendar day in the local time zone; the first charge of a new day starts it
// at zero.
//
// Not thread-safe (ResourceGovernor serialises its use).
#ifndef TONTINE_CLIENT_RUNNER_CPU_BUDGET_H_
#define TONTINE_CLIENT_RUNNER_CPU_BUDGET_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine::runner {

inline constexpr char kCpuBudgetFile[] = "cpu_budget.json";

class CpuBudgetLedger {
 public:
  // Reads `path` when it exists (a missing file is an empty ledger). INVALID_ARGUMENT naming
  // the file, and saying it may be deleted, when its contents are not a ledger; ReadFile's
  // errors (PERMISSION_DENIED, …) naming the file.
  static absl::StatusOr<CpuBudgetLedger> Open(std::filesystem::path path,
                                              absl::TimeZone time_zone);

  // CPU time charged on the local day of `now`.
  absl::Duration SpentOn(absl::Time now) const;

  // Adds `cpu` to the day of `now` (starting that day at zero if the ledger holds another)
  // and writes the file atomically. The file's write errors, naming it.
  absl::Status Charge(absl::Duration cpu, absl::Time now);

  // The start of the local day after the one of `now`: when a spent budget is renewed.
  absl::Time NextDay(absl::Time now) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  CpuBudgetLedger(std::filesystem::path path, absl::TimeZone time_zone)
      : path_(std::move(path)), time_zone_(time_zone) {}
  std::string DayOf(absl::Time t) const;

  std::filesystem::path path_;
  absl::TimeZone time_zone_;
  std::string day_;  // "YYYY-MM-DD", empty before the first charge
  absl::Duration spent_ = absl::ZeroDuration();
};

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_CPU_BUDGET_H_
