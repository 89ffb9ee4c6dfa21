// X25519 Diffie-Hellman (RFC 7748) through OpenSSL's EVP interface.
//
// SecAgg+ (DESIGN.md §7) gives every participant two X25519 key pairs per Round: one whose
// agreements key the AES-256-GCM share encryption, one whose agreements seed the pairwise
// masks. Both agreements go through HKDF (hkdf.h) before use; the raw agreement is never a
// key by itself.
#ifndef TONTINE_COMMON_CRYPTO_X25519_H_
#define TONTINE_COMMON_CRYPTO_X25519_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret.h"

namespace tontine::crypto {

inline constexpr size_t kX25519KeyBytes = 32;

// The 32-byte little-endian u-coordinate (RFC 7748 §5).
using X25519PublicKey = std::array<uint8_t, kX25519KeyBytes>;

struct X25519KeyPair {
  X25519PublicKey public_key;
  Secret32 private_key;  // the 32 raw scalar bytes, before clamping (RFC 7748 §5)
};

// A fresh key pair whose private key comes from the CSPRNG. INTERNAL if OpenSSL fails.
absl::StatusOr<X25519KeyPair> GenerateX25519KeyPair();

// The key pair of a given private key: public = X25519(private, 9). INTERNAL if OpenSSL
// fails.
absl::StatusOr<X25519KeyPair> X25519KeyPairFromPrivate(const Secret32& private_key);

// The shared secret X25519(private, peer). INVALID_ARGUMENT when `peer_public` is not 32
// bytes or the result is all zeros (a low-order point: the RFC 7748 §6.1 check). The top
// bit of the peer's last byte is ignored, as RFC 7748 §5 requires. INTERNAL if OpenSSL
// fails otherwise.
absl::StatusOr<Secret32> X25519Agree(const Secret32& private_key,
                                     absl::string_view peer_public);

// X25519PublicKey as a string_view over its bytes (for X25519Agree, hashing, the wire).
inline absl::string_view PublicKeyView(const X25519PublicKey& key) {
  return absl::string_view(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_X25519_H_
