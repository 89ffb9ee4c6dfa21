#include "common/config/overrides.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/files.h"

namespace tontine::config {
namespace {

absl::Status OverrideError(absl::string_view flag, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("--set ", flag, ": ", message));
}

// Inside {…}, the ':' after each key gets the space YAML wants after it, so that the compact
// `{language:[wol]}` people type on a command line means `{language: [wol]}`. Only the first
// ':' of each entry counts (so `{url:http://x}` keeps its second one), and nothing outside
// braces or inside quotes changes (so `host:7443` stays a scalar).
std::string SpaceFlowMappingColons(absl::string_view value) {
  std::string out;
  std::vector<char> open;     // the flow collections we are in: '{' or '['
  bool key_pending = false;   // in a {…} entry whose ':' has not been seen yet
  char quote = 0;
  char last = ' ';            // the last character outside quotes that is not a space
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    out += c;
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if ((c == '"' || c == '\'') && absl::string_view("{[,: ").find(last) != absl::string_view::npos) {
      quote = c;
    } else if (c == '{' || c == '[') {
      open.push_back(c);
      key_pending = c == '{';
    } else if (c == '}' || c == ']') {
      if (!open.empty()) open.pop_back();
      key_pending = false;
    } else if (c == ',') {
      key_pending = !open.empty() && open.back() == '{';
    } else if (c == ':' && key_pending) {
      key_pending = false;
      if (i + 1 < value.size() && value[i + 1] != ' ') out += ' ';
    }
    if (c != ' ') last = c;
  }
  return out;
}

// The YAML text of an override's value: an empty value is the empty string, not null.
std::string ValueText(absl::string_view value) {
  return value.empty() ? std::string("\"\"") : SpaceFlowMappingColons(value);
}

// `text` parsed as YAML whose nodes lie on 0-based line `line`. REQUIRES: `text` parses (it
// was checked by ParseOverride).
YAML::Node ParseAtLine(absl::string_view text, int line) {
  return YAML::Load(absl::StrCat(std::string(static_cast<size_t>(line), '\n'), text));
}

// The value under scalar key `key` in mapping `map`, or an undefined node.
std::optional<YAML::Node> Child(const YAML::Node& map, absl::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return YAML::Node(it->second);
  }
  return std::nullopt;
}

// Sets `map[key] = value`, replacing an existing value in place (so that the key keeps its
// position in the file) or adding the key as a node on `line`.
void SetChild(YAML::Node& map, const std::string& key, const YAML::Node& value, int line) {
  if (std::optional<YAML::Node> existing = Child(map, key)) {
    // '=' on a yaml-cpp handle makes the node it refers to, here the one inside the map,
    // share `value`'s data (reset() would only move the handle).
    YAML::Node slot = *existing;
    slot = value;
    return;
  }
  YAML::Node key_node = ParseAtLine("key", line);
  key_node = key;  // a scalar assigned in place keeps the node's position
  map.force_insert(key_node, value);
}

std::string KindOfNode(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return absl::StrCat("the value '", node.Scalar(), "'");
  return "not a mapping";
}

// Applies one override to the document `root` (a mapping), its new nodes on 0-based `line`.
absl::Status Apply(const YAML::Node& root, const Override& o, int line) {
  // A handle that walks down the path: moved with reset(), never '=' (which would overwrite
  // the node it refers to).
  YAML::Node node(root);
  for (size_t i = 0; i + 1 < o.path.size(); ++i) {
    const std::string& key = o.path[i];
    std::optional<YAML::Node> child = Child(node, key);
    if (child.has_value() && !child->IsNull() && !child->IsMap()) {
      const std::string dotted =
          absl::StrJoin(o.path.begin(), o.path.begin() + static_cast<long>(i) + 1, ".");
      return OverrideError(o.flag, absl::StrCat("'", dotted, "' is ", KindOfNode(*child),
                                                ", not a section with keys of its own"));
    }
    if (!child.has_value() || child->IsNull()) {
      SetChild(node, key, ParseAtLine("{}", line), line);
    }
    node.reset(*Child(node, key));
  }
  SetChild(node, o.path.back(), ParseAtLine(ValueText(o.value), line), line);
  return absl::OkStatus();
}

int LineCount(absl::string_view text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
}

}  // namespace

absl::StatusOr<Override> ParseOverride(absl::string_view flag) {
  const size_t eq = flag.find('=');
  if (eq == absl::string_view::npos) {
    return OverrideError(flag, "expected key.path=value, e.g. --set rounds.count=3");
  }
  const absl::string_view path = absl::StripAsciiWhitespace(flag.substr(0, eq));
  if (path.empty()) return OverrideError(flag, "the key path before '=' is empty");
  Override o{.flag = std::string(flag), .value = std::string(flag.substr(eq + 1))};
  for (absl::string_view key : absl::StrSplit(path, '.')) {
    if (key.empty()) {
      return OverrideError(flag, "empty key in the path; keys are separated by single dots, "
                                 "e.g. lora.rank");
    }
    if (absl::StrContains(key, '[')) {
      return OverrideError(flag, "list elements cannot be addressed; set the whole list, e.g. "
                                 "simulate.dropout=[{phase: training, probability: 0.1}]");
    }
    o.path.emplace_back(key);
  }
  if (absl::StrContains(o.value, '\n')) return OverrideError(flag, "the value must be one line");
  try {
    YAML::Load(ValueText(o.value));
  } catch (const YAML::Exception& e) {
    return OverrideError(flag, absl::StrCat("the value is not valid YAML: ", e.msg));
  }
  return o;
}

