#include "common/safetensors/json_util.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tontine::safetensors::internal {
namespace {

// Far deeper than any header or index needs (3 and 2 levels), and shallow enough that a
// hostile "[[[[…" header cannot make the parser build a huge tree (serde_json, which the
// reference uses, stops at 128).
constexpr int kMaxDepth = 64;

// Thrown from the parser callback to stop parsing; caught in ParseJsonObject.
struct StopParsing {
  std::string problem;
};

// Keeps, for every object being parsed, the keys seen so far.
class DuplicateKeyChecker {
 public:
  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth > kMaxDepth) {
      throw StopParsing{absl::StrCat("nests deeper than ", kMaxDepth, " levels")};
    }
    if (event == Event::object_start) keys_.emplace_back();
    if (event == Event::object_end) keys_.pop_back();
    if (event == Event::key && !keys_.back().insert(parsed.get<std::string>()).second) {
      throw StopParsing{absl::StrCat("has duplicate key \"", parsed.get<std::string>(), "\"")};
    }
    return true;
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

// Length of the UTF-8 sequence led by `lead`, and the bits it contributes; 0 if invalid.
int SequenceLength(uint8_t lead, uint32_t* code_point) {
  int length = 0;
  if ((lead & 0xE0) == 0xC0) length = 2;
  if ((lead & 0xF0) == 0xE0) length = 3;
  if ((lead & 0xF8) == 0xF0) length = 4;
  // The lead byte keeps 7 - length payload bits (5, 4 or 3).
  if (length != 0) *code_point = lead & ((1u << (7 - length)) - 1);
  return length;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < text.size()) {
    uint8_t lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    uint32_t code_point = 0;
    int length = SequenceLength(lead, &code_point);
    if (length == 0 || text.size() - i < static_cast<size_t>(length)) return false;
    for (int k = 1; k < length; ++k) {
      uint8_t next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3Fu);
    }
    bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    if (code_point < kMinForLength[length] || code_point > 0x10FFFF || surrogate) return false;
    i += length;
  }
  return true;
}

absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text) {
  // Checked up front so that the message says "UTF-8" rather than a lexer error, as the
  // reference distinguishes InvalidHeader from InvalidHeaderDeserialization.
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("is not valid UTF-8");
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.begin(), text.end(), DuplicateKeyChecker());
  } catch (const StopParsing& stop) {
    return absl::InvalidArgumentError(stop.problem);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("is not valid JSON: ", e.what()));
  }
  if (!value.is_object()) return absl::InvalidArgumentError("is not a JSON object");
  return value;
}

std::optional<uint64_t> AsNonNegativeInteger(const nlohmann::json& value) {
  if (!value.is_number_unsigned()) return std::nullopt;
  return value.get<uint64_t>();
}

}  // namespace tontine::safetensors::internal
