#include "common/safetensors/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine::safetensors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOkAndHolds;
using testing::StatusIs;

std::string Bytes16(std::initializer_list<uint16_t> values) {
  std::string out;
  for (uint16_t v : values) out.append(reinterpret_cast<const char*>(&v), 2);
  return out;
}

absl::Span<const uint8_t> AsSpan(const std::string& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

TEST(DtypeTest, ParsesEveryNameBackToItsDtypeWithItsSize) {
  const std::pair<const char*, size_t> expected[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"F32", 4}, {"I64", 8}, {"F64", 8}};
  for (const auto& [name, size] : expected) {
    absl::StatusOr<Dtype> dtype = ParseDtype(name);
    ASSERT_TRUE(dtype.ok()) << name;
    EXPECT_EQ(DtypeName(*dtype), name);
    EXPECT_EQ(DtypeSize(*dtype), size) << name;
  }
}

TEST(DtypeTest, RefusesUnknownAndWronglyCasedNames) {
  for (const char* bad : {"f32", "F8_E4M3", "U32", "", "FLOAT"}) {
    EXPECT_THAT(ParseDtype(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown dtype")))
        << bad;
  }
}

TEST(DtypeTest, DecodesKnownHalfBitPatterns) {
  EXPECT_EQ(F16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(F16ToF32(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(F16ToF32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);           // 2^-2 × (1 + 341/1024)
  EXPECT_EQ(F16ToF32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(F16ToF32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(F16ToF32(0x7E00)));
  EXPECT_TRUE(std::isnan(F16ToF32(0x7C01)));  // a signalling NaN is still a NaN
  EXPECT_TRUE(std::signbit(F16ToF32(0x8000)));
  EXPECT_EQ(F16ToF32(0x8000), 0.0f);
}

TEST(DtypeTest, DecodesKnownBfloat16BitPatterns) {
  EXPECT_EQ(Bf16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToF32(0xC000), -2.0f);
  EXPECT_EQ(Bf16ToF32(0x4049), 3.140625f);
  EXPECT_EQ(Bf16ToF32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Bf16ToF32(0x0001), std::bit_cast<float>(0x00010000u));  // fp32 subnormal
}

TEST(DtypeTest, EncodesHalfRoundingToNearestEven) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);  // just below the tie
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // the tie goes to the even neighbour: infinity
  EXPECT_EQ(F32ToF16(1e10f), 0x7C00);
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie, 0x3C00 is even
  EXPECT_EQ(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, 0x3C02 is even
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);     // tie between 0 and 2^-24
  EXPECT_EQ(F32ToF16(std::ldexp(1.5f, -25)), 0x0001);     // above the tie
  EXPECT_EQ(F32ToF16(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(std::numeric_limits<float>::infinity()), 0x7C00);
  uint16_t nan = F32ToF16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
}

TEST(DtypeTest, EncodesBfloat16RoundingToNearestEven) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBf16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // tie, 0x3F80 is even
  EXPECT_EQ(F32ToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // tie, 0x3F82 is even
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);
  EXPECT_EQ(F32ToBf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to infinity
  // A NaN whose payload lies only in the dropped bits must not become infinity.
  uint16_t nan = F32ToBf16(std::bit_cast<float>(0x7F800001u));
  EXPECT_TRUE(std::isnan(Bf16ToF32(nan)));
}

TEST(DtypeTest, EveryHalfSurvivesARoundTripThroughFloat) {
  int mismatches = 0;
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    bool is_nan = (bits & 0x7C00) == 0x7C00 && (bits & 0x03FF) != 0;
    if (is_nan) continue;  // NaN payloads are quieted, not preserved
    uint16_t back = F32ToF16(F16ToF32(static_cast<uint16_t>(bits)));
    if (back != bits && ++mismatches <= 5) ADD_FAILURE() << std::hex << bits << " → " << back;
  }
  EXPECT_EQ(mismatches, 0);
}

// The compiler's _Float16 (GCC ≥ 12 on x86-64, the toolchain scripts/setup installs) is an
// independent reference for rounding.
static_assert(sizeof(_Float16) == 2, "the half-precision reference needs _Float16");

TEST(DtypeTest, HalfEncodingMatchesTheCompilersFloat16) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<uint32_t> any_bits;
  int mismatches = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    // Mostly values near the half range (exponents 100..150), some arbitrary bit patterns.
    uint32_t bits = any_bits(rng);
    if (i % 4 != 0) bits = (bits & 0x807FFFFFu) | ((100u + bits % 51) << 23);
    float value = std::bit_cast<float>(bits);
    if (std::isnan(value)) continue;
    _Float16 reference = static_cast<_Float16>(value);
    uint16_t expected;
    std::memcpy(&expected, &reference, 2);
    uint16_t actual = F32ToF16(value);
    if (actual != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "value " << value << " (0x" << std::hex << bits << "): got 0x" << actual
                    << ", _Float16 gives 0x" << expected;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(DtypeTest, ToFloat32ConvertsEachFloatingDtype) {
  TensorInfo info{.name = "w", .dtype = Dtype::kF16, .shape = {3}};
  std::string f16 = Bytes16({0x3C00, 0xC000, 0x0001});
  EXPECT_THAT(ToFloat32(info, AsSpan(f16)),
              IsOkAndHolds(ElementsAre(1.0f, -2.0f, std::ldexp(1.0f, -24))));
  info.dtype = Dtype::kBf16;
  std::string bf16 = Bytes16({0x3F80, 0xC000, 0x4049});
  EXPECT_THAT(ToFloat32(info, AsSpan(bf16)), IsOkAndHolds(ElementsAre(1.0f, -2.0f, 3.140625f)));
  info.dtype = Dtype::kF32;
  const float values[] = {0.5f, -7.25f, 1e30f};
  std::string f32(reinterpret_cast<const char*>(values), sizeof values);
  EXPECT_THAT(ToFloat32(info, AsSpan(f32)), IsOkAndHolds(ElementsAre(0.5f, -7.25f, 1e30f)));
}

TEST(DtypeTest, ToFloat32RefusesOtherDtypesAndWrongLengths) {
  TensorInfo info{.name = "ids", .dtype = Dtype::kI32, .shape = {2}};
  std::string bytes(8, '\0');
  EXPECT_THAT(ToFloat32(info, AsSpan(bytes)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tensor \"ids\": dtype I32 is not F32, F16 or BF16")));
  info.dtype = Dtype::kF32;
  info.shape = {3};
  EXPECT_THAT(ToFloat32(info, AsSpan(bytes)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("8 bytes given, 12")));
}

TEST(DtypeTest, NumElementsOfScalarsAndEmptyTensors) {
  EXPECT_EQ((TensorInfo{.shape = {}}).NumElements(), 1);
  EXPECT_EQ((TensorInfo{.shape = {3, 0, 5}}).NumElements(), 0);
  EXPECT_EQ((TensorInfo{.shape = {2, 3, 4}}).NumElements(), 24);
}

}  // namespace
}  // namespace tontine::safetensors
