#include "common/crypto/x25519.h"

#include <span>
#include <string>

#include <openssl/evp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"

namespace tontine::crypto {
namespace {

absl::Status OpenSslFailure(absl::string_view what) {
  return absl::InternalError(absl::StrCat("X25519: ", what, ": ", OpenSslErrorText()));
}

// An EVP_PKEY holding the raw private scalar (OpenSSL keeps its own copy and wipes it when
// the key is freed).
absl::StatusOr<EvpPkeyPtr> PrivateKey(const Secret32& private_key) {
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                               private_key.bytes().data(),
                                               private_key.bytes().size()));
  if (pkey == nullptr) return OpenSslFailure("cannot load the private key");
  return pkey;
}

bool IsAllZero(std::span<const uint8_t> bytes) {
  uint8_t acc = 0;
  for (uint8_t b : bytes) acc |= b;  // no early exit: the secret's value is not leaked
  return acc == 0;
}

}  // namespace

absl::StatusOr<X25519KeyPair> GenerateX25519KeyPair() {
  TONTINE_ASSIGN_OR_RETURN(Secret32 private_key, RandomSecret32());
  return X25519KeyPairFromPrivate(private_key);
}

absl::StatusOr<X25519KeyPair> X25519KeyPairFromPrivate(const Secret32& private_key) {
  TONTINE_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, PrivateKey(private_key));
  X25519KeyPair pair;
  size_t len = pair.public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pair.public_key.data(), &len) != 1 ||
      len != kX25519KeyBytes) {
    return OpenSslFailure("cannot compute the public key");
  }
  pair.private_key = private_key;
  return pair;
}

absl::StatusOr<Secret32> X25519Agree(const Secret32& private_key,
                                     absl::string_view peer_public) {
  if (peer_public.size() != kX25519KeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "X25519: a peer public key must be 32 bytes, got ", peer_public.size()));
  }
  TONTINE_ASSIGN_OR_RETURN(EvpPkeyPtr own, PrivateKey(private_key));
  EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const uint8_t*>(peer_public.data()),
      peer_public.size()));
  if (peer == nullptr) return OpenSslFailure("cannot load the peer public key");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return OpenSslFailure("cannot set up the agreement");
  }
  Secret32 shared;
  size_t len = shared.mutable_bytes().size();
  // OpenSSL itself refuses an all-zero result (its only failure mode once the keys are
  // loaded); both that and a zero result that got through are the §6.1 rejection.
  if (EVP_PKEY_derive(ctx.get(), shared.mutable_bytes().data(), &len) != 1) {
    std::string detail = OpenSslErrorText();
    return absl::InvalidArgumentError(absl::StrCat(
        "X25519: the peer public key is a low-order point (all-zero agreement): ", detail));
  }
  if (len != kX25519KeyBytes) return OpenSslFailure("unexpected agreement length");
  if (IsAllZero(shared.bytes())) {
    return absl::InvalidArgumentError(
        "X25519: the peer public key is a low-order point (all-zero agreement)");
  }
  return shared;
}

}  // namespace tontine::crypto
