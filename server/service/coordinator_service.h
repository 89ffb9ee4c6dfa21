// The tontine.v1.Coordinator gRPC service (callback API). Each handler does O(1) work on the
// gRPC thread and hands store access to the executor.
//
// Enrol, Session (authentication, Hello/Welcome, heartbeats; round messages go to the
// SessionRegistry's round listener), GetStatus, and the transfers, which authenticate here
// and hand the rest to the RoundService: DownloadAdapter (chunks read from the version's
// file, resumable by offset) and UploadMaskedUpdate / GetUploadStatus.
// Safe for concurrent use.
#ifndef TONTINE_SERVER_SERVICE_COORDINATOR_SERVICE_H_
#define TONTINE_SERVER_SERVICE_COORDINATOR_SERVICE_H_

#include <atomic>
#include <string>

#include "common/base/clock.h"
#include "common/base/executor.h"
#include "server/service/round_service.h"
#include "server/service/session.h"
#include "server/service/session_registry.h"
#include "server/service/upload_gate.h"
#include "server/store/store.h"
#include "tontine/v1/coordinator.grpc.pb.h"

namespace tontine::service {

struct ServiceOptions {
  std::string coordinator_version;
  std::string experiment;  // name of the experiment being run, "" when idle
  absl::Duration heartbeat_interval = absl::Seconds(15);
  int max_sessions = 10'000;
  // UploadMaskedUpdate calls read at once; the others wait (upload_gate.h).
  int upload_slots = 4;
  // Called with the code of each refusal sent on a session stream, for /metrics. Optional.
  std::function<void(absl::StatusCode)> on_refusal;
};

class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  // All pointers must outlive the service.
  CoordinatorService(store::Store* store, Executor* executor, SessionRegistry* sessions,
                     const Clock* clock, ServiceOptions options);

  grpc::ServerUnaryReactor* Enrol(grpc::CallbackServerContext* context,
                                  const v1::EnrolRequest* request,
                                  v1::EnrolResponse* response) override;
  grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* Session(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::CoordinatorStatus* response) override;
  grpc::ServerWriteReactor<v1::AdapterChunk>* DownloadAdapter(
      grpc::CallbackServerContext* context, const v1::DownloadAdapterRequest* request) override;
  grpc::ServerReadReactor<v1::MaskedUpdateChunk>* UploadMaskedUpdate(
      grpc::CallbackServerContext* context, v1::UploadReceipt* response) override;
  grpc::ServerUnaryReactor* GetUploadStatus(grpc::CallbackServerContext* context,
                                            const v1::GetUploadStatusRequest* request,
                                            v1::UploadReceipt* response) override;

  // Who serves rounds; until set, transfers are FAILED_PRECONDITION "no experiment".
  // `rounds` must outlive the service.
  void SetRoundService(RoundService* rounds);

 private:
  absl::Status FillStatus(const std::string& authorization, v1::CoordinatorStatus* response);

  store::Store* const store_;
  Executor* const executor_;
  SessionRegistry* const sessions_;
  const Clock* const clock_;
  const ServiceOptions options_;
  std::atomic<RoundService*> rounds_{nullptr};
  UploadGate upload_gate_;
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_COORDINATOR_SERVICE_H_
