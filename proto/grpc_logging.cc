#include "proto/grpc_logging.h"

#include <grpc/support/log.h>

#include "spdlog/spdlog.h"

namespace tontine {
namespace {

void LogToSpdlog(gpr_log_func_args* args) {
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR:
      spdlog::info("grpc: {}", args->message);
      break;
    case GPR_LOG_SEVERITY_INFO:
      spdlog::debug("grpc: {}", args->message);
      break;
    default:
      spdlog::trace("grpc: {}", args->message);
      break;
  }
}

}  // namespace

void RouteGrpcLogsToSpdlog() {
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  gpr_set_log_function(LogToSpdlog);
}

}  // namespace tontine
