#include "common/config/validate.h"

#include "absl/strings/str_cat.h"
#include "common/config/client_config.h"
#include "common/config/coordinator_config.h"
#include "common/config/experiment_config.h"
#include "common/config/shared_keys.h"

namespace tontine::config {

absl::StatusOr<std::string> ValidateConfigFile(const std::filesystem::path& path,
                                               const std::vector<Override>& overrides) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Load(path);
  if (!file.ok()) return file.status();
  MapReader root(&*file, file->root(), "");
  std::string kind = ReadKind(root);
  if (kind.empty()) return file->ToStatus();
  if (kind == kKindExperiment) {
    absl::StatusOr<ExperimentConfig> c = LoadExperimentConfig(path, overrides);
    if (!c.ok()) return c.status();
    return absl::StrCat("experiment '", c->name, "'");
  }
  if (kind == kKindCoordinator) {
    absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(path, overrides);
    if (!c.ok()) return c.status();
    return absl::StrCat("coordinator running experiment '", c->experiment.name, "' (",
                        c->experiment_path.string(), ")");
  }
  absl::StatusOr<ClientConfig> c = LoadClientConfig(path, overrides);
  if (!c.ok()) return c.status();
  return absl::StrCat("client with data in ", c->data_dir.string());
}

}  // namespace tontine::config
