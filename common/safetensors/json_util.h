// Internal to common/safetensors: strict JSON and UTF-8 checks shared by the header parser,
// the writer and the shard index. Not part of the library's API.
#ifndef TONTINE_COMMON_SAFETENSORS_JSON_UTIL_H_
#define TONTINE_COMMON_SAFETENSORS_JSON_UTIL_H_

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::safetensors::internal {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Parses `text` as one JSON object. INVALID_ARGUMENT (message without a file name) when it
// is not UTF-8, not JSON, not an object, or when any object in it repeats a key: nlohmann
// would silently keep the last one, which hides a duplicated tensor name.
absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text);

// The value when `value` is a JSON integer >= 0 (nlohmann stores those as unsigned);
// nullopt for negatives, fractions, floats such as 2.0, and anything else.
std::optional<uint64_t> AsNonNegativeInteger(const nlohmann::json& value);

}  // namespace tontine::safetensors::internal

#endif  // TONTINE_COMMON_SAFETENSORS_JSON_UTIL_H_
