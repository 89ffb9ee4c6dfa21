// What the gRPC service asks of the round manager (server/round/), so that service/ (the only
// place with grpc++) and round/ (the protocol) stay apart.
#ifndef TONTINE_SERVER_SERVICE_ROUND_SERVICE_H_
#define TONTINE_SERVER_SERVICE_ROUND_SERVICE_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "tontine/v1/coordinator.pb.h"
#include "tontine/v1/transfer.pb.h"

namespace tontine::service {

struct AdapterFile {
  v1::AdapterVersion version;
  std::filesystem::path path;  // adapter_model.safetensors
};

// Implementations are safe for concurrent use and do not block for long.
class RoundService {
 public:
  virtual ~RoundService() = default;
  // The file of a committed adapter version, or with `lora_b_only` its lora_B-only copy;
  // NOT_FOUND naming the version otherwise, FAILED_PRECONDITION when it has no such copy.
  virtual absl::StatusOr<AdapterFile> FindAdapter(uint64_t version, bool lora_b_only) = 0;
  // Adapter bytes sent to participants (DownloadAdapter), counted in the round in flight.
  virtual void CountDownload(uint64_t bytes) = 0;
  // One chunk of `participant_id`'s masked update. The codes say what the client does next
  // (coordinator.proto): FAILED_PRECONDITION for another round or phase, PERMISSION_DENIED
  // when not in the round, INVALID_ARGUMENT for a bad length or offset, DATA_LOSS for a
  // SHA-256 mismatch, UNAVAILABLE (with retry_after_ms) when every aggregation slot is busy.
  virtual absl::StatusOr<v1::UploadReceipt> ReceiveChunk(const std::string& participant_id,
                                                         const v1::MaskedUpdateChunk& chunk) = 0;
  // How much of the participant's masked update for `round_id` has arrived.
  virtual absl::StatusOr<v1::UploadReceipt> UploadStatus(const std::string& participant_id,
                                                         uint64_t round_id) = 0;
  // The round part of GetStatus: current round, phase, rounds committed.
  virtual void FillStatus(v1::CoordinatorStatus& status) = 0;
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_ROUND_SERVICE_H_
