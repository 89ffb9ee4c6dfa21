// The coordinator's terminal views of its state directory, for an operator at a shell:
// `status`, `rounds`, `participants` and `export`. They read the store (also while `serve`
// runs: SQLite orders the two) and print tables, or with --json the documents the dashboard's
// JSON API serves (server/http/api.h), so that scripts see one schema.
#ifndef TONTINE_SERVER_STATE_COMMANDS_H_
#define TONTINE_SERVER_STATE_COMMANDS_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace tontine {

absl::Status PrintStatus(const std::filesystem::path& state_dir, bool json);
absl::Status PrintRounds(const std::filesystem::path& state_dir, bool json);
absl::Status PrintParticipants(const std::filesystem::path& state_dir, bool json);
// Writes adapter version `version` (the latest when nullopt) as a PEFT directory in `out`.
absl::Status ExportAdapter(const std::filesystem::path& state_dir, std::optional<int64_t> version,
                           const std::filesystem::path& out);

}  // namespace tontine

#endif  // TONTINE_SERVER_STATE_COMMANDS_H_
