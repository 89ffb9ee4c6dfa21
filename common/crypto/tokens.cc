#include "common/crypto/tokens.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/base/encoding.h"
#include "common/base/status_macros.h"
#include "common/crypto/random.h"
#include "common/crypto/sha256.h"

namespace tontine::crypto {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return !s.empty();
}

// Splits "<id>.<base64url>" at the last '.', decoding the secret.
absl::StatusOr<TokenParts> SplitIdSecret(absl::string_view text, absl::string_view what) {
  size_t dot = text.rfind('.');
  if (dot == absl::string_view::npos || dot == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is malformed: no '.' separator"));
  }
  std::optional<std::string> secret = Base64UrlDecode(text.substr(dot + 1));
  if (!secret.has_value() || secret->size() != kTokenSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is malformed: the part after '.' is not a 32-byte secret"));
  }
  return TokenParts{std::string(text.substr(0, dot)), *std::move(secret)};
}

}  // namespace

absl::StatusOr<std::string> NewSecret() { return RandomString(kTokenSecretBytes); }

absl::StatusOr<std::string> NewHexId(size_t bytes) {
  TONTINE_ASSIGN_OR_RETURN(std::string raw, RandomString(bytes));
  return HexEncode(raw);
}

absl::StatusOr<SaltedHash> HashSecret(absl::string_view secret) {
  SaltedHash out;
  TONTINE_ASSIGN_OR_RETURN(out.salt, RandomString(kTokenSaltBytes));
  TONTINE_ASSIGN_OR_RETURN(out.hash, Sha256Digest(absl::StrCat(out.salt, secret)));
  return out;
}

bool VerifySecret(absl::string_view secret, const SaltedHash& stored) {
  absl::StatusOr<std::string> hash = Sha256Digest(absl::StrCat(stored.salt, secret));
  return hash.ok() && ConstantTimeEquals(*hash, stored.hash);
}

std::string FormatInviteToken(const TokenParts& parts) {
  return absl::StrCat(kInviteTokenPrefix, parts.id, ".", Base64UrlEncode(parts.secret));
}

absl::StatusOr<TokenParts> ParseInviteToken(absl::string_view token) {
  absl::string_view body = absl::StripAsciiWhitespace(token);
  if (!absl::ConsumePrefix(&body, kInviteTokenPrefix)) {
    return absl::InvalidArgumentError(
        "invite token is malformed: it should start with 'tti_' (copy it whole, as "
        "`tontine-coordinator invite` printed it)");
  }
  TONTINE_ASSIGN_OR_RETURN(TokenParts parts, SplitIdSecret(body, "invite token"));
  if (parts.id.size() != 16 || !IsLowerHex(parts.id)) {
    return absl::InvalidArgumentError("invite token is malformed: bad invite id");
  }
  return parts;
}

std::string FormatCredential(const TokenParts& parts) {
  return absl::StrCat(parts.id, ".", Base64UrlEncode(parts.secret));
}

absl::StatusOr<TokenParts> ParseCredential(absl::string_view credential) {
  absl::string_view body = absl::StripAsciiWhitespace(credential);
  if (absl::StartsWithIgnoreCase(body, "Bearer ")) body = absl::StripLeadingAsciiWhitespace(body.substr(7));
  TONTINE_ASSIGN_OR_RETURN(TokenParts parts, SplitIdSecret(body, "credential"));
  if (!absl::StartsWith(parts.id, "p-") || !IsLowerHex(parts.id.substr(2))) {
    return absl::InvalidArgumentError("credential is malformed: bad participant id");
  }
  return parts;
}

}  // namespace tontine::crypto
