// The transfer RPCs of CoordinatorService: DownloadAdapter, UploadMaskedUpdate and
// GetUploadStatus. Authentication reads the store, so it runs on the executor; the chunks
// themselves are handled on gRPC threads (a copy, and at the end one SHA-256 and one sum).
#include <algorithm>
#include <atomic>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "proto/wire_status.h"
#include "server/identity/invites.h"
#include "server/service/coordinator_service.h"
#include "spdlog/spdlog.h"

namespace tontine::service {
namespace {

constexpr uint32_t kDefaultChunkBytes = 64u << 10;
constexpr uint32_t kMaxDownloadChunkBytes = 4u << 20;

absl::Status NoExperiment() {
  return WithReason(absl::FailedPreconditionError("the coordinator is not running an experiment"),
                    "NO_EXPERIMENT");
}

class DownloadReactor final : public grpc::ServerWriteReactor<v1::AdapterChunk> {
 public:
  DownloadReactor(store::Store* store, Executor* executor, RoundService* rounds,
                  const grpc::CallbackServerContext* context,
                  const v1::DownloadAdapterRequest& request)
      : rounds_(rounds), request_(request) {
    executor->Schedule([this, store, authorization = AuthorizationOf(context)] {
      absl::StatusOr<store::ParticipantRecord> caller =
          identity::Authenticate(*store, authorization);
      if (!caller.ok()) return Finish(ToGrpcStatus(caller.status()));
      if (absl::Status st = Open(); !st.ok()) {
        spdlog::warn("adapter download by {} refused: {}", caller->id, DescribeStatus(st));
        return Finish(ToGrpcStatus(st));
      }
      Next();
    });
  }

 private:
  absl::Status Open() {
    if (rounds_ == nullptr) return NoExperiment();
    absl::StatusOr<AdapterFile> file =
        rounds_->FindAdapter(request_.version(), request_.lora_b_only());
    if (!file.ok()) return file.status();
    file_ = *file;
    if (request_.offset_bytes() > file_.version.size_bytes()) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "offset ", request_.offset_bytes(), " is beyond the adapter's ",
                            file_.version.size_bytes(), " bytes")),
                        "BAD_OFFSET");
    }
    in_.open(file_.path, std::ios::binary);
    if (!in_) {
      return absl::InternalError(absl::StrCat("cannot read ", file_.path.string()));
    }
    in_.seekg(static_cast<std::streamoff>(request_.offset_bytes()));
    offset_ = request_.offset_bytes();
    chunk_bytes_ = request_.max_chunk_bytes() == 0
                       ? kDefaultChunkBytes
                       : std::min(request_.max_chunk_bytes(), kMaxDownloadChunkBytes);
    return absl::OkStatus();
  }

  // Writes the next chunk, or finishes once the whole file is out (at least one chunk, so
  // that the client learns the version's identity even when resuming at the end).
  void Next() {
    const uint64_t size = file_.version.size_bytes();
    if (sent_any_ && offset_ >= size) return Finish(grpc::Status::OK);
    const uint64_t n = std::min<uint64_t>(chunk_bytes_, size - offset_);
    chunk_.Clear();
    *chunk_.mutable_adapter() = file_.version;
    chunk_.set_offset_bytes(offset_);
    std::string* data = chunk_.mutable_data();
    data->resize(n);
    in_.read(data->data(), static_cast<std::streamsize>(n));
    if (!in_) {
      return Finish(ToGrpcStatus(
          absl::InternalError(absl::StrCat("cannot read ", file_.path.string()))));
    }
    offset_ += n;
    sent_any_ = true;
    rounds_->CountDownload(chunk_.ByteSizeLong());
    StartWrite(&chunk_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    Next();
  }
  void OnDone() override { delete this; }

  RoundService* const rounds_;
  const v1::DownloadAdapterRequest request_;
  AdapterFile file_;
  std::ifstream in_;
  uint64_t offset_ = 0;
  uint32_t chunk_bytes_ = kDefaultChunkBytes;
  bool sent_any_ = false;
  v1::AdapterChunk chunk_;
};

