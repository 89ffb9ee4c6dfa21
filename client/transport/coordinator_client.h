// The client's gRPC connection to its coordinator: channel set-up (TLS with the pinned CA,
// or plaintext when explicitly insecure), the credential on every call, and gRPC statuses
// turned into absl::Status with the coordinator's ErrorDetail kept.
#ifndef TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_
#define TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_

#include <functional>
#include <memory>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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

// One open Session stream. Write may be called from several threads (writes are serialised);
// Read from one thread only. Cancel ends a blocked Read.
class SessionStream {
 public:
  explicit SessionStream(v1::Coordinator::Stub& stub, const std::string& authorization);
  // False once the stream is broken.
  bool Write(const v1::ClientMessage& message);
  bool Read(v1::ServerMessage* message);
  void Cancel();
  // The stream's final status, after Read returned false.
  grpc::Status Finish();

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>> stream_;
  absl::Mutex write_mu_;
};

// Safe for concurrent use.
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

  // Opens a Session stream (Hello not yet sent).
  std::unique_ptr<SessionStream> OpenSession();

  // Streams adapter `version` from `offset`, calling `on_chunk` for each chunk in order; an
  // error from it cancels the download and is returned.
  absl::Status DownloadAdapter(const v1::DownloadAdapterRequest& request,
                               const std::function<absl::Status(const v1::AdapterChunk&)>& on_chunk,
                               absl::Duration timeout = absl::Minutes(10));

  // Uploads `words` (the whole masked vector) from word `offset` in chunks of `chunk_words`,
  // the last chunk carrying `sha256` of all of it. `on_chunk` sees each chunk before it is
  // sent (the transparency log). The coordinator's receipt, or its error.
  absl::StatusOr<v1::UploadReceipt> UploadMaskedUpdate(
      uint64_t round_id, std::span<const uint32_t> words, uint64_t offset, uint64_t chunk_words,
      const std::string& sha256, const std::function<void(const v1::MaskedUpdateChunk&)>& on_chunk,
      absl::Duration timeout = absl::Minutes(10));

  absl::StatusOr<v1::UploadReceipt> GetUploadStatus(uint64_t round_id,
                                                    absl::Duration timeout = absl::Seconds(30));

  // gRPC status → absl::Status, explaining connection failures.
  absl::Status Convert(const grpc::Status& status) const;

  // Adds the credential to a context for calls made directly on stub().
  void Authorize(grpc::ClientContext& context) const;
  v1::Coordinator::Stub& stub() { return *stub_; }

 private:
  CoordinatorClient(ChannelOptions options, std::shared_ptr<grpc::Channel> channel);

  const ChannelOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace tontine::transport

#endif  // TONTINE_CLIENT_TRANSPORT_COORDINATOR_CLIENT_H_
