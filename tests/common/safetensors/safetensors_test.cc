// Writer and reader together: round trips, alignment, and byte-level agreement with files
// the reference implementation (Python's safetensors) writes.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/files.h"
#include "common/safetensors/reader.h"
#include "common/safetensors/writer.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::safetensors {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::IsOkAndHolds;
using ::testing::Pair;
using testing::StatusIs;

template <typename T>
std::string BytesOf(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

std::string LittleEndian64(uint64_t value) {
  return std::string(reinterpret_cast<const char*>(&value), 8);
}

std::string AsString(absl::Span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// `count` bytes that differ from tensor to tensor, so that a mixed-up offset shows.
std::string Pattern(size_t count, uint8_t seed) {
  std::string out(count, '\0');
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<char>(seed + 7 * i);
  return out;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "adapter.safetensors";
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeAndShapeIncludingScalarsAndEmptyTensors) {
  struct Case {
    std::string name;
    Dtype dtype;
    std::vector<int64_t> shape;
  };
  const std::vector<Case> cases = {
      {"f32", Dtype::kF32, {2, 3}}, {"f16", Dtype::kF16, {4}},      {"bf16", Dtype::kBf16, {2, 2}},
      {"f64", Dtype::kF64, {3}},    {"i64", Dtype::kI64, {2}},      {"i32", Dtype::kI32, {1, 1, 2}},
      {"i16", Dtype::kI16, {3}},    {"i8", Dtype::kI8, {5}},        {"u8", Dtype::kU8, {7}},
      {"scalar", Dtype::kBool, {}}, {"empty", Dtype::kF32, {2, 0}}, {"ωeight", Dtype::kU8, {1}},
  };
  std::vector<std::string> contents;
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < cases.size(); ++i) {
    TensorInfo info{.dtype = cases[i].dtype, .shape = cases[i].shape};
    contents.push_back(Pattern(info.NumElements() * DtypeSize(info.dtype), 16 * i));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    tensors.push_back({cases[i].name, cases[i].dtype, cases[i].shape, contents[i]});
  }
  ASSERT_THAT(WriteSafetensors(path_, tensors, {}), IsOk());

  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  ASSERT_EQ(file->tensors().size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    absl::StatusOr<const TensorInfo*> info = file->Find(cases[i].name);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ((*info)->dtype, cases[i].dtype) << cases[i].name;
    EXPECT_EQ((*info)->shape, cases[i].shape) << cases[i].name;
    EXPECT_EQ(AsString(file->Data(**info)), contents[i]) << cases[i].name;
  }
  EXPECT_TRUE(std::is_sorted(file->tensors().begin(), file->tensors().end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  EXPECT_TRUE(file->metadata().empty());
}

TEST_F(SafetensorsTest, RoundTripsMetadata) {
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"round", "7"}};
  std::string bytes = BytesOf<float>({1.5f});
  ASSERT_THAT(WriteSafetensors(path_, {{"w", Dtype::kF32, {1}, bytes}}, metadata), IsOk());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->metadata(), metadata);
}

TEST_F(SafetensorsTest, AlignsTheBufferAndEveryTensorToItsElementSize) {
  // In name order these would sit at offsets 0, 3, 11, 15: misaligned.
  std::string a = Pattern(3, 1), b = Pattern(8, 2), c = Pattern(4, 3), d = Pattern(2, 4);
  ASSERT_THAT(WriteSafetensors(path_,
                               {{"a", Dtype::kU8, {3}, a},
                                {"b", Dtype::kF64, {1}, b},
                                {"c", Dtype::kF32, {1}, c},
                                {"d", Dtype::kI16, {1}, d}},
                               {{"k", "odd-length value"}}),
              IsOk());
  absl::StatusOr<std::string> raw = ReadFile(path_);
  ASSERT_THAT(raw, IsOk());
  uint64_t header_size = 0;
  std::memcpy(&header_size, raw->data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  EXPECT_EQ(raw->substr(8 + header_size - 1, 1), " ");  // padded with spaces

  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  for (const TensorInfo& info : file->tensors()) {
    EXPECT_EQ(info.begin % DtypeSize(info.dtype), 0u) << info.name;
    auto address = reinterpret_cast<uintptr_t>(file->Data(info).data());
    EXPECT_EQ(address % DtypeSize(info.dtype), 0u) << info.name;
  }
}

// Known answers: the byte strings the reference writer's own tests expect
// (huggingface/safetensors, safetensors/src/tensor.rs, test_serialization and friends).
TEST_F(SafetensorsTest, SerializesExactlyAsTheReferenceWriter) {
  std::string values = BytesOf<float>({0, 1, 2, 3, 4, 5});
  const std::string attn_header =
      R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  EXPECT_THAT(SerializeSafetensors({{"attn.0", Dtype::kF32, {1, 2, 3}, values}}, {}),
              IsOkAndHolds(LittleEndian64(64) + attn_header + values));
  const std::string padded =
      R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + std::string(7, ' ');
  EXPECT_THAT(SerializeSafetensors({{"attn0", Dtype::kF32, {1, 1, 2, 3}, values}}, {}),
              IsOkAndHolds(LittleEndian64(72) + padded + values));
  // Same-size dtypes go in the reference's enum order (F32 before I32), not by name.
  std::string one = BytesOf<int32_t>({1});
  absl::StatusOr<std::string> mixed =
      SerializeSafetensors({{"a", Dtype::kI32, {1}, one}, {"b", Dtype::kF32, {1}, one}}, {});
  ASSERT_THAT(mixed, IsOk());
  EXPECT_EQ(mixed->substr(8, 53), R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})");
  EXPECT_THAT(SerializeSafetensors({}, {}),
              IsOkAndHolds(LittleEndian64(8) + "{}" + std::string(6, ' ')));
  EXPECT_THAT(SerializeSafetensors({}, {{"framework", "pt"}}),
              IsOkAndHolds(LittleEndian64(40) + R"({"__metadata__":{"framework":"pt"}})" +
                           std::string(5, ' ')));
}

