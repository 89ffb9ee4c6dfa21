#include "common/crypto/hkdf.h"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"

namespace tontine::crypto {
namespace {

struct EvpKdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxDeleter>;

// The HKDF implementation, fetched once: fetching walks the provider store and is the
// costliest part of a short derivation. Never freed (a process-lifetime singleton).
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  return kdf;
}

// OSSL_PARAM octet strings must not have a null data pointer, even when empty.
OSSL_PARAM OctetParam(const char* key, absl::string_view bytes) {
  static char kEmpty[1] = {0};
  char* data = bytes.empty() ? kEmpty : const_cast<char*>(bytes.data());
  return OSSL_PARAM_construct_octet_string(key, data, bytes.size());
}

}  // namespace

absl::Status HkdfSha256(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                        std::span<uint8_t> out) {
  if (out.empty() || out.size() > kHkdfSha256MaxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HKDF-SHA256 output must be 1..", kHkdfSha256MaxBytes, " bytes, not ", out.size()));
  }
  EVP_KDF* kdf = HkdfAlgorithm();
  if (kdf == nullptr) {
    return absl::InternalError(absl::StrCat("HKDF unavailable: ", OpenSslErrorText()));
  }
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("HKDF context: ", OpenSslErrorText()));
  }
  static char kDigest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kDigest, 0),
      OctetParam(OSSL_KDF_PARAM_KEY, ikm),
      OctetParam(OSSL_KDF_PARAM_SALT, salt),
      OctetParam(OSSL_KDF_PARAM_INFO, info),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return absl::InternalError(absl::StrCat("HKDF-SHA256 failed: ", OpenSslErrorText()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Secret32> HkdfSha256Key(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info) {
  Secret32 key;
  TONTINE_RETURN_IF_ERROR(HkdfSha256(ikm, salt, info, key.mutable_bytes()));
  return key;
}

}  // namespace tontine::crypto
