#include "common/safetensors/header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/safetensors/json_util.h"

namespace tontine::safetensors {
namespace {

using nlohmann::json;

absl::Status EntryError(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", problem));
}

absl::StatusOr<Dtype> ParseEntryDtype(absl::string_view name, const json& entry) {
  auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string()) {
    return EntryError(name, "\"dtype\" is missing or not a string");
  }
  absl::StatusOr<Dtype> dtype = ParseDtype(it->get<std::string>());
  if (!dtype.ok()) return EntryError(name, dtype.status().message());
  return *dtype;
}

absl::StatusOr<std::vector<int64_t>> ParseShape(absl::string_view name, const json& entry) {
  auto it = entry.find("shape");
  const auto problem = "\"shape\" is not a list of non-negative integers";
  if (it == entry.end() || !it->is_array()) return EntryError(name, problem);
  std::vector<int64_t> shape;
  for (const json& dim : *it) {
    std::optional<uint64_t> value = internal::AsNonNegativeInteger(dim);
    if (!value || *value > std::numeric_limits<int64_t>::max()) return EntryError(name, problem);
    shape.push_back(static_cast<int64_t>(*value));
  }
  return shape;
}

absl::Status ParseOffsets(absl::string_view name, const json& entry, TensorInfo* info) {
  auto it = entry.find("data_offsets");
  const auto problem = "\"data_offsets\" is not two non-negative integers";
  if (it == entry.end() || !it->is_array() || it->size() != 2) return EntryError(name, problem);
  std::optional<uint64_t> begin = internal::AsNonNegativeInteger((*it)[0]);
  std::optional<uint64_t> end = internal::AsNonNegativeInteger((*it)[1]);
  if (!begin || !end) return EntryError(name, problem);
  if (*begin > *end) {
    return EntryError(name, absl::StrCat("data_offsets begin ", *begin, " > end ", *end));
  }
  info->begin = *begin;
  info->end = *end;
  return absl::OkStatus();
}

// product(shape) × dtype size; nullopt when it overflows. The element count must also fit
// int64_t so that TensorInfo::NumElements() is defined for every tensor we return.
std::optional<uint64_t> ByteLength(const TensorInfo& info) {
  int64_t count = 1;
  for (int64_t dim : info.shape) {
    if (__builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(count), DtypeSize(info.dtype), &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

absl::Status CheckExtent(const TensorInfo& info, uint64_t buffer_size) {
  std::optional<uint64_t> expected = ByteLength(info);
  std::string shape = absl::StrCat("[", absl::StrJoin(info.shape, ", "), "]");
  if (!expected) return EntryError(info.name, absl::StrCat("shape ", shape, " overflows"));
  if (info.end - info.begin != *expected) {
    return EntryError(info.name,
                      absl::StrCat("data_offsets span ", info.end - info.begin, " bytes but shape ",
                                   shape, " of ", DtypeName(info.dtype), " needs ", *expected));
  }
  if (info.end > buffer_size) {
    return EntryError(info.name,
                      absl::StrCat("data_offsets [", info.begin, ", ", info.end,
                                   "] run past the end of the ", buffer_size, "-byte buffer"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorInfo> ParseEntry(const std::string& name, const json& entry,
                                      uint64_t buffer_size) {
  if (!entry.is_object()) return EntryError(name, "entry is not an object");
  TensorInfo info;
  info.name = name;
  TONTINE_ASSIGN_OR_RETURN(info.dtype, ParseEntryDtype(name, entry));
  TONTINE_ASSIGN_OR_RETURN(info.shape, ParseShape(name, entry));
  TONTINE_RETURN_IF_ERROR(ParseOffsets(name, entry, &info));
  TONTINE_RETURN_IF_ERROR(CheckExtent(info, buffer_size));
  return info;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(const json& value) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError("\"__metadata__\" is not an object of strings");
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"__metadata__\" value of \"", key, "\" is not a string"));
    }
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

// The reference requires the tensors, ordered by offsets, to tile the buffer exactly: each
// begins where the previous ends, the first at 0 and the last at the buffer's end.
absl::Status CheckTiling(const std::vector<TensorInfo>& tensors, uint64_t buffer_size) {
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& info : tensors) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  uint64_t cursor = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* info : by_offset) {
    if (info->begin < cursor) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensors \"", previous->name, "\" and \"", info->name, "\" overlap"));
    }
    if (info->begin > cursor) {
      return absl::InvalidArgumentError(absl::StrCat("buffer bytes [", cursor, ", ", info->begin,
                                                     ") before tensor \"", info->name,
                                                     "\" belong to no tensor (a hole)"));
    }
    cursor = info->end;
    previous = info;
  }
  if (cursor != buffer_size) {
    return absl::InvalidArgumentError(absl::StrCat("buffer bytes [", cursor, ", ", buffer_size,
                                                   ") after the last tensor belong to no tensor"));
  }
  return absl::OkStatus();
}

// Checks the 8-byte prefix and returns N, the header size.
absl::StatusOr<uint64_t> ReadHeaderSize(absl::string_view image) {
  if (image.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("file is ", image.size(), " bytes, shorter than the 8-byte header size"));
  }
  uint64_t size = 0;
  std::memcpy(&size, image.data(), 8);  // little-endian host (dtype.cc asserts it)
  if (size == 0) return absl::InvalidArgumentError("header size is 0");
  if (size > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("header size ", size, " exceeds the limit of ", kMaxHeaderSize, " bytes"));
  }
  if (size > image.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat("header size ", size, " runs past the end of ",
                                                   "the file (", image.size() - 8,
                                                   " bytes follow the size)"));
  }
  return size;
}

}  // namespace

absl::StatusOr<Header> ParseHeader(absl::string_view image) {
  TONTINE_ASSIGN_OR_RETURN(uint64_t header_size, ReadHeaderSize(image));
  absl::StatusOr<json> root = internal::ParseJsonObject(image.substr(8, header_size));
  if (!root.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("header ", root.status().message()));
  }
  Header header;
  header.buffer_offset = 8 + header_size;
  header.buffer_size = image.size() - header.buffer_offset;
  // nlohmann keeps object keys in a std::map, so entries arrive sorted by name.
  for (const auto& [key, value] : root->items()) {
    if (key == kMetadataKey) {
      TONTINE_ASSIGN_OR_RETURN(header.metadata, ParseMetadata(value));
      continue;
    }
    TONTINE_ASSIGN_OR_RETURN(TensorInfo info, ParseEntry(key, value, header.buffer_size));
    header.tensors.push_back(std::move(info));
  }
  TONTINE_RETURN_IF_ERROR(CheckTiling(header.tensors, header.buffer_size));
  return header;
}

}  // namespace tontine::safetensors
