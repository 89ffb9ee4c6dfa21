// The connected participants: at most one live session each.
//
// Implements SessionListener for what every session needs regardless of rounds (registry,
// heartbeats, last-seen) and forwards round messages to a RoundListener, if one is set.
// Closes sessions that stay silent too long (CloseSilent, or the reaper thread that
// StartReaper runs). Safe for concurrent use.
#ifndef TONTINE_SERVER_SERVICE_SESSION_REGISTRY_H_
#define TONTINE_SERVER_SERVICE_SESSION_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/base/clock.h"
#include "common/base/executor.h"
#include "server/service/session.h"
#include "server/store/store.h"

namespace tontine::service {

class SessionRegistry final : public SessionListener {
 public:
  // `store`, `executor` and `clock` must outlive this object.
  SessionRegistry(store::Store* store, Executor* executor, const Clock* clock)
      : store_(store), executor_(executor), clock_(clock) {}
  ~SessionRegistry();

  // Sets who receives round messages (Heartbeats are handled here). Until one is set, round
  // messages are refused with FAILED_PRECONDITION "no round in progress".
  void SetRoundListener(SessionListener* listener);

  // The live session of `participant_id`, or null.
  std::shared_ptr<SessionHandle> Find(const std::string& participant_id) const;
  std::vector<std::shared_ptr<SessionHandle>> Sessions() const;
  size_t size() const;

  // Closes, with DEADLINE_EXCEEDED (reason HEARTBEAT_TIMEOUT), every session from which
  // nothing (Hello, Heartbeat or any other message) has arrived for longer than `silence`
  // by the registry's clock, so that a hung client does not hold its place in a cohort.
  // Returns how many were closed.
  int CloseSilent(absl::Duration silence);
  // Runs CloseSilent(3 · heartbeat_interval) every half interval on a thread of its own,
  // the contract of Welcome.heartbeat_interval_ms, until StopReaper or destruction.
  void StartReaper(absl::Duration heartbeat_interval);
  void StopReaper();

  void OnSessionStarted(const std::shared_ptr<SessionHandle>& session,
                        const v1::Hello& hello) override;
  void OnClientMessage(const std::shared_ptr<SessionHandle>& session,
                       const v1::ClientMessage& message) override;
  void OnSessionEnded(const std::shared_ptr<SessionHandle>& session) override;

 private:
  void RecordSeen(const std::string& participant_id);

  store::Store* const store_;
  Executor* const executor_;
  const Clock* const clock_;

  mutable absl::Mutex mu_;
  struct Entry {
    std::shared_ptr<SessionHandle> session;
    absl::Time last_heard;  // when the session last sent anything
  };
  std::map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
  bool reaper_stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
  SessionListener* round_listener_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_SESSION_REGISTRY_H_
