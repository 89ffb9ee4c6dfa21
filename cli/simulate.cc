#include "cli/simulate.h"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/child_process.h"
#include "cli/interrupt.h"
#include "cli/round_follower.h"
#include "cli/simulate_data.h"
#include "cli/simulate_model.h"
#include "cli/simulate_plan.h"
#include "cli/simulate_report.h"
#include "common/base/cli.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"
#include "common/config/experiment_config.h"
#include "common/config/overrides.h"
#include "spdlog/spdlog.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kProgram[] = "tontine";
// Children get this long to exit after SIGTERM before SIGKILL.
constexpr absl::Duration kStopGrace = absl::Seconds(5);
// Bound on each start-up step: init, invite, enrol, the coordinator's port file.
constexpr absl::Duration kStartTimeout = absl::Seconds(60);
constexpr absl::Duration kPollInterval = absl::Milliseconds(500);

struct Client {
  int index = 0;
  std::string language;
  std::vector<std::string> argv;  // join, restarted with the same flags
  std::unique_ptr<ChildProcess> process;
  std::optional<ExitStatus> died;  // set when it ended other than by SIGKILL: not restarted
};

// One run. Lifecycle: Run (once); the destructor stops every child still running.
// Not thread-safe; children are started from the main thread only (child_process.h).
class Simulation {
 public:
  explicit Simulation(SimulateArgs args) : args_(std::move(args)) {}
  ~Simulation() { StopAll(); }

  absl::Status Run();

 private:
  absl::Status Prepare();
  void StartReport(absl::Time now);
  absl::Status StartCoordinator();
  absl::Status StartClients();
  absl::StatusOr<nlohmann::json> Invite(const std::string& language);
  absl::StatusOr<int> WaitForPort();
  absl::Status Supervise();
  absl::Status PollRounds();
  absl::Status SuperviseClients();
  absl::Status RunCentralized();
  void StopAll();
  // `status` with the end of the coordinator's log and the clients that died appended.
  absl::Status WithDiagnosis(const absl::Status& status);
  void Print(const std::string& line);

  const SimulateArgs args_;
  std::vector<config::Override> overrides_;  // args_.overrides, parsed
  config::ExperimentConfig experiment_;
  SimulateBinaries binaries_;
  std::unique_ptr<RunLayout> layout_;
  std::vector<LanguageData> languages_;
  std::unique_ptr<SimulateModel> model_;
  absl::Duration round_timeout_;
  SimulateReport report_;

  std::vector<nlohmann::json> invites_;  // [clients]: {token, ca_fingerprint, …}
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<Client> clients_;
  std::unique_ptr<RoundFollower> rounds_;
  absl::Time last_commit_;
};

absl::Status Simulation::Run() {
  TONTINE_RETURN_IF_ERROR(Prepare());
  if (Interrupted()) return absl::CancelledError("interrupted");
  TONTINE_RETURN_IF_ERROR(StartCoordinator());
  absl::Status status = StartClients();
  if (status.ok()) status = Supervise();
  StopAll();
  if (status.ok() && args_.centralized) status = RunCentralized();
  if (absl::Status written = WriteReport(report_, layout_->dir); status.ok()) status = written;
  if (!status.ok()) return status;
  std::printf("\n%sreport: %s, %s\nlogs: %s\n", FormatSummary(report_).c_str(),
              (layout_->dir / "report.json").c_str(), (layout_->dir / "report.csv").c_str(),
              layout_->logs.c_str());
  return absl::OkStatus();
}

