#include "server/service/session_registry.h"

#include "proto/wire_status.h"
#include "spdlog/spdlog.h"

namespace tontine::service {

void SessionRegistry::SetRoundListener(SessionListener* listener) {
  absl::MutexLock lock(&mu_);
  round_listener_ = listener;
}

std::shared_ptr<SessionHandle> SessionRegistry::Find(const std::string& participant_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(participant_id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<SessionHandle>> SessionRegistry::Sessions() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<SessionHandle>> out;
  for (const auto& [id, session] : sessions_) out.push_back(session);
  return out;
}

size_t SessionRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

void SessionRegistry::RecordSeen(const std::string& participant_id) {
  absl::Time now = clock_->Now();
  executor_->Schedule([store = store_, participant_id, now] {
    absl::Status st = store->TouchParticipant(participant_id, now);
    if (!st.ok()) spdlog::warn("recording last-seen of {}: {}", participant_id, DescribeStatus(st));
  });
}

void SessionRegistry::OnSessionStarted(const std::shared_ptr<SessionHandle>& session,
                                       const v1::Hello& hello) {
  std::shared_ptr<SessionHandle> replaced;
  SessionListener* listener = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = sessions_.try_emplace(session->participant_id(), session);
    if (!inserted) {
      replaced = std::move(it->second);
      it->second = session;
    }
    listener = round_listener_;
  }
  if (replaced != nullptr) {
    // The laptop reconnected before the old stream timed out: the newest session wins.
    replaced->Close(WithReason(absl::AbortedError("replaced by a newer session"),
                               "SESSION_REPLACED"));
  }
  RecordSeen(session->participant_id());
  if (listener != nullptr) listener->OnSessionStarted(session, hello);
}

void SessionRegistry::OnClientMessage(const std::shared_ptr<SessionHandle>& session,
                                      const v1::ClientMessage& message) {
  if (message.has_heartbeat()) {
    RecordSeen(session->participant_id());
    return;
  }
  SessionListener* listener = nullptr;
  {
    absl::MutexLock lock(&mu_);
    listener = round_listener_;
  }
  if (listener != nullptr) {
    listener->OnClientMessage(session, message);
    return;
  }
  v1::ServerMessage refused;
  *refused.mutable_refused() = ToRpcStatus(WithReason(
      absl::FailedPreconditionError("no round in progress"), "NO_ROUND"));
  session->Send(std::move(refused));
}

void SessionRegistry::OnSessionEnded(const std::shared_ptr<SessionHandle>& session) {
  SessionListener* listener = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session->participant_id());
    if (it != sessions_.end() && it->second == session) sessions_.erase(it);
    listener = round_listener_;
  }
  if (listener != nullptr) listener->OnSessionEnded(session);
}

}  // namespace tontine::service