TEST_F(SafetensorsTest, LoadsAFileAsPythonSafetensorsWritesIt) {
  // save_file({"a": torch.tensor([1.0, 2.0])}): a 54-byte header padded to 56.
  std::string image = LittleEndian64(56) +
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})" + "  " +
                      BytesOf<float>({1.0f, 2.0f});
  ASSERT_THAT(WriteFileAtomic(path_, image), IsOk());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  ASSERT_THAT(file->Find("a"), IsOk());
  const TensorInfo& a = **file->Find("a");
  EXPECT_EQ(a.shape, std::vector<int64_t>{2});
  EXPECT_THAT(ToFloat32(a, file->Data(a)), IsOkAndHolds(ElementsAre(1.0f, 2.0f)));
}

TEST_F(SafetensorsTest, LoadsTensorsLaidOutInAnOrderOtherThanTheirNames) {
  // Python puts F32 "z" before BF16 "a" (larger dtypes first), with metadata first.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("a":{"dtype":"BF16","shape":[2,1],"data_offsets":[4,8]}})";
  std::string image = LittleEndian64(header.size()) + header + BytesOf<float>({-3.0f}) +
                      BytesOf<uint16_t>({0x3F80, 0xC000});
  ASSERT_THAT(WriteFileAtomic(path_, image), IsOk());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  ASSERT_EQ(file->tensors().size(), 2u);
  const TensorInfo& a = file->tensors()[0];
  const TensorInfo& z = file->tensors()[1];
  EXPECT_EQ(a.name, "a");
  EXPECT_THAT(ToFloat32(a, file->Data(a)), IsOkAndHolds(ElementsAre(1.0f, -2.0f)));
  EXPECT_THAT(ToFloat32(z, file->Data(z)), IsOkAndHolds(ElementsAre(-3.0f)));
  EXPECT_THAT(file->metadata(), ElementsAre(Pair("format", "pt")));
}

TEST_F(SafetensorsTest, WriterRefusesInvalidTensorsAndWritesNothing) {
  std::string four = Pattern(4, 0);
  struct Case {
    std::vector<TensorToWrite> tensors;
    std::map<std::string, std::string> metadata;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {{{"w", Dtype::kU8, {4}, four}, {"w", Dtype::kU8, {4}, four}}, {}, "appears twice"},
      {{{"w", Dtype::kF32, {2}, four}}, {}, "tensor \"w\": 4 bytes given, shape and F32 need 8"},
      {{{"w", Dtype::kU8, {-4}, four}}, {}, "tensor \"w\": a dimension is negative"},
      {{{"__metadata__", Dtype::kU8, {4}, four}}, {}, "the name is reserved"},
      {{{"", Dtype::kU8, {4}, four}}, {}, "the name is empty"},
      {{{"w\xff", Dtype::kU8, {4}, four}}, {}, "the name is not valid UTF-8"},
      {{}, {{"k", "\xc3"}}, "metadata entry \"k\" is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(WriteSafetensors(path_, c.tensors, c.metadata),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("adapter.safetensors: "), HasSubstr(c.problem))));
    EXPECT_FALSE(std::filesystem::exists(path_)) << c.problem;
  }
}

TEST_F(SafetensorsTest, WriteReplacesTheFileAtomically) {
  std::string first = Pattern(4, 1), second = Pattern(8, 2);
  ASSERT_THAT(WriteSafetensors(path_, {{"w", Dtype::kU8, {4}, first}}, {}), IsOk());
  ASSERT_THAT(WriteSafetensors(path_, {{"w", Dtype::kU8, {2, 4}, second}}, {}), IsOk());
  EXPECT_EQ(testing::SnapshotDir(dir_.path()).size(), 1u);  // no temporary file left
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(AsString(file->Data(file->tensors().at(0))), second);
}

TEST_F(SafetensorsTest, MovingAFileKeepsItsMappingAlive) {
  std::string bytes = Pattern(16, 9);
  ASSERT_THAT(WriteSafetensors(path_, {{"w", Dtype::kI64, {2}, bytes}}, {}), IsOk());
  absl::StatusOr<SafetensorsFile> opened = SafetensorsFile::Open(path_);
  ASSERT_THAT(opened, IsOk());
  SafetensorsFile file = *std::move(opened);
  absl::Span<const uint8_t> data = file.Data(file.tensors().at(0));
  SafetensorsFile other = std::move(file);
  EXPECT_EQ(AsString(data), bytes);  // still mapped: `other` owns it now
  // Move-assigning over an open file unmaps the old mapping and takes the new one.
  absl::StatusOr<SafetensorsFile> again = SafetensorsFile::Open(path_);
  ASSERT_THAT(again, IsOk());
  other = *std::move(again);
  EXPECT_EQ(AsString(other.Data(other.tensors().at(0))), bytes);
}

}  // namespace
}  // namespace tontine::safetensors
