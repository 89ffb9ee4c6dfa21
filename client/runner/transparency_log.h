// The client's transparency log: one line per message the client sends to the coordinator,
// appended to <state dir>/transparency.jsonl before the message leaves, so that a contributor
// can check exactly what left the laptop (`tontine-client audit`). Each line is JSON:
//   {"at_unix_ms": …, "call": "Session", "message": "AdvertiseKeys", "round": 7,
//    "bytes": 70, "sha256": "…"}
// where bytes and sha256 are of the serialised protobuf message as sent.
#ifndef TONTINE_CLIENT_RUNNER_TRANSPARENCY_LOG_H_
#define TONTINE_CLIENT_RUNNER_TRANSPARENCY_LOG_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message_lite.h"

namespace tontine::runner {

inline constexpr char kTransparencyLogFile[] = "transparency.jsonl";

struct TransparencyEntry {
  int64_t at_unix_ms = 0;
  std::string call;     // the RPC: Session, DownloadAdapter, UploadMaskedUpdate, …
  std::string message;  // the message type, e.g. AdvertiseKeys, MaskedUpdateChunk
  uint64_t round = 0;   // 0 when not about a round
  uint64_t bytes = 0;
  std::string sha256;   // hex
};

// Safe for concurrent use.
class TransparencyLog {
 public:
  // Appends to `path` (created 0600). `capture_dir`, a test hook never set in production,
  // additionally receives each message's bytes as <sequence>-<message>.bin.
  explicit TransparencyLog(std::filesystem::path path, std::filesystem::path capture_dir = {})
      : path_(std::move(path)), capture_dir_(std::move(capture_dir)) {}

  // Records `message` as about to be sent. An error (disk full, …) is returned: the caller
  // must not send what it could not record.
  absl::Status Record(absl::string_view call, absl::string_view type, uint64_t round,
                      const google::protobuf::MessageLite& message);

 private:
  const std::filesystem::path path_;
  const std::filesystem::path capture_dir_;
  absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

// The entries of a log file, oldest first. NOT_FOUND when the client has sent nothing yet;
// INVALID_ARGUMENT naming the file and line for a damaged line; ReadFile's other errors
// (PERMISSION_DENIED, FAILED_PRECONDITION for a directory, …) naming the file.
absl::StatusOr<std::vector<TransparencyEntry>> ReadTransparencyLog(
    const std::filesystem::path& path);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_TRANSPARENCY_LOG_H_