// Reads an upload's chunks once the gate admits the call (see upload_gate.h); until then the
// client's Write blocks on flow control.
class UploadReactor final : public grpc::ServerReadReactor<v1::MaskedUpdateChunk> {
 public:
  UploadReactor(store::Store* store, Executor* executor, RoundService* rounds, UploadGate* gate,
                const grpc::CallbackServerContext* context, v1::UploadReceipt* response)
      : rounds_(rounds), gate_(gate), response_(response) {
    executor->Schedule([this, store, authorization = AuthorizationOf(context)] {
      absl::StatusOr<store::ParticipantRecord> caller =
          identity::Authenticate(*store, authorization);
      if (!caller.ok()) return Finish(ToGrpcStatus(caller.status()));
      if (rounds_ == nullptr) return Finish(ToGrpcStatus(NoExperiment()));
      participant_id_ = caller->id;
      const uint64_t ticket = gate_->NewTicket();
      bool cancelled = false;
      {
        absl::MutexLock lock(&mu_);
        cancelled = cancelled_;
        if (!cancelled) ticket_ = ticket;
      }
      if (cancelled) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      // A cancellation from here on finds the ticket waiting (and withdraws it), or admitted
      // (and the read fails). Once admitted the call may finish at any time: `this` is not
      // touched after Acquire.
      gate_->Acquire(ticket, [this] {
        admitted_ = true;
        StartRead(&chunk_);
      });
    });
  }

 private:
  // The client gave up (deadline, cancel, broken connection), perhaps while waiting. An
  // admitted call finishes through its failing read instead. (Cancelled between getting
  // its ticket and queueing it, a call waits for its turn and then fails its read.)
  void OnCancel() override {
    uint64_t ticket = 0;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      ticket = ticket_;
    }
    if (ticket != 0 && gate_->Withdraw(ticket)) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the upload was cancelled while waiting"));
    }
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed: the receipt says how far the upload got.
      return Finish(grpc::Status::OK);
    }
    absl::StatusOr<v1::UploadReceipt> receipt = rounds_->ReceiveChunk(participant_id_, chunk_);
    if (!receipt.ok()) return Finish(ToGrpcStatus(receipt.status()));
    *response_ = *receipt;
    StartRead(&chunk_);
  }
  void OnDone() override {
    if (admitted_) gate_->Release();
    delete this;
  }

  RoundService* const rounds_;
  UploadGate* const gate_;
  v1::UploadReceipt* const response_;
  std::string participant_id_;
  v1::MaskedUpdateChunk chunk_;
  std::atomic<bool> admitted_{false};
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t ticket_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void CoordinatorService::SetRoundService(RoundService* rounds) { rounds_.store(rounds); }

grpc::ServerWriteReactor<v1::AdapterChunk>* CoordinatorService::DownloadAdapter(
    grpc::CallbackServerContext* context, const v1::DownloadAdapterRequest* request) {
  return new DownloadReactor(store_, executor_, rounds_.load(), context, *request);
}

grpc::ServerReadReactor<v1::MaskedUpdateChunk>* CoordinatorService::UploadMaskedUpdate(
    grpc::CallbackServerContext* context, v1::UploadReceipt* response) {
  return new UploadReactor(store_, executor_, rounds_.load(), &upload_gate_, context, response);
}

grpc::ServerUnaryReactor* CoordinatorService::GetUploadStatus(
    grpc::CallbackServerContext* context, const v1::GetUploadStatusRequest* request,
    v1::UploadReceipt* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Schedule([this, reactor, request, response, authorization = AuthorizationOf(context)] {
    absl::StatusOr<store::ParticipantRecord> caller =
        identity::Authenticate(*store_, authorization);
    if (!caller.ok()) return reactor->Finish(ToGrpcStatus(caller.status()));
    RoundService* rounds = rounds_.load();
    if (rounds == nullptr) return reactor->Finish(ToGrpcStatus(NoExperiment()));
    absl::StatusOr<v1::UploadReceipt> receipt = rounds->UploadStatus(caller->id, request->round_id());
    if (!receipt.ok()) return reactor->Finish(ToGrpcStatus(receipt.status()));
    *response = *receipt;
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace tontine::service