// Everything before the first process starts: the experiment, the binaries, the data and
// its slices, the base model's evaluation, and the run directory.
absl::Status Simulation::Prepare() {
  TONTINE_ASSIGN_OR_RETURN(overrides_, config::ParseOverrides(args_.overrides));
  TONTINE_ASSIGN_OR_RETURN(experiment_, config::LoadExperimentConfig(args_.config, overrides_));
  const config::SimulateConfig& sim = experiment_.simulate;
  TONTINE_ASSIGN_OR_RETURN(round_timeout_,
                           ResolveRoundTimeout(args_.round_timeout, experiment_.deadlines));
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ErrnoStatus(ec.value(), "cannot read", "/proc/self/exe");
  TONTINE_ASSIGN_OR_RETURN(binaries_, FindBinaries(exe));
  const fs::path cwd = fs::current_path();
  TONTINE_ASSIGN_OR_RETURN(fs::path data_dir,
                           ResolveDataDir(sim.data_dir, cwd, exe.parent_path()));
  TONTINE_ASSIGN_OR_RETURN(
      languages_,
      LoadSimulatedLanguages(data_dir, sim, experiment_.evaluation.held_out_fraction));
  const std::vector<ClientSlice> slices = SliceByLanguage(languages_, sim.clients, sim.seed);
  TONTINE_RETURN_IF_ERROR(CheckSlices(slices));
  TONTINE_ASSIGN_OR_RETURN(
      model_, SimulateModel::Create(experiment_, Pooled(languages_, true), args_.threads));
  const absl::Time now = absl::Now();
  layout_ = std::make_unique<RunLayout>(
      fs::absolute(args_.out.empty() ? DefaultOutDir(cwd, experiment_.name, now) : args_.out));
  TONTINE_RETURN_IF_ERROR(PrepareOutDir(layout_->dir));
  for (const ClientSlice& slice : slices) {
    TONTINE_RETURN_IF_ERROR(WriteSlice(slice, layout_->ClientData(slice.client)));
    clients_.push_back({.index = slice.client, .language = slice.language});
  }
  StartReport(now);
  return WriteReport(report_, layout_->dir);
}

void Simulation::StartReport(absl::Time now) {
  report_.experiment = experiment_.name;
  report_.config = fs::absolute(args_.config).lexically_normal().string();
  report_.overrides = args_.overrides;
  report_.started = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
  report_.clients = experiment_.simulate.clients;
  report_.rounds_planned = experiment_.rounds.count;
  for (const LanguageData& language : languages_) report_.languages.push_back(language.language);
  for (const Client& client : clients_) report_.client_languages.push_back(client.language);
  report_.base = model_->base();
  Print(absl::StrCat("simulating ", experiment_.name, ": ", report_.clients, " clients on ",
                     absl::StrJoin(report_.languages, ", "), ", ", report_.rounds_planned,
                     " rounds; run directory ", layout_->dir.string()));
  Print(FormatEvaluationLine("base", *report_.base, report_.rounds_planned));
}

absl::Status Simulation::StartCoordinator() {
  const fs::path& state = layout_->coordinator_state;
  const fs::path log = layout_->CoordinatorLog();
  TONTINE_RETURN_IF_ERROR(
      RunToCompletion({binaries_.coordinator.string(), "init", "--state-dir", state.string()},
                      log, kStartTimeout)
          .status());
  for (const Client& client : clients_) {
    TONTINE_ASSIGN_OR_RETURN(nlohmann::json invite, Invite(client.language));
    invites_.push_back(std::move(invite));
  }
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(layout_->coordinator_yaml,
                                          CoordinatorYaml(state, report_.config)));
  TONTINE_ASSIGN_OR_RETURN(rounds_, RoundFollower::Open(state));
  std::vector<std::string> serve = {binaries_.coordinator.string(), "serve", "--config",
                                    layout_->coordinator_yaml.string(), "--state-dir",
                                    state.string(), "--listen", "127.0.0.1:0", "--port-file",
                                    layout_->port_file.string(), "--dashboard-port-file",
                                    layout_->dashboard_port_file.string(), "--exit-when-done"};
  // The coordinator runs the experiment as overridden here: its own --set, under experiment.
  for (const config::Override& o : overrides_) {
    serve.push_back("--set");
    serve.push_back(absl::StrCat("experiment.", config::OverrideFlag(o.path, o.value)));
  }
  TONTINE_ASSIGN_OR_RETURN(coordinator_, ChildProcess::Start(serve, log));
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> Simulation::Invite(const std::string& language) {
  TONTINE_ASSIGN_OR_RETURN(
      std::string out,
      RunToCompletion({binaries_.coordinator.string(), "invite", "--state-dir",
                       layout_->coordinator_state.string(), "--tag",
                       absl::StrCat(experiment_.evaluation.group_by_tag, "=", language), "--json"},
                      layout_->CoordinatorLog(), kStartTimeout));
  nlohmann::json invite = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (invite.is_discarded() || !invite.is_object() || !invite.contains("token") ||
      !invite["token"].is_string() || !invite.contains("ca_fingerprint") ||
      !invite["ca_fingerprint"].is_string()) {
    return absl::InternalError(absl::StrCat(
        "tontine-coordinator invite --json printed no {token, ca_fingerprint} object: ", out));
  }
  return invite;
}

