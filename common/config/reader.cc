#include "common/config/reader.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "common/base/units.h"
#include "common/config/key_recorder.h"
#include "common/config/suggest.h"

namespace tontine::config {
namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// How a node that is not what we wanted is described in an error: "a list", "'eight'".
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "no value";
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    default:
      return "nothing";
  }
}

std::string RangeText(absl::string_view lo, bool has_lo, bool lo_excl, absl::string_view hi,
                      bool has_hi, bool hi_excl) {
  if (has_lo && has_hi && !lo_excl && !hi_excl) {
    return absl::StrCat("must be between ", lo, " and ", hi);
  }
  std::vector<std::string> parts;
  if (has_lo) parts.push_back(absl::StrCat(lo_excl ? "greater than " : "at least ", lo));
  if (has_hi) parts.push_back(absl::StrCat(hi_excl ? "less than " : "at most ", hi));
  return absl::StrCat("must be ", absl::StrJoin(parts, " and "));
}

}  // namespace

Position PositionOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

// ---- ConfigFile ----

absl::StatusOr<ConfigFile> ConfigFile::Parse(absl::string_view text,
                                             const std::filesystem::path& display_name,
                                             const std::filesystem::path& base_dir) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return ConfigFile(std::move(root), display_name, base_dir);
  } catch (const YAML::Exception& e) {
    Position p = PositionOf(e.mark);
    return absl::InvalidArgumentError(absl::StrCat(display_name.string(), ":", p.line, ":",
                                                   p.column, ": invalid YAML: ", e.msg));
  }
}

absl::StatusOr<ConfigFile> ConfigFile::Load(const std::filesystem::path& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  return Parse(*text, path, dir);
}

void ConfigFile::AddError(Position where, std::string message) {
  errors_.emplace_back(where, std::move(message));
}

void ConfigFile::Record(std::string dotted_key, Position where) {
  positions_.insert_or_assign(std::move(dotted_key), where);
}

Position ConfigFile::Where(absl::string_view dotted_key) const {
  absl::string_view key = dotted_key;
  for (;;) {
    auto it = positions_.find(key);
    if (it != positions_.end() && it->second.line > 0) return it->second;
    size_t dot = key.rfind('.');
    if (dot == absl::string_view::npos) return {1, 1};
    key = key.substr(0, dot);
  }
}

absl::Status ConfigFile::ToStatus() const {
  if (errors_.empty()) return absl::OkStatus();
  std::vector<std::pair<Position, std::string>> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  std::vector<std::string> lines;
  for (const auto& [where, message] : sorted) {
    Position p = where.line > 0 ? where : Position{1, 1};
    lines.push_back(absl::StrCat(path_.string(), ":", p.line, ":", p.column, ": ", message));
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

// ---- MapReader ----

MapReader::MapReader(ConfigFile* file, const YAML::Node& node, std::string prefix)
    : file_(file), prefix_(std::move(prefix)), where_(PositionOf(node.Mark())) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    file_->AddError(where_, absl::StrCat(prefix_.empty() ? "the file" : prefix_,
                                         ": expected a mapping of keys to values, got ",
                                         Describe(node)));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, so references would dangle.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (!key.IsScalar()) {
      ErrorAt(key, absl::StrCat("keys must be plain names, got ", Describe(key)));
      continue;
    }
    auto dup = std::find_if(entries_.begin(), entries_.end(),
                            [&](const auto& e) { return e.first == key.Scalar(); });
    if (dup != entries_.end()) {
      ErrorAt(key, absl::StrCat("duplicate key '", Dotted(key.Scalar()), "' (first at line ",
                                PositionOf(dup->second.key.Mark()).line, ")"));
      continue;
    }
    entries_.push_back({key.Scalar(), Entry{key, value}});
  }
}

std::string MapReader::Dotted(absl::string_view key) const {
  return prefix_.empty() ? std::string(key) : absl::StrCat(prefix_, ".", key);
}

void MapReader::ErrorAt(const YAML::Node& node, std::string message) {
  Position p = PositionOf(node.Mark());
  file_->AddError(p.line > 0 ? p : where_, std::move(message));
}

void MapReader::Error(absl::string_view key, absl::string_view message) {
  file_->AddError(file_->Where(Dotted(key)), absl::StrCat(Dotted(key), ": ", message));
}

std::optional<YAML::Node> MapReader::Lookup(absl::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
    known_.emplace_back(key);
  }
  KeyRecorder::Note(Dotted(key));
  for (const auto& [name, entry] : entries_) {
    if (name == key) {
      file_->Record(Dotted(key), PositionOf(entry.value.Mark()));
      return entry.value;
    }
  }
  return std::nullopt;
}

bool MapReader::Has(absl::string_view key) { return Lookup(key).has_value(); }

void MapReader::Require(absl::string_view key) {
  if (!Has(key)) {
    file_->AddError(where_, absl::StrCat("missing required key '", Dotted(key), "'"));
  }
}

