#include "common/safetensors/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tontine::safetensors {
namespace {

// The format is little-endian; reading it with memcpy is only right on such a host.
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swaps");

struct DtypeEntry {
  Dtype dtype;
  absl::string_view name;
  size_t size;
};

constexpr std::array<DtypeEntry, 10> kDtypes = {{
    {Dtype::kBool, "BOOL", 1},
    {Dtype::kU8, "U8", 1},
    {Dtype::kI8, "I8", 1},
    {Dtype::kI16, "I16", 2},
    {Dtype::kF16, "F16", 2},
    {Dtype::kBf16, "BF16", 2},
    {Dtype::kI32, "I32", 4},
    {Dtype::kF32, "F32", 4},
    {Dtype::kF64, "F64", 8},
    {Dtype::kI64, "I64", 8},
}};

const DtypeEntry& Entry(Dtype dtype) {
  for (const DtypeEntry& entry : kDtypes) {
    if (entry.dtype == dtype) return entry;
  }
  return kDtypes[0];  // unreachable for a valid enum value
}

// Rounds `value >> shift` to nearest, ties to even. REQUIRES: 1 <= shift <= 31.
uint32_t ShiftRoundingToEven(uint32_t value, int shift) {
  uint32_t quotient = value >> shift;
  uint32_t remainder = value & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (quotient & 1u) != 0)) ++quotient;
  return quotient;
}

// Decodes consecutive little-endian 16-bit values with `decode`.
template <typename Decode>
std::vector<float> Decode16(absl::Span<const uint8_t> bytes, Decode decode) {
  std::vector<float> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, bytes.data() + 2 * i, 2);
    out[i] = decode(bits);
  }
  return out;
}

}  // namespace

absl::StatusOr<Dtype> ParseDtype(absl::string_view name) {
  for (const DtypeEntry& entry : kDtypes) {
    if (entry.name == name) return entry.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype \"", name, "\""));
}

absl::string_view DtypeName(Dtype dtype) { return Entry(dtype).name; }

size_t DtypeSize(Dtype dtype) { return Entry(dtype).size; }

int64_t TensorInfo::NumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

float F16ToF32(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1Fu;
  uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa × 2^-24, exact in fp32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) {
    // Infinity or NaN; the NaN payload moves to the top of the fp32 mantissa.
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  // Normal: rebias the exponent from 15 to 127.
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t F32ToF16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return sign | 0x7E00u;  // NaN → quiet NaN
  // 65520 (0x477FF000) lies halfway between 65504, the largest half, and 65536; ties go to
  // the even neighbour, which is the overflow to infinity.
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;
  int exponent = static_cast<int>(magnitude >> 23);
  if (exponent < 113) {
    // Below 2^-14: a half subnormal, counted in units of 2^-24. The fp32 value is
    // (1.mantissa) × 2^(exponent-127), i.e. significand × 2^(exponent-150) with the implicit
    // bit, so in 2^-24 units it is significand >> (126 - exponent).
    int shift = 126 - exponent;
    if (shift > 24) return sign;  // below 2^-25 (the tie at 2^-25 itself goes to even 0)
    uint32_t significand = (magnitude & 0x7FFFFFu) | 0x800000u;
    return sign | static_cast<uint16_t>(ShiftRoundingToEven(significand, shift));
  }
  // Normal: rebias and drop 13 mantissa bits. A carry out of the mantissa correctly bumps
  // the exponent.
  uint32_t rebased = magnitude - (112u << 23);
  return sign | static_cast<uint16_t>(ShiftRoundingToEven(rebased, 13));
}

float Bf16ToF32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

uint16_t F32ToBf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  // Keep NaN a NaN: rounding could carry its payload into the exponent and yield infinity.
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Round to nearest even on the 16 dropped bits; overflow rounds up into infinity.
  uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7FFFu + lsb) >> 16);
}

absl::StatusOr<std::vector<float>> ToFloat32(const TensorInfo& info,
                                             absl::Span<const uint8_t> bytes) {
  const uint64_t expected = static_cast<uint64_t>(info.NumElements()) * DtypeSize(info.dtype);
  if (bytes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", info.name, "\": ", bytes.size(),
                                                   " bytes given, ", expected, " expected"));
  }
  switch (info.dtype) {
    case Dtype::kF32: {
      std::vector<float> out(bytes.size() / 4);
      if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
      return out;
    }
    case Dtype::kF16:
      return Decode16(bytes, F16ToF32);
    case Dtype::kBf16:
      return Decode16(bytes, Bf16ToF32);
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor \"", info.name, "\": dtype ", DtypeName(info.dtype), " is not F32, F16 or BF16"));
  }
}

}  // namespace tontine::safetensors