absl::StatusOr<int> Simulation::WaitForPort() {
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline && !Interrupted()) {
    if (std::optional<ExitStatus> exit = coordinator_->Poll()) {
      return absl::InternalError(absl::StrCat("tontine-coordinator serve ", exit->ToString(),
                                              " before it listened"));
    }
    absl::StatusOr<std::string> text = ReadFile(layout_->port_file);
    int port = 0;
    if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port) && port > 0) {
      return port;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  if (Interrupted()) return absl::CancelledError("interrupted");
  return absl::DeadlineExceededError(absl::StrCat(
      "tontine-coordinator serve wrote no port to ", layout_->port_file.string(), " within ",
      FormatShortDuration(kStartTimeout)));
}

// Enrols every client and starts its `join`. Errors carry the diagnosis (WithDiagnosis).
absl::Status Simulation::StartClients() {
  absl::StatusOr<int> port = WaitForPort();
  if (!port.ok()) return WithDiagnosis(port.status());
  const config::SimulateConfig& sim = experiment_.simulate;
  // Absolute, since client.yaml's relative paths would resolve against its own directory.
  std::optional<fs::path> base_model = experiment_.model.base_dir;
  if (base_model.has_value()) base_model = fs::absolute(*base_model).lexically_normal();
  for (Client& client : clients_) {
    const int i = client.index;
    const fs::path state = layout_->ClientState(i);
    TONTINE_RETURN_IF_ERROR(MakeDirs(layout_->ClientYaml(i).parent_path()));
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(
        layout_->ClientYaml(i),
        ClientYaml(state, layout_->ClientData(i), base_model, sim.threads_per_client)));
    const nlohmann::json& invite = invites_[static_cast<size_t>(i)];
    absl::Status enrolled =
        RunToCompletion({binaries_.client.string(), "enrol", "--coordinator",
                         absl::StrCat("127.0.0.1:", *port), "--ca-fingerprint",
                         invite["ca_fingerprint"].get<std::string>(), "--token",
                         invite["token"].get<std::string>(), "--state-dir", state.string()},
                        layout_->ClientLog(i), kStartTimeout)
            .status();
    if (!enrolled.ok()) return WithDiagnosis(enrolled);
    client.argv = JoinArgv(binaries_.client, layout_->ClientYaml(i), state,
                           DropoutOf(sim.dropout, i), DropSeed(sim.seed, i));
    TONTINE_ASSIGN_OR_RETURN(client.process, ChildProcess::Start(client.argv, layout_->ClientLog(i)));
  }
  spdlog::info("coordinator on 127.0.0.1:{}; {} clients enrolled and joining", *port,
               clients_.size());
  // serve starts its dashboard before it listens for clients, so the port is there by now.
  absl::StatusOr<std::string> dashboard_port = ReadFile(layout_->dashboard_port_file);
  if (dashboard_port.ok()) {
    spdlog::info("dashboard on https://127.0.0.1:{}/ (admin token in {})",
                 std::string(absl::StripAsciiWhitespace(*dashboard_port)),
                 (layout_->coordinator_state / "dashboard-token").string());
  }
  return absl::OkStatus();
}