MapReader MapReader::Section(absl::string_view key) {
  std::optional<YAML::Node> value = Lookup(key);
  return MapReader(file_, value.value_or(YAML::Node()), Dotted(key));
}

std::optional<std::string> MapReader::Scalar(absl::string_view key, const YAML::Node& value,
                                             absl::string_view what) {
  if (value.IsScalar()) return value.Scalar();
  if (value.IsNull()) {
    ErrorAt(value, absl::StrCat(Dotted(key), ": has no value; give ", what,
                                " or remove the key to use the default"));
  } else {
    ErrorAt(value, absl::StrCat(Dotted(key), ": expected ", what, ", got ", Describe(value)));
  }
  return std::nullopt;
}

std::optional<int64_t> MapReader::ReadInteger(absl::string_view key, int64_t min, int64_t max,
                                              absl::string_view auto_word) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return std::nullopt;
  std::string what =
      auto_word.empty() ? "an integer" : absl::StrCat("an integer or '", auto_word, "'");
  std::optional<std::string> text = Scalar(key, *value, what);
  if (!text.has_value()) return std::nullopt;
  if (!auto_word.empty() && *text == auto_word) return kAuto;
  int64_t v = 0;
  if (!absl::SimpleAtoi(*text, &v)) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": expected ", what, ", got '", *text, "'"));
    return std::nullopt;
  }
  if (v < min || v > max) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", v, " is out of range; ",
                                 RangeText(absl::StrCat(min), min != kInt64Min, false,
                                           absl::StrCat(max), max != kInt64Max, false)));
    return std::nullopt;
  }
  return v;
}

void MapReader::Number(absl::string_view key, double* out, NumberRange range) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "a number");
  if (!text.has_value()) return;
  double v = 0;
  if (!absl::SimpleAtod(*text, &v) || !std::isfinite(v)) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": expected a number, got '", *text, "'"));
    return;
  }
  bool below = range.min_exclusive ? v <= range.min : v < range.min;
  bool above = range.max_exclusive ? v >= range.max : v > range.max;
  if (below || above) {
    const double kMax = std::numeric_limits<double>::max();
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", *text, " is out of range; ",
                                 RangeText(absl::StrCat(range.min), range.min != -kMax,
                                           range.min_exclusive, absl::StrCat(range.max),
                                           range.max != kMax, range.max_exclusive)));
    return;
  }
  *out = v;
}

void MapReader::Bool(absl::string_view key, bool* out) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "true or false");
  if (!text.has_value()) return;
  if (*text == "true") {
    *out = true;
  } else if (*text == "false") {
    *out = false;
  } else {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": expected true or false, got '", *text, "'"));
  }
}

void MapReader::String(absl::string_view key, std::string* out,
                       const std::function<std::optional<std::string>(absl::string_view)>& check) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "a string");
  if (!text.has_value()) return;
  if (check) {
    if (std::optional<std::string> problem = check(*text)) {
      ErrorAt(*value, absl::StrCat(Dotted(key), ": ", *problem));
      return;
    }
  }
  *out = *text;
}

std::optional<size_t> MapReader::ReadChoice(absl::string_view key,
                                            const std::vector<std::string>& names) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return std::nullopt;
  std::string what = absl::StrCat("one of ", absl::StrJoin(names, ", "));
  std::optional<std::string> text = Scalar(key, *value, what);
  if (!text.has_value()) return std::nullopt;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == *text) return i;
  }
  std::string message = absl::StrCat(Dotted(key), ": unknown value '", *text, "'");
  if (std::optional<std::string> near = NearestCandidate(*text, names)) {
    absl::StrAppend(&message, "; did you mean '", *near, "'?");
  }
  absl::StrAppend(&message, " (", what, ")");
  ErrorAt(*value, std::move(message));
  return std::nullopt;
}

void MapReader::Duration(absl::string_view key, absl::Duration* out, absl::Duration min,
                         absl::Duration max) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "a duration such as 30s or 5m");
  if (!text.has_value()) return;
  absl::StatusOr<absl::Duration> d = ParseDuration(*text);
  if (!d.ok()) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", d.status().message()));
    return;
  }
  if (*d <= absl::ZeroDuration()) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": must be positive, got ", *text));
    return;
  }
  if (*d < min || *d > max) {
    bool has_max = max != absl::InfiniteDuration();
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", *text, " is out of range; ",
                                 RangeText(FormatShortDuration(min), true, false,
                                           FormatShortDuration(max), has_max, false)));
    return;
  }
  *out = *d;
}

void MapReader::ByteSize(absl::string_view key, uint64_t* out, uint64_t min, uint64_t max) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "a size such as 512MiB or 2GiB");
  if (!text.has_value()) return;
  absl::StatusOr<uint64_t> bytes = ParseByteSize(*text);
  if (!bytes.ok()) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", bytes.status().message()));
    return;
  }
  if (*bytes < min || *bytes > max) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": ", *text, " is out of range; ",
                                 RangeText(absl::StrCat(min, " bytes"), true, false,
                                           absl::StrCat(max, " bytes"),
                                           max != std::numeric_limits<uint64_t>::max(), false)));
    return;
  }
  *out = *bytes;
}

