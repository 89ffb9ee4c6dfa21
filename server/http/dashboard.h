// The coordinator's read-only web dashboard: one page (served from the binary, no CDN), the
// JSON API behind it (server/http/api.h) and Prometheus metrics at /metrics
// (server/http/metrics.h), over HTTPS with the coordinator's certificate (plain HTTP only when
// the coordinator itself is insecure).
//
// Authorisation: `Authorization: Bearer <admin token>` (the token `init` writes to the state
// dir). The page, the summary, the rounds, the adapter list and /metrics are public unless
// public_summary is false; the participant list and adapter downloads always need the token.
// A missing or wrong token is 401 with a JSON error; compared in constant time.
//
// Lifecycle: Start (binds, serves on its own threads) → Stop or destroy. Handlers only read:
// the store (thread-safe), the live status callback and the status counts.
#ifndef TONTINE_SERVER_HTTP_DASHBOARD_H_
#define TONTINE_SERVER_HTTP_DASHBOARD_H_

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/http/live_status.h"
#include "server/http/metrics.h"
#include "server/store/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tontine::http {

struct DashboardOptions {
  std::string listen;  // host:port; port 0 picks a free one
  bool insecure = false;
  std::filesystem::path certificate_chain;  // PEM, server then CA
  std::filesystem::path private_key;        // PEM
  std::string admin_token;                  // ≥ 16 characters
  bool public_summary = true;
  std::filesystem::path state_dir;  // adapter paths in the store are relative to it
};

class Dashboard {
 public:
  // Binds and starts serving. INVALID_ARGUMENT for a bad address or token, FAILED_PRECONDITION
  // when the certificate or key cannot be loaded, UNAVAILABLE when the address cannot be
  // bound. `store` and `errors` must outlive the dashboard; `live` is called from its threads.
  static absl::StatusOr<std::unique_ptr<Dashboard>> Start(store::Store* store,
                                                          std::function<LiveStatus()> live,
                                                          const StatusCounts* errors,
                                                          DashboardOptions options);
  ~Dashboard();

  int port() const { return port_; }
  // Stops accepting and waits for requests in progress. Idempotent.
  void Stop();

 private:
  Dashboard(store::Store* store, std::function<LiveStatus()> live, const StatusCounts* errors,
            DashboardOptions options);
  void Route();
  bool Authorised(const httplib::Request& request, bool admin, httplib::Response& response) const;

  store::Store* const store_;
  const std::function<LiveStatus()> live_;
  const StatusCounts* const errors_;
  const DashboardOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};  // the serving thread's listen has returned
};

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_DASHBOARD_H_
