#include "common/safetensors/reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"

namespace tontine::safetensors {
namespace {

// "<file>: <problem>" with the code of `status`.
absl::Status WithPath(const std::filesystem::path& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path.string(), ": ", status.message()));
}

// Closes a file descriptor on scope exit; the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), ": is a directory"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  // mmap refuses length 0; ParseHeader needs only the length to refuse so short a file.
  if (size < 8) return WithPath(path, ParseHeader(std::string(size, '\0')).status());
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (address == MAP_FAILED) return ErrnoStatus(errno, "cannot map", path);
  const auto* mapping = static_cast<const uint8_t*>(address);
  absl::StatusOr<Header> header =
      ParseHeader(absl::string_view(reinterpret_cast<const char*>(mapping), size));
  if (!header.ok()) {
    ::munmap(address, size);
    return WithPath(path, header.status());
  }
  return SafetensorsFile(path, mapping, size, *std::move(header));
}

SafetensorsFile::SafetensorsFile(std::filesystem::path path, const uint8_t* mapping,
                                 size_t mapping_size, Header header)
    : path_(std::move(path)),
      mapping_(mapping),
      mapping_size_(mapping_size),
      header_(std::move(header)) {}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      header_(std::move(other.header_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    header_ = std::move(other.header_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { Unmap(); }

void SafetensorsFile::Unmap() {
  if (mapping_ != nullptr) ::munmap(const_cast<uint8_t*>(mapping_), mapping_size_);
  mapping_ = nullptr;
  mapping_size_ = 0;
}

absl::StatusOr<const TensorInfo*> SafetensorsFile::Find(absl::string_view name) const {
  const std::vector<TensorInfo>& tensors = header_.tensors;
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorInfo& info, absl::string_view key) {
                               return absl::string_view(info.name) < key;
                             });
  if (it == tensors.end() || it->name != name) {
    return absl::NotFoundError(absl::StrCat(path_.string(), ": no tensor named \"", name, "\""));
  }
  return &*it;
}

absl::Span<const uint8_t> SafetensorsFile::Data(const TensorInfo& info) const {
  // A TensorInfo from another file (or edited by the caller) is a programmer's mistake;
  // reading past the mapping would be worse than stopping.
  if (mapping_ == nullptr || info.begin > info.end || info.end > header_.buffer_size) {
    std::fprintf(stderr, "SafetensorsFile::Data: tensor \"%s\" [%llu, %llu) is not in %s\n",
                 info.name.c_str(), static_cast<unsigned long long>(info.begin),
                 static_cast<unsigned long long>(info.end), path_.c_str());
    std::abort();
  }
  const uint8_t* buffer = mapping_ + header_.buffer_offset;
  return absl::Span<const uint8_t>(buffer + info.begin, info.end - info.begin);
}

}  // namespace tontine::safetensors
