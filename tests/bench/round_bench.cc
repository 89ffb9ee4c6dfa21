// Round overhead of the federation (issue 5): everything but local training, through the real
// tontine-coordinator process over TLS on 127.0.0.1, with n in-process synthetic participants
// (the real client runner and SecAgg+ client; SyntheticProducer instead of LibTorch).
//
// For n ∈ {10, 50, 100} and an update of d ≈ 10^6 words it reports, over --rounds rounds:
//   round seconds (median): invitation → commit, with zero training time, i.e. the overhead;
//     all n participants share this machine's cores, so their masking (k+1 PRG streams of d
//     words each) is serialised here where real laptops run it in parallel;
//   coordinator CPU seconds per round: the coordinator's own cost (utime + stime);
//   the overhead as a fraction of a 60 s round (the goal: ≤ 5 % at n = 100);
//   coordinator RSS: before anyone connects, with n sessions idle (growth per participant),
//     and its peak (VmHWM) after the rounds, against d·4 bytes (goal: O(d) per aggregation
//     slot, not O(n·d));
//   bytes up per participant per round against d·4.
// Usage: round_bench [--rounds N] [--sizes 10,50,100] [--layers 8] [--grpc-memory MiB]
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/runner/enrolment.h"
#include "client/runner/participant.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "server/store/store.h"
#include "spdlog/spdlog.h"
#include "tests/testing/process.h"
#include "tests/testing/synthetic_producer.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;

// Model shape giving d = 8 layers · 2 targets · 1024 · 64 = 1,048,576 trained B words.
constexpr int kHidden = 1024;
// Layers of the model; --layers changes d in proportion (to tell per-participant memory
// that grows with d from per-connection overhead).
int kLayers = 8;
// The coordinator's --grpc-memory (MiB).
int kGrpcMemoryMib = 128;
constexpr int kRank = 64;
constexpr int kAggregationSlots = 4;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A /proc/<pid>/status field in KiB (VmRSS, VmHWM).
double StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      double kib = 0;
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2 && absl::SimpleAtod(parts[1], &kib)) return kib;
    }
  }
  return 0;
}

// utime + stime of `pid`, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> f = absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  double utime = 0, stime = 0;
  (void)absl::SimpleAtod(f[11], &utime);
  (void)absl::SimpleAtod(f[12], &stime);
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Result {
  int n = 0;
  uint64_t d = 0;
  double round_seconds = 0;
  double coordinator_cpu_per_round = 0;
  double rss_idle_mib = 0;
  double rss_connected_mib = 0;
  double rss_peak_mib = 0;
  double bytes_up_per_participant = 0;
  double bytes_down_per_participant = 0;
};