absl::Status Simulation::Supervise() {
  last_commit_ = absl::Now();
  for (;;) {
    if (Interrupted()) {
      return absl::CancelledError("interrupted; stopped the coordinator and the clients");
    }
    TONTINE_RETURN_IF_ERROR(PollRounds());
    if (std::optional<ExitStatus> exit = coordinator_->Poll()) {
      if (!exit->success()) {
        return WithDiagnosis(
            absl::InternalError(absl::StrCat("tontine-coordinator serve ", exit->ToString())));
      }
      return PollRounds();  // the rounds committed just before it exited
    }
    TONTINE_RETURN_IF_ERROR(SuperviseClients());
    if (absl::Now() - last_commit_ > round_timeout_) {
      return WithDiagnosis(absl::DeadlineExceededError(absl::StrCat(
          "no round committed in ", FormatShortDuration(round_timeout_),
          " (--round-timeout; the default is twice the experiment's deadlines for one round)")));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status Simulation::PollRounds() {
  TONTINE_ASSIGN_OR_RETURN(std::vector<RoundFollower::NewRound> rounds, rounds_->Poll());
  for (RoundFollower::NewRound& round : rounds) {
    if (round.adapter_dir.has_value()) {
      TONTINE_ASSIGN_OR_RETURN(round.row.evaluation, model_->EvaluateAdapter(*round.adapter_dir));
    }
    if (round.row.committed > 0) last_commit_ = absl::Now();
    Print(FormatRoundLine(round.row, report_.rounds_planned));
    report_.rounds.push_back(std::move(round.row));
    TONTINE_RETURN_IF_ERROR(WriteReport(report_, layout_->dir));
  }
  return absl::OkStatus();
}

absl::Status Simulation::SuperviseClients() {
  int running = 0;
  for (Client& client : clients_) {
    if (client.died.has_value()) continue;
    std::optional<ExitStatus> exit = client.process->Poll();
    if (exit.has_value() && exit->signal == SIGKILL) {
      // An injected dropout (--drop-at): the client killed itself. Start it again with the
      // same state and flags so that it rejoins later rounds.
      std::ofstream(layout_->ClientLog(client.index), std::ios::app)
          << "---- tontine simulate: restarting " << ClientName(client.index) << " after SIGKILL\n";
      TONTINE_ASSIGN_OR_RETURN(client.process,
                               ChildProcess::Start(client.argv, layout_->ClientLog(client.index)));
      ++report_.client_restarts;
      spdlog::info("{} ({}) dropped out; restarted", ClientName(client.index), client.language);
    } else if (exit.has_value()) {
      client.died = exit;
      spdlog::warn("{} ({}) {}; see {}", ClientName(client.index), client.language,
                   exit->ToString(), layout_->ClientLog(client.index).string());
      continue;
    }
    ++running;
  }
  if (running < experiment_.cohort.min_participants) {
    return WithDiagnosis(absl::FailedPreconditionError(absl::StrCat(
        "only ", running, " of ", clients_.size(), " clients are still running, fewer than "
        "cohort.min_participants = ", experiment_.cohort.min_participants)));
  }
  return absl::OkStatus();
}

absl::Status Simulation::RunCentralized() {
  const CentralizedSchedule schedule =
      CentralizedStepsOf(report_.rounds, experiment_.local_training.steps);
  if (schedule.steps == 0) {
    spdlog::warn("no round committed an update; there is nothing to compare a centralized "
                 "baseline with");
    return absl::OkStatus();
  }
  if (!rounds_->initial_adapter().has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        layout_->coordinator_state.string(), ": the experiment has no initial adapter to start "
        "the centralized baseline from"));
  }
  TONTINE_ASSIGN_OR_RETURN(
      CentralizedRow row,
      model_->TrainCentralized(*rounds_->initial_adapter(), Pooled(languages_, false),
                               schedule.steps, schedule.batch_factor,
                               layout_->centralized_adapter));
  Print(absl::StrCat(FormatEvaluationLine("centralized", row.evaluation, report_.rounds_planned),
                     "  ", row.steps, " steps  ", absl::StrFormat("%.1f s", row.seconds)));
  report_.centralized = std::move(row);
  return absl::OkStatus();
}

void Simulation::StopAll() {
  std::vector<ChildProcess*> running;
  for (Client& client : clients_) {
    if (client.process != nullptr) running.push_back(client.process.get());
  }
  if (coordinator_ != nullptr) running.push_back(coordinator_.get());
  TerminateAll(running, kStopGrace);
}

absl::Status Simulation::WithDiagnosis(const absl::Status& status) {
  std::string message(status.message());
  if (layout_ != nullptr) {
    absl::StrAppend(&message, "\nlast lines of ", layout_->CoordinatorLog().string(), ":\n",
                    TailOfFile(layout_->CoordinatorLog(), 30));
  }
  std::vector<std::string> dead;
  for (const Client& client : clients_) {
    if (!client.died.has_value()) continue;
    dead.push_back(absl::StrCat(ClientName(client.index), " (", client.language, ") ",
                                client.died->ToString(), "; see ",
                                layout_->ClientLog(client.index).string()));
  }
  absl::StrAppend(&message, "\nclients that died: ",
                  dead.empty() ? "none" : absl::StrCat("\n  ", absl::StrJoin(dead, "\n  ")));
  if (report_.client_restarts > 0) {
    absl::StrAppend(&message, "\nclient restarts after dropouts: ", report_.client_restarts);
  }
  return absl::Status(status.code(), message);
}

void Simulation::Print(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int RunSimulate(const SimulateArgs& args) {
  CatchInterrupts();
  Simulation simulation(args);
  return ReportError(kProgram, simulation.Run());
}

}  // namespace tontine::cli
