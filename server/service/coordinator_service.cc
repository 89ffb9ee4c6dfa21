#include "server/service/coordinator_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/base/version.h"
#include "proto/wire_status.h"
#include "server/identity/invites.h"
#include "spdlog/spdlog.h"

namespace tontine::service {
namespace {

// An in-stream reactor that ends the call at once, for sessions refused before they start.
class RefusedSession final
    : public grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage> {
 public:
  explicit RefusedSession(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

std::string TagsText(const store::Tags& tags) {
  return absl::StrJoin(tags, ",", absl::PairFormatter("="));
}

}  // namespace

CoordinatorService::CoordinatorService(store::Store* store, Executor* executor,
                                       SessionRegistry* sessions, const Clock* clock,
                                       ServiceOptions options)
    : store_(store),
      executor_(executor),
      sessions_(sessions),
      clock_(clock),
      options_(std::move(options)),
      upload_gate_(options_.upload_slots) {}

grpc::ServerUnaryReactor* CoordinatorService::Enrol(grpc::CallbackServerContext* context,
                                                    const v1::EnrolRequest* request,
                                                    v1::EnrolResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string peer = context->peer();
  executor_->Schedule([this, reactor, request, response, peer] {
    absl::StatusOr<identity::Enrolment> enrolment =
        identity::RedeemInvite(*store_, request->invite_token(), *clock_);
    if (!enrolment.ok()) {
      spdlog::warn("enrolment refused for {}: {}", peer, DescribeStatus(enrolment.status()));
      reactor->Finish(ToGrpcStatus(enrolment.status()));
      return;
    }
    response->set_participant_id(enrolment->participant.id);
    response->set_participant_secret(enrolment->secret);
    response->mutable_tags()->insert(enrolment->participant.tags.begin(),
                                     enrolment->participant.tags.end());
    response->set_enrolled_unix_ms(absl::ToUnixMillis(enrolment->participant.enrolled));
    spdlog::info("enrolled {} (tags: {}; client {}; from {})", enrolment->participant.id,
                 TagsText(enrolment->participant.tags), request->client_version(), peer);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerBidiReactor<v1::ClientMessage, v1::ServerMessage>* CoordinatorService::Session(
    grpc::CallbackServerContext* context) {
  if (sessions_->size() >= static_cast<size_t>(options_.max_sessions)) {
    absl::Status full = WithReason(
        absl::ResourceExhaustedError("the coordinator has reached its session limit"),
        "TOO_MANY_SESSIONS");
    v1::ErrorDetail detail;
    detail.set_reason("TOO_MANY_SESSIONS");
    detail.set_retry_after_ms(60'000);
    return new RefusedSession(WithErrorDetail(full, detail));
  }
  SessionDeps deps{store_, executor_, sessions_, clock_, options_.coordinator_version,
                   options_.experiment, options_.heartbeat_interval, options_.on_refusal};
  return new SessionReactor(deps, context);
}

absl::Status CoordinatorService::FillStatus(const std::string& authorization,
                                            v1::CoordinatorStatus* response) {
  TONTINE_ASSIGN_OR_RETURN(store::ParticipantRecord caller,
                           identity::Authenticate(*store_, authorization));
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::ParticipantRecord> enrolled,
                           store_->ListParticipants());
  TONTINE_ASSIGN_OR_RETURN(std::optional<store::AdapterRecord> adapter, store_->LatestAdapter());
  response->set_coordinator_version(options_.coordinator_version);
  response->set_protocol_version(kProtocolVersion);
  response->set_experiment(options_.experiment);
  response->set_phase(v1::ROUND_PHASE_UNSPECIFIED);
  response->set_participants_enrolled(static_cast<uint32_t>(enrolled.size()));
  response->set_participants_connected(static_cast<uint32_t>(sessions_->size()));
  response->set_caller_participant_id(caller.id);
  if (RoundService* rounds = rounds_.load(); rounds != nullptr) rounds->FillStatus(*response);
  if (adapter.has_value()) {
    v1::AdapterVersion* latest = response->mutable_latest_adapter();
    latest->set_version(static_cast<uint64_t>(adapter->version));
    latest->set_sha256(adapter->sha256);
    latest->set_size_bytes(static_cast<uint64_t>(adapter->size_bytes));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CoordinatorService::GetStatus(grpc::CallbackServerContext* context,
                                                        const v1::GetStatusRequest*,
                                                        v1::CoordinatorStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Schedule([this, reactor, response, authorization = AuthorizationOf(context)] {
    reactor->Finish(ToGrpcStatus(FillStatus(authorization, response)));
  });
  return reactor;
}

}  // namespace tontine::service
