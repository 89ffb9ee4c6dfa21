#include "common/crypto/sha256.h"

#include <cstdio>
#include <memory>

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/base/files.h"

namespace tontine::crypto {

absl::StatusOr<Sha256> Sha256::Create() {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256 init failed: ", OpenSslErrorText()));
  }
  return Sha256(std::move(ctx));
}

absl::Status Sha256::Update(absl::string_view data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256 update failed: ", OpenSslErrorText()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Sha256::Finish() {
  std::string digest(kSha256Bytes, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(digest.data()), &len) !=
          1 ||
      len != kSha256Bytes) {
    return absl::InternalError(absl::StrCat("SHA-256 final failed: ", OpenSslErrorText()));
  }
  return digest;
}

absl::StatusOr<std::string> Sha256Digest(absl::string_view data) {
  absl::StatusOr<Sha256> h = Sha256::Create();
  if (!h.ok()) return h.status();
  if (absl::Status st = h->Update(data); !st.ok()) return st;
  return h->Finish();
}

absl::StatusOr<std::string> Sha256File(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (f == nullptr) {
    int err = errno;
    std::string message = absl::StrCat(path.string(), ": cannot open: ", ErrnoText(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
  }
  absl::StatusOr<Sha256> h = Sha256::Create();
  if (!h.ok()) return h.status();
  std::string buf(1 << 20, '\0');
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    if (absl::Status st = h->Update(absl::string_view(buf.data(), n)); !st.ok()) return st;
  }
  if (std::ferror(f.get())) {
    return absl::InternalError(absl::StrCat(path.string(), ": read failed"));
  }
  return h->Finish();
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tontine::crypto