absl::StatusOr<Result> RunSize(int n, int rounds) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  TONTINE_ASSIGN_OR_RETURN(std::string sha,
                           testing::WriteTinyBaseModel(root / "base", kHidden, kLayers));
  const std::string experiment = absl::StrCat(
      "kind: experiment\nname: bench\nmodel: {base: ", (root / "base").string(),
      "}\nlora: {rank: ", kRank, ", alpha: ", 2 * kRank,
      ", target_modules: [q_proj, v_proj]}\nrounds: {count: ", rounds,
      "}\ncohort: {min_participants: ", n, ", max_participants: ", n,
      "}\nlocal_training: {steps: 1}\nsecagg: {clip_linf: 0.05}\nsimulate: {clients: ", n, "}\n"
      "deadlines: {cohort: 10m, advertise_keys: 2m, share_keys: 2m, masked_input: 10m, "
      "unmask: 2m}\n");
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(root / "experiment.yaml", experiment));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(
      root / "coordinator.yaml",
      absl::StrCat("kind: coordinator\nstate_dir: ", (root / "state").string(),
                   "\nlisten: 127.0.0.1:0\nlog_level: warn\ndashboard: {listen: \"\"}\nexperiment: ",
                   (root / "experiment.yaml").string(), "\n")));
  testing::RunResult init = testing::Run(
      {testing::Binary("tontine-coordinator"), "init", "--state-dir", (root / "state").string()});
  if (init.exit_code != 0) return absl::InternalError(init.err);
  TONTINE_ASSIGN_OR_RETURN(
      std::unique_ptr<testing::Subprocess> coordinator,
      testing::Subprocess::Start({testing::Binary("tontine-coordinator"), "serve", "--config",
                                  (root / "coordinator.yaml").string(), "--port-file",
                                  (root / "port").string(), "--exit-when-done",
                                  "--aggregation-slots", absl::StrCat(kAggregationSlots),
                                  "--grpc-memory", absl::StrCat(kGrpcMemoryMib)}));
  absl::StatusOr<std::string> port = testing::WaitForFile(root / "port", absl::Seconds(60));
  if (!port.ok()) return absl::InternalError(coordinator->err());
  const std::string address = absl::StrCat("127.0.0.1:", absl::StripAsciiWhitespace(*port));
  absl::SleepFor(absl::Milliseconds(500));
  Result result;
  result.n = n;
  result.rss_idle_mib = StatusKiB(coordinator->pid(), "VmRSS") / 1024;

  std::vector<std::unique_ptr<testing::SyntheticProducer>> producers;
  std::vector<std::unique_ptr<runner::Participant>> participants;
  for (int i = 0; i < n; ++i) {
    testing::RunResult invite =
        testing::Run({testing::Binary("tontine-coordinator"), "invite", "--state-dir",
                      (root / "state").string(), "--json"});
    if (invite.exit_code != 0) return absl::InternalError(invite.err);
    nlohmann::json j = nlohmann::json::parse(invite.out);
    runner::EnrolOptions enrol;
    enrol.state_dir = root / absl::StrCat("client-", i);
    enrol.coordinator = address;
    enrol.fingerprint = j["ca_fingerprint"].get<std::string>();
    enrol.invite_token = j["token"].get<std::string>();
    TONTINE_ASSIGN_OR_RETURN(runner::ClientIdentity id, runner::Enrol(enrol));
    producers.push_back(std::make_unique<testing::SyntheticProducer>(sha, id.participant_id));
    runner::ParticipantOptions options;
    options.identity = id;
    options.state_dir = enrol.state_dir;
    options.initial_backoff = absl::Milliseconds(200);
    participants.push_back(
        std::make_unique<runner::Participant>(options, producers.back().get()));
  }
  // A monitor samples the coordinator until it exits (its /proc entry goes with it).
  std::atomic<bool> done{false};
  std::atomic<double> peak_kib{0}, cpu{0};
  std::thread monitor([&] {
    const pid_t pid = coordinator->pid();
    while (!done.load()) {
      const double hwm = StatusKiB(pid, "VmHWM");
      const double c = CpuSeconds(pid);
      if (hwm > 0) peak_kib = hwm;
      if (c > 0) cpu = c;
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  // The first round waits for all n: with n − 1 connected and idle, the RSS shows what a
  // session costs.
  std::vector<std::thread> threads;
  for (int i = 0; i + 1 < n; ++i) {
    threads.emplace_back([p = participants[i].get()] { (void)p->Run(); });
    absl::SleepFor(absl::Milliseconds(30));
  }
  absl::SleepFor(absl::Seconds(2));
  result.rss_connected_mib = StatusKiB(coordinator->pid(), "VmRSS") / 1024;
  const double cpu_before = CpuSeconds(coordinator->pid());
  threads.emplace_back([p = participants[n - 1].get()] { (void)p->Run(); });
  absl::StatusOr<int> code = coordinator->Wait(absl::Minutes(30));
  done = true;
  monitor.join();
  for (auto& p : participants) p->Stop();
  for (std::thread& t : threads) t.join();
  if (!code.ok() || *code != 0) {
    return absl::InternalError(absl::StrCat("coordinator failed: ", coordinator->err()));
  }
  result.rss_peak_mib = peak_kib.load() / 1024;
  result.coordinator_cpu_per_round = (cpu.load() - cpu_before) / rounds;
  TONTINE_ASSIGN_OR_RETURN(auto store, store::Store::Open(root / "state" / "tontine.db", {}));
  TONTINE_ASSIGN_OR_RETURN(store::ExperimentRecord record, store->LatestExperiment());
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::RoundRecord> committed, store->ListRounds(record.id));
  std::vector<double> seconds, up, down;
  for (const store::RoundRecord& r : committed) {
    if (r.outcome != "committed") continue;
    seconds.push_back(absl::ToDoubleSeconds(r.finished - r.started));
    up.push_back(static_cast<double>(r.bytes_up) / r.participants);
    down.push_back(static_cast<double>(r.bytes_down) / n);
  }
  result.d = static_cast<uint64_t>(2 * kLayers * kHidden * kRank);
  result.round_seconds = Median(seconds);
  result.bytes_up_per_participant = Median(up);
  result.bytes_down_per_participant = Median(down);
  return result;
}

}  // namespace
}  // namespace tontine

int main(int argc, char** argv) {
  using namespace tontine;
  spdlog::set_level(spdlog::level::err);  // the participants' reconnect warnings at the end
  int rounds = 3;
  std::vector<int> sizes = {10, 50, 100};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (flag == "--layers") kLayers = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--grpc-memory") kGrpcMemoryMib = std::atoi(argv[i + 1]);
    if (flag == "--sizes") {
      sizes.clear();
      for (absl::string_view v : absl::StrSplit(argv[i + 1], ',')) {
        sizes.push_back(std::atoi(std::string(v).c_str()));
      }
    }
  }
  std::printf("round overhead: d = %d words (%.1f MiB), %d rounds per size, %u cores, "
              "coordinator with %d aggregation slots and %d MiB for gRPC\n",
              2 * kLayers * kHidden * kRank, 2.0 * kLayers * kHidden * kRank * 4 / (1 << 20),
              rounds, std::thread::hardware_concurrency(), kAggregationSlots, kGrpcMemoryMib);
  std::printf("%5s %10s %14s %12s %13s %15s %12s %10s %12s\n", "n", "round s", "coord CPU s",
              "% of 60 s", "RSS idle MiB", "+KiB/session", "peak MiB", "peak/d·4", "up/d·4");
  for (int n : sizes) {
    absl::StatusOr<Result> r = RunSize(n, rounds);
    if (!r.ok()) {
      std::fprintf(stderr, "n = %d: %s\n", n, r.status().ToString().c_str());
      return 1;
    }
    const double vector_mib = r->d * 4.0 / (1 << 20);
    std::printf("%5d %10.2f %14.2f %11.1f%% %13.1f %15.1f %12.1f %10.2f %12.4f\n", n,
                r->round_seconds, r->coordinator_cpu_per_round, 100 * r->round_seconds / 60,
                r->rss_idle_mib, (r->rss_connected_mib - r->rss_idle_mib) * 1024 / (n - 1),
                r->rss_peak_mib, r->rss_peak_mib / vector_mib,
                r->bytes_up_per_participant / (r->d * 4.0));
    std::fflush(stdout);
  }
  return 0;
}
