#include "server/http/dashboard.h"

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"
#include "server/http/api.h"
#include "server/http/archive.h"
#include "server/http/assets.h"
#include "spdlog/spdlog.h"

namespace tontine::http {
namespace {

constexpr char kJson[] = "application/json";

void SendJson(httplib::Response& response, const nlohmann::json& body, int status = 200) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(body.dump(), kJson);
}

void SendError(httplib::Response& response, int status, const std::string& message) {
  SendJson(response, {{"error", message}}, status);
}

void SendStatusError(httplib::Response& response, const absl::Status& status) {
  spdlog::warn("dashboard: {}", status.ToString());
  SendError(response, absl::IsNotFound(status) ? 404 : 500, std::string(status.message()));
}

// "host:port" or "[v6]:port".
absl::StatusOr<std::pair<std::string, int>> SplitListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("dashboard.listen: '", listen, "' is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

void SecurityHeaders(httplib::Response& response) {
  response.set_header("Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
}

}  // namespace

Dashboard::Dashboard(store::Store* store, std::function<LiveStatus()> live,
                     const StatusCounts* errors, DashboardOptions options)
    : store_(store), live_(std::move(live)), errors_(errors), options_(std::move(options)) {}

Dashboard::~Dashboard() { Stop(); }

absl::StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(store::Store* store,
                                                            std::function<LiveStatus()> live,
                                                            const StatusCounts* errors,
                                                            DashboardOptions options) {
  if (options.admin_token.size() < 16) {
    return absl::InvalidArgumentError("the dashboard admin token must have at least 16 characters");
  }
  TONTINE_ASSIGN_OR_RETURN(auto address, SplitListen(options.listen));
  std::unique_ptr<Dashboard> dashboard(
      new Dashboard(store, std::move(live), errors, std::move(options)));
  const DashboardOptions& o = dashboard->options_;
  if (o.insecure) {
    dashboard->server_ = std::make_unique<httplib::Server>();
  } else {
    auto server =
        std::make_unique<httplib::SSLServer>(o.certificate_chain.c_str(), o.private_key.c_str());
    if (!server->is_valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the dashboard cannot load the certificate ", o.certificate_chain.string(),
                       " or its key ", o.private_key.string()));
    }
    dashboard->server_ = std::move(server);
  }
  httplib::Server& server = *dashboard->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_read_timeout(10, 0);
  server.set_write_timeout(30, 0);
  server.set_payload_max_length(64 << 10);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second
  // coordinator bind the same port and silently share its connections.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  dashboard->Route();
  const auto& [host, port] = address;
  if (port == 0) {
    dashboard->port_ = server.bind_to_any_port(host);
  } else {
    dashboard->port_ = server.bind_to_port(host, port) ? port : -1;
  }
  if (dashboard->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "the dashboard cannot listen on ", dashboard->options_.listen,
        " (in use, or not an address of this machine); set dashboard.listen, or \"\" to turn it "
        "off"));
  }
  dashboard->thread_ = std::thread([d = dashboard.get()] {
    d->server_->listen_after_bind();
    d->listen_returned_ = true;
  });
  // httplib's stop() does nothing until the server is running, so a Stop() that came before
  // the thread got there would leave it listening and Stop() waiting for it for ever.
  while (!server.is_running()) {
    if (dashboard->listen_returned_) {
      return absl::UnavailableError(absl::StrCat("the dashboard stopped as soon as it started on ",
                                                 dashboard->options_.listen));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return dashboard;
}

void Dashboard::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

bool Dashboard::Authorised(const httplib::Request& request, bool admin,
                           httplib::Response& response) const {
  if (!admin && options_.public_summary) return true;
  const std::string header = request.get_header_value("Authorization");
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWith(header, kBearer)) {
    response.set_header("WWW-Authenticate", "Bearer realm=\"tontine\"");
    SendError(response, 401, "this needs the admin token: Authorization: Bearer <token>");
    return false;
  }
  // Compared as digests, so the comparison takes the same time whatever the length offered.
  const absl::StatusOr<std::string> offered = crypto::Sha256Digest(header.substr(kBearer.size()));
  const absl::StatusOr<std::string> expected = crypto::Sha256Digest(options_.admin_token);
  if (!offered.ok() || !expected.ok() || !crypto::ConstantTimeEquals(*offered, *expected)) {
    response.set_header("WWW-Authenticate", "Bearer realm=\"tontine\", error=\"invalid_token\"");
    SendError(response, 401, "wrong admin token");
    return false;
  }
  return true;
}

