#include "common/config/client_config.h"

#include "common/base/files.h"
#include "common/config/checks.h"
#include "common/config/shared_keys.h"

namespace tontine::config {

ClientConfig ReadClientConfig(ConfigFile& file) {
  ClientConfig c;
  c.state_dir = ExpandHome("~/.local/share/tontine-client");
  MapReader root(&file, file.root(), "");
  ExpectKind(root, kKindClient);
  root.Path("state_dir", &c.state_dir, PathKind::kAny);
  root.String("coordinator", &c.coordinator, CheckAddress);
  root.Require("data_dir");
  root.Path("data_dir", &c.data_dir, PathKind::kExistingDir);
  ReadBundledOrDir(root, "base_model", &c.base_model_dir);
  root.Integer("threads", &c.threads, 0, 1024);
  root.ByteSize("memory_limit", &c.memory_limit_bytes);
  root.Bool("insecure", &c.insecure);
  MapReader reconnect = root.Section("reconnect");
  reconnect.Duration("initial_backoff", &c.reconnect.initial_backoff, absl::Milliseconds(100),
                     absl::Hours(1));
  reconnect.Duration("max_backoff", &c.reconnect.max_backoff, absl::Milliseconds(100),
                     absl::Hours(24));
  reconnect.Finish();
  ReadLogLevel(root, "log_level", &c.log_level);
  root.Finish();
  if (!file.has_errors() && c.reconnect.max_backoff < c.reconnect.initial_backoff) {
    file.AddError(file.Where("reconnect.max_backoff"),
                  "reconnect.max_backoff: is shorter than reconnect.initial_backoff");
  }
  return c;
}

absl::StatusOr<ClientConfig> LoadClientConfig(const std::filesystem::path& path) {
  return LoadConfigFile(path, &ReadClientConfig);
}

}  // namespace tontine::config
