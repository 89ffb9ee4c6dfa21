// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.
#ifndef TONTINE_COMMON_CRYPTO_SHA256_H_
#define TONTINE_COMMON_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/crypto/openssl_ptr.h"

namespace tontine::crypto {

inline constexpr size_t kSha256Bytes = 32;

// Incremental hashing. Create → Update … → Finish. Not thread-safe.
class Sha256 {
 public:
  // INTERNAL if OpenSSL cannot set up the digest.
  static absl::StatusOr<Sha256> Create();

  absl::Status Update(absl::string_view data);
  // The 32-byte digest; the object must not be used afterwards.
  absl::StatusOr<std::string> Finish();

 private:
  explicit Sha256(EvpMdCtxPtr ctx) : ctx_(std::move(ctx)) {}
  EvpMdCtxPtr ctx_;
};

// One-shot digest of `data` (32 raw bytes).
absl::StatusOr<std::string> Sha256Digest(absl::string_view data);

// Digest of a file's contents, read in chunks. The error names the file.
absl::StatusOr<std::string> Sha256File(const std::filesystem::path& path);

// Constant-time comparison of two byte strings of equal length (false if lengths differ).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_SHA256_H_
