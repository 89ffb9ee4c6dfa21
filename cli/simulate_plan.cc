#include "cli/simulate_plan.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/splitmix.h"
#include "common/base/units.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

// A YAML double-quoted scalar: JSON's string syntax is a subset of it.
std::string Quoted(const std::string& text) { return nlohmann::json(text).dump(); }

}  // namespace

absl::StatusOr<SimulateBinaries> FindBinaries(const fs::path& tontine_exe) {
  const fs::path dir = tontine_exe.parent_path();
  SimulateBinaries binaries{dir / "tontine-coordinator", dir / "tontine-client"};
  for (const fs::path* binary : {&binaries.coordinator, &binaries.client}) {
    std::error_code ec;
    if (!fs::is_regular_file(*binary, ec)) {
      return absl::NotFoundError(absl::StrCat(
          binary->string(), " is missing: `tontine simulate` runs the coordinator and clients "
          "built next to it; build them (cmake --build --preset dev, or scripts/build)"));
    }
  }
  return binaries;
}

fs::path DefaultOutDir(const fs::path& cwd, absl::string_view experiment, absl::Time now) {
  return cwd / "simulate-runs" /
         absl::StrCat(experiment, "-", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
}

absl::Status PrepareOutDir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(dir.string(), " is not a directory"));
    }
    if (!fs::is_empty(dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir.string(), " is not empty; give --out a new directory (a run never overwrites "
                        "another)"));
    }
  }
  return MakeDirs(dir);
}

std::string ClientName(int client) { return absl::StrCat("client-", client); }

RunLayout::RunLayout(fs::path run_dir)
    : dir(std::move(run_dir)),
      coordinator_yaml(dir / "coordinator.yaml"),
      coordinator_state(dir / "coordinator"),
      port_file(dir / "coordinator.port"),
      dashboard_port_file(dir / "dashboard.port"),
      logs(dir / "logs"),
      centralized_adapter(dir / "centralized-adapter") {}

fs::path RunLayout::CoordinatorLog() const { return logs / "coordinator.log"; }
fs::path RunLayout::ClientYaml(int client) const {
  return dir / "clients" / ClientName(client) / "client.yaml";
}
fs::path RunLayout::ClientState(int client) const {
  return dir / "clients" / ClientName(client) / "state";
}
fs::path RunLayout::ClientData(int client) const { return dir / "data" / ClientName(client); }
fs::path RunLayout::ClientLog(int client) const {
  return logs / absl::StrCat(ClientName(client), ".log");
}

std::string CoordinatorYaml(const fs::path& state_dir, const fs::path& experiment) {
  return absl::StrCat("# Written by `tontine simulate`.\n",
                      "kind: coordinator\n",
                      "state_dir: ", Quoted(state_dir.string()), "\n",
                      "listen: 127.0.0.1:0\n",
                      "insecure: false\n",
                      "experiment: ", Quoted(experiment.string()), "\n",
                      "log_level: info\n",
                      "# The dashboard on a free port of this machine; simulate prints its address.\n",
                      "dashboard:\n  listen: 127.0.0.1:0\n");
}

std::string ClientYaml(const fs::path& state_dir, const fs::path& data_dir,
                       const std::optional<fs::path>& base_model, int threads) {
  return absl::StrCat("# Written by `tontine simulate`.\n",
                      "kind: client\n",
                      "state_dir: ", Quoted(state_dir.string()), "\n",
                      "data_dir: ", Quoted(data_dir.string()), "\n",
                      "base_model: ", Quoted(base_model ? base_model->string() : "bundled"), "\n",
                      "threads: ", threads, "\n",
                      "log_level: info\n");
}

std::string PhaseName(config::SimulatedPhase phase) {
  switch (phase) {
    case config::SimulatedPhase::kAdvertiseKeys: return "advertise_keys";
    case config::SimulatedPhase::kShareKeys: return "share_keys";
    case config::SimulatedPhase::kTraining: return "training";
    case config::SimulatedPhase::kMaskedInput: return "masked_input";
    case config::SimulatedPhase::kUnmask: return "unmask";
  }
  return "unknown";
}

uint64_t DropSeed(uint64_t seed, int client) {
  // The client-th output of a SplitMix64 generator seeded with simulate.seed.
  return SplitMix64(seed + static_cast<uint64_t>(client) * kSplitMix64Gamma);
}

std::optional<config::SimulatedDropout> DropoutOf(
    const std::vector<config::SimulatedDropout>& dropout, int client) {
  if (dropout.empty()) return std::nullopt;
  return dropout[static_cast<size_t>(client) % dropout.size()];
}

std::vector<std::string> JoinArgv(const fs::path& client_binary, const fs::path& config,
                                  const fs::path& state_dir,
                                  const std::optional<config::SimulatedDropout>& dropout,
                                  uint64_t drop_seed) {
  std::vector<std::string> argv = {client_binary.string(), "join", "--config", config.string(),
                                   "--state-dir", state_dir.string()};
  if (dropout.has_value()) {
    argv.insert(argv.end(), {"--drop-at", PhaseName(dropout->phase), "--drop-probability",
                             absl::StrCat(dropout->probability), "--drop-seed",
                             absl::StrCat(drop_seed)});
  }
  return argv;
}

absl::Duration RoundTimeout(const config::DeadlinesConfig& d) {
  const absl::Duration round =
      d.cohort + d.advertise_keys + d.share_keys + d.masked_input + d.unmask;
  return std::max(2 * round, absl::Minutes(10));
}

absl::StatusOr<absl::Duration> ResolveRoundTimeout(absl::string_view flag,
                                                   const config::DeadlinesConfig& deadlines) {
  if (flag.empty()) return RoundTimeout(deadlines);
  absl::StatusOr<absl::Duration> timeout = ParseDuration(flag);
  if (!timeout.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--round-timeout: ", timeout.status().message()));
  }
  if (*timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--round-timeout: must be longer than 0");
  }
  return *timeout;
}

CentralizedSchedule CentralizedStepsOf(const std::vector<RoundRow>& rounds, int local_steps) {
  int64_t committed = 0, participants = 0;
  for (const RoundRow& row : rounds) {
    if (row.outcome != "committed") continue;
    ++committed;
    participants += row.participants;
  }
  CentralizedSchedule schedule;
  if (committed == 0) return schedule;
  schedule.steps = static_cast<int>(std::min<int64_t>(committed * local_steps, 1'000'000'000));
  schedule.batch_factor =
      static_cast<int>(std::max<int64_t>(1, (participants + committed / 2) / committed));
  return schedule;
}

}  // namespace tontine::cli