void MapReader::Path(absl::string_view key, std::filesystem::path* out, PathKind kind) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  std::optional<std::string> text = Scalar(key, *value, "a path");
  if (!text.has_value()) return;
  if (text->empty()) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": the path is empty"));
    return;
  }
  std::filesystem::path p = ExpandHome(*text);
  if (p.is_relative()) p = file_->base_dir() / p;
  p = p.lexically_normal();
  std::error_code ec;
  const bool wrong_kind = (kind == PathKind::kExistingDir && !std::filesystem::is_directory(p, ec)) ||
                          (kind == PathKind::kExistingFile && !std::filesystem::is_regular_file(p, ec));
  if (wrong_kind) {
    const char* what = kind == PathKind::kExistingDir ? "directory" : "regular file";
    ErrorAt(*value, std::filesystem::exists(p, ec)
                        ? absl::StrCat(Dotted(key), ": is not a ", what, ": ", p.string())
                        : absl::StrCat(Dotted(key), ": ",
                                       kind == PathKind::kExistingDir ? "directory" : "file",
                                       " does not exist: ", p.string()));
    return;
  }
  *out = p;
}

void MapReader::StringList(absl::string_view key, std::vector<std::string>* out,
                           const std::vector<std::string>& allowed, size_t min_size) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value()) return;
  if (!value->IsSequence()) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": expected a list such as [a, b], got ",
                                 Describe(*value)));
    return;
  }
  std::vector<std::string> items;
  bool ok = true;
  for (const YAML::Node& item : *value) {
    if (!item.IsScalar()) {
      ErrorAt(item, absl::StrCat(Dotted(key), ": list elements must be plain values, got ",
                                 Describe(item)));
      ok = false;
      continue;
    }
    const std::string& s = item.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      std::string message = absl::StrCat(Dotted(key), ": unknown value '", s, "'");
      if (std::optional<std::string> near = NearestCandidate(s, allowed)) {
        absl::StrAppend(&message, "; did you mean '", *near, "'?");
      }
      absl::StrAppend(&message, " (one of ", absl::StrJoin(allowed, ", "), ")");
      ErrorAt(item, std::move(message));
      ok = false;
    } else if (std::find(items.begin(), items.end(), s) != items.end()) {
      ErrorAt(item, absl::StrCat(Dotted(key), ": '", s, "' is listed twice"));
      ok = false;
    }
    items.push_back(s);
  }
  if (ok && items.size() < min_size) {
    ErrorAt(*value, absl::StrCat(Dotted(key), ": needs at least ", min_size,
                                 min_size == 1 ? " element" : " elements"));
    return;
  }
  if (ok) *out = std::move(items);
}

void MapReader::StringMap(absl::string_view key, std::map<std::string, std::string>* out) {
  MapReader section = Section(key);
  std::map<std::string, std::string> result;
  for (const auto& [name, entry] : section.entries_) {
    std::optional<std::string> text = section.Scalar(name, entry.value, "a plain value");
    section.Lookup(name);
    if (text.has_value()) result[name] = *text;
  }
  section.Finish();
  if (Has(key)) *out = std::move(result);
}

void MapReader::StringListMap(absl::string_view key,
                              std::map<std::string, std::vector<std::string>>* out) {
  MapReader section = Section(key);
  std::map<std::string, std::vector<std::string>> result;
  for (const auto& [name, entry] : section.entries_) {
    section.Lookup(name);
    if (entry.value.IsScalar()) {
      result[name] = {entry.value.Scalar()};
    } else {
      section.StringList(name, &result[name], {}, 1);
    }
  }
  section.Finish();
  if (Has(key)) *out = std::move(result);
}

void MapReader::MapOrMapList(absl::string_view key,
                             const std::function<void(MapReader&)>& read) {
  std::optional<YAML::Node> value = Lookup(key);
  if (!value.has_value() || value->IsNull()) return;
  if (value->IsSequence()) {
    for (size_t i = 0; i < value->size(); ++i) {
      MapReader item(file_, (*value)[i], absl::StrCat(Dotted(key), "[", i, "]"));
      read(item);
      item.Finish();
    }
    return;
  }
  MapReader item(file_, *value, Dotted(key));
  read(item);
  item.Finish();
}

void MapReader::Finish() {
  for (const auto& [name, entry] : entries_) {
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    std::string message =
        prefix_.empty() ? absl::StrCat("unknown top-level key '", name, "'")
                        : absl::StrCat("unknown key '", name, "' in '", prefix_, "'");
    if (std::optional<std::string> near = NearestCandidate(name, known_)) {
      absl::StrAppend(&message, "; did you mean '", *near, "'?");
    } else {
      std::vector<std::string> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      absl::StrAppend(&message, " (known keys: ", absl::StrJoin(sorted, ", "), ")");
    }
    ErrorAt(entry.key, std::move(message));
  }
}

}  // namespace tontine::config
