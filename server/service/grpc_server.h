// Starting and stopping the coordinator's gRPC server, over TLS by default.
#ifndef TONTINE_SERVER_SERVICE_GRPC_SERVER_H_
#define TONTINE_SERVER_SERVICE_GRPC_SERVER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine::service {

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (see GrpcServer::port()).
  std::string listen;
  // Plaintext instead of TLS; only ever set by an explicit --insecure.
  bool insecure = false;
  // PEM certificate chain (server first) and its private key, for TLS.
  std::filesystem::path certificate_chain;
  std::filesystem::path private_key;
  uint64_t max_message_bytes = 8ull << 20;
  // gRPC's memory quota for its own buffers (grpc::ResourceQuota). gRPC sizes its HTTP/2
  // receive windows by how much of it is in use: with memory to spare it lets every stream
  // buffer up to 16 MiB, and from half of it on it shrinks them towards zero. Bounding it is
  // what keeps uploads that wait for an aggregation slot from each holding a megabyte here.
  // Past the quota itself gRPC cancels streams, so it must leave room for every session
  // (≈ 100 KiB each) as well.
  uint64_t grpc_memory_bytes = 128ull << 20;
  // Called (from gRPC's threads) with the code of every call that ends in an error, for
  // /metrics. Optional.
  std::function<void(grpc::StatusCode)> on_error;
};

// A running gRPC server. Lifecycle: Start → (serve) → Shutdown. Safe for concurrent use.
class GrpcServer {
 public:
  // `service` must outlive the server. UNAVAILABLE when the address cannot be bound (naming
  // it); NOT_FOUND/PERMISSION_DENIED naming the TLS file that cannot be read.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(grpc::Service* service,
                                                           const GrpcServerOptions& options);

  // The port actually bound.
  int port() const { return port_; }
  // Stops accepting calls and cancels those still running after `grace`.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}

  std::unique_ptr<grpc::Server> server_;
  const int port_;
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_GRPC_SERVER_H_
