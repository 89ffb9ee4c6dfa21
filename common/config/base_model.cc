#include "common/config/base_model.h"

#include <cstdlib>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace tontine::config {
namespace {

namespace fs = std::filesystem;

const char* NonEmptyEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

}  // namespace

fs::path BundledBaseDir() {
  if (const char* dir = NonEmptyEnv("TONTINE_BUNDLED_BASE")) return dir;
  if (const char* cache = NonEmptyEnv("XDG_CACHE_HOME")) return fs::path(cache) / "tontine/bundled-base";
  if (const char* home = NonEmptyEnv("HOME")) return fs::path(home) / ".cache/tontine/bundled-base";
  return fs::path("/tmp/tontine-bundled-base");
}

absl::StatusOr<fs::path> ResolveBaseModel(const std::optional<fs::path>& base) {
  std::error_code ec;
  if (base.has_value()) {
    if (!fs::is_directory(*base, ec)) {
      return absl::NotFoundError(absl::StrCat(base->string(), ": no such model directory"));
    }
    return *base;
  }
  fs::path dir = BundledBaseDir();
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the bundled base model has not been built on this machine (looked in ", dir.string(),
        "); build it once with `tontine pretrain --data examples/data/pretrain` (a few minutes), "
        "or name a model directory"));
  }
  return dir;
}

std::optional<fs::path> ParseBaseFlag(absl::string_view value) {
  if (value.empty() || value == "bundled") return std::nullopt;
  return fs::path(std::string(value));
}

}  // namespace tontine::config
