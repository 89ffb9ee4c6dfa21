#include "common/config/client_config.h"

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/units.h"
#include "common/config/checks.h"
#include "common/config/shared_keys.h"

namespace tontine::config {

namespace {

constexpr absl::Duration kMaxDailyCpuBudget = absl::Hours(1000);

// daily_cpu_budget: "unlimited" or 0 (→ zero), or a duration within [1m, 1000h].
void ReadCpuBudget(MapReader& root, absl::Duration* out) {
  std::string text;
  root.String("daily_cpu_budget", &text, [](absl::string_view value) -> std::optional<std::string> {
    if (value == "unlimited") return std::nullopt;
    absl::StatusOr<absl::Duration> d = ParseDuration(value);
    if (!d.ok()) return absl::StrCat(d.status().message(), ", or unlimited");
    if (*d == absl::ZeroDuration()) return std::nullopt;
    if (*d < absl::Minutes(1) || *d > kMaxDailyCpuBudget) {
      return absl::StrCat(value, " is out of range; expected 1m to 1000h, or unlimited");
    }
    return std::nullopt;
  });
  if (!text.empty() && text != "unlimited") *out = ParseDuration(text).value_or(absl::ZeroDuration());
}

}  // namespace

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
  root.Bool("pause_when_on_battery", &c.pause_when_on_battery);
  ReadCpuBudget(root, &c.daily_cpu_budget);
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
