// Reading .safetensors files without LibTorch: the file is memory-mapped and its header
// validated once, after which tensor bytes are handed out as spans into the mapping.
//
//   TONTINE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
//   TONTINE_ASSIGN_OR_RETURN(const TensorInfo* info, file.Find("lora_A.weight"));
//   TONTINE_ASSIGN_OR_RETURN(std::vector<float> values, ToFloat32(*info, file.Data(*info)));
//
// Lifecycle: Open → tensors() / Find() / Data() … → destruction unmaps the file.
// Const methods are safe for concurrent use; the file must not be truncated while open (as
// with any mapping, reading a page past the new end raises SIGBUS).
#ifndef TONTINE_COMMON_SAFETENSORS_READER_H_
#define TONTINE_COMMON_SAFETENSORS_READER_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/safetensors/dtype.h"
#include "common/safetensors/header.h"

namespace tontine::safetensors {

// One open, validated .safetensors file. Movable, not copyable. Safe for concurrent use
// through const methods.
class SafetensorsFile {
 public:
  // Maps `path` read-only and validates the whole header (see ParseHeader in header.h for
  // every check). Errors name the file:
  //   NOT_FOUND / PERMISSION_DENIED when it cannot be opened; FAILED_PRECONDITION for a
  //   directory; INTERNAL for other I/O errors;
  //   INVALID_ARGUMENT "<file>: <problem>" for malformed content.
  static absl::StatusOr<SafetensorsFile> Open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }

  // Every tensor, sorted by name.
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }

  // The tensor called `name`; the pointer lives as long as this object. NOT_FOUND naming
  // the file and the tensor otherwise.
  absl::StatusOr<const TensorInfo*> Find(absl::string_view name) const;

  // The tensor's bytes (little-endian, row-major), valid as long as this object. They start
  // at the tensor's offset in the file, so they are aligned to the element size only when
  // the writer aligned them (ours and the reference's do); read them with memcpy.
  // REQUIRES: `info` is one of tensors() (aborts on offsets outside this file's buffer).
  absl::Span<const uint8_t> Data(const TensorInfo& info) const;

  // The "__metadata__" strings; empty when the header has none.
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

 private:
  SafetensorsFile(std::filesystem::path path, const uint8_t* mapping, size_t mapping_size,
                  Header header);
  void Unmap();

  // Constant after construction (until moved from).
  std::filesystem::path path_;
  const uint8_t* mapping_ = nullptr;  // the whole file, from mmap; null when moved from
  size_t mapping_size_ = 0;
  Header header_;
};

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_READER_H_
