// HKDF with SHA-256 (RFC 5869), through OpenSSL's EVP_KDF "HKDF".
//
// Every SecAgg+ key (DESIGN.md §7) is HKDF-SHA256 of an X25519 agreement, salted with the
// session id, with an `info` label that names its use ("share-encryption", "pairwise-mask"…),
// so that one agreement never keys two things.
#ifndef TONTINE_COMMON_CRYPTO_HKDF_H_
#define TONTINE_COMMON_CRYPTO_HKDF_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret.h"

namespace tontine::crypto {

// The most HKDF-SHA256 can produce: 255 blocks of 32 bytes (RFC 5869 §2.3).
inline constexpr size_t kHkdfSha256MaxBytes = 255 * 32;

// Extract-then-expand: fills `out` with HKDF-SHA256(ikm, salt, info). An empty salt means
// HashLen zero bytes (RFC 5869 §2.2); `ikm` and `info` may be empty too. INVALID_ARGUMENT
// unless 1 ≤ out.size() ≤ 8160; INTERNAL if OpenSSL fails.
absl::Status HkdfSha256(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                        std::span<uint8_t> out);

// The same, producing one 32-byte key.
absl::StatusOr<Secret32> HkdfSha256Key(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_HKDF_H_
