// AES-256-GCM authenticated encryption (NIST SP 800-38D) with a 12-byte nonce and a 16-byte
// tag, through OpenSSL's EVP interface.
//
// SecAgg+ (DESIGN.md §7) encrypts each Shamir share to one neighbour under a key from
// HKDF (hkdf.h); the associated data binds session, sender and receiver, so a ciphertext
// cannot be replayed into another session or redirected to another participant.
//
// Wire form of a sealed message: nonce (12) || ciphertext (as long as the plaintext) ||
// tag (16). Random 96-bit nonces are safe for far more than the few thousand messages one
// key ever seals here (SP 800-38D §8.3 bounds random-nonce use at 2^32 per key).
#ifndef TONTINE_COMMON_CRYPTO_AEAD_H_
#define TONTINE_COMMON_CRYPTO_AEAD_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret.h"

namespace tontine::crypto {

inline constexpr size_t kGcmNonceBytes = 12, kGcmTagBytes = 16;

// nonce || ciphertext || tag, with a fresh nonce from the CSPRNG. INTERNAL if OpenSSL or
// the DRBG fails.
absl::StatusOr<std::string> Aes256GcmSeal(const Secret32& key, absl::string_view plaintext,
                                          absl::string_view associated_data);

// The same with a given nonce (for known-answer tests; never reuse a nonce under one key).
// INVALID_ARGUMENT unless `nonce` is 12 bytes.
absl::StatusOr<std::string> Aes256GcmSealWithNonce(const Secret32& key, absl::string_view nonce,
                                                   absl::string_view plaintext,
                                                   absl::string_view associated_data);

// Opens nonce || ciphertext || tag and returns the plaintext. INVALID_ARGUMENT if `sealed`
// is shorter than nonce + tag; DATA_LOSS (the message mentions "tag") when authentication
// fails: tampered nonce, ciphertext or tag, wrong key or wrong associated data. No
// plaintext is released on failure (the partial output is wiped). The caller wipes the
// returned plaintext when it is secret.
absl::StatusOr<std::string> Aes256GcmOpen(const Secret32& key, absl::string_view sealed,
                                          absl::string_view associated_data);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_AEAD_H_
