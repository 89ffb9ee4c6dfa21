// The pure decisions of `tontine simulate`: where a run's files go, the configs and command
// lines it gives the coordinator and the clients, and how long it waits for them.
//
// A run directory (--out) holds:
//   coordinator.yaml, coordinator/        the coordinator's config and state directory
//   clients/client-<i>/client.yaml, …/state/   each client's config and state directory
//   data/client-<i>/<language>.jsonl      each client's slice of the data
//   logs/coordinator.log, logs/client-<i>.log  their output (a restarted client appends)
//   centralized-adapter/                  the --centralized baseline (PEFT)
//   report.json, report.csv
#ifndef TONTINE_CLI_SIMULATE_PLAN_H_
#define TONTINE_CLI_SIMULATE_PLAN_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/simulate_report.h"
#include "common/config/experiment_config.h"

namespace tontine::cli {

struct SimulateBinaries {
  std::filesystem::path coordinator;  // tontine-coordinator
  std::filesystem::path client;       // tontine-client
};

// tontine-coordinator and tontine-client in the directory of `tontine_exe` (the running
// `tontine`). NOT_FOUND naming the missing file and how to build it.
absl::StatusOr<SimulateBinaries> FindBinaries(const std::filesystem::path& tontine_exe);

// <cwd>/simulate-runs/<experiment>-<UTC time as 20261121T160000Z>.
std::filesystem::path DefaultOutDir(const std::filesystem::path& cwd, absl::string_view experiment,
                                    absl::Time now);

// Creates `dir` (and its parents) for a new run. FAILED_PRECONDITION when it exists and is not
// an empty directory: a run never mixes its files with another's.
absl::Status PrepareOutDir(const std::filesystem::path& dir);

std::string ClientName(int client);  // "client-3"

// Where each file of a run goes (see the top of this file).
struct RunLayout {
  explicit RunLayout(std::filesystem::path run_dir);

  std::filesystem::path dir;
  std::filesystem::path coordinator_yaml;
  std::filesystem::path coordinator_state;
  std::filesystem::path port_file;       // serve --port-file
  std::filesystem::path dashboard_port_file;  // serve --dashboard-port-file
  std::filesystem::path logs;
  std::filesystem::path centralized_adapter;

  std::filesystem::path CoordinatorLog() const;
  std::filesystem::path ClientYaml(int client) const;
  std::filesystem::path ClientState(int client) const;
  std::filesystem::path ClientData(int client) const;
  std::filesystem::path ClientLog(int client) const;
};

// coordinator.yaml for `serve`: the state directory, 127.0.0.1 on any free port, TLS, and
// the experiment file (absolute, so that its relative paths keep their meaning).
std::string CoordinatorYaml(const std::filesystem::path& state_dir,
                            const std::filesystem::path& experiment);

// client.yaml for `join`: `base_model` nullopt is "bundled".
std::string ClientYaml(const std::filesystem::path& state_dir,
                       const std::filesystem::path& data_dir,
                       const std::optional<std::filesystem::path>& base_model, int threads);

// The YAML and --drop-at spelling of a phase: "advertise_keys", "masked_input", …
std::string PhaseName(config::SimulatedPhase phase);

// The dropout-draw seed of client `client`: distinct per client, fixed by simulate.seed, and
// unchanged when the client is restarted.
uint64_t DropSeed(uint64_t seed, int client);

// The dropout injected into client `client`: tontine-client takes one phase (--drop-at), so
// with several simulate.dropout entries client i gets entry i mod len, and every phase is
// rehearsed across the clients. nullopt when the list is empty.
std::optional<config::SimulatedDropout> DropoutOf(
    const std::vector<config::SimulatedDropout>& dropout, int client);

// `tontine-client join` for one client, with --drop-at, --drop-probability and --drop-seed
// when it has a dropout to inject.
std::vector<std::string> JoinArgv(const std::filesystem::path& client_binary,
                                  const std::filesystem::path& config,
                                  const std::filesystem::path& state_dir,
                                  const std::optional<config::SimulatedDropout>& dropout,
                                  uint64_t drop_seed);

// How long `simulate` waits for the next round to commit before it gives up: twice everything
// one round may take under the experiment's deadlines (the cohort wait and every phase), and
// never less than 10 minutes.
absl::Duration RoundTimeout(const config::DeadlinesConfig& deadlines);

// --round-timeout when given (a duration such as "45m"), else RoundTimeout(deadlines).
// INVALID_ARGUMENT naming the flag for anything but a positive duration.
absl::StatusOr<absl::Duration> ResolveRoundTimeout(absl::string_view flag,
                                                   const config::DeadlinesConfig& deadlines);

// The centralized baseline's schedule: as many sequential optimiser steps as the federation
// took (committed rounds × local_steps), each on the batches its participants trained on in
// parallel (local_training.batch_size × the mean participants per committed round, rounded,
// in one batch; gradient accumulation as configured). So
// it sees as many sequences as the federation, in as many steps: the comparison isolates
// what federated averaging costs against one trainer holding all the data.
struct CentralizedSchedule {
  int steps = 0;                  // 0 when no round committed
  int batch_factor = 1;           // multiplies local_training.batch_size
};
CentralizedSchedule CentralizedStepsOf(const std::vector<RoundRow>& rounds, int local_steps);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_SIMULATE_PLAN_H_
