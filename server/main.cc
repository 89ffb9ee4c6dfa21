// tontine-coordinator: what a community organisation runs.
//
//   tontine-coordinator init   --state-dir DIR [--host NAME]...
//   tontine-coordinator invite --state-dir DIR [--tag k=v]... [--expires 7d] [--json]
//   tontine-coordinator serve  --config coordinator.yaml [--set key.path=value]...
//                              [--state-dir DIR] [--listen ADDR] [--exit-when-done]
//                              [--port-file FILE] [--dashboard-port-file FILE]
//   tontine-coordinator status       --state-dir DIR [--json]
//   tontine-coordinator rounds       --state-dir DIR [--json]
//   tontine-coordinator participants --state-dir DIR [--json]
//   tontine-coordinator export       --state-dir DIR [--version N] --out DIR
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/base/cli.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"
#include "common/base/version.h"
#include "common/config/checks.h"
#include "proto/grpc_logging.h"
#include "common/config/coordinator_config.h"
#include "common/config/overrides.h"
#include "server/http/api.h"
#include "server/http/archive.h"
#include "server/http/dashboard.h"
#include "server/http/metrics.h"
#include "server/identity/invites.h"
#include "server/identity/state_dir.h"
#include "proto/wire_status.h"
#include "server/round/round_runner.h"
#include "server/service/coordinator_service.h"
#include "server/service/grpc_server.h"
#include "server/state_commands.h"
#include "spdlog/spdlog.h"

namespace tontine {
namespace {

constexpr char kProgram[] = "tontine-coordinator";

absl::Status RunInit(const std::string& state_dir, const std::vector<std::string>& hosts) {
  identity::InitOptions options{hosts};
  TONTINE_ASSIGN_OR_RETURN(identity::InitResult result,
                           identity::InitStateDir(state_dir, options, Clock::Real()));
  std::printf("Initialised coordinator state in %s\n", state_dir.c_str());
  std::printf("Server certificate names: %s\n",
              absl::StrJoin(result.subject_alt_names, ", ").c_str());
  std::printf("CA fingerprint: %s\n", FormatFingerprint(result.ca_fingerprint).c_str());
  std::printf("Give contributors this fingerprint with their invites; next:\n"
              "  tontine-coordinator invite --state-dir %s --tag language=<code>\n",
              state_dir.c_str());
  return absl::OkStatus();
}

struct InviteFlags {
  std::string state_dir;
  std::vector<std::string> tags;
  std::string expires = "7d";
  std::string coordinator = "<host>:7443";
  bool json = false;
};

absl::Status RunInvite(const InviteFlags& flags) {
  store::Tags tags;
  for (const std::string& tag : flags.tags) TONTINE_RETURN_IF_ERROR(identity::AddTag(tag, tags));
  TONTINE_ASSIGN_OR_RETURN(absl::Duration validity, ParseDuration(flags.expires));
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(flags.state_dir, Clock::Real()));
  TONTINE_ASSIGN_OR_RETURN(std::string fingerprint, identity::ReadCaFingerprint(flags.state_dir));
  TONTINE_ASSIGN_OR_RETURN(identity::IssuedInvite invite,
                           identity::CreateInvite(*store, tags, validity, *Clock::Real()));
  if (flags.json) {
    nlohmann::json j = {{"token", invite.token},
                        {"ca_fingerprint", FormatFingerprint(fingerprint)},
                        {"expires_unix_ms", absl::ToUnixMillis(invite.record.expires)},
                        {"tags", tags}};
    std::printf("%s\n", j.dump().c_str());
    return absl::OkStatus();
  }
  std::printf("Invite created; single use, expires %s%s%s.\n",
              absl::FormatTime("%Y-%m-%d %H:%M UTC", invite.record.expires, absl::UTCTimeZone())
                  .c_str(),
              tags.empty() ? "" : "; tags ",
              absl::StrJoin(tags, ",", absl::PairFormatter("=")).c_str());
  std::printf("Send the contributor this command (over a channel you trust):\n\n"
              "  tontine-client enrol --coordinator %s \\\n"
              "    --ca-fingerprint %s \\\n    --token %s\n",
              flags.coordinator.c_str(), FormatFingerprint(fingerprint).c_str(),
              invite.token.c_str());
  return absl::OkStatus();
}

struct ServeFlags {
  std::string config;
  std::vector<std::string> sets;  // --set key.path=value (experiment.key.path for the experiment)
  std::string state_dir;
  std::string listen;
  bool insecure = false;
  std::string port_file;
  std::string dashboard_port_file;
  bool exit_when_done = false;
  int aggregation_slots = 4;
  uint64_t grpc_memory_mib = 128;
  std::string debug_dump_sums;
  std::string debug_crash_at;
};

// The coordinator file with `sets` (--set flags) applied; those under experiment. apply to its
// experiment (common/config/overrides.h).
absl::StatusOr<config::CoordinatorConfig> LoadServeConfig(const std::string& path,
                                                          const std::vector<std::string>& sets) {
  TONTINE_ASSIGN_OR_RETURN(std::vector<config::Override> overrides, config::ParseOverrides(sets));
  return config::LoadCoordinatorConfig(path, overrides);
}

// The experiment's text as recorded in the state: the file, and the overrides that applied to
// it as comments, so that other overrides make another experiment.
absl::StatusOr<std::string> ExperimentAsRun(const config::CoordinatorConfig& config,
                                            const std::vector<std::string>& sets) {
  TONTINE_ASSIGN_OR_RETURN(std::string text, ReadFile(config.experiment_path));
  TONTINE_ASSIGN_OR_RETURN(std::vector<config::Override> overrides, config::ParseOverrides(sets));
  return config::ExperimentTextWithOverrides(
      text, config::SplitCoordinatorOverrides(overrides).experiment);
}

// Blocks until SIGINT or SIGTERM, or SIGUSR1 (which the round loop raises when it ends).
// The signals are blocked in every thread (set before any thread starts) and taken here
// with sigwait.
void WaitForTermination(const sigset_t& signals) {
  const int signal_number = WaitForSignal(signals);
  if (signal_number != SIGUSR1) spdlog::info("received signal {}; shutting down", signal_number);
}

// "advertise_keys" for ROUND_PHASE_ADVERTISE_KEYS.
std::string PhaseName(v1::RoundPhase phase) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::RoundPhase_Name(phase), "ROUND_PHASE_"));
}

