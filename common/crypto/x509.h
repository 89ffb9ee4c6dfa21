// X.509 material for the coordinator's TLS: a private CA per coordinator, a server certificate
// it issues, and the checks a client makes when it pins that CA by fingerprint.
// Keys are ECDSA P-256 (supported by every TLS stack gRPC may sit on).
#ifndef TONTINE_COMMON_CRYPTO_X509_H_
#define TONTINE_COMMON_CRYPTO_X509_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine::crypto {

// A PEM private key and the PEM certificate for it.
struct KeyAndCertificate {
  std::string private_key_pem;
  std::string certificate_pem;
};

// Creates a self-signed CA (basicConstraints CA:TRUE, pathlen 0; keyCertSign) valid from now
// for `validity`.
absl::StatusOr<KeyAndCertificate> CreateCertificateAuthority(absl::string_view common_name,
                                                             absl::Duration validity);

struct ServerCertificateOptions {
  std::string common_name;
  // subjectAltName DNS entries, e.g. "localhost", "coordinator.example.org".
  std::vector<std::string> dns_names;
  // subjectAltName IP entries, e.g. "127.0.0.1", "::1".
  std::vector<std::string> ip_addresses;
  absl::Duration validity = absl::Hours(24 * 825);
};

// Issues a TLS server certificate (extendedKeyUsage serverAuth) signed by `ca`.
// INVALID_ARGUMENT for a malformed CA key or certificate, or a bad SAN entry.
absl::StatusOr<KeyAndCertificate> IssueServerCertificate(const KeyAndCertificate& ca,
                                                         const ServerCertificateOptions& options);

// SHA-256 over the DER encoding of the first certificate in `certificate_pem` (32 bytes):
// the value `openssl x509 -fingerprint -sha256` prints. INVALID_ARGUMENT if not a certificate.
absl::StatusOr<std::string> CertificateFingerprint(absl::string_view certificate_pem);

// The DER-encoded certificate's SHA-256 (as above) for DER input.
absl::StatusOr<std::string> CertificateFingerprintDer(absl::string_view certificate_der);

// Converts one DER certificate to PEM.
absl::StatusOr<std::string> DerToPem(absl::string_view certificate_der);

// The subjectAltName entries as "DNS:name" / "IP:addr", for display and tests.
absl::StatusOr<std::vector<std::string>> SubjectAltNames(absl::string_view certificate_pem);

// OK when `leaf_pem` is signed by the CA in `ca_pem`, both are within validity, and the CA is
// a CA. UNAUTHENTICATED with OpenSSL's reason otherwise.
absl::Status VerifyIssuedBy(absl::string_view leaf_pem, absl::string_view ca_pem);

}  // namespace tontine::crypto

#endif  // TONTINE_COMMON_CRYPTO_X509_H_
