// Process-wide logging set-up. Code logs with spdlog directly (spdlog::info(...), which is
// safe for concurrent use); binaries call InitLogging once at start-up.
#ifndef TONTINE_COMMON_BASE_LOGGING_H_
#define TONTINE_COMMON_BASE_LOGGING_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace tontine {

// Logs to stderr as "2026-11-21T16:00:00.123 info  [program] message". `level` is one of
// trace, debug, info, warn, error, off. INVALID_ARGUMENT for another level.
absl::Status InitLogging(absl::string_view program, absl::string_view level);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_LOGGING_H_
