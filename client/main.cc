// tontine-client: what a contributor runs on their laptop.
//
//   tontine-client enrol --coordinator HOST:PORT --ca-fingerprint SHA256:… --token tti_…
//   tontine-client check
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/strings/str_join.h"
#include "client/runner/enrolment.h"
#include "common/base/cli.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/base/version.h"
#include "common/config/checks.h"
#include "proto/grpc_logging.h"
#include "common/config/client_config.h"

namespace tontine {
namespace {

constexpr char kProgram[] = "tontine-client";

// Where the client keeps its state: --state-dir, else the config's state_dir, else the
// default ~/.local/share/tontine-client.
struct StateDirFlags {
  std::string state_dir;
  std::string config;
};

void AddStateDirFlags(CLI::App* command, StateDirFlags& flags) {
  command->add_option("--state-dir", flags.state_dir,
                      "client state directory (default: from --config, else "
                      "~/.local/share/tontine-client)");
  command->add_option("--config", flags.config, "client.yaml to read state_dir from");
}

absl::StatusOr<std::filesystem::path> ResolveStateDir(const StateDirFlags& flags) {
  if (!flags.state_dir.empty()) return ExpandHome(flags.state_dir);
  if (!flags.config.empty()) {
    TONTINE_ASSIGN_OR_RETURN(config::ClientConfig config, config::LoadClientConfig(flags.config));
    return config.state_dir;
  }
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

}  // namespace
}  // namespace tontine

int main(int argc, char** argv) {
  using namespace tontine;
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
  return ReportError(kProgram, RunCheck(check_flags, check_address));
}
