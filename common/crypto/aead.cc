#include "common/crypto/aead.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"
#include "common/crypto/random.h"

namespace tontine::crypto {
namespace {

absl::Status OpenSslFailure(absl::string_view what) {
  return absl::InternalError(absl::StrCat("AES-256-GCM ", what, ": ", OpenSslErrorText()));
}

const uint8_t* Bytes(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// EVP_*Update takes an int length: feed `in` in pieces. `out` null means associated data.
bool UpdateChunked(EVP_CIPHER_CTX* ctx, bool encrypt, uint8_t* out, absl::string_view in) {
  constexpr size_t kMaxChunk = size_t{1} << 30;
  for (size_t done = 0; done < in.size();) {
    int len = static_cast<int>(std::min(in.size() - done, kMaxChunk));
    int out_len = 0;
    uint8_t* dst = out == nullptr ? nullptr : out + done;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, dst, &out_len, Bytes(in) + done, len)
                     : EVP_DecryptUpdate(ctx, dst, &out_len, Bytes(in) + done, len);
    if (ok != 1 || out_len != len) return false;
    done += static_cast<size_t>(len);
  }
  return true;
}

// A context keyed with `key` and `nonce`, for encryption or decryption.
absl::StatusOr<EvpCipherCtxPtr> NewGcmContext(bool encrypt, const Secret32& key,
                                              absl::string_view nonce) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslFailure("context");
  int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr)
                   : EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  if (ok != 1 || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                     static_cast<int>(kGcmNonceBytes), nullptr) != 1) {
    return OpenSslFailure("init");
  }
  ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes().data(), Bytes(nonce))
               : EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes().data(), Bytes(nonce));
  if (ok != 1) return OpenSslFailure("key set-up");
  return ctx;
}

}  // namespace

absl::StatusOr<std::string> Aes256GcmSeal(const Secret32& key, absl::string_view plaintext,
                                          absl::string_view associated_data) {
  TONTINE_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceBytes));
  return Aes256GcmSealWithNonce(key, nonce, plaintext, associated_data);
}

absl::StatusOr<std::string> Aes256GcmSealWithNonce(const Secret32& key, absl::string_view nonce,
                                                   absl::string_view plaintext,
                                                   absl::string_view associated_data) {
  if (nonce.size() != kGcmNonceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-256-GCM nonce must be 12 bytes, got ", nonce.size()));
  }
  TONTINE_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, NewGcmContext(/*encrypt=*/true, key, nonce));
  std::string sealed(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
  std::copy(nonce.begin(), nonce.end(), sealed.begin());
  uint8_t* body = reinterpret_cast<uint8_t*>(sealed.data()) + kGcmNonceBytes;
  int final_len = 0;
  if (!UpdateChunked(ctx.get(), true, nullptr, associated_data) ||
      !UpdateChunked(ctx.get(), true, body, plaintext) ||
      EVP_EncryptFinal_ex(ctx.get(), body + plaintext.size(), &final_len) != 1 || final_len != 0) {
    return OpenSslFailure("encryption");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          body + plaintext.size()) != 1) {
    return OpenSslFailure("tag");
  }
  return sealed;
}

absl::StatusOr<std::string> Aes256GcmOpen(const Secret32& key, absl::string_view sealed,
                                          absl::string_view associated_data) {
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-256-GCM message of ", sealed.size(), " bytes is shorter than nonce and tag (",
        kGcmNonceBytes + kGcmTagBytes, ")"));
  }
  absl::string_view nonce = sealed.substr(0, kGcmNonceBytes);
  absl::string_view ciphertext =
      sealed.substr(kGcmNonceBytes, sealed.size() - kGcmNonceBytes - kGcmTagBytes);
  std::array<uint8_t, kGcmTagBytes> tag;
  std::copy_n(sealed.end() - kGcmTagBytes, kGcmTagBytes, tag.begin());

  TONTINE_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, NewGcmContext(/*encrypt=*/false, key, nonce));
  std::string plaintext(ciphertext.size(), '\0');
  uint8_t* out = reinterpret_cast<uint8_t*>(plaintext.data());
  if (!UpdateChunked(ctx.get(), false, nullptr, associated_data) ||
      !UpdateChunked(ctx.get(), false, out, ciphertext) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag.data()) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return OpenSslFailure("decryption");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out + ciphertext.size(), &final_len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    OpenSslErrorText();  // drop the queued error: the status says what happened
    return absl::DataLossError(
        "AES-256-GCM authentication tag mismatch: the message was altered, or the key or "
        "associated data is wrong");
  }
  return plaintext;
}

}  // namespace tontine::crypto
