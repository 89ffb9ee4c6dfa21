// One client's Session stream on the coordinator (see proto/tontine/v1/session.proto).
//
// Lifecycle: the service creates a SessionReactor per Session call. It authenticates the
// caller (off the gRPC thread), waits for Hello, then hands the session's SessionHandle to a
// SessionListener (the round manager) and delivers every later ClientMessage to it. The
// listener talks back through the handle, which stays valid after the stream ends (sends
// become no-ops), so it may be kept in maps without lifetime worries.
#ifndef TONTINE_SERVER_SERVICE_SESSION_H_
#define TONTINE_SERVER_SERVICE_SESSION_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/executor.h"
#include "server/store/store.h"
#include "tontine/v1/session.pb.h"

namespace tontine::service {

class SessionReactor;

// The "authorization" metadata value of a call, or "" when absent.
std::string AuthorizationOf(const grpc::CallbackServerContext* context);

// The sending side of one session. Safe for concurrent use.
class SessionHandle {
 public:
  // `on_refusal`, optional, is called with the code of each `refused` message sent.
  SessionHandle(std::string participant_id, store::Tags tags,
                std::function<void(absl::StatusCode)> on_refusal = {})
      : participant_id_(std::move(participant_id)),
        tags_(std::move(tags)),
        on_refusal_(std::move(on_refusal)) {}

  const std::string& participant_id() const { return participant_id_; }
  const store::Tags& tags() const { return tags_; }

  // Queues `message` for the client. Dropped once the session is closing or gone.
  void Send(v1::ServerMessage message);
  // Ends the stream with `status` once queued messages are written. Idempotent.
  void Close(const absl::Status& status);
  // Whether the stream has ended or is ending.
  bool closed() const;
  // Bytes of ServerMessages written to the client so far.
  uint64_t bytes_sent() const;

 private:
  friend class SessionReactor;

// The "authorization" metadata value of a call, or "" when absent.
std::string AuthorizationOf(const grpc::CallbackServerContext* context);

  // Starts the next write or the finish, if due.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string participant_id_;
  const store::Tags tags_;
  const std::function<void(absl::StatusCode)> on_refusal_;

  mutable absl::Mutex mu_;
  SessionReactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;  // null once the stream is done
  std::deque<v1::ServerMessage> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::ServerMessage> in_flight_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> finish_ ABSL_GUARDED_BY(mu_);
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
};

// Receives the events of authenticated sessions. Methods are called on gRPC threads and
// must not block: hand long work to an executor.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // A participant completed Hello. The Welcome has already been queued.
  virtual void OnSessionStarted(const std::shared_ptr<SessionHandle>& session,
                                const v1::Hello& hello) = 0;
  // Any message after Hello (Heartbeats included).
  virtual void OnClientMessage(const std::shared_ptr<SessionHandle>& session,
                               const v1::ClientMessage& message) = 0;
  // The stream ended (client left, network lost, or the session was closed).
  virtual void OnSessionEnded(const std::shared_ptr<SessionHandle>& session) = 0;
};

struct SessionDeps {
  store::Store* store;         // must outlive the reactor
  Executor* executor;          // must outlive the reactor
  SessionListener* listener;   // must outlive the reactor
  const Clock* clock;          // must outlive the reactor
  std::string coordinator_version;
  std::string experiment;
  absl::Duration heartbeat_interval;
  // Called with the code of each refusal sent on a session, for /metrics. Optional.
  std::function<void(absl::StatusCode)> on_refusal;
};

// The reactor for one Session call. Deletes itself when the call is done.
class SessionReactor final : public grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage> {
 public:
  SessionReactor(const SessionDeps& deps, grpc::CallbackServerContext* context);

 private:
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override {}

  void Authenticated(absl::StatusOr<store::ParticipantRecord> participant);
  // Starts the next read unless the session is ending (a read must not follow Finish).
  void ReadNext();
  void HandleHello(const v1::ClientMessage& message);
  // Ends the call early (before a handle exists).
  void FinishEarly(const absl::Status& status);

  friend class SessionHandle;

  const SessionDeps deps_;
  v1::ClientMessage incoming_;
  std::shared_ptr<SessionHandle> handle_;  // set once authenticated; read on reactor threads
  bool hello_done_ = false;
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_SESSION_H_
