#include "client/transport/coordinator_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/version.h"
#include "proto/wire_status.h"

namespace tontine::transport {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
}

}  // namespace

std::unique_ptr<CoordinatorClient> CoordinatorClient::Create(const ChannelOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<CoordinatorClient>(new CoordinatorClient(options, std::move(channel)));
}

CoordinatorClient::CoordinatorClient(ChannelOptions options,
                                     std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::Coordinator::NewStub(channel_)) {}

void CoordinatorClient::Authorize(grpc::ClientContext& context) const {
  if (!options_.credential.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.credential));
  }
}

absl::Status CoordinatorClient::Convert(const grpc::Status& status) const {
  absl::Status converted = FromGrpcStatus(status);
  if (converted.code() != absl::StatusCode::kUnavailable &&
      converted.code() != absl::StatusCode::kDeadlineExceeded) {
    return converted;
  }
  std::string hint;
  if (options_.insecure) {
    hint = "; if the coordinator serves TLS (the default), connect without --insecure";
  } else if (absl::StrContains(converted.message(), "certificate verify failed")) {
    hint = "; the coordinator's certificate is not signed by the CA pinned at enrolment: this "
           "is another coordinator, or it was re-initialised (enrol again with a new invite)";
  } else {
    hint = "; check the address, that the coordinator is running, and that it is not in "
           "--insecure mode";
  }
  return absl::Status(converted.code(),
                      absl::StrCat("cannot reach the coordinator at ", options_.address, " ",
                                   options_.insecure ? "(plaintext)" : "(TLS)", ": ",
                                   converted.message(), hint));
}

absl::StatusOr<v1::EnrolResponse> CoordinatorClient::Enrol(absl::string_view invite_token,
                                                            absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  v1::EnrolRequest request;
  request.set_invite_token(std::string(invite_token));
  request.set_client_version(kVersion);
  v1::EnrolResponse response;
  grpc::Status status = stub_->Enrol(&context, request, &response);
  if (!status.ok()) return Convert(status);
  return response;
}

absl::StatusOr<v1::CoordinatorStatus> CoordinatorClient::GetStatus(absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  Authorize(context);
  v1::CoordinatorStatus response;
  grpc::Status status = stub_->GetStatus(&context, v1::GetStatusRequest(), &response);
  if (!status.ok()) return Convert(status);
  return response;
}

absl::StatusOr<v1::Welcome> CoordinatorClient::Handshake(const v1::Hello& hello,
                                                         absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  Authorize(context);
  auto stream = stub_->Session(&context);
  v1::ClientMessage out;
  *out.mutable_hello() = hello;
  stream->Write(out);
  v1::ServerMessage in;
  bool got = stream->Read(&in);
  stream->WritesDone();
  v1::ServerMessage rest;
  while (stream->Read(&rest)) continue;  // drain until the coordinator ends the stream
  grpc::Status status = stream->Finish();
  if (!status.ok()) return Convert(status);
  if (!got || !in.has_welcome()) {
    return absl::InternalError("the coordinator did not answer Hello with Welcome");
  }
  return in.welcome();
}

}  // namespace tontine::transport
