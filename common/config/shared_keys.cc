#include "common/config/shared_keys.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace tontine::config {

std::string ReadKind(MapReader& root) {
  if (!root.Has("kind")) {
    root.Error("kind", "missing; every Tontine config file says what it is with "
                       "kind: experiment, coordinator or client");
    return "";
  }
  std::string kind;
  root.Enum<std::string>("kind", &kind,
                         {{std::string(kKindExperiment), std::string(kKindExperiment)},
                          {std::string(kKindCoordinator), std::string(kKindCoordinator)},
                          {std::string(kKindClient), std::string(kKindClient)}});
  return kind;
}

void ExpectKind(MapReader& root, absl::string_view expected) {
  std::string kind = ReadKind(root);
  if (!kind.empty() && kind != expected) {
    root.Error("kind", absl::StrCat("this is a '", kind, "' file, but a '", expected,
                                    "' file is needed here"));
  }
}

void ReadLogLevel(MapReader& r, absl::string_view key, std::string* out) {
  std::vector<std::pair<std::string, std::string>> levels;
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    levels.emplace_back(level, level);
  }
  r.Enum<std::string>(key, out, levels);
}

void ReadBundledOrDir(MapReader& r, absl::string_view key,
                      std::optional<std::filesystem::path>* out) {
  if (!r.Has(key)) return;
  std::string text;
  r.String(key, &text);
  if (text.empty() || text == "bundled") {
    *out = std::nullopt;
    return;
  }
  std::filesystem::path dir;
  r.Path(key, &dir, PathKind::kExistingDir);
  if (!dir.empty()) *out = dir;
}

}  // namespace tontine::config
