// `--set key.path=value`: command-line overrides of any config key, applied to the file's
// parsed YAML before it is read, so that the same loaders check overridden values as strictly
// as the file's own (types, ranges, unknown keys with "did you mean", rules across keys).
//
//   std::vector<Override> overrides = ParseOverrides({"rounds.count=3"}).value();
//   absl::StatusOr<ExperimentConfig> c = LoadExperimentConfig(path, overrides);
//
// The value is YAML, scalar or flow: `3`, `[q_proj, v_proj]`, `{language: [wol]}`; an empty
// value is the empty string, and inside {…} the space after a key's ':' may be left out
// (`{language:[wol]}`), as is usual on command lines. Missing sections on the path are
// created; an override replaces the value it names entirely (a list is not merged, a mapping
// given as the value replaces the section); later overrides apply on top of earlier ones.
// Relative paths in a value resolve against the config file's directory, like the file's own.
//
// An error in an overridden value names the override instead of a place in the file:
// "--set rounds.count=abc: rounds.count: expected an integer, got 'abc'". To tell them apart,
// the overrides' YAML nodes are parsed at lines past the file's end, one line per override,
// and errors at those lines are relabelled.
#ifndef TONTINE_COMMON_CONFIG_OVERRIDES_H_
#define TONTINE_COMMON_CONFIG_OVERRIDES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config/client_config.h"
#include "common/config/coordinator_config.h"
#include "common/config/experiment_config.h"
#include "common/config/reader.h"

namespace tontine::config {

// One `--set key.path=value`.
struct Override {
  std::string flag;               // as given after --set, for messages: "rounds.count=3"
  std::vector<std::string> path;  // {"rounds", "count"}
  std::string value;              // YAML text: "3"
};

// Parses "key.path=value" (split at the first '='; spaces around the path are ignored). The
// path is dot-separated non-empty keys. INVALID_ARGUMENT "--set FLAG: …" for a missing '=',
// an empty path or key, or a value that is not one line of valid YAML.
absl::StatusOr<Override> ParseOverride(absl::string_view flag);
// Every flag in order; the first error.
absl::StatusOr<std::vector<Override>> ParseOverrides(const std::vector<std::string>& flags);

// The override as it would be given after --set: "rounds.count=3".
std::string OverrideFlag(const std::vector<std::string>& path, absl::string_view value);

// A config file with overrides applied to its YAML.
// Lifecycle: Load (or Parse) → read file() with a MapReader-based reader → ToStatus.
// Not thread-safe.
class OverriddenFile {
 public:
  // As ConfigFile::Load, then applies `overrides` in order. INVALID_ARGUMENT "--set FLAG: …"
  // when an override's path crosses a value that is not a mapping (e.g. lora.rank.x when
  // lora.rank is 8).
  static absl::StatusOr<OverriddenFile> Load(const std::filesystem::path& path,
                                             const std::vector<Override>& overrides);
  // As ConfigFile::Parse, then applies `overrides`.
  static absl::StatusOr<OverriddenFile> Parse(absl::string_view text,
                                              const std::filesystem::path& display_name,
                                              const std::filesystem::path& base_dir,
                                              const std::vector<Override>& overrides);

  ConfigFile& file() { return file_; }

  // file().ToStatus(), with each error that lies in an override's nodes given as
  // "--set FLAG: message" instead of "file:line:col: message".
  absl::Status ToStatus() const;

 private:
  OverriddenFile(ConfigFile file, int first_override_line, std::vector<std::string> flags)
      : file_(std::move(file)),
        first_override_line_(first_override_line),
        flags_(std::move(flags)) {}

  ConfigFile file_;
  int first_override_line_;  // 1-based line of override 0's nodes; override i is at + i
  std::vector<std::string> flags_;
};

// As LoadConfigFile (common/config/reader.h), with `overrides` applied first.
template <typename T>
absl::StatusOr<T> LoadConfigFileWithOverrides(const std::filesystem::path& path,
                                              const std::vector<Override>& overrides,
                                              T (*read)(ConfigFile&)) {
  absl::StatusOr<OverriddenFile> file = OverriddenFile::Load(path, overrides);
  if (!file.ok()) return file.status();
  T config = read(file->file());
  if (absl::Status st = file->ToStatus(); !st.ok()) return st;
  return config;
}

// LoadExperimentConfig / LoadClientConfig with overrides.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::filesystem::path& path,
                                                      const std::vector<Override>& overrides);
absl::StatusOr<ClientConfig> LoadClientConfig(const std::filesystem::path& path,
                                              const std::vector<Override>& overrides);

// The experiment's defaults (an experiment file holding only kind and name "default") with
// `overrides` applied: what train-local and eval use without --config.
absl::StatusOr<ExperimentConfig> DefaultExperimentConfig(const std::vector<Override>& overrides);

// For a coordinator: an override whose path starts with `experiment.` applies to the
// experiment file the coordinator names (`experiment` itself is a path in coordinator.yaml,
// so it has no keys of its own), with that prefix removed; every other override applies to
// the coordinator file (`--set experiment=other.yaml` changes which experiment runs).
struct CoordinatorOverrides {
  std::vector<Override> coordinator;
  std::vector<Override> experiment;  // paths without the leading "experiment"
};
CoordinatorOverrides SplitCoordinatorOverrides(const std::vector<Override>& overrides);

// LoadCoordinatorConfig with overrides, split as above.
absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::filesystem::path& path,
                                                        const std::vector<Override>& overrides);

// The experiment file's text as the coordinator records it: `text` followed by one comment
// line per experiment override, so that a run with other overrides counts as another
// experiment and the record says what ran. `text` alone when there are none.
std::string ExperimentTextWithOverrides(absl::string_view text,
                                        const std::vector<Override>& experiment_overrides);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_OVERRIDES_H_
