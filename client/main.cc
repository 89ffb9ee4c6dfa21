// tontine-client: what a contributor runs on their laptop.
//
//   tontine-client enrol --coordinator HOST:PORT --ca-fingerprint SHA256:… --token tti_…
//   tontine-client check
//   tontine-client join --config client.yaml [--set key.path=value]...
//   tontine-client audit
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_join.h"
#include "client/runner/audit_report.h"
#include "client/runner/console_status.h"
#include "client/runner/enrolment.h"
#include "client/runner/participant.h"
#include "client/runner/transparency_log.h"
#include "client/trainer/training_producer.h"
#include "common/base/cpu.h"
#include "common/base/units.h"
#include "common/config/base_model.h"
#include "common/ml/runtime.h"
#include "spdlog/spdlog.h"
#include "common/base/cli.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/base/version.h"
#include "common/config/checks.h"
#include "proto/grpc_logging.h"
#include "common/config/client_config.h"
#include "common/config/overrides.h"

namespace tontine {
namespace {

constexpr char kProgram[] = "tontine-client";

// Where the client keeps its state: --state-dir, else the config's state_dir, else the
// default ~/.local/share/tontine-client.
struct StateDirFlags {
  std::string state_dir;
  std::string config;
  std::vector<std::string> sets;  // --set key.path=value, applied to config
};

void AddStateDirFlags(CLI::App* command, StateDirFlags& flags) {
  command->add_option("--state-dir", flags.state_dir,
                      "client state directory (default: from --config, else "
                      "~/.local/share/tontine-client)");
  command->add_option("--config", flags.config, "client.yaml to read state_dir from");
  command->add_option("--set", flags.sets, "override a key of --config, e.g. --set state_dir=DIR "
                                           "(repeatable)")
      ->allow_extra_args(false);
}

absl::StatusOr<std::filesystem::path> ResolveStateDir(const StateDirFlags& flags) {
  if (!flags.state_dir.empty()) return ExpandHome(flags.state_dir);
  TONTINE_ASSIGN_OR_RETURN(std::vector<config::Override> overrides,
                           config::ParseOverrides(flags.sets));
  if (!flags.config.empty()) {
    TONTINE_ASSIGN_OR_RETURN(config::ClientConfig config,
                             config::LoadClientConfig(flags.config, overrides));
    return config.state_dir;
  }
  if (!overrides.empty()) return absl::InvalidArgumentError("--set needs --config client.yaml");
  return ExpandHome("~/.local/share/tontine-client");
}

absl::Status RunEnrol(const StateDirFlags& flags, runner::EnrolOptions options) {
  if (std::optional<std::string> problem = config::CheckAddress(options.coordinator)) {
    return absl::InvalidArgumentError(*problem);
  }
  TONTINE_ASSIGN_OR_RETURN(options.state_dir, ResolveStateDir(flags));
  TONTINE_ASSIGN_OR_RETURN(runner::ClientIdentity id, runner::Enrol(options));
  if (id.insecure) {
    std::printf("WARNING: enrolled over plaintext (--insecure); use only on a trusted loopback\n");
  } else {
    std::printf("Pinned coordinator CA %s (verified against the server's certificate)\n",
                FormatFingerprint(id.ca_fingerprint).c_str());
  }
  std::printf("Enrolled as participant %s%s%s\n", id.participant_id.c_str(),
              id.tags.empty() ? "" : " with tags ",
              absl::StrJoin(id.tags, ",", absl::PairFormatter("=")).c_str());
  std::printf("Credential saved in %s (readable only by you)\n",
              (options.state_dir / "credential.json").c_str());
  return absl::OkStatus();
}

absl::Status RunCheck(const StateDirFlags& flags, const std::string& address) {
  TONTINE_ASSIGN_OR_RETURN(std::filesystem::path state_dir, ResolveStateDir(flags));
  TONTINE_ASSIGN_OR_RETURN(runner::ClientIdentity id, runner::LoadIdentity(state_dir));
  auto client = transport::CoordinatorClient::Create(id.Channel(address));
  v1::Hello hello;
  hello.set_protocol_version(kProtocolVersion);
  hello.set_client_version(kVersion);
  TONTINE_ASSIGN_OR_RETURN(v1::Welcome welcome, client->Handshake(hello));
  std::printf("%s session with %s established; authenticated as %s\n",
              id.insecure ? "Plaintext" : "TLS",
              (address.empty() ? id.coordinator : address).c_str(),
              welcome.participant_id().c_str());
  TONTINE_ASSIGN_OR_RETURN(v1::CoordinatorStatus status, client->GetStatus());
  std::printf("Coordinator %s (protocol %u), experiment '%s': %u enrolled, %u connected, "
              "%llu rounds committed\n",
              status.coordinator_version().c_str(), status.protocol_version(),
              status.experiment().c_str(), status.participants_enrolled(),
              status.participants_connected(),
              static_cast<unsigned long long>(status.rounds_committed()));
  return absl::OkStatus();
}

struct JoinFlags {
  std::string config;
  std::vector<std::string> sets;  // --set key.path=value, applied to config
  std::string state_dir;
  std::string coordinator;
  // Test hooks (hidden from --help).
  std::string drop_at;
  double drop_probability = 0;
  uint64_t drop_seed = 0;
  std::string dump_inputs;
  std::string capture_dir;
};

// Caps the data segment, which on Linux counts every private writable mapping (malloc'ed
// tensors included): an allocation beyond it fails and training stops with an error instead
// of the laptop swapping.
absl::Status CapMemory(uint64_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  struct rlimit limit = {bytes, bytes};
  if (setrlimit(RLIMIT_DATA, &limit) != 0) {
    return absl::InternalError(absl::StrCat("cannot cap memory at ", bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status RunJoin(const JoinFlags& flags, const sigset_t& signals) {
  TONTINE_ASSIGN_OR_RETURN(std::vector<config::Override> overrides,
                           config::ParseOverrides(flags.sets));
  TONTINE_ASSIGN_OR_RETURN(config::ClientConfig config,
                           config::LoadClientConfig(flags.config, overrides));
  if (!flags.state_dir.empty()) config.state_dir = ExpandHome(flags.state_dir);
  if (!flags.coordinator.empty()) config.coordinator = flags.coordinator;
  TONTINE_RETURN_IF_ERROR(InitLogging(kProgram, config.log_level));
  TONTINE_ASSIGN_OR_RETURN(runner::ClientIdentity id, runner::LoadIdentity(config.state_dir));
  TONTINE_ASSIGN_OR_RETURN(std::filesystem::path base_dir,
                           config::ResolveBaseModel(config.base_model_dir));
  runner::ResourceGovernorOptions limits;
  limits.pause_when_on_battery = config.pause_when_on_battery;
  limits.daily_cpu_budget = config.daily_cpu_budget;
  limits.ledger_path = config.state_dir / runner::kCpuBudgetFile;
  TONTINE_ASSIGN_OR_RETURN(std::unique_ptr<runner::ResourceGovernor> governor,
                           runner::ResourceGovernor::Create(limits));
  const ml::RuntimeReport runtime = ml::ConfigureRuntime(config.threads);
  TONTINE_RETURN_IF_ERROR(CapMemory(config.memory_limit_bytes));
  // Status on stderr, redrawn in place on a terminal. It lives as long as the process: the
  // log sink that prints above its live line points at it.
  static runner::StatusLine* const status_line = new runner::StatusLine(
      {.fd = STDERR_FILENO, .terminal = runner::FdIsInteractiveTerminal(STDERR_FILENO)});
  if (status_line->terminal()) runner::InstallLogSink(status_line);
  const std::string machine =
      runner::FormatMachineLimits(runtime.threads, config.memory_limit_bytes);
  status_line->Phase(absl::StrCat("limits: ", machine, "; ", governor->DescribeLimits()));
  runner::ConsoleStatus console(status_line, governor.get(), machine);
  TONTINE_ASSIGN_OR_RETURN(
      std::unique_ptr<trainer::TrainingProducer> producer,
      trainer::TrainingProducer::Create({base_dir, config.data_dir, id.participant_id}));

  runner::ParticipantOptions options;
  options.identity = id;
  options.address = config.coordinator;
  options.state_dir = config.state_dir;
  options.initial_backoff = config.reconnect.initial_backoff;
  options.max_backoff = config.reconnect.max_backoff;
  options.threads_offered = static_cast<uint32_t>(runtime.threads);
  options.memory_limit_mib = config.memory_limit_bytes >> 20;
  TONTINE_RETURN_IF_ERROR(runner::ApplyDropFlags(flags.drop_at, flags.drop_probability,
                                                 flags.drop_seed, options));
  options.dump_inputs_dir = flags.dump_inputs;
  options.capture_dir = flags.capture_dir;
  options.observer = &console;
  options.governor = governor.get();
  runner::Participant participant(options, producer.get());
  absl::Status status = participant.RunUntilSignalled(signals);
  status_line->Finish();
  return status;
}

absl::Status RunAudit(const StateDirFlags& flags, bool json) {
  TONTINE_ASSIGN_OR_RETURN(std::filesystem::path state_dir, ResolveStateDir(flags));
  TONTINE_ASSIGN_OR_RETURN(std::string report, runner::AuditReport(state_dir, json));
  std::fputs(report.c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace
}  // namespace tontine

int main(int argc, char** argv) {
  using namespace tontine;
  // OpenBLAS reads OPENBLAS_CORETYPE when it loads: set it from CPUID and re-exec once.
  EnsureOpenBlasCoreType(argc, argv);
  // Termination signals are taken by a sigwait thread (join); block them before any thread.
  const sigset_t signals = BlockTerminationSignals();
  CLI::App app{"Tontine client: contribute to federated fine-tuning without sharing your text"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error, off");

  StateDirFlags enrol_flags;
  runner::EnrolOptions enrol;
  CLI::App* enrol_cmd = app.add_subcommand("enrol", "redeem an invite and store the credential");
  enrol_cmd->add_option("--coordinator", enrol.coordinator, "coordinator address host:port")
      ->required();
  enrol_cmd->add_option("--ca-fingerprint", enrol.fingerprint,
                        "the coordinator CA's SHA-256 fingerprint, from the operator");
  enrol_cmd->add_option("--token", enrol.invite_token, "the invite token (tti_…)")->required();
  enrol_cmd->add_flag("--insecure", enrol.insecure,
                      "plaintext, for a coordinator started with --insecure (loopback only)");
  AddStateDirFlags(enrol_cmd, enrol_flags);

  StateDirFlags check_flags;
  std::string check_address;
  CLI::App* check_cmd =
      app.add_subcommand("check", "connect, authenticate and show the coordinator's status");
  AddStateDirFlags(check_cmd, check_flags);
  check_cmd->add_option("--coordinator", check_address,
                        "address to use instead of the one from enrolment");

  JoinFlags join_flags;
  CLI::App* join_cmd = app.add_subcommand(
      "join", "take part in the federation's rounds until stopped (Ctrl-C)");
  join_cmd->add_option("--config", join_flags.config, "client.yaml")->required();
  join_cmd->add_option("--set", join_flags.sets,
                       "override a key of client.yaml, e.g. --set threads=2 or --set "
                       "memory_limit=2GiB (YAML value; repeatable)")
      ->allow_extra_args(false);
  join_cmd->add_option("--state-dir", join_flags.state_dir, "overrides state_dir");
  join_cmd->add_option("--coordinator", join_flags.coordinator, "overrides coordinator");
  // Test hooks for `tontine simulate` and the fault tests; hidden from --help.
  join_cmd->add_option("--drop-at", join_flags.drop_at)->group("");
  join_cmd->add_option("--drop-probability", join_flags.drop_probability)->group("");
  join_cmd->add_option("--drop-seed", join_flags.drop_seed)->group("");
  join_cmd->add_option("--debug-dump-inputs", join_flags.dump_inputs)->group("");
  join_cmd->add_option("--debug-capture-dir", join_flags.capture_dir)->group("");

  StateDirFlags audit_flags;
  bool audit_json = false;
  CLI::App* audit_cmd =
      app.add_subcommand("audit", "show every message this client sent to the coordinator");
  AddStateDirFlags(audit_cmd, audit_flags);
  audit_cmd->add_flag("--json", audit_json, "print the log as one JSON array");

  CLI11_PARSE(app, argc, argv);
  if (absl::Status st = InitLogging(kProgram, log_level); !st.ok()) {
    return ReportError(kProgram, st);
  }
  RouteGrpcLogsToSpdlog();
  if (*enrol_cmd) {
    if (!enrol.insecure && enrol.fingerprint.empty()) {
      return ReportError(kProgram, absl::InvalidArgumentError(
                                       "--ca-fingerprint is required (or --insecure for a "
                                       "plaintext loopback coordinator)"));
    }
    return ReportError(kProgram, RunEnrol(enrol_flags, enrol));
  }
  if (*join_cmd) return ReportError(kProgram, RunJoin(join_flags, signals));
  if (*audit_cmd) return ReportError(kProgram, RunAudit(audit_flags, audit_json));
  return ReportError(kProgram, RunCheck(check_flags, check_address));
}
