// Keys that several kinds of config file share: `kind`, `log_level`, and "bundled or a
// directory" model references.
//
// Every Tontine config file says what it is with a top-level `kind:` key, so that a file
// passed to the wrong command is refused with a clear message rather than half-read.
#ifndef TONTINE_COMMON_CONFIG_SHARED_KEYS_H_
#define TONTINE_COMMON_CONFIG_SHARED_KEYS_H_

#include <filesystem>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "common/config/reader.h"

namespace tontine::config {

inline constexpr absl::string_view kKindExperiment = "experiment";
inline constexpr absl::string_view kKindCoordinator = "coordinator";
inline constexpr absl::string_view kKindClient = "client";

// The file's `kind` value, or "" after reporting an error (missing, unknown, wrong type).
std::string ReadKind(MapReader& root);

// Reads `kind` and reports an error unless it equals `expected`.
void ExpectKind(MapReader& root, absl::string_view expected);

// `key`: trace, debug, info, warn, error or off.
void ReadLogLevel(MapReader& r, absl::string_view key, std::string* out);

// `key`: the word "bundled" (→ nullopt) or an existing directory.
void ReadBundledOrDir(MapReader& r, absl::string_view key,
                      std::optional<std::filesystem::path>* out);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_SHARED_KEYS_H_
