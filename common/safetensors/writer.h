// Writing .safetensors files without LibTorch, in the layout the reference writer
// (huggingface/safetensors `serialize`) produces: a compact JSON header padded with spaces
// so that the buffer starts 8-byte aligned, then the tensors back to back.
#ifndef TONTINE_COMMON_SAFETENSORS_WRITER_H_
#define TONTINE_COMMON_SAFETENSORS_WRITER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/safetensors/dtype.h"

namespace tontine::safetensors {

// One tensor to write. `bytes` are little-endian and row-major, and must stay alive until
// the call that receives them returns.
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;  // [] for a scalar
  absl::string_view bytes;     // product(shape) × DtypeSize(dtype) bytes
};

// The complete file contents, byte for byte what the reference writer produces for the
// same input: tensors laid out by dtype in decreasing element size, then by name, so that
// with the buffer 8-byte aligned every tensor is aligned to its element size and a reader
// may view the bytes in place. An empty `metadata` writes no "__metadata__" key.
// INVALID_ARGUMENT naming the tensor for: an empty, repeated or "__metadata__" name; a name
// or metadata string that is not UTF-8; a negative dimension; `bytes` of the wrong length;
// a header above kMaxHeaderSize.
absl::StatusOr<std::string> SerializeSafetensors(
    std::vector<TensorToWrite> tensors, const std::map<std::string, std::string>& metadata);

// Serializes as above and writes `path` atomically (WriteFileAtomic, mode 0644): readers see
// the old file or the new one, never a torn one. The errors of SerializeSafetensors, or
// WriteFileAtomic's naming the file.
absl::Status WriteSafetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                              const std::map<std::string, std::string>& metadata);

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_WRITER_H_
