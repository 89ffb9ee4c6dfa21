// Text encodings of binary values: hex, unpadded base64url, and certificate fingerprints.
#ifndef TONTINE_COMMON_BASE_ENCODING_H_
#define TONTINE_COMMON_BASE_ENCODING_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace tontine {

// Lower-case hex.
std::string HexEncode(absl::string_view bytes);
// Accepts upper or lower case; nullopt for odd length or a non-hex character.
std::optional<std::string> HexDecode(absl::string_view hex);

// RFC 4648 §5 base64url without padding.
std::string Base64UrlEncode(absl::string_view bytes);
// Accepts with or without padding; nullopt when malformed.
std::optional<std::string> Base64UrlDecode(absl::string_view text);

// "SHA256:AB:CD:…" (32 upper-case hex pairs), as OpenSSL prints certificate fingerprints.
std::string FormatFingerprint(absl::string_view sha256);
// Accepts the form above, with or without the "SHA256:" prefix (any case) and colons.
// nullopt unless it holds exactly 32 bytes.
std::optional<std::string> ParseFingerprint(absl::string_view text);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_ENCODING_H_
