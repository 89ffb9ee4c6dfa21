// The published form of an adapter version: its PEFT directory (adapter_config.json and
// adapter_model.safetensors, what `PeftModel.from_pretrained` reads), as files, a tar or a zip.
// The version directory's other files (the server optimiser's moments, the lora_B-only copy
// clients download under ffa) are the coordinator's own and are left out.
#ifndef TONTINE_SERVER_HTTP_ARCHIVE_H_
#define TONTINE_SERVER_HTTP_ARCHIVE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::http {

// The files of a PEFT adapter directory, in archive order.
inline constexpr const char* kPeftFiles[] = {"adapter_config.json", "adapter_model.safetensors"};

enum class ArchiveFormat { kTar, kZip };

// The PEFT files of `version_dir` in one archive, each under `prefix/` (e.g.
// "udhr-demo-v3"). NOT_FOUND naming the file when one is missing. Built in memory: an
// adapter is a few MB to a few hundred.
absl::StatusOr<std::string> ArchivePeftDir(const std::filesystem::path& version_dir,
                                           absl::string_view prefix, ArchiveFormat format);

// Copies the PEFT files of `version_dir` into `out_dir` (created if missing; existing files
// of the same names are FAILED_PRECONDITION), after checking that adapter_model.safetensors
// has SHA-256 `sha256` (32 bytes; DATA_LOSS naming the file when not). Nothing is written
// unless every check passed.
absl::Status ExportPeftDir(const std::filesystem::path& version_dir,
                           const std::filesystem::path& out_dir, const std::string& sha256);

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_ARCHIVE_H_
