#include "server/service/session_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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
  return it == sessions_.end() ? nullptr : it->second.session;
}

std::vector<std::shared_ptr<SessionHandle>> SessionRegistry::Sessions() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<SessionHandle>> out;
  for (const auto& [id, entry] : sessions_) out.push_back(entry.session);
  return out;
}

size_t SessionRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

SessionRegistry::~SessionRegistry() { StopReaper(); }

int SessionRegistry::CloseSilent(absl::Duration silence) {
  const absl::Time now = clock_->Now();
  std::vector<std::pair<std::shared_ptr<SessionHandle>, absl::Duration>> silent;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : sessions_) {
      if (now - entry.last_heard > silence && !entry.session->closed()) {
        silent.emplace_back(entry.session, now - entry.last_heard);
      }
    }
  }
  for (const auto& [session, quiet] : silent) {
    spdlog::warn("closing the session of {}: nothing heard for {}", session->participant_id(),
                 absl::FormatDuration(absl::Trunc(quiet, absl::Milliseconds(100))));
    session->Close(WithReason(
        absl::DeadlineExceededError(absl::StrCat(
            "nothing heard from this session for ", absl::FormatDuration(silence),
            " (three heartbeat intervals); reconnect")),
        "HEARTBEAT_TIMEOUT"));
  }
  return static_cast<int>(silent.size());
}

void SessionRegistry::StartReaper(absl::Duration heartbeat_interval) {
  StopReaper();
  {
    absl::MutexLock lock(&mu_);
    reaper_stopping_ = false;
  }
  reaper_ = std::thread([this, heartbeat_interval] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return reaper_stopping_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping), heartbeat_interval / 2)) return;
      }
      CloseSilent(3 * heartbeat_interval);
    }
  });
}

void SessionRegistry::StopReaper() {
  {
    absl::MutexLock lock(&mu_);
    reaper_stopping_ = true;
  }
  if (reaper_.joinable()) reaper_.join();
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
    Entry& entry = sessions_[session->participant_id()];
    replaced = std::move(entry.session);
    entry = {session, clock_->Now()};
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
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session->participant_id());
    if (it != sessions_.end() && it->second.session == session) {
      it->second.last_heard = clock_->Now();
    }
  }
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
    if (it != sessions_.end() && it->second.session == session) sessions_.erase(it);
    listener = round_listener_;
  }
  if (listener != nullptr) listener->OnSessionEnded(session);
}

}  // namespace tontine::service