http::LiveStatus Live(const round::RoundRunner& runner, const service::SessionRegistry& sessions) {
  http::LiveStatus live;
  live.coordinator_version = std::string(kVersion);
  live.rounds_target = runner.rounds_target();
  for (const auto& session : sessions.Sessions()) live.connected.insert(session->participant_id());
  if (std::optional<round::RoundProgress> p = runner.Progress()) {
    live.round = http::LiveRound{p->round_id, p->number, PhaseName(p->phase), p->started,
                                 p->cohort,   p->awaited, p->done,           p->dropped};
  }
  return live;
}

absl::StatusOr<std::unique_ptr<http::Dashboard>> StartDashboard(
    const config::CoordinatorConfig& config, store::Store* store,
    const round::RoundRunner& runner, const service::SessionRegistry& sessions,
    const http::StatusCounts& errors) {
  identity::StateDirPaths paths(config.state_dir);
  const std::filesystem::path token_file = config.dashboard.admin_token_file.empty()
                                               ? paths.dashboard_token
                                               : config.dashboard.admin_token_file;
  bool created = false;
  TONTINE_ASSIGN_OR_RETURN(std::string token,
                           identity::LoadOrCreateDashboardToken(token_file, &created));
  if (created) spdlog::info("wrote a new dashboard admin token to {}", token_file.string());
  http::DashboardOptions options;
  options.listen = config.dashboard.listen;
  options.insecure = config.insecure;
  options.certificate_chain = paths.server_cert;
  options.private_key = paths.server_key;
  options.admin_token = std::move(token);
  options.public_summary = config.dashboard.public_summary;
  options.state_dir = config.state_dir;
  TONTINE_ASSIGN_OR_RETURN(
      std::unique_ptr<http::Dashboard> dashboard,
      http::Dashboard::Start(store, [&runner, &sessions] { return Live(runner, sessions); },
                             &errors, std::move(options)));
  spdlog::info("dashboard on {}://{} (port {}); admin token in {}",
               config.insecure ? "http" : "https", config.dashboard.listen, dashboard->port(),
               token_file.string());
  return dashboard;
}

