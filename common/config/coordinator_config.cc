#include "common/config/coordinator_config.h"

#include "common/config/checks.h"
#include "common/config/shared_keys.h"

namespace tontine::config {
namespace {

void ReadLimits(MapReader r, CoordinatorLimits& c) {
  r.ByteSize("max_message_bytes", &c.max_message_bytes, 64ull << 10, 64ull << 20);
  r.Integer("max_sessions", &c.max_sessions, 1, 1'000'000);
  r.Duration("heartbeat_interval", &c.heartbeat_interval, absl::Seconds(1), absl::Minutes(10));
  r.Finish();
}

void ReadDashboard(MapReader r, DashboardConfig& c) {
  r.String("listen", &c.listen, [](absl::string_view address) -> std::optional<std::string> {
    if (address.empty()) return std::nullopt;  // off
    return CheckAddress(address);
  });
  r.Bool("public_summary", &c.public_summary);
  r.Path("admin_token_file", &c.admin_token_file, PathKind::kAny);
  r.Finish();
}

}  // namespace

CoordinatorConfig ReadCoordinatorConfig(ConfigFile& file) {
  CoordinatorConfig c;
  c.state_dir = (file.base_dir() / "state").lexically_normal();
  MapReader root(&file, file.root(), "");
  ExpectKind(root, kKindCoordinator);
  root.Path("state_dir", &c.state_dir, PathKind::kAny);
  root.String("listen", &c.listen, CheckAddress);
  root.Bool("insecure", &c.insecure);
  root.Require("experiment");
  root.Path("experiment", &c.experiment_path, PathKind::kExistingFile);
  ReadLogLevel(root, "log_level", &c.log_level);
  ReadLimits(root.Section("limits"), c.limits);
  ReadDashboard(root.Section("dashboard"), c.dashboard);
  root.Finish();
  return c;
}

absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::filesystem::path& path) {
  absl::StatusOr<CoordinatorConfig> config = LoadConfigFile(path, &ReadCoordinatorConfig);
  if (!config.ok()) return config.status();
  absl::StatusOr<ExperimentConfig> experiment = LoadExperimentConfig(config->experiment_path);
  if (!experiment.ok()) return experiment.status();
  config->experiment = *std::move(experiment);
  return config;
}

}  // namespace tontine::config
