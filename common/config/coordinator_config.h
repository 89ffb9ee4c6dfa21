// The coordinator's own settings (configs/coordinator.yaml): where it keeps state, where it
// listens, which experiment it runs. configs/coordinator.yaml mirrors this file.
#ifndef TONTINE_COMMON_CONFIG_COORDINATOR_CONFIG_H_
#define TONTINE_COMMON_CONFIG_COORDINATOR_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/experiment_config.h"
#include "common/config/reader.h"

namespace tontine::config {

struct CoordinatorLimits {
  // limits.max_message_bytes: largest gRPC message accepted (64KiB–64MiB). Default 8MiB.
  uint64_t max_message_bytes = 8ull << 20;
  // limits.max_sessions: concurrent client sessions (1–1000000). Default 10000.
  int max_sessions = 10'000;
  // limits.heartbeat_interval: how often idle clients must send a heartbeat; a session
  // silent for three intervals is dropped (1s–10m). Default 15s.
  absl::Duration heartbeat_interval = absl::Seconds(15);
};

struct DashboardConfig {
  // dashboard.listen: where to serve the read-only web dashboard, its JSON API and /metrics,
  // host:port (port 0 = any free port; see serve --dashboard-port-file); "" turns it off.
  // HTTPS with the coordinator's certificate (plain HTTP when `insecure`). Default
  // 127.0.0.1:7444: only this machine; 0.0.0.0:7444 to publish it.
  std::string listen = "127.0.0.1:7444";
  // dashboard.public_summary: serve the summary (round, phase, counts, per-round metrics) and
  // /metrics without the admin token. Participants and adapter downloads always need it.
  // Default true.
  bool public_summary = true;
  // dashboard.admin_token_file: the file holding the admin token (one line). Default
  // <state_dir>/dashboard-token, written by `init` (or by `serve` when it is missing).
  std::filesystem::path admin_token_file;
};

struct CoordinatorConfig {
  // state_dir: the coordinator's state (tontine.db, TLS material, adapters), created by
  // `tontine-coordinator init`. Relative to this file. Default ./state.
  std::filesystem::path state_dir;
  // listen: address to serve gRPC on, host:port (port 0 = any free port). Default
  // 0.0.0.0:7443.
  std::string listen = "0.0.0.0:7443";
  // insecure: serve plaintext instead of TLS. Only for loopback experiments. Default false.
  bool insecure = false;
  // experiment: the experiment file to run (must exist; validated with this file).
  std::filesystem::path experiment_path;
  // log_level: trace, debug, info (default), warn, error or off.
  std::string log_level = "info";
  CoordinatorLimits limits;
  DashboardConfig dashboard;

  // The loaded experiment (not a key: read from experiment_path).
  ExperimentConfig experiment;
};

// Loads and validates a coordinator file and the experiment it names. INVALID_ARGUMENT with
// "file:line:col: message" lines (each naming its own file) for every problem.
absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::filesystem::path& path);

// Reads the coordinator file alone (not the experiment it names), reporting problems to
// `file`; the result is meaningful only if `file` has no errors after.
CoordinatorConfig ReadCoordinatorConfig(ConfigFile& file);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_COORDINATOR_CONFIG_H_
