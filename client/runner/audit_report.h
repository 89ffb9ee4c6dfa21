// `tontine-client audit`: the transparency log (transparency_log.h) for a person or a script.
//
// As a table (times in UTC, SHA-256 cut to its first 16 hex digits, columns aligned to
// their widest value), then a totals line and the count and bytes per message type:
//
//   time (UTC)               round  call                message                bytes  sha256
//   2026-11-21 16:00:00.123      -  Session             Hello                     58  3f2a…
//   2026-11-21 16:00:04.001      7  UploadMaskedUpdate  MaskedUpdateChunk    1048612  9c1e…
//   total: 2 messages, 1.0 MB (1048670 bytes)
//
// As JSON (--json): one array, one object per message, oldest first, with the log's keys
// (at_unix_ms, call, message, round, bytes, sha256 — the full digest) and `time`, the same
// instant in RFC 3339 UTC; `[]` when nothing was sent.
#ifndef TONTINE_CLIENT_RUNNER_AUDIT_REPORT_H_
#define TONTINE_CLIENT_RUNNER_AUDIT_REPORT_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/runner/transparency_log.h"

namespace tontine::runner {

std::string FormatAuditTable(const std::vector<TransparencyEntry>& entries);
std::string FormatAuditJson(const std::vector<TransparencyEntry>& entries);

// The report of the log in `state_dir`. A state directory without a log (nothing sent yet)
// gives an empty report. NOT_FOUND when `state_dir` does not exist; INVALID_ARGUMENT naming
// the file and line for a damaged log line; the log's read errors naming it.
absl::StatusOr<std::string> AuditReport(const std::filesystem::path& state_dir, bool json);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_AUDIT_REPORT_H_
