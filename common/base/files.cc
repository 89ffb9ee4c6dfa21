#include "common/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tontine {
namespace {

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

std::string ErrnoText(int err) { return std::strerror(err); }

absl::Status ErrnoStatus(int err, absl::string_view what, const std::filesystem::path& path) {
  std::string message = absl::StrCat(path.string(), ": ", what, ": ", ErrnoText(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), ": is a directory"));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read failed", path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::Status SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open directory", dir);
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync failed", dir);
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::filesystem::path& path, absl::string_view contents,
                             mode_t mode) {
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  // StrCat rather than "." + string: GCC 12 at -O3 (the release preset) reports a false
  // -Wrestrict in std::string's operator+ (GCC bug 105329).
  std::string tmp_template =
      (dir / absl::StrCat(".", path.filename().string(), ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmp_template.data());
  if (fd < 0) return ErrnoStatus(errno, "cannot create temporary file", path);
  auto fail = [&](int err, absl::string_view what) {
    ::close(fd);
    ::unlink(tmp_template.c_str());
    return ErrnoStatus(err, what, path);
  };
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "write failed");
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) return fail(errno, "chmod failed");
  if (::fsync(fd) != 0) return fail(errno, "fsync failed");
  if (::close(fd) != 0) {
    ::unlink(tmp_template.c_str());
    return ErrnoStatus(errno, "close failed", path);
  }
  if (::rename(tmp_template.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_template.c_str());
    return ErrnoStatus(err, "rename failed", path);
  }
  return SyncDir(dir);
}

absl::Status MakeDirs(const std::filesystem::path& dir, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    absl::Status parent = MakeDirs(dir.parent_path(), 0755);
    if (!parent.ok()) return parent;
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "cannot create directory", dir);
  }
  return absl::OkStatus();
}

std::filesystem::path ExpandHome(const std::filesystem::path& path) {
  const std::string& s = path.native();
  if (s == "~" || s.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') return std::filesystem::path(home) / s.substr(s.size() > 1 ? 2 : 1);
  }
  return path;
}

}  // namespace tontine
