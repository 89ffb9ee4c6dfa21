// A Hugging Face model directory as files, without LibTorch: config.json plus either
// model.safetensors or model.safetensors.index.json and its shards. The coordinator (which has
// no LibTorch) and the client both name a base model by the digest computed here.
#ifndef TONTINE_COMMON_SAFETENSORS_MODEL_DIR_H_
#define TONTINE_COMMON_SAFETENSORS_MODEL_DIR_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tontine::safetensors {

inline constexpr char kModelConfigFile[] = "config.json";
inline constexpr char kSingleWeightsFile[] = "model.safetensors";

struct ModelFiles {
  std::filesystem::path config;                // DIR/config.json
  std::vector<std::filesystem::path> weights;  // one file, or the shards in name order
  // For sharded models: tensor name → shard path, from the index. Empty for one file.
  std::map<std::string, std::filesystem::path> shard_of;
};

// The files of the model in `dir`. NOT_FOUND naming the path when `dir`, config.json or the
// weights are missing; the index's own errors (malformed JSON, a shard outside `dir`) and a
// shard it names that does not exist are INVALID_ARGUMENT / NOT_FOUND naming the index.
absl::StatusOr<ModelFiles> FindModelFiles(const std::filesystem::path& dir);

// Lower-case hex SHA-256 identifying a base model: the digest of "tontine-model-v1", then for
// config.json and each weight file in order its name, a NUL and its own SHA-256. Renaming the
// directory does not change it; changing any byte of any of these files does.
absl::StatusOr<std::string> ModelDigest(const std::filesystem::path& dir);

}  // namespace tontine::safetensors

#endif  // TONTINE_COMMON_SAFETENSORS_MODEL_DIR_H_
