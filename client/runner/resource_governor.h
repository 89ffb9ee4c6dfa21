// The contributor's resource limits that decide whether the client works right now:
// `pause_when_on_battery` and `daily_cpu_budget` (client.yaml). The participant asks
// PauseReason() before accepting an invitation (a paused client declines, stays connected)
// and between training steps (a pause stops training cleanly and leaves the round); it
// charges the process's CPU time spent in rounds to the CpuBudgetLedger.
//
// CPU time is the whole process's (CLOCK_PROCESS_CPUTIME_ID, every thread), counted only
// between StartRound and EndRound, so idle waiting for rounds costs nothing from the budget.
//
// Lifecycle: Create → (PauseReason | StartRound → Tick … → EndRound)* .
// Safe for concurrent use.
#ifndef TONTINE_CLIENT_RUNNER_RESOURCE_GOVERNOR_H_
#define TONTINE_CLIENT_RUNNER_RESOURCE_GOVERNOR_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/runner/cpu_budget.h"
#include "client/runner/power_source.h"

namespace tontine::runner {

struct ResourceGovernorOptions {
  bool pause_when_on_battery = false;
  std::filesystem::path power_supply_dir = kSysPowerSupplyDir;
  // The power source is read at most this often.
  absl::Duration power_poll_interval = absl::Seconds(5);
  // Zero: no budget (and no ledger file).
  absl::Duration daily_cpu_budget = absl::ZeroDuration();
  std::filesystem::path ledger_path;  // <state dir>/cpu_budget.json
  absl::TimeZone time_zone = absl::LocalTimeZone();
  // The ledger is written at most this often while a round runs (and at its end).
  absl::Duration charge_interval = absl::Seconds(15);
  // Injected for tests: wall clock and the process's CPU time so far.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<absl::Duration()> cpu_time = ProcessCpuTime;

  static absl::Duration ProcessCpuTime();
};

class ResourceGovernor {
 public:
  // Opens the ledger when there is a budget: its errors (a corrupt file names the file).
  static absl::StatusOr<std::unique_ptr<ResourceGovernor>> Create(ResourceGovernorOptions options);

  // Why the client should not work now — "on battery", "daily CPU budget of 2h used; resumes
  // at 00:00 (in 3h12m)" — or nullopt. Includes CPU time of a round not yet charged.
  std::optional<std::string> PauseReason();

  // CPU accounting of one round: the time from StartRound to EndRound is charged, in
  // pieces (Tick, from the training loop, writes the ledger at most every
  // charge_interval). Each returns the ledger's write error, if any.
  void StartRound();
  absl::Status Tick();
  absl::Status EndRound();

  // The limits in one line for the status line: "on mains · CPU today 12m of 2h".
  std::string Summary();
  // The limits at start-up: "pause on battery: on mains power; daily CPU budget 2h, 12m
  // used today" (each part says when it is off).
  std::string DescribeLimits();
  // The power source once, at start-up, for the log: "on mains power", or "not reported
  // by this machine: pause_when_on_battery has no effect". Empty when not asked to pause.
  std::string DescribePower();

 private:
  explicit ResourceGovernor(ResourceGovernorOptions options) : options_(std::move(options)) {}
  PowerSource Power() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration SpentToday(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ChargeLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const ResourceGovernorOptions options_;

  absl::Mutex mu_;
  std::optional<CpuBudgetLedger> ledger_ ABSL_GUARDED_BY(mu_);
  PowerSource power_ ABSL_GUARDED_BY(mu_) = PowerSource::kNotReported;
  absl::Time power_read_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // In a round: the CPU time when it was last charged, and when.
  std::optional<absl::Duration> cpu_charged_at_ ABSL_GUARDED_BY(mu_);
  absl::Time last_charge_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_RESOURCE_GOVERNOR_H_