void Dashboard::Route() {
  httplib::Server& server = *server_;
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) SendError(response, response.status, "not found");
  });

  for (const Asset& asset : Assets()) {
    const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
    // The page itself holds no data: it is served without the token even when the summary
    // is not public, so that an operator can open it and enter the token.
    server.Get(path, [&asset](const httplib::Request&, httplib::Response& response) {
      SecurityHeaders(response);
      response.set_header("Cache-Control", "no-cache");
      response.set_content(asset.contents.data(), asset.contents.size(),
                           std::string(asset.content_type).c_str());
    });
  }

  server.Get("/api/v1/summary", [this](const httplib::Request& request,
                                       httplib::Response& response) {
    if (!Authorised(request, false, response)) return;
    const LiveStatus live = live_();
    absl::StatusOr<ExperimentRounds> latest_experiment = LatestExperimentRounds(*store_);
    if (!latest_experiment.ok()) return SendStatusError(response, latest_experiment.status());
    absl::StatusOr<std::vector<store::ParticipantRecord>> participants = store_->ListParticipants();
    if (!participants.ok()) return SendStatusError(response, participants.status());
    absl::StatusOr<std::optional<store::AdapterRecord>> latest = store_->LatestAdapter();
    if (!latest.ok()) return SendStatusError(response, latest.status());
    SendJson(response, SummaryJson(live, latest_experiment->experiment, latest_experiment->rounds,
                                   static_cast<int>(participants->size()), *latest));
  });

  server.Get("/api/v1/rounds",
             [this](const httplib::Request& request, httplib::Response& response) {
               if (!Authorised(request, false, response)) return;
               absl::StatusOr<ExperimentRounds> latest = LatestExperimentRounds(*store_);
               if (!latest.ok()) return SendStatusError(response, latest.status());
               SendJson(response, RoundsJson(latest->rounds));
             });

  server.Get("/api/v1/adapters",
             [this](const httplib::Request& request, httplib::Response& response) {
               if (!Authorised(request, false, response)) return;
               absl::StatusOr<std::vector<store::AdapterRecord>> adapters = store_->ListAdapters();
               if (!adapters.ok()) return SendStatusError(response, adapters.status());
               SendJson(response, AdaptersJson(*adapters));
             });

  server.Get("/api/v1/participants", [this](const httplib::Request& request,
                                            httplib::Response& response) {
    if (!Authorised(request, true, response)) return;
    absl::StatusOr<std::vector<store::ParticipantRecord>> participants = store_->ListParticipants();
    if (!participants.ok()) return SendStatusError(response, participants.status());
    SendJson(response, ParticipantsJson(*participants, live_()));
  });

  // Lets the page check a token before showing the admin parts.
  server.Get("/api/v1/session",
             [this](const httplib::Request& request, httplib::Response& response) {
               if (!Authorised(request, true, response)) return;
               SendJson(response, {{"admin", true}});
             });

  server.Get(R"(/api/v1/adapters/(\d+)/peft\.(tar|zip))", [this](const httplib::Request& request,
                                                                 httplib::Response& response) {
    if (!Authorised(request, true, response)) return;
    int64_t version = 0;
    if (!absl::SimpleAtoi(request.matches[1].str(), &version)) {
      return SendError(response, 400, "bad version");
    }
    const bool zip = request.matches[2].str() == "zip";
    absl::StatusOr<std::vector<store::AdapterRecord>> adapters = store_->ListAdapters();
    if (!adapters.ok()) return SendStatusError(response, adapters.status());
    auto it = std::find_if(adapters->begin(), adapters->end(),
                           [&](const store::AdapterRecord& a) { return a.version == version; });
    if (it == adapters->end()) {
      return SendError(response, 404, absl::StrCat("no adapter version ", version));
    }
    absl::StatusOr<store::ExperimentRecord> experiment = store_->LatestExperiment();
    const std::string prefix =
        absl::StrCat(experiment.ok() ? experiment->name : "tontine", "-v", version);
    absl::StatusOr<std::string> archive = ArchivePeftDir(
        options_.state_dir / it->path, prefix, zip ? ArchiveFormat::kZip : ArchiveFormat::kTar);
    if (!archive.ok()) return SendStatusError(response, archive.status());
    response.set_header("Content-Disposition", absl::StrCat("attachment; filename=\"", prefix,
                                                            zip ? ".zip" : ".tar", "\""));
    response.set_header("Cache-Control", "no-store");
    response.set_content(*std::move(archive), zip ? "application/zip" : "application/x-tar");
  });

  server.Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) {
    if (!Authorised(request, false, response)) return;
    MetricsInput input;
    input.live = live_();
    absl::StatusOr<ExperimentRounds> latest = LatestExperimentRounds(*store_);
    if (!latest.ok()) return SendStatusError(response, latest.status());
    input.experiment = std::move(latest->experiment);
    input.rounds = std::move(latest->rounds);
    absl::StatusOr<std::vector<store::ParticipantRecord>> participants = store_->ListParticipants();
    if (!participants.ok()) return SendStatusError(response, participants.status());
    input.participants_enrolled = static_cast<int>(participants->size());
    input.errors = errors_->Snapshot();
    response.set_content(RenderPrometheus(input), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace tontine::http
