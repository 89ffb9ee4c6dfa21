#include "server/service/grpc_server.h"

#include <grpcpp/support/server_interceptor.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/resource_quota.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace tontine::service {
namespace {

// Reports the final status of every call that fails.
class ErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ErrorInterceptor(const std::function<void(grpc::StatusCode)>* on_error)
      : on_error_(on_error) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (!status.ok()) (*on_error_)(status.error_code());
    }
    methods->Proceed();
  }

 private:
  const std::function<void(grpc::StatusCode)>* const on_error_;
};

class ErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ErrorInterceptorFactory(std::function<void(grpc::StatusCode)> on_error)
      : on_error_(std::move(on_error)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ErrorInterceptor(&on_error_);
  }

 private:
  const std::function<void(grpc::StatusCode)> on_error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(grpc::Service* service,
                                                               const GrpcServerOptions& options) {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.insecure) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    TONTINE_ASSIGN_OR_RETURN(pair.private_key, ReadFile(options.private_key));
    TONTINE_ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(options.certificate_chain));
    ssl.pem_key_cert_pairs.push_back(std::move(pair));
    // Clients authenticate with bearer credentials, not certificates.
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    credentials = grpc::SslServerCredentials(ssl);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  // Detect laptops that vanished without closing their streams.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // HTTP/2 receive windows: without a bound, gRPC lets every stream buffer megabytes of an
  // upload before the round manager reads it (BDP probing grows the windows, and a quota
  // with memory to spare advertises 16 MiB): memory O(n·d) for n participants uploading at
  // once. No probing, and a bounded quota (see GrpcServerOptions), keep the uploads that
  // wait for a slot (service/upload_gate.h) to little each.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  grpc::ResourceQuota quota("coordinator");
  quota.Resize(options.grpc_memory_bytes);
  builder.SetResourceQuota(quota);
  if (options.on_error) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<ErrorInterceptorFactory>(options.on_error));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen, " (address in use, or not an address of this host)"));
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), port));
}

void GrpcServer::Shutdown(absl::Duration grace) {
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
}

}  // namespace tontine::service
