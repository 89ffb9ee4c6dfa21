#include "common/safetensors/model_dir.h"

#include <set>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/base/encoding.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"
#include "common/safetensors/shard_index.h"

namespace tontine::safetensors {
namespace {

namespace fs = std::filesystem;

bool IsRegularFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace

absl::StatusOr<ModelFiles> FindModelFiles(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": no such model directory"));
  }
  ModelFiles files;
  files.config = dir / kModelConfigFile;
  if (!IsRegularFile(files.config)) {
    return absl::NotFoundError(absl::StrCat(files.config.string(), ": missing (a model directory ",
                                            "holds config.json and model.safetensors)"));
  }
  const fs::path single = dir / kSingleWeightsFile;
  const fs::path index_path = dir / kShardIndexFile;
  if (IsRegularFile(single)) {
    files.weights.push_back(single);
    return files;
  }
  if (!IsRegularFile(index_path)) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": neither ", kSingleWeightsFile,
                                            " nor ", kShardIndexFile, " is present"));
  }
  TONTINE_ASSIGN_OR_RETURN(ShardIndex index, ReadShardIndex(index_path));
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : index.weight_map) {
    shards.insert(shard);
    files.shard_of.emplace(tensor, dir / shard);
  }
  for (const std::string& shard : shards) {
    if (!IsRegularFile(dir / shard)) {
      return absl::NotFoundError(
          absl::StrCat(index_path.string(), ": shard \"", shard, "\" does not exist"));
    }
    files.weights.push_back(dir / shard);
  }
  return files;
}

absl::StatusOr<std::string> ModelDigest(const fs::path& dir) {
  TONTINE_ASSIGN_OR_RETURN(ModelFiles files, FindModelFiles(dir));
  std::vector<fs::path> all = {files.config};
  all.insert(all.end(), files.weights.begin(), files.weights.end());
  std::string chained = "tontine-model-v1";
  for (const fs::path& file : all) {
    TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256File(file));
    absl::StrAppend(&chained, file.filename().string(), std::string(1, '\0'), digest);
  }
  TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256Digest(chained));
  return HexEncode(digest);
}

}  // namespace tontine::safetensors
