// Where a base model lives. "bundled" (the default everywhere a base model is named) is the
// small byte-level model that `tontine pretrain` builds from examples/data/pretrain; it is not
// committed to the repository but built once per machine and cached:
//   $TONTINE_BUNDLED_BASE if set, else $XDG_CACHE_HOME/tontine/bundled-base,
//   else ~/.cache/tontine/bundled-base.
#ifndef TONTINE_COMMON_CONFIG_BASE_MODEL_H_
#define TONTINE_COMMON_CONFIG_BASE_MODEL_H_

#include <filesystem>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::config {

// The cache directory of the bundled base model (which may not exist yet).
std::filesystem::path BundledBaseDir();

// The directory of `base` (nullopt = bundled). FAILED_PRECONDITION saying how to build it
// when the bundled model has not been built; NOT_FOUND when a named directory is missing.
absl::StatusOr<std::filesystem::path> ResolveBaseModel(
    const std::optional<std::filesystem::path>& base);

// Parses a --base flag value: "bundled" or "" → nullopt, anything else a directory.
std::optional<std::filesystem::path> ParseBaseFlag(absl::string_view value);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_BASE_MODEL_H_
