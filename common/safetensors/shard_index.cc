#include "common/safetensors/shard_index.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/safetensors/json_util.h"

namespace tontine::safetensors {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::filesystem::path& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", problem));
}

// A plain file name in the index's directory: nothing that could climb out of it or name
// a directory.
bool IsPlainFileName(absl::string_view name) {
  return !name.empty() && name != "." && name != ".." && !absl::StrContains(name, '/') &&
         !absl::StrContains(name, '\\') && !absl::StrContains(name, '\0');
}

absl::Status CheckShardName(const std::string& tensor, const std::string& shard) {
  if (IsPlainFileName(shard)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("tensor \"", tensor, "\": shard \"", shard, "\" is not a plain file name"));
}

absl::StatusOr<uint64_t> ParseTotalSize(const json& root) {
  auto metadata = root.find("metadata");
  if (metadata == root.end() || !metadata->is_object()) {
    return absl::InvalidArgumentError("\"metadata\" is missing or not an object");
  }
  auto total_size = metadata->find("total_size");
  std::optional<uint64_t> value;
  if (total_size != metadata->end()) value = internal::AsNonNegativeInteger(*total_size);
  if (!value) {
    return absl::InvalidArgumentError(
        "\"metadata.total_size\" is missing or not a non-negative integer");
  }
  return *value;
}

absl::StatusOr<std::map<std::string, std::string>> ParseWeightMap(const json& root) {
  auto weight_map = root.find("weight_map");
  if (weight_map == root.end() || !weight_map->is_object()) {
    return absl::InvalidArgumentError("\"weight_map\" is missing or not an object");
  }
  std::map<std::string, std::string> result;
  for (const auto& [tensor, shard] : weight_map->items()) {
    if (!shard.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor \"", tensor, "\": the shard is not a string"));
    }
    TONTINE_RETURN_IF_ERROR(CheckShardName(tensor, shard.get<std::string>()));
    result[tensor] = shard.get<std::string>();
  }
  return result;
}

absl::StatusOr<ShardIndex> ParseShardIndex(absl::string_view text) {
  absl::StatusOr<json> root = internal::ParseJsonObject(text);
  if (!root.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("index ", root.status().message()));
  }
  ShardIndex index;
  TONTINE_ASSIGN_OR_RETURN(index.total_size, ParseTotalSize(*root));
  TONTINE_ASSIGN_OR_RETURN(index.weight_map, ParseWeightMap(*root));
  return index;
}

}  // namespace

absl::StatusOr<ShardIndex> ReadShardIndex(const std::filesystem::path& path) {
  TONTINE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::StatusOr<ShardIndex> index = ParseShardIndex(text);
  if (!index.ok()) return Invalid(path, index.status().message());
  return index;
}

absl::Status WriteShardIndex(const std::filesystem::path& path, const ShardIndex& index) {
  for (const auto& [tensor, shard] : index.weight_map) {
    absl::Status status = CheckShardName(tensor, shard);
    if (!status.ok()) return Invalid(path, status.message());
    // dump() throws on invalid UTF-8; refuse it here instead.
    if (!internal::IsValidUtf8(tensor) || !internal::IsValidUtf8(shard)) {
      return Invalid(path, absl::StrCat("tensor \"", tensor, "\": not valid UTF-8"));
    }
  }
  json root = {{"metadata", {{"total_size", index.total_size}}}, {"weight_map", index.weight_map}};
  return WriteFileAtomic(path, root.dump(2) + "\n", 0644);
}

}  // namespace tontine::safetensors
