// The index of a sharded checkpoint, model.safetensors.index.json, as Hugging Face
// transformers writes it:
//   {"metadata": {"total_size": 26953662464},
//    "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", …}}
// Shard names are resolved against the index's own directory; they must be plain file
// names so that an index cannot point a reader outside that directory.
#ifndef TONTINE_COMMON_SAFETENSORS_SHARD_INDEX_H_
#define TONTINE_COMMON_SAFETENSORS_SHARD_INDEX_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine::safetensors {

inline constexpr char kShardIndexFile[] = "model.safetensors.index.json";

struct ShardIndex {
  std::map<std::string, std::string> weight_map;  // tensor name → shard file name
  uint64_t total_size = 0;                        // bytes of tensor data over all shards
};

// Reads and validates `path`. ReadFile's NOT_FOUND / PERMISSION_DENIED naming the file when
// it cannot be read; INVALID_ARGUMENT "<file>: <problem>" when it is not a JSON object
// (duplicate keys included), lacks "metadata" with a non-negative integer "total_size", or
// lacks a "weight_map" object of strings, or when a shard name is empty, ".", "..", or holds
// '/', '\' or NUL. Other keys are ignored (transformers adds some, e.g. "total_parameters").
absl::StatusOr<ShardIndex> ReadShardIndex(const std::filesystem::path& path);

// Writes `index` to `path` atomically, indented like transformers' own files.
// INVALID_ARGUMENT naming the tensor for a shard name ReadShardIndex would refuse, or a
// name that is not UTF-8; WriteFileAtomic's errors otherwise.
absl::Status WriteShardIndex(const std::filesystem::path& path, const ShardIndex& index);

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_SHARD_INDEX_H_
