#include "client/transport/coordinator_client.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/version.h"
#include "proto/wire_status.h"

namespace tontine::transport {
namespace {

// An infinite (or absurd) timeout becomes a year, so that adding it to now cannot overflow.
std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::system_clock::now() +
         absl::ToChronoMilliseconds(std::min(timeout, absl::Hours(24 * 365)));
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
  // After a failed connection gRPC refuses new calls until its own reconnect back-off ends
  // (1 s growing to 120 s by default), which would stack on the client's back-off and keep
  // laptops away long after a restarted coordinator is back. The client paces reconnection
  // itself (reconnect.initial_backoff … max_backoff, with jitter), so gRPC's is kept short.
  // (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS stays at its default: it is also the connect timeout,
  // and a TLS handshake on a busy laptop can take longer than a short back-off.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5'000);
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

SessionStream::SessionStream(v1::Coordinator::Stub& stub, const std::string& authorization) {
  if (!authorization.empty()) context_.AddMetadata("authorization", authorization);
  stream_ = stub.Session(&context_);
}

bool SessionStream::Write(const v1::ClientMessage& message) {
  absl::MutexLock lock(&write_mu_);
  return stream_->Write(message);
}

bool SessionStream::Read(v1::ServerMessage* message) { return stream_->Read(message); }

void SessionStream::Cancel() { context_.TryCancel(); }

grpc::Status SessionStream::Finish() { return stream_->Finish(); }

std::unique_ptr<SessionStream> CoordinatorClient::OpenSession() {
  return std::make_unique<SessionStream>(
      *stub_, options_.credential.empty() ? "" : absl::StrCat("Bearer ", options_.credential));
}

absl::Status CoordinatorClient::DownloadAdapter(
    const v1::DownloadAdapterRequest& request,
    const std::function<absl::Status(const v1::AdapterChunk&)>& on_chunk, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  Authorize(context);
  auto reader = stub_->DownloadAdapter(&context, request);
  v1::AdapterChunk chunk;
  absl::Status failed;
  while (reader->Read(&chunk)) {
    failed = on_chunk(chunk);
    if (!failed.ok()) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!failed.ok()) return failed;
  return status.ok() ? absl::OkStatus() : Convert(status);
}

absl::StatusOr<v1::UploadReceipt> CoordinatorClient::UploadMaskedUpdate(
    uint64_t round_id, std::span<const uint32_t> words, uint64_t offset, uint64_t chunk_words,
    const std::string& sha256, const std::function<void(const v1::MaskedUpdateChunk&)>& on_chunk,
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  Authorize(context);
  v1::UploadReceipt receipt;
  auto writer = stub_->UploadMaskedUpdate(&context, &receipt);
  v1::MaskedUpdateChunk chunk;
  for (uint64_t at = offset; at < words.size(); at += chunk_words) {
    const uint64_t n = std::min<uint64_t>(chunk_words, words.size() - at);
    chunk.Clear();
    chunk.set_round_id(round_id);
    chunk.set_offset_words(at);
    chunk.set_vector_words(words.size());
    chunk.set_data(reinterpret_cast<const char*>(words.data() + at), n * sizeof(uint32_t));
    if (at + n == words.size()) chunk.set_sha256(sha256);
    on_chunk(chunk);
    if (!writer->Write(chunk)) break;  // the coordinator ended the call: Finish says why
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return Convert(status);
  return receipt;
}

absl::StatusOr<v1::UploadReceipt> CoordinatorClient::GetUploadStatus(uint64_t round_id,
                                                                     absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  Authorize(context);
  v1::GetUploadStatusRequest request;
  request.set_round_id(round_id);
  v1::UploadReceipt receipt;
  grpc::Status status = stub_->GetUploadStatus(&context, request, &receipt);
  if (!status.ok()) return Convert(status);
  return receipt;
}

}  // namespace tontine::transport
