// Reading YAML config files into typed structs, with every error reported as
// "file:line:col: message".
//
// A loader opens a ConfigFile, walks it with MapReaders (one per mapping), and asks each for
// the keys it knows, giving each key's type and allowed range. Keys the loader never asks for
// are reported as unknown, with the nearest known key suggested. Values that are absent keep
// the default already in the struct. Cross-field rules are checked afterwards by the loader,
// using ConfigFile::Where() to place the error on the offending line.
//
//   ConfigFile file = ...;
//   MapReader root(&file, file.root(), "");
//   MapReader lora = root.Section("lora");
//   lora.Integer("rank", &config.lora.rank, 1, 1024);
//   lora.Finish();
//   root.Finish();
//   return file.ToStatus();
//
// Not thread-safe.
#ifndef TONTINE_COMMON_CONFIG_READER_H_
#define TONTINE_COMMON_CONFIG_READER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tontine::config {

// A 1-based position in a file; line 0 means "unknown".
struct Position {
  int line = 0;
  int column = 0;
};

// One YAML file being read, and the errors found in it.
class ConfigFile {
 public:
  // NOT_FOUND or PERMISSION_DENIED naming the file when it cannot be read; INVALID_ARGUMENT
  // "file:line:col: message" when it is not valid YAML.
  static absl::StatusOr<ConfigFile> Load(const std::filesystem::path& path);

  // Parses `text` as though it were the file `display_name`, resolving relative paths in it
  // against `base_dir`. For tests and for text that does not come from a file.
  static absl::StatusOr<ConfigFile> Parse(absl::string_view text,
                                          const std::filesystem::path& display_name,
                                          const std::filesystem::path& base_dir);

  const YAML::Node& root() const { return root_; }
  const std::filesystem::path& path() const { return path_; }
  // Relative paths in the file are resolved against this: the file's own directory.
  const std::filesystem::path& base_dir() const { return base_dir_; }

  void AddError(Position where, std::string message);
  bool has_errors() const { return !errors_.empty(); }

  // Remembers where the value of `dotted_key` (e.g. "secagg.bits") is.
  void Record(std::string dotted_key, Position where);
  // Where the value of `dotted_key` is; if it is absent, where its closest present enclosing
  // section is; else 1:1.
  Position Where(absl::string_view dotted_key) const;

  // OK when no error was added; otherwise INVALID_ARGUMENT holding one
  // "file:line:col: message" line per error, in file order.
  absl::Status ToStatus() const;

 private:
  ConfigFile(YAML::Node root, std::filesystem::path path, std::filesystem::path base_dir)
      : root_(std::move(root)), path_(std::move(path)), base_dir_(std::move(base_dir)) {}

  YAML::Node root_;
  std::filesystem::path path_;
  std::filesystem::path base_dir_;
  std::vector<std::pair<Position, std::string>> errors_;
  std::map<std::string, Position, std::less<>> positions_;
};

// What a path value must point at.
enum class PathKind {
  kAny,           // not checked (created later, e.g. a state directory)
  kExistingFile,  // a regular file that exists now
  kExistingDir,   // a directory that exists now
};

// The allowed values of a number: [min, max]; an exclusive bound excludes the value itself.
struct NumberRange {
  double min = -std::numeric_limits<double>::max();
  double max = std::numeric_limits<double>::max();
  bool min_exclusive = false;
  bool max_exclusive = false;
};

// Reads one YAML mapping. Every typed getter leaves `*out` untouched when the key is absent
// and reports an error (and leaves `*out` untouched) when the value is of the wrong type or
// out of range.
class MapReader {
 public:
  // `node` may be undefined or null, meaning the section is absent and everything in it
  // keeps its default. `prefix` is the dotted path of this mapping ("" for the root).
  // `file` must outlive this object.
  MapReader(ConfigFile* file, const YAML::Node& node, std::string prefix);

  // Whether `key` is present (and marks it as a known key).
  bool Has(absl::string_view key);
  // Reports "missing required key" unless `key` is present.
  void Require(absl::string_view key);

  // A nested mapping; absent means all defaults.
  MapReader Section(absl::string_view key);

