// `tontine validate`: check any Tontine config file, whatever its kind.
#ifndef TONTINE_COMMON_CONFIG_VALIDATE_H_
#define TONTINE_COMMON_CONFIG_VALIDATE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/overrides.h"

namespace tontine::config {

// Reads the file's `kind` and loads it with that kind's loader (a coordinator file also loads
// the experiment it names). Returns a one-line summary such as "experiment 'udhr-demo'", or
// the loader's error ("file:line:col: message" lines). `overrides` (--set) apply to the file,
// and for a coordinator file those under `experiment.` to its experiment
// (SplitCoordinatorOverrides); errors in them name the override.
absl::StatusOr<std::string> ValidateConfigFile(const std::filesystem::path& path,
                                               const std::vector<Override>& overrides = {});

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_VALIDATE_H_
