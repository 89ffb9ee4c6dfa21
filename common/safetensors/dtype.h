// Element types of the safetensors format and conversion of the floating ones to fp32,
// without LibTorch (the coordinator stores adapters and never links torch).
//
// Dtype names and sizes follow the reference implementation (huggingface/safetensors,
// safetensors/src/tensor.rs). Data is little-endian and row-major; every function here
// assumes a little-endian host (checked at compile time in dtype.cc).
#ifndef TONTINE_COMMON_SAFETENSORS_DTYPE_H_
#define TONTINE_COMMON_SAFETENSORS_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tontine::safetensors {

// The element types we read and write. The reference also knows U16/U32/U64 and the FP8
// types; files holding those are refused by name rather than half-read.
// Declared in the reference's order (increasing element size), which the writer uses to
// lay tensors out as the reference does.
enum class Dtype {
  kBool,
  kU8,
  kI8,
  kI16,
  kF16,
  kBf16,
  kI32,
  kF32,
  kF64,
  kI64,
};

// "F32" → kF32 and so on (case-sensitive, as the format spells them). INVALID_ARGUMENT
// naming the text for anything else.
absl::StatusOr<Dtype> ParseDtype(absl::string_view name);

// The format's spelling: kBf16 → "BF16".
absl::string_view DtypeName(Dtype dtype);

// Bytes per element: 1 for BOOL/U8/I8, 2 for I16/F16/BF16, 4 for I32/F32, 8 for I64/F64.
size_t DtypeSize(Dtype dtype);

// One tensor of a file: where its bytes lie in the buffer that follows the header.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;  // outermost first; [] is a scalar
  uint64_t begin = 0;          // byte offsets relative to the start of the buffer
  uint64_t end = 0;            // exclusive

  // The product of `shape` (1 for a scalar, 0 when any dimension is 0).
  // REQUIRES: the product fits in int64_t (true of every TensorInfo a reader returns).
  int64_t NumElements() const;
};

// Converts the bytes of an F32, F16 or BF16 tensor to fp32 values, exactly (every F16 and
// BF16 value, subnormals, infinities and NaN included, is representable in fp32).
// INVALID_ARGUMENT naming the tensor for any other dtype or when `bytes` is not
// NumElements() × DtypeSize(dtype) long.
absl::StatusOr<std::vector<float>> ToFloat32(const TensorInfo& info,
                                             absl::Span<const uint8_t> bytes);

// Bit-level conversions between fp32 and the 16-bit formats. The narrowing ones round to
// nearest, ties to even (IEEE 754 default); values beyond the range become ±infinity and
// NaN stays a (quiet) NaN.
uint16_t F32ToF16(float value);
uint16_t F32ToBf16(float value);
float F16ToF32(uint16_t bits);
float Bf16ToF32(uint16_t bits);

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_DTYPE_H_
