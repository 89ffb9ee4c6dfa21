#include "common/crypto/openssl_ptr.h"

#include <openssl/err.h>

namespace tontine::crypto {

std::string OpenSslErrorText() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "no OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace tontine::crypto
