// The two secrets of Tontine's identity scheme and how they are written and checked.
//
// - An invite token "tti_<id>.<secret>" is made by `tontine-coordinator invite` and redeemed
//   once by `tontine-client enrol`.
// - A participant credential "<participant id>.<secret>" is what the client then sends as
//   "authorization: Bearer <credential>" on every call.
//
// Each secret is 32 bytes from the CSPRNG (written as unpadded base64url). The coordinator
// stores only a random 16-byte salt and SHA-256(salt || secret). A fast hash suffices: with
// 256-bit random secrets there is nothing to brute-force, and the salt makes precomputation
// useless.
#ifndef TONTINE_COMMON_CRYPTO_TOKENS_H_
#define TONTINE_COMMON_CRYPTO_TOKENS_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace tontine::crypto {

inline constexpr size_t kTokenSecretBytes = 32;
inline constexpr size_t kTokenSaltBytes = 16;
inline constexpr absl::string_view kInviteTokenPrefix = "tti_";

// A public id and the secret that proves possession.
struct TokenParts {
  std::string id;
  std::string secret;  // raw bytes
};

// A salted hash for storage.
struct SaltedHash {
  std::string salt;  // kTokenSaltBytes
  std::string hash;  // SHA-256(salt || secret)
};

// A fresh random secret.
absl::StatusOr<std::string> NewSecret();
// A fresh random id of `bytes` bytes as lower-case hex.
absl::StatusOr<std::string> NewHexId(size_t bytes);

// Salts and hashes `secret` with a fresh salt.
absl::StatusOr<SaltedHash> HashSecret(absl::string_view secret);
// Whether `secret` matches `stored` (constant time in the hash comparison).
bool VerifySecret(absl::string_view secret, const SaltedHash& stored);

// "tti_<id>.<base64url secret>".
std::string FormatInviteToken(const TokenParts& parts);
// INVALID_ARGUMENT (saying what the form should be) unless `token` has that form with a
// 16-hex-digit id and a 32-byte secret.
absl::StatusOr<TokenParts> ParseInviteToken(absl::string_view token);

// "<participant id>.<base64url secret>".
std::string FormatCredential(const TokenParts& parts);
// Accepts the credential with or without a leading "Bearer ". INVALID_ARGUMENT if malformed.
absl::StatusOr<TokenParts> ParseCredential(absl::string_view credential);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_TOKENS_H_
