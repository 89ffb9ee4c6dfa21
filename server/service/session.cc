#include "server/service/session.h"

#include "absl/strings/str_cat.h"
#include "common/base/version.h"
#include "proto/wire_status.h"
#include "server/identity/invites.h"
#include "spdlog/spdlog.h"

namespace tontine::service {

std::string AuthorizationOf(const grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// ---- SessionHandle ----

void SessionHandle::Send(v1::ServerMessage message) {
  if (message.has_refused() && on_refusal_) {
    on_refusal_(static_cast<absl::StatusCode>(message.refused().code()));
  }
  absl::MutexLock lock(&mu_);
  if (reactor_ == nullptr || finish_.has_value()) return;
  queue_.push_back(std::move(message));
  PumpLocked();
}

void SessionHandle::Close(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finish_.has_value()) return;
  finish_ = status;
  PumpLocked();
}

bool SessionHandle::closed() const {
  absl::MutexLock lock(&mu_);
  return reactor_ == nullptr || finish_.has_value();
}

uint64_t SessionHandle::bytes_sent() const {
  absl::MutexLock lock(&mu_);
  return bytes_sent_;
}

void SessionHandle::PumpLocked() {
  // gRPC defers reactions started from a reaction, and a reactor is not deleted before its
  // Finish, so calling StartWrite/Finish under mu_ neither re-enters nor outlives it.
  if (reactor_ == nullptr || in_flight_.has_value() || finish_started_) return;
  if (!queue_.empty()) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    reactor_->StartWrite(&*in_flight_);
    return;
  }
  if (finish_.has_value()) {
    finish_started_ = true;
    reactor_->Finish(ToGrpcStatus(*finish_));
  }
}

// ---- SessionReactor ----

SessionReactor::SessionReactor(const SessionDeps& deps, grpc::CallbackServerContext* context)
    : deps_(deps) {
  std::string authorization = AuthorizationOf(context);
  // Authentication reads the store, so it runs off the gRPC thread. The reactor cannot be
  // deleted meanwhile: OnDone waits for Finish, which only the continuation calls.
  deps_.executor->Schedule([this, authorization] {
    Authenticated(identity::Authenticate(*deps_.store, authorization));
  });
}

void SessionReactor::FinishEarly(const absl::Status& status) { Finish(ToGrpcStatus(status)); }

void SessionReactor::Authenticated(absl::StatusOr<store::ParticipantRecord> participant) {
  if (!participant.ok()) {
    spdlog::warn("session refused: {}", DescribeStatus(participant.status()));
    FinishEarly(participant.status());
    return;
  }
  handle_ = std::make_shared<SessionHandle>(participant->id, participant->tags, deps_.on_refusal);
  {
    absl::MutexLock lock(&handle_->mu_);
    handle_->reactor_ = this;
  }
  ReadNext();
}

void SessionReactor::ReadNext() {
  absl::MutexLock lock(&handle_->mu_);
  if (handle_->finish_.has_value() || handle_->finish_started_) return;
  StartRead(&incoming_);
}

void SessionReactor::HandleHello(const v1::ClientMessage& message) {
  if (!message.has_hello()) {
    handle_->Close(WithReason(absl::FailedPreconditionError(
                                  "the first message on a session must be Hello"),
                              "HELLO_EXPECTED"));
    return;
  }
  const v1::Hello& hello = message.hello();
  if (hello.protocol_version() != kProtocolVersion) {
    handle_->Close(WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "client speaks protocol version ", hello.protocol_version(),
            ", this coordinator speaks ", kProtocolVersion, "; upgrade tontine-client")),
        "PROTOCOL_VERSION"));
    return;
  }
  hello_done_ = true;
  v1::ServerMessage welcome_message;
  v1::Welcome& welcome = *welcome_message.mutable_welcome();
  welcome.set_participant_id(handle_->participant_id());
  welcome.set_coordinator_version(deps_.coordinator_version);
  welcome.set_protocol_version(kProtocolVersion);
  welcome.set_heartbeat_interval_ms(absl::ToInt64Milliseconds(deps_.heartbeat_interval));
  welcome.set_server_unix_ms(absl::ToUnixMillis(deps_.clock->Now()));
  welcome.mutable_tags()->insert(handle_->tags().begin(), handle_->tags().end());
  welcome.set_experiment(deps_.experiment);
  handle_->Send(std::move(welcome_message));
  spdlog::info("session started: {} (client {})", handle_->participant_id(),
               hello.client_version());
  deps_.listener->OnSessionStarted(handle_, hello);
}

void SessionReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client half-closed or the call broke: finish once our writes are out.
    handle_->Close(absl::OkStatus());
    return;
  }
  if (!hello_done_) {
    HandleHello(incoming_);
  } else {
    deps_.listener->OnClientMessage(handle_, incoming_);
  }
  ReadNext();
}

void SessionReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&handle_->mu_);
  if (handle_->in_flight_.has_value()) {
    handle_->bytes_sent_ += handle_->in_flight_->ByteSizeLong();
  }
  handle_->in_flight_.reset();
  if (!ok) {
    // The stream is broken; nothing more can be written.
    handle_->queue_.clear();
    if (!handle_->finish_.has_value()) {
      handle_->finish_ = absl::UnavailableError("session stream broken");
    }
  }
  handle_->PumpLocked();
}

void SessionReactor::OnDone() {
  if (handle_ != nullptr) {
    {
      absl::MutexLock lock(&handle_->mu_);
      handle_->reactor_ = nullptr;
      handle_->queue_.clear();
    }
    if (hello_done_) {
      spdlog::info("session ended: {}", handle_->participant_id());
      deps_.listener->OnSessionEnded(handle_);
    }
  }
  delete this;
}

}  // namespace tontine::service