absl::Status RunServe(ServeFlags flags, const sigset_t& signals) {
  TONTINE_ASSIGN_OR_RETURN(config::CoordinatorConfig config,
                           LoadServeConfig(flags.config, flags.sets));
  if (!flags.state_dir.empty()) config.state_dir = flags.state_dir;
  if (!flags.listen.empty()) {
    if (std::optional<std::string> problem = config::CheckAddress(flags.listen)) {
      return absl::InvalidArgumentError(absl::StrCat("--listen: ", *problem));
    }
    config.listen = flags.listen;
  }
  config.insecure = config.insecure || flags.insecure;
  TONTINE_RETURN_IF_ERROR(InitLogging(kProgram, config.log_level));
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(config.state_dir, Clock::Real()));
  if (!store->migration().backup.empty()) {
    spdlog::info("migrated {} from schema {} to {}; the previous database is kept as {}",
                 config.state_dir.string(), store->migration().from_version,
                 store->migration().to_version, store->migration().backup.string());
  }
  TONTINE_ASSIGN_OR_RETURN(std::string experiment_yaml, ExperimentAsRun(config, flags.sets));
  http::StatusCounts errors;  // for /metrics
  Executor executor(2);
  service::SessionRegistry sessions(store.get(), &executor, Clock::Real());
  sessions.StartReaper(config.limits.heartbeat_interval);
  service::CoordinatorService svc(
      store.get(), &executor, &sessions, Clock::Real(),
      {kVersion, config.experiment.name, config.limits.heartbeat_interval,
       config.limits.max_sessions, flags.aggregation_slots,
       [&errors](absl::StatusCode code) { errors.Add(code); }});
  round::RoundRunnerOptions round_options;
  round_options.experiment = config.experiment;
  round_options.experiment_yaml = experiment_yaml;
  round_options.state_dir = config.state_dir;
  round_options.aggregation_slots = flags.aggregation_slots;
  round_options.debug_dump_dir = flags.debug_dump_sums;
  round_options.debug_crash_at = flags.debug_crash_at;
  TONTINE_ASSIGN_OR_RETURN(
      std::unique_ptr<round::RoundRunner> runner,
      round::RoundRunner::Create(store.get(), &sessions, Clock::Real(), round_options));
  sessions.SetRoundListener(runner.get());
  svc.SetRoundService(runner.get());
  // Started before the gRPC server, so that a dashboard address in use fails the start
  // before any client connects.
  std::unique_ptr<http::Dashboard> dashboard;
  if (!config.dashboard.listen.empty()) {
    TONTINE_ASSIGN_OR_RETURN(dashboard,
                             StartDashboard(config, store.get(), *runner, sessions, errors));
    if (!flags.dashboard_port_file.empty()) {
      TONTINE_RETURN_IF_ERROR(WriteFileAtomic(flags.dashboard_port_file,
                                              absl::StrCat(dashboard->port(), "\n")));
    }
  }
  identity::StateDirPaths paths(config.state_dir);
  TONTINE_ASSIGN_OR_RETURN(
      auto server, service::GrpcServer::Start(&svc, {config.listen, config.insecure,
                                                      paths.server_cert, paths.server_key,
                                                      config.limits.max_message_bytes,
                                                      flags.grpc_memory_mib << 20,
                                                      [&errors](grpc::StatusCode code) {
                                                        errors.Add(
                                                            static_cast<absl::StatusCode>(code));
                                                      }}));
  if (config.insecure) spdlog::warn("serving PLAINTEXT (--insecure): use only on loopback");
  spdlog::info("listening on {} (port {}, {}); experiment '{}'", config.listen, server->port(),
               config.insecure ? "plaintext" : "TLS", config.experiment.name);
  if (!flags.port_file.empty()) {
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(flags.port_file, absl::StrCat(server->port(), "\n")));
  }
  absl::Status loop_status;
  std::thread loop([&] {
    loop_status = runner->Run();
    if (!loop_status.ok() && !absl::IsCancelled(loop_status)) {
      spdlog::error("the round loop stopped: {}", DescribeStatus(loop_status));
      kill(getpid(), SIGUSR1);
    } else if (loop_status.ok() && flags.exit_when_done) {
      kill(getpid(), SIGUSR1);
    }
  });
  WaitForTermination(signals);
  if (dashboard != nullptr) dashboard->Stop();
  runner->Stop();
  loop.join();
  // End the sessions first, so that clients learn at once (and reconnect with back-off)
  // rather than when the grace period runs out. Order matters after that: the server's
  // in-flight calls finish through the executor, and the executor's queued work refers to the
  // service and registry, destroyed after it.
  for (const auto& session : sessions.Sessions()) {
    session->Close(WithReason(absl::UnavailableError("the coordinator is shutting down"),
                              "SHUTTING_DOWN"));
  }
  server->Shutdown(absl::Seconds(5));
  executor.Shutdown();
  sessions.SetRoundListener(nullptr);
  if (absl::IsCancelled(loop_status)) return absl::OkStatus();
  return loop_status;
}

}  // namespace
}  // namespace tontine

