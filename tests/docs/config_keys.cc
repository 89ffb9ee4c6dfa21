#include "tests/docs/config_keys.h"

#include <filesystem>
#include <regex>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/key_recorder.h"

namespace tontine::docs {
namespace {

// "simulate.dropout[0].phase" → "simulate.dropout.phase".
std::string WithoutIndices(const std::string& key) {
  static const std::regex kIndex(R"(\[[0-9]+\])");
  return std::regex_replace(key, kIndex, "");
}

// The keys `read` looks up in `yaml` (whatever errors it finds there).
std::set<std::string> KeysLookedUp(const ConfigReader& read, const std::string& yaml) {
  absl::StatusOr<config::ConfigFile> file =
      config::ConfigFile::Parse(yaml, "probe.yaml", std::filesystem::temp_directory_path());
  if (!file.ok()) return {};
  config::KeyRecorder recorder;
  read(*file);
  std::set<std::string> keys;
  for (const std::string& key : recorder.keys()) keys.insert(WithoutIndices(key));
  return keys;
}

// "a.b.c" → "a: {b: {c: {}}}".
std::string EmptyMappingAt(const std::string& dotted_key) {
  const std::vector<std::string> parts = absl::StrSplit(dotted_key, '.');
  std::string value = "{}";
  for (size_t i = parts.size() - 1; i > 0; --i) value = absl::StrCat("{", parts[i], ": ", value, "}");
  return absl::StrCat(parts[0], ": ", value);
}

void CollectKeys(const YAML::Node& node, const std::string& prefix, std::set<std::string>& keys) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string key =
          prefix.empty() ? it->first.Scalar() : absl::StrCat(prefix, ".", it->first.Scalar());
      keys.insert(key);
      CollectKeys(it->second, key, keys);
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& element : node) CollectKeys(element, prefix, keys);
  }
}

// The keys of the lines of `yaml` that look like "key: …", commented out or not, by
// indentation. Prose comments that happen to look like a key add a key that no loader asks
// for, which is harmless: only the keys the loaders accept are looked for.
void CollectKeyLines(absl::string_view yaml, std::set<std::string>& keys) {
  static const std::regex kKeyLine(R"(^([a-z_][a-z0-9_]*):( |$))");
  std::vector<std::pair<size_t, std::string>> stack;  // (indentation, key) of the enclosing keys
  for (absl::string_view line : absl::StrSplit(yaml, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    size_t indent = line.size() - absl::StripLeadingAsciiWhitespace(line).size();
    absl::string_view rest = line.substr(indent);
    if (absl::ConsumePrefix(&rest, "#")) {
      const size_t spaces = rest.size() - absl::StripLeadingAsciiWhitespace(rest).size();
      indent += spaces > 0 ? spaces - 1 : 0;
      rest.remove_prefix(spaces);
    }
    // "- key: value" starts a mapping in a list, its keys indented past the dash.
    while (absl::ConsumePrefix(&rest, "- ")) {
      const size_t spaces = rest.size() - absl::StripLeadingAsciiWhitespace(rest).size();
      indent += 2 + spaces;
      rest.remove_prefix(spaces);
    }
    std::cmatch match;
    if (!std::regex_search(rest.data(), rest.data() + rest.size(), match, kKeyLine)) continue;
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    stack.emplace_back(indent, match[1].str());
    std::vector<std::string> path;
    for (const auto& [unused, key] : stack) path.push_back(key);
    keys.insert(absl::StrJoin(path, "."));
  }
}

}  // namespace

std::set<std::string> AcceptedKeys(const ConfigReader& read) {
  std::set<std::string> keys = KeysLookedUp(read, "");
  std::set<std::string> probed;
  for (bool grew = true; grew;) {
    grew = false;
    const std::set<std::string> known = keys;
    for (const std::string& key : known) {
      if (!probed.insert(key).second) continue;
      for (const std::string& found : KeysLookedUp(read, EmptyMappingAt(key))) {
        grew |= keys.insert(found).second;
      }
    }
  }
  return keys;
}

absl::StatusOr<std::set<std::string>> DocumentedKeys(absl::string_view yaml) {
  std::set<std::string> keys;
  try {
    CollectKeys(YAML::Load(std::string(yaml)), "", keys);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not YAML: ", e.what()));
  }
  CollectKeyLines(yaml, keys);
  return keys;
}

}  // namespace tontine::docs
