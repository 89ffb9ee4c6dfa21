// The cryptographically secure random source (OpenSSL's DRBG).
#ifndef TONTINE_COMMON_CRYPTO_RANDOM_H_
#define TONTINE_COMMON_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine::crypto {

// Fills `out` from RAND_bytes. INTERNAL if the DRBG fails (it does not in practice; the
// status is still checked, never ignored).
absl::Status RandomBytes(std::span<uint8_t> out);

// `n` random bytes as a string.
absl::StatusOr<std::string> RandomString(size_t n);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_RANDOM_H_