  template <typename T>
  void Integer(absl::string_view key, T* out, T min = std::numeric_limits<T>::min(),
               T max = std::numeric_limits<T>::max()) {
    std::optional<int64_t> v = ReadInteger(key, static_cast<int64_t>(min),
                                           static_cast<int64_t>(max), "");
    if (v.has_value()) *out = static_cast<T>(*v);
  }
  // An integer or the word `auto_word` (→ nullopt).
  template <typename T>
  void IntegerOrAuto(absl::string_view key, std::optional<T>* out, T min, T max,
                     absl::string_view auto_word = "auto") {
    std::optional<int64_t> v = ReadInteger(key, static_cast<int64_t>(min),
                                           static_cast<int64_t>(max), auto_word);
    if (v.has_value()) {
      *out = *v == kAuto ? std::nullopt : std::optional<T>(static_cast<T>(*v));
    }
  }

  // A finite number within `range`.
  void Number(absl::string_view key, double* out, NumberRange range = {});

  // Only `true` or `false` (YAML 1.2), so that `no` or `on` are not silently booleans.
  void Bool(absl::string_view key, bool* out);

  // A scalar; `check` may return an error message for a malformed value.
  void String(absl::string_view key, std::string* out,
              const std::function<std::optional<std::string>(absl::string_view)>& check = {});

  // One of the names in `table`, with a suggestion for a near miss.
  template <typename E>
  void Enum(absl::string_view key, E* out, const std::vector<std::pair<std::string, E>>& table) {
    std::vector<std::string> names;
    for (const auto& [name, value] : table) names.push_back(name);
    std::optional<size_t> i = ReadChoice(key, names);
    if (i.has_value()) *out = table[*i].second;
  }

  // A positive duration such as "30s", "5m", "7d" within [min, max].
  void Duration(absl::string_view key, absl::Duration* out,
                absl::Duration min = absl::Milliseconds(1),
                absl::Duration max = absl::InfiniteDuration());

  // A byte size such as "512MiB", "2GiB", "4096" within [min, max].
  void ByteSize(absl::string_view key, uint64_t* out, uint64_t min = 0,
                uint64_t max = std::numeric_limits<uint64_t>::max());

  // A path; relative ones resolve against the file's directory, "~/" against $HOME.
  void Path(absl::string_view key, std::filesystem::path* out, PathKind kind);

  // A list of scalars (a single scalar is not accepted). When `allowed` is not empty each
  // element must be one of it. `min_size` elements at least; duplicates are refused.
  void StringList(absl::string_view key, std::vector<std::string>* out,
                  const std::vector<std::string>& allowed = {}, size_t min_size = 0);

  // A mapping of scalar to scalar.
  void StringMap(absl::string_view key, std::map<std::string, std::string>* out);

  // A mapping from a name to one scalar or a list of scalars: {language: [wo, yo]}.
  void StringListMap(absl::string_view key, std::map<std::string, std::vector<std::string>>* out);

  // A mapping, or a list of mappings; `read` is called with a reader for each.
  void MapOrMapList(absl::string_view key, const std::function<void(MapReader&)>& read);

  // Reports an error at `key`'s value (or at this mapping when `key` is absent).
  void Error(absl::string_view key, absl::string_view message);

  // Reports every key present in the mapping that no getter asked for, with the nearest
  // known key when there is a plausible one. Call once, after all getters.
  void Finish();

  // The dotted path of `key` within the file: "lora.rank".
  std::string Dotted(absl::string_view key) const;

 private:
  static constexpr int64_t kAuto = std::numeric_limits<int64_t>::min();

  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  // Marks `key` as known and returns its value when present; records its position.
  std::optional<YAML::Node> Lookup(absl::string_view key);
  // The value as a scalar, or an error ("expected <what>, got a list") and nullopt.
  std::optional<std::string> Scalar(absl::string_view key, const YAML::Node& value,
                                    absl::string_view what);
  std::optional<int64_t> ReadInteger(absl::string_view key, int64_t min, int64_t max,
                                     absl::string_view auto_word);
  std::optional<size_t> ReadChoice(absl::string_view key, const std::vector<std::string>& names);
  void ErrorAt(const YAML::Node& node, std::string message);

  ConfigFile* file_;  // must outlive this object
  std::string prefix_;
  Position where_;
  std::vector<std::pair<std::string, Entry>> entries_;  // in file order
  std::vector<std::string> known_;
};

// Converts a yaml-cpp mark (0-based; -1 when unknown) to a Position.
Position PositionOf(const YAML::Mark& mark);

// Loads `path` and reads it with `read`: the struct, or every error found in the file.
template <typename T>
absl::StatusOr<T> LoadConfigFile(const std::filesystem::path& path, T (*read)(ConfigFile&)) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Load(path);
  if (!file.ok()) return file.status();
  T config = read(*file);
  if (absl::Status st = file->ToStatus(); !st.ok()) return st;
  return config;
}

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_READER_H_
