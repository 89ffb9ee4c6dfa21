// Carrying tontine.v1.ErrorDetail between absl::Status (used everywhere inside) and
// grpc::Status (used only by server/service and client/transport).
//
// Inside the process an ErrorDetail rides on an absl::Status as a payload under the type URL
// kErrorDetailTypeUrl. On the wire it is packed into a tontine.v1.RpcStatus (wire-compatible
// with google.rpc.Status) in the grpc-status-details-bin trailer.
#ifndef TONTINE_PROTO_WIRE_STATUS_H_
#define TONTINE_PROTO_WIRE_STATUS_H_

#include <optional>
#include "absl/strings/string_view.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "tontine/v1/common.pb.h"

namespace tontine {

inline constexpr absl::string_view kErrorDetailTypeUrl =
    "type.googleapis.com/tontine.v1.ErrorDetail";

// Returns `status` with `detail` attached. An OK status is returned unchanged.
absl::Status WithErrorDetail(absl::Status status, const v1::ErrorDetail& detail);

// Shorthand for the common case of a reason code, optionally scoped to a round and phase.
absl::Status WithReason(absl::Status status, absl::string_view reason, uint64_t round_id = 0,
                        v1::RoundPhase phase = v1::ROUND_PHASE_UNSPECIFIED);

// The ErrorDetail attached to `status`, if any.
std::optional<v1::ErrorDetail> GetErrorDetail(const absl::Status& status);

// absl → gRPC: same code, same message, ErrorDetail packed into the binary details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// gRPC → absl: same code, same message, ErrorDetail unpacked when present and well formed.
absl::Status FromGrpcStatus(const grpc::Status& status);

// For logs: "PERMISSION_DENIED [INVITE_USED]: message" (the reason when there is one).
std::string DescribeStatus(const absl::Status& status);

// Converts an absl::Status to the RpcStatus message sent in ServerMessage.refused.
v1::RpcStatus ToRpcStatus(const absl::Status& status);

}  // namespace tontine

#endif  // TONTINE_PROTO_WIRE_STATUS_H_