absl::StatusOr<std::vector<Override>> ParseOverrides(const std::vector<std::string>& flags) {
  std::vector<Override> overrides;
  for (const std::string& flag : flags) {
    absl::StatusOr<Override> o = ParseOverride(flag);
    if (!o.ok()) return o.status();
    overrides.push_back(*std::move(o));
  }
  return overrides;
}

std::string OverrideFlag(const std::vector<std::string>& path, absl::string_view value) {
  return absl::StrCat(absl::StrJoin(path, "."), "=", value);
}

absl::StatusOr<OverriddenFile> OverriddenFile::Parse(absl::string_view text,
                                                     const std::filesystem::path& display_name,
                                                     const std::filesystem::path& base_dir,
                                                     const std::vector<Override>& overrides) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(text, display_name, base_dir);
  if (!file.ok()) return file.status();
  // Override i's nodes go on 0-based line first + i: past every line of the file.
  const int first = LineCount(text);
  std::vector<std::string> flags;
  for (size_t i = 0; i < overrides.size(); ++i) {
    const Override& o = overrides[i];
    if (!file->root().IsMap()) {
      return OverrideError(o.flag, absl::StrCat(display_name.string(), " is ",
                                                file->root().IsNull() ? "empty" : "not a mapping",
                                                "; there is no key to override"));
    }
    if (absl::Status st = Apply(file->root(), o, first + static_cast<int>(i)); !st.ok()) {
      return st;
    }
    flags.push_back(o.flag);
  }
  return OverriddenFile(*std::move(file), first + 1, std::move(flags));
}

absl::StatusOr<OverriddenFile> OverriddenFile::Load(const std::filesystem::path& path,
                                                    const std::vector<Override>& overrides) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  return Parse(*text, path, dir, overrides);
}

absl::Status OverriddenFile::ToStatus() const {
  absl::Status status = file_.ToStatus();
  if (status.ok() || flags_.empty()) return status;
  // Each line is "path:line:col: message"; relabel those at an override's line.
  const std::string prefix = absl::StrCat(file_.path().string(), ":");
  std::vector<std::string> lines = absl::StrSplit(status.message(), '\n');
  for (std::string& line : lines) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(line).substr(prefix.size()), absl::MaxSplits(':', 2));
    int number = 0;
    if (parts.size() < 3 || !absl::SimpleAtoi(parts[0], &number)) continue;
    const int index = number - first_override_line_;
    if (index < 0 || index >= static_cast<int>(flags_.size())) continue;
    line = absl::StrCat("--set ", flags_[static_cast<size_t>(index)], ":", parts[2]);
  }
  return absl::Status(status.code(), absl::StrJoin(lines, "\n"));
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::filesystem::path& path,
                                                      const std::vector<Override>& overrides) {
  return LoadConfigFileWithOverrides(path, overrides, &ReadExperimentConfig);
}

absl::StatusOr<ClientConfig> LoadClientConfig(const std::filesystem::path& path,
                                              const std::vector<Override>& overrides) {
  return LoadConfigFileWithOverrides(path, overrides, &ReadClientConfig);
}

absl::StatusOr<ExperimentConfig> DefaultExperimentConfig(const std::vector<Override>& overrides) {
  absl::StatusOr<OverriddenFile> file =
      OverriddenFile::Parse("kind: experiment\nname: default\n", "(experiment defaults)",
                            std::filesystem::current_path(), overrides);
  if (!file.ok()) return file.status();
  ExperimentConfig config = ReadExperimentConfig(file->file());
  if (absl::Status st = file->ToStatus(); !st.ok()) return st;
  return config;
}

CoordinatorOverrides SplitCoordinatorOverrides(const std::vector<Override>& overrides) {
  CoordinatorOverrides split;
  for (const Override& o : overrides) {
    if (o.path.size() >= 2 && o.path[0] == "experiment") {
      Override inner = o;
      inner.path.erase(inner.path.begin());
      split.experiment.push_back(std::move(inner));
    } else {
      split.coordinator.push_back(o);
    }
  }
  return split;
}

absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::filesystem::path& path,
                                                        const std::vector<Override>& overrides) {
  const CoordinatorOverrides split = SplitCoordinatorOverrides(overrides);
  absl::StatusOr<CoordinatorConfig> config =
      LoadConfigFileWithOverrides(path, split.coordinator, &ReadCoordinatorConfig);
  if (!config.ok()) return config.status();
  absl::StatusOr<ExperimentConfig> experiment =
      LoadExperimentConfig(config->experiment_path, split.experiment);
  if (!experiment.ok()) return experiment.status();
  config->experiment = *std::move(experiment);
  return config;
}

std::string ExperimentTextWithOverrides(absl::string_view text,
                                        const std::vector<Override>& experiment_overrides) {
  if (experiment_overrides.empty()) return std::string(text);
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "# Overridden on the command line:\n";
  for (const Override& o : experiment_overrides) absl::StrAppend(&out, "# --set ", o.flag, "\n");
  return out;
}

}  // namespace tontine::config
