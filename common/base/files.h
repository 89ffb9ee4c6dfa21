// Small file helpers whose errors name the file and what went wrong.
#ifndef TONTINE_COMMON_BASE_FILES_H_
#define TONTINE_COMMON_BASE_FILES_H_

#include <sys/types.h>

#include <filesystem>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine {

// Reads the whole file. NOT_FOUND when it does not exist; PERMISSION_DENIED when unreadable;
// INTERNAL for other I/O errors. The message always names the file.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Writes `contents` to `path` atomically: a temporary file in the same directory is written,
// fsync'd, given `mode`, and renamed over `path`; then the directory is fsync'd. A crash
// leaves either the old file or the new one, never a torn one.
absl::Status WriteFileAtomic(const std::filesystem::path& path, absl::string_view contents,
                             mode_t mode = 0644);

// Creates `dir` and missing parents with `mode` (existing directories are left as they are).
absl::Status MakeDirs(const std::filesystem::path& dir, mode_t mode = 0755);

// Fsyncs a directory so that renames and creations inside it are durable.
absl::Status SyncDir(const std::filesystem::path& dir);

// Expands a leading "~/" to $HOME.
std::filesystem::path ExpandHome(const std::filesystem::path& path);

// Formats errno for messages: "No such file or directory".
std::string ErrnoText(int err);

// "<path>: <what>: <strerror>" as NOT_FOUND (ENOENT), PERMISSION_DENIED (EACCES, EPERM) or
// INTERNAL (anything else).
absl::Status ErrnoStatus(int err, absl::string_view what, const std::filesystem::path& path);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_FILES_H_
