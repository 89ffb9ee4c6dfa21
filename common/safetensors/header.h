// Validation of a whole safetensors image (8-byte header size, JSON header, buffer) held in
// memory. SafetensorsFile uses it on a mapped file; a caller holding received bytes can use
// it directly, before trusting any offset in them.
//
// Layout, as the reference implementation (huggingface/safetensors) defines it:
//   u64 little-endian N | N bytes of UTF-8 JSON object | buffer
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, the
// offsets relative to the start of the buffer, plus an optional "__metadata__" object of
// string values.
#ifndef TONTINE_COMMON_SAFETENSORS_HEADER_H_
#define TONTINE_COMMON_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/safetensors/dtype.h"

namespace tontine::safetensors {

// The reserved header key for free-form string metadata.
inline constexpr char kMetadataKey[] = "__metadata__";

// The largest JSON header accepted: 100 MiB. (The reference's limit is 100,000,000 bytes;
// no real header comes within orders of magnitude of either.)
inline constexpr uint64_t kMaxHeaderSize = uint64_t{100} << 20;

// What a valid header says about an image.
struct Header {
  std::vector<TensorInfo> tensors;              // sorted by name
  std::map<std::string, std::string> metadata;  // empty when "__metadata__" is absent
  uint64_t buffer_offset = 0;                   // 8 + N: where the buffer starts in the image
  uint64_t buffer_size = 0;                     // image size - buffer_offset
};

// Parses and validates `image`, the complete contents of a safetensors file. Returns
// INVALID_ARGUMENT with a message naming the problem (and the tensor, when one is at fault)
// but not the file, for:
//   - an image shorter than 8 bytes; a header size of 0, above kMaxHeaderSize, or running
//     past the end of the image;
//   - a header that is not UTF-8, not JSON, not an object, or repeats a key;
//   - an entry that is not an object, has an unknown dtype, a shape that is not a list of
//     non-negative integers, or data_offsets that are not two non-negative integers with
//     begin <= end;
//   - a byte length other than product(shape) × dtype size (overflow included), offsets past
//     the buffer, overlapping tensors, or a buffer the tensors do not cover contiguously
//     from 0 to its end (the reference refuses holes and trailing bytes too);
//   - "__metadata__" that is not an object of strings.
// Entry keys other than the three above are ignored, as the reference ignores them.
absl::StatusOr<Header> ParseHeader(absl::string_view image);

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_HEADER_H_
