#include "client/runner/transparency_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"

namespace tontine::runner {

absl::Status TransparencyLog::Record(absl::string_view call, absl::string_view type,
                                     uint64_t round, const google::protobuf::MessageLite& message) {
  const std::string bytes = message.SerializeAsString();
  TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256Digest(bytes));
  nlohmann::json line = {{"at_unix_ms", absl::ToUnixMillis(absl::Now())},
                         {"call", call},
                         {"message", type},
                         {"round", round},
                         {"bytes", bytes.size()},
                         {"sha256", HexEncode(digest)}};
  const std::string text = line.dump() + "\n";
  absl::MutexLock lock(&mu_);
  // O_APPEND: each line lands whole at the end even if another process appends too.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot open the transparency log", path_);
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(err, "cannot append to the transparency log", path_);
  }
  ++sequence_;
  if (!capture_dir_.empty()) {
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(
        capture_dir_ / absl::StrCat(absl::Dec(sequence_, absl::kZeroPad8), "-", type, ".bin"),
        bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TransparencyEntry>> ReadTransparencyLog(
    const std::filesystem::path& path) {
  // ReadFile, not std::ifstream: an unreadable log (or a directory in its place) must not be
  // reported as "nothing sent yet".
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (absl::IsNotFound(contents.status())) {
    return absl::NotFoundError(
        absl::StrCat(path.string(), " does not exist: this client has not sent anything yet"));
  }
  if (!contents.ok()) return contents.status();
  std::vector<TransparencyEntry> entries;
  int line = 0;
  for (absl::string_view text : absl::StrSplit(*contents, '\n')) {
    ++line;
    if (text.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path.string(), ":", line, ": not a JSON object"));
    }
    try {
      TransparencyEntry e;
      e.at_unix_ms = j.at("at_unix_ms").get<int64_t>();
      e.call = j.at("call").get<std::string>();
      e.message = j.at("message").get<std::string>();
      e.round = j.at("round").get<uint64_t>();
      e.bytes = j.at("bytes").get<uint64_t>();
      e.sha256 = j.at("sha256").get<std::string>();
      entries.push_back(std::move(e));
    } catch (const nlohmann::json::exception& error) {
      return absl::InvalidArgumentError(
          absl::StrCat(path.string(), ":", line, ": ", error.what()));
    }
  }
  return entries;
}

}  // namespace tontine::runner
