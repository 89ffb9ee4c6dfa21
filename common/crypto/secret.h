// A 32-byte secret value (a key, a PRG seed, a shared secret) that wipes itself.
//
// Secret material in SecAgg+ (DESIGN.md §7) is always 32 bytes: X25519 private keys and
// agreements, HKDF-derived AES keys, self-mask seeds b_u. Secret32 keeps them by value, with
// no heap copy, and OPENSSL_cleanse-s every copy when it is destroyed or overwritten.
#ifndef TONTINE_COMMON_CRYPTO_SECRET_H_
#define TONTINE_COMMON_CRYPTO_SECRET_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <openssl/crypto.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/crypto/random.h"

namespace tontine::crypto {

inline constexpr size_t kSecretBytes = 32;

// 32 secret bytes. Copyable; every copy wipes itself (OPENSSL_cleanse) on destruction and
// before being overwritten. A move is a copy: the moved-from object keeps its bytes until
// it is destroyed, when it wipes them too. operator== compares in constant time.
// Not thread-safe (a value: give each thread its own copy).
class Secret32 {
 public:
  // All zeros.
  Secret32() : bytes_{} {}
  explicit Secret32(std::span<const uint8_t, kSecretBytes> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
  }
  Secret32(const Secret32& other) : bytes_(other.bytes_) {}
  Secret32& operator=(const Secret32& other) {
    if (this != &other) {
      Wipe();
      bytes_ = other.bytes_;
    }
    return *this;
  }
  ~Secret32() { Wipe(); }

  std::span<const uint8_t, kSecretBytes> bytes() const { return bytes_; }
  std::span<uint8_t, kSecretBytes> mutable_bytes() { return bytes_; }
  // The 32 bytes as a string_view (valid while this object lives and is not modified).
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

  // Constant time (CRYPTO_memcmp): the comparison does not leak where the secrets differ.
  bool operator==(const Secret32& other) const {
    return CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
  }

 private:
  void Wipe() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

  std::array<uint8_t, kSecretBytes> bytes_;
};

// 32 bytes from the CSPRNG (RAND_bytes, see random.h). INTERNAL if the DRBG fails.
inline absl::StatusOr<Secret32> RandomSecret32() {
  Secret32 secret;
  absl::Status status = RandomBytes(secret.mutable_bytes());
  if (!status.ok()) return status;
  return secret;
}

// A Secret32 holding `bytes` (e.g. a decrypted share). INVALID_ARGUMENT unless it is exactly
// 32 bytes long. The caller still wipes its own copy of `bytes`.
inline absl::StatusOr<Secret32> Secret32FromBytes(absl::string_view bytes) {
  if (bytes.size() != kSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a 32-byte secret was expected, got ", bytes.size(), " bytes"));
  }
  return Secret32(std::span<const uint8_t, kSecretBytes>(
      reinterpret_cast<const uint8_t*>(bytes.data()), kSecretBytes));
}

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_SECRET_H_
