#include "proto/wire_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace tontine {

absl::Status WithErrorDetail(absl::Status status, const v1::ErrorDetail& detail) {
  if (status.ok()) return status;
  status.SetPayload(kErrorDetailTypeUrl, absl::Cord(detail.SerializeAsString()));
  return status;
}

absl::Status WithReason(absl::Status status, absl::string_view reason, uint64_t round_id,
                        v1::RoundPhase phase) {
  v1::ErrorDetail detail;
  detail.set_reason(std::string(reason));
  detail.set_round_id(round_id);
  detail.set_phase(phase);
  return WithErrorDetail(std::move(status), detail);
}

std::optional<v1::ErrorDetail> GetErrorDetail(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorDetailTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  v1::ErrorDetail detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

std::string DescribeStatus(const absl::Status& status) {
  if (status.ok()) return "OK";
  std::string out = absl::StatusCodeToString(status.code());
  if (std::optional<v1::ErrorDetail> detail = GetErrorDetail(status)) {
    absl::StrAppend(&out, " [", detail->reason(), "]");
  }
  absl::StrAppend(&out, ": ", status.message());
  return out;
}

v1::RpcStatus ToRpcStatus(const absl::Status& status) {
  v1::RpcStatus rpc;
  rpc.set_code(static_cast<int32_t>(status.code()));
  rpc.set_message(std::string(status.message()));
  if (std::optional<v1::ErrorDetail> detail = GetErrorDetail(status)) {
    rpc.add_details()->PackFrom(*detail);
  }
  return rpc;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  auto code = static_cast<grpc::StatusCode>(status.code());
  return grpc::Status(code, std::string(status.message()),
                      ToRpcStatus(status).SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  v1::RpcStatus rpc;
  if (status.error_details().empty() || !rpc.ParseFromString(status.error_details())) {
    return result;
  }
  for (const auto& any : rpc.details()) {
    v1::ErrorDetail detail;
    if (any.UnpackTo(&detail)) return WithErrorDetail(std::move(result), detail);
  }
  return result;
}

}  // namespace tontine
