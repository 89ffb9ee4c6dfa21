// The client's gRPC connection to its coordinator: channel set-up (TLS with the pinned CA,
// or plaintext when explicitly insecure), the credential on every call, and gRPC statuses
// turned into absl::Status with the coordinator's ErrorDetail kept.
#ifndef TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_
#define TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tontine/v1/coordinator.grpc.pb.h"

namespace tontine::transport {

struct ChannelOptions {
  std::string address;     // host:port
  bool insecure = false;   // plaintext; only with an explicit --insecure
  std::string ca_pem;      // the pinned CA (TLS)
  std::string credential;  // "<participant id>.<secret>"; empty before enrolment
  uint64_t max_message_bytes = 8ull << 20;
};

// Not thread-safe for Session streams (one per object); unary calls are safe concurrently.
class CoordinatorClient {
 public:
  static std::unique_ptr<CoordinatorClient> Create(const ChannelOptions& options);

  // Redeems an invite. The coordinator's status codes pass through (see invites.h there);
  // UNAVAILABLE messages say how the connection failed.
  absl::StatusOr<v1::EnrolResponse> Enrol(absl::string_view invite_token,
                                          absl::Duration timeout = absl::Seconds(30));

  absl::StatusOr<v1::CoordinatorStatus> GetStatus(absl::Duration timeout = absl::Seconds(30));

  // Opens a Session, sends `hello` and waits for Welcome. The stream is then closed
  // (half-close, drain, finish): a connectivity and credential check.
  absl::StatusOr<v1::Welcome> Handshake(const v1::Hello& hello,
                                        absl::Duration timeout = absl::Seconds(30));

  // Adds the credential to a context for calls made directly on stub().
  void Authorize(grpc::ClientContext& context) const;
  v1::Coordinator::Stub& stub() { return *stub_; }

 private:
  CoordinatorClient(ChannelOptions options, std::shared_ptr<grpc::Channel> channel);
  // gRPC status → absl::Status, explaining connection failures.
  absl::Status Convert(const grpc::Status& status) const;

  const ChannelOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace tontine::transport

#endif  // TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_
