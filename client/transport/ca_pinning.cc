#include "client/transport/ca_pinning.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/encoding.h"
#include "common/base/status_macros.h"
#include "common/crypto/openssl_ptr.h"
#include "common/crypto/x509.h"

namespace tontine::transport {
namespace {

struct SslCtxDeleter {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslDeleter {
  void operator()(SSL* p) const { SSL_free(p); }
};

std::string HostOf(absl::string_view address) {
  size_t colon = address.rfind(':');
  absl::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

absl::Status Unavailable(absl::string_view address, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("cannot reach the coordinator at ", address,
                                             " over TLS: ", what, " (",
                                             crypto::OpenSslErrorText(), ")"));
}

// Opens a TCP connection (bounded by `timeout`) and performs a TLS handshake without
// verification: the chain is checked against the pinned fingerprint afterwards.
absl::StatusOr<std::unique_ptr<SSL, SslDeleter>> Handshake(absl::string_view address,
                                                           SSL_CTX* ctx, absl::Duration timeout) {
  std::string target(address);
  BIO* bio = BIO_new_connect(target.c_str());
  if (bio == nullptr) return Unavailable(address, "bad address");
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx));
  if (ssl == nullptr) {
    BIO_free_all(bio);
    return Unavailable(address, "SSL_new failed");
  }
  SSL_set_bio(ssl.get(), bio, bio);  // ssl owns bio from here
  BIO_set_nbio(bio, 1);
  if (BIO_do_connect_retry(bio, static_cast<int>(absl::ToInt64Seconds(timeout)), 0) <= 0) {
    return Unavailable(address, "connection failed");
  }
  int fd = -1;
  BIO_get_fd(bio, &fd);
  BIO_socket_nbio(fd, 0);
  timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string host = HostOf(address);
  if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  if (SSL_connect(ssl.get()) != 1) {
    return Unavailable(address, "TLS handshake failed (is the coordinator running with "
                                "--insecure? then enrol with --insecure too)");
  }
  return ssl;
}

absl::StatusOr<std::string> CertDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return absl::InternalError("cannot encode a certificate");
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return bytes;
}

}  // namespace

absl::StatusOr<std::string> FetchPinnedCa(absl::string_view address, absl::string_view fingerprint,
                                          absl::Duration timeout) {
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return Unavailable(address, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  TONTINE_ASSIGN_OR_RETURN(auto ssl, Handshake(address, ctx.get(), timeout));

  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  X509* leaf = SSL_get0_peer_certificate(ssl.get());
  if (chain == nullptr || leaf == nullptr) {
    return absl::UnauthenticatedError("the coordinator presented no certificate");
  }
  std::vector<std::string> seen;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    TONTINE_ASSIGN_OR_RETURN(std::string der, CertDer(sk_X509_value(chain, i)));
    TONTINE_ASSIGN_OR_RETURN(std::string fp, crypto::CertificateFingerprintDer(der));
    if (fp != fingerprint) {
      seen.push_back(FormatFingerprint(fp));
      continue;
    }
    TONTINE_ASSIGN_OR_RETURN(std::string pem, crypto::DerToPem(der));
    TONTINE_ASSIGN_OR_RETURN(std::string leaf_der, CertDer(leaf));
    TONTINE_ASSIGN_OR_RETURN(std::string leaf_pem, crypto::DerToPem(leaf_der));
    absl::Status issued = crypto::VerifyIssuedBy(leaf_pem, pem);
    if (!issued.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the coordinator at ", address, " presented the pinned CA, but its server "
          "certificate was not issued by it: ", issued.message()));
    }
    return pem;
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the coordinator at ", address, " does not present the CA with fingerprint ",
      FormatFingerprint(fingerprint), " (it presented ",
      seen.empty() ? std::string("none") : absl::StrJoin(seen, ", "),
      "); check the fingerprint the operator gave you — a mismatch is what an intercepted "
      "connection looks like, so nothing was sent"));
}

}  // namespace tontine::transport
