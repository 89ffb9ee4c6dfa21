// Routes gRPC core's own log lines (which otherwise go straight to stderr in gRPC's format)
// through spdlog, one level lower than gRPC gives them: a failed TLS handshake is an ERROR
// to gRPC but is already reported to the user as a clear error by the caller.
#ifndef TONTINE_PROTO_GRPC_LOGGING_H_
#define TONTINE_PROTO_GRPC_LOGGING_H_

namespace tontine {

// Call once at start-up, after InitLogging.
void RouteGrpcLogsToSpdlog();

}  // namespace tontine

#endif  // TONTINE_PROTO_GRPC_LOGGING_H_
