#include "common/safetensors/writer.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/safetensors/header.h"
#include "common/safetensors/json_util.h"

namespace tontine::safetensors {
namespace {

// Insertion-ordered, so that the header reads like the reference writer's: "__metadata__"
// first, then tensors in buffer order, each as dtype, shape, data_offsets. Equal inputs then
// give byte-identical files.
using json = nlohmann::ordered_json;

absl::Status TensorError(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", problem));
}

// product(shape) × dtype size; nullopt for a negative dimension or on overflow.
std::optional<uint64_t> ExpectedBytes(const TensorToWrite& tensor) {
  uint64_t bytes = DtypeSize(tensor.dtype);
  for (int64_t dim : tensor.shape) {
    if (dim < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) {
      return std::nullopt;
    }
  }
  return bytes;
}

absl::Status ValidateTensor(const TensorToWrite& tensor) {
  if (tensor.name.empty()) return TensorError(tensor.name, "the name is empty");
  if (tensor.name == kMetadataKey) return TensorError(tensor.name, "the name is reserved");
  if (!internal::IsValidUtf8(tensor.name)) {
    return TensorError(tensor.name, "the name is not valid UTF-8");
  }
  std::optional<uint64_t> expected = ExpectedBytes(tensor);
  if (!expected) return TensorError(tensor.name, "a dimension is negative or the size overflows");
  if (tensor.bytes.size() != *expected) {
    return TensorError(tensor.name, absl::StrCat(tensor.bytes.size(), " bytes given, shape and ",
                                                 DtypeName(tensor.dtype), " need ", *expected));
  }
  return absl::OkStatus();
}

absl::Status ValidateMetadata(const std::map<std::string, std::string>& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!internal::IsValidUtf8(key) || !internal::IsValidUtf8(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata entry \"", key, "\" is not valid UTF-8"));
    }
  }
  return absl::OkStatus();
}

// Validates every tensor, refuses repeated names, and returns the tensors in file order.
absl::StatusOr<std::vector<TensorToWrite>> Arrange(std::vector<TensorToWrite> tensors) {
  for (const TensorToWrite& tensor : tensors) TONTINE_RETURN_IF_ERROR(ValidateTensor(tensor));
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorToWrite& a, const TensorToWrite& b) { return a.name < b.name; });
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].name == tensors[i - 1].name) {
      return TensorError(tensors[i].name, "the name appears twice");
    }
  }
  // The reference's layout: dtypes in decreasing enum order (so decreasing element size,
  // which keeps each tensor aligned to it), then names.
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    return static_cast<int>(a.dtype) > static_cast<int>(b.dtype);
  });
  return tensors;
}

// The JSON header for `tensors` laid out in the given order, padded with spaces to a
// multiple of 8 bytes so that the buffer starts at an 8-aligned file offset.
absl::StatusOr<std::string> HeaderJson(const std::vector<TensorToWrite>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  json root = json::object();
  if (!metadata.empty()) root[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    uint64_t end = offset + tensor.bytes.size();
    root[tensor.name] = {{"dtype", std::string(DtypeName(tensor.dtype))},
                         {"shape", tensor.shape},
                         {"data_offsets", json::array({offset, end})}};
    offset = end;
  }
  std::string text = root.dump();  // cannot throw: every string was checked to be UTF-8
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("the header would be ", text.size(),
                                                   " bytes, above the limit of ", kMaxHeaderSize));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::string> SerializeSafetensors(
    std::vector<TensorToWrite> tensors, const std::map<std::string, std::string>& metadata) {
  TONTINE_RETURN_IF_ERROR(ValidateMetadata(metadata));
  TONTINE_ASSIGN_OR_RETURN(std::vector<TensorToWrite> ordered, Arrange(std::move(tensors)));
  TONTINE_ASSIGN_OR_RETURN(std::string header, HeaderJson(ordered, metadata));
  uint64_t buffer_size = 0;
  for (const TensorToWrite& tensor : ordered) buffer_size += tensor.bytes.size();
  std::string out;
  out.reserve(8 + header.size() + buffer_size);
  const uint64_t header_size = header.size();  // written little-endian (dtype.cc asserts it)
  out.append(reinterpret_cast<const char*>(&header_size), 8);
  out.append(header);
  for (const TensorToWrite& tensor : ordered) out.append(tensor.bytes.data(), tensor.bytes.size());
  return out;
}

absl::Status WriteSafetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                              const std::map<std::string, std::string>& metadata) {
  absl::StatusOr<std::string> contents = SerializeSafetensors(std::move(tensors), metadata);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(),
                        absl::StrCat(path.string(), ": ", contents.status().message()));
  }
  return WriteFileAtomic(path, *contents, 0644);
}

}  // namespace tontine::safetensors
