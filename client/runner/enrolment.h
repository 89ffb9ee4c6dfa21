// The client's enrolment: redeeming an invite and keeping the resulting identity.
//
// The client state directory holds:
//   credential.json   0600  coordinator address, participant id, secret, CA fingerprint, tags
//   ca.pem            0644  the pinned coordinator CA (absent for --insecure enrolments)
#ifndef TONTINE_CLIENT_RUNNER_ENROLMENT_H_
#define TONTINE_CLIENT_RUNNER_ENROLMENT_H_

#include <filesystem>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/transport/coordinator_client.h"

namespace tontine::runner {

// What the client remembers from its enrolment.
struct ClientIdentity {
  std::string coordinator;     // host:port
  bool insecure = false;
  std::string ca_fingerprint;  // 32 bytes; empty when insecure
  std::string ca_pem;          // from ca.pem; empty when insecure
  std::string participant_id;
  std::string secret;          // 32 bytes
  std::map<std::string, std::string> tags;
  absl::Time enrolled;

  // "<participant id>.<secret>" for the authorization header.
  std::string Credential() const;
  // Channel options to reach the coordinator as this participant. `address_override`
  // replaces the enrolment address when not empty.
  transport::ChannelOptions Channel(const std::string& address_override = "") const;
};

struct EnrolOptions {
  std::filesystem::path state_dir;
  std::string coordinator;   // host:port
  std::string fingerprint;   // as given by the operator (any of the accepted spellings)
  std::string invite_token;
  bool insecure = false;     // plaintext coordinator: no CA to pin
};

// Pins the CA (unless insecure), redeems the invite and writes the identity files.
// ALREADY_EXISTS (changing nothing) when the state dir already holds a credential;
// INVALID_ARGUMENT for a malformed fingerprint or a fingerprint given with --insecure;
// the coordinator's or the pinning's error otherwise.
absl::StatusOr<ClientIdentity> Enrol(const EnrolOptions& options);

// Reads the identity from `state_dir`. FAILED_PRECONDITION saying how to enrol when there is
// none; INVALID_ARGUMENT naming the file and the problem when it is damaged.
absl::StatusOr<ClientIdentity> LoadIdentity(const std::filesystem::path& state_dir);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_ENROLMENT_H_