int main(int argc, char** argv) {
  using namespace tontine;
  // Block termination signals before any thread exists, so only sigwait takes them.
  const sigset_t signals = BlockTerminationSignals();

  CLI::App app{"Tontine coordinator: federated fine-tuning under secure aggregation"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);

  std::string init_dir;
  std::vector<std::string> hosts;
  CLI::App* init = app.add_subcommand("init", "create a state directory, CA and certificate");
  init->add_option("--state-dir", init_dir, "the state directory to create")->required();
  init->add_option("--host", hosts,
                   "extra DNS name or IP address for the server certificate (repeatable); "
                   "localhost, 127.0.0.1 and ::1 are always included");

  InviteFlags invite_flags;
  CLI::App* invite = app.add_subcommand("invite", "create a single-use invite token");
  invite->add_option("--state-dir", invite_flags.state_dir, "the state directory")->required();
  invite->add_option("--tag", invite_flags.tags, "key=value tag for the participant, e.g. "
                                                 "language=wo (repeatable)");
  invite->add_option("--expires", invite_flags.expires, "validity, e.g. 12h, 7d (default 7d)");
  invite->add_option("--coordinator", invite_flags.coordinator,
                     "address contributors use, shown in the printed command");
  invite->add_flag("--json", invite_flags.json, "print the invite as JSON, for scripts");

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "run the coordinator");
  serve->add_option("--config", serve_flags.config, "coordinator.yaml")->required();
  serve->add_option("--set", serve_flags.sets,
                    "override a key of coordinator.yaml, e.g. --set limits.max_sessions=500, or "
                    "of its experiment under experiment., e.g. --set experiment.rounds.count=3 "
                    "(YAML value; repeatable)")
      ->allow_extra_args(false);
  serve->add_option("--state-dir", serve_flags.state_dir, "overrides state_dir");
  serve->add_option("--listen", serve_flags.listen, "overrides listen (host:port)");
  serve->add_flag("--insecure", serve_flags.insecure, "serve plaintext (loopback experiments)");
  serve->add_option("--port-file", serve_flags.port_file,
                    "write the bound port here once listening (for scripts using port 0)");
  serve->add_option("--dashboard-port-file", serve_flags.dashboard_port_file,
                    "write the dashboard's bound port here once listening");
  serve->add_flag("--exit-when-done", serve_flags.exit_when_done,
                  "exit once the experiment's rounds are done (for scripts and simulate)");
  serve->add_option("--aggregation-slots", serve_flags.aggregation_slots,
                    "masked updates received at once; each holds one vector in memory "
                    "(default 4)")
      ->check(CLI::Range(1, 1024));
  serve->add_option("--grpc-memory", serve_flags.grpc_memory_mib,
                    "MiB for gRPC's own buffers; past half of it gRPC narrows every stream's "
                    "window, past all of it it cancels streams. Allow ~0.1 MiB per connected "
                    "participant plus 64 (default 128)")
      ->check(CLI::Range(16, 1 << 20));
  // Test hook, hidden from --help: dump each round's unmasked sum for the fault tests.
  serve->add_option("--debug-dump-sums", serve_flags.debug_dump_sums)->group("");
  serve->add_option("--debug-crash-at", serve_flags.debug_crash_at)->group("");

  std::string view_dir;
  bool view_json = false;
  CLI::App* status = app.add_subcommand("status", "summarise the state directory: experiment, "
                                                  "rounds, latest adapter, participants");
  CLI::App* rounds = app.add_subcommand("rounds", "list the experiment's rounds");
  CLI::App* participants =
      app.add_subcommand("participants", "list enrolled participants (pseudonymous ids, tags)");
  for (CLI::App* view : {status, rounds, participants}) {
    view->add_option("--state-dir", view_dir, "the state directory")->required();
    view->add_flag("--json", view_json, "print the dashboard API's JSON document instead");
  }
  std::string export_dir;
  std::optional<int64_t> export_version;
  std::string export_out;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "write an adapter version as a PEFT directory (adapter_config.json, "
                "adapter_model.safetensors)");
  export_cmd->add_option("--state-dir", export_dir, "the state directory")->required();
  export_cmd->add_option("--version", export_version, "adapter version (default: the latest)");
  export_cmd->add_option("--out", export_out, "the directory to write")->required();

  CLI11_PARSE(app, argc, argv);
  if (absl::Status st = InitLogging(kProgram, "info"); !st.ok()) return ReportError(kProgram, st);
  RouteGrpcLogsToSpdlog();
  if (*init) return ReportError(kProgram, RunInit(init_dir, hosts));
  if (*invite) return ReportError(kProgram, RunInvite(invite_flags));
  if (*status) return ReportError(kProgram, PrintStatus(view_dir, view_json));
  if (*rounds) return ReportError(kProgram, PrintRounds(view_dir, view_json));
  if (*participants) return ReportError(kProgram, PrintParticipants(view_dir, view_json));
  if (*export_cmd) {
    return ReportError(kProgram, ExportAdapter(export_dir, export_version, export_out));
  }
  return ReportError(kProgram, RunServe(serve_flags, signals));
}
