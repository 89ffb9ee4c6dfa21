#include "common/crypto/random.h"

#include <climits>

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_ptr.h"

namespace tontine::crypto {

absl::Status RandomBytes(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return absl::InternalError(absl::StrCat("RAND_bytes failed: ", OpenSslErrorText()));
    }
    done += chunk;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RandomString(size_t n) {
  std::string s(n, '\0');
  absl::Status st = RandomBytes({reinterpret_cast<uint8_t*>(s.data()), s.size()});
  if (!st.ok()) return st;
  return s;
}

}  // namespace tontine::crypto
