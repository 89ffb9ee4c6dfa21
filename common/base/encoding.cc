#include "common/base/encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace tontine {

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::optional<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return absl::HexStringToBytes(hex);
}

std::string Base64UrlEncode(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) return std::nullopt;
  return out;
}

std::string FormatFingerprint(absl::string_view sha256) {
  std::string hex = absl::AsciiStrToUpper(HexEncode(sha256));
  std::string out = "SHA256:";
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) out += ':';
    out.append(hex, i, 2);
  }
  return out;
}

std::optional<std::string> ParseFingerprint(absl::string_view text) {
  absl::string_view body = absl::StripAsciiWhitespace(text);
  if (absl::StartsWithIgnoreCase(body, "SHA256:")) body.remove_prefix(7);
  std::string hex = absl::StrReplaceAll(body, {{":", ""}});
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes.has_value() || bytes->size() != 32) return std::nullopt;
  return bytes;
}

}  // namespace tontine
