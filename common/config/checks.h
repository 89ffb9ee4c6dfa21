// Value checks shared by the config loaders. Each returns nullopt when the value is fine, or
// a message saying what is wrong and what is expected.
#ifndef TONTINE_COMMON_CONFIG_CHECKS_H_
#define TONTINE_COMMON_CONFIG_CHECKS_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace tontine::config {

// [a-z0-9][a-z0-9._-]*, at most 64 characters.
std::optional<std::string> CheckName(absl::string_view name);

// "host:port", "1.2.3.4:port" or "[::1]:port" with a port in 0–65535 (0 = any free port, for
// listening only).
std::optional<std::string> CheckAddress(absl::string_view address);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_CHECKS_H_
