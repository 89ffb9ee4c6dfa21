// Trust on first contact, made safe by a fingerprint: the contributor gets the SHA-256
// fingerprint of the coordinator's CA from the operator together with the invite. Before
// anything secret is sent, the client opens a TLS connection, finds the certificate with that
// fingerprint in the chain the coordinator presents, checks that the server certificate was
// issued by it, and from then on uses it as its only root (like kubeadm's
// --discovery-token-ca-cert-hash).
#ifndef TONTINE_CLIENT_TRANSPORT_CA_PINNING_H_
#define TONTINE_CLIENT_TRANSPORT_CA_PINNING_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine::transport {

// Connects to `address` (host:port), and returns the PEM of the CA certificate whose SHA-256
// fingerprint is `fingerprint` (32 bytes), after checking that it issued the server's
// certificate. Errors:
//   UNAVAILABLE      cannot connect or no TLS handshake (e.g. the coordinator is plaintext)
//   UNAUTHENTICATED  no certificate with that fingerprint is presented, or the server
//                    certificate is not issued by it — the message says to check the
//                    fingerprint, because this is what an interception looks like.
absl::StatusOr<std::string> FetchPinnedCa(absl::string_view address, absl::string_view fingerprint,
                                          absl::Duration timeout = absl::Seconds(15));

}  // namespace tontine::transport

#endif  // TONTINE_CLIENT_TRANSPORT_CA_PINNING_H_
