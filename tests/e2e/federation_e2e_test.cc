// The federation's faults through real processes on 127.0.0.1 over TLS: the real
// tontine-coordinator, and participants that run the real client runner with a synthetic
// update (tontine-vector-client: no LibTorch, so each starts in milliseconds).
//
// Exactness is checked through two test hooks: the coordinator dumps each committed round's
// unmasked sum and included participants (--debug-dump-sums), and each participant dumps its
// unmasked update vector (--dump-inputs); the sum must equal the survivors' vectors added
// modulo 2^32, word for word.
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/encoding.h"
#include "client/runner/enrolment.h"
#include "client/transport/coordinator_client.h"
#include "common/base/files.h"
#include "common/secagg/client.h"
#include "proto/wire_status.h"
#include "server/round/global_adapter.h"
#include "server/store/store.h"
#include "tests/testing/process.h"
#include "tests/testing/synthetic_producer.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::RunResult;
using testing::Subprocess;

fs::path VectorClientBinary() {
  return fs::read_symlink("/proc/self/exe").parent_path() / "tontine-vector-client";
}

std::vector<uint32_t> ReadWords(const fs::path& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return {};
  std::vector<uint32_t> words(bytes->size() / 4);
  std::memcpy(words.data(), bytes->data(), words.size() * 4);
  return words;
}

struct ExperimentShape {
  int participants = 5;
  int rounds = 1;
  int neighbours = 4;
  int threshold = 3;
  std::string aggregation = "{}";  // the experiment's aggregation: section, in flow style
  int local_steps = 2;
  std::string masked_input_deadline = "30s";
  std::string heartbeat_interval = "15s";  // the coordinator's limits.heartbeat_interval
};

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> sha = testing::WriteTinyBaseModel(dir_.path() / "base");
    ASSERT_TRUE(sha.ok()) << sha.status();
    base_sha256_ = HexEncode(*sha);
    for (const char* sub : {"sums", "inputs"}) fs::create_directories(dir_.path() / sub);
    RunResult init = testing::Run({testing::Binary("tontine-coordinator"), "init", "--state-dir",
                          StateDir().string()});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  fs::path StateDir() const { return dir_.path() / "state"; }

  void WriteConfigs(const ExperimentShape& shape) {
    const std::string experiment = absl::StrCat(R"(kind: experiment
name: faults
model: {base: )", (dir_.path() / "base").string(), R"(}
lora: {rank: 2, alpha: 4, target_modules: [q_proj, v_proj]}
rounds: {count: )", shape.rounds, R"(}
cohort: {min_participants: )", shape.participants, ", max_participants: ", shape.participants,
                                                R"(}
local_training: {steps: )", shape.local_steps, R"(}
aggregation: )", shape.aggregation, R"(
secagg: {neighbours: )", shape.neighbours, ", reconstruction_threshold: ", shape.threshold,
                                                R"(}
deadlines: {cohort: 1m, advertise_keys: 10s, share_keys: 10s, masked_input: )",
                                                shape.masked_input_deadline, R"(, unmask: 10s}
)");
    ASSERT_TRUE(WriteFileAtomic(dir_.path() / "experiment.yaml", experiment).ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.path() / "coordinator.yaml",
                                absl::StrCat("kind: coordinator\nstate_dir: ", StateDir().string(),
                                             "\nlisten: 127.0.0.1:0\ndashboard: {listen: 127.0.0.1:0}\nexperiment: ",
                                             (dir_.path() / "experiment.yaml").string(),
                                             "\nlimits: {heartbeat_interval: ",
                                             shape.heartbeat_interval, "}\n"))
                    .ok());
  }

  // Starts the coordinator (on the first start's port when restarting).
  void StartCoordinator(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {testing::Binary("tontine-coordinator"), "serve", "--config",
                                     (dir_.path() / "coordinator.yaml").string(), "--port-file",
                                     (dir_.path() / "port").string(), "--dashboard-port-file",
                                     (dir_.path() / "dashboard.port").string(), "--exit-when-done",
                                     "--debug-dump-sums", (dir_.path() / "sums").string()};
    if (!address_.empty()) argv.insert(argv.end(), {"--listen", address_});
    argv.insert(argv.end(), extra.begin(), extra.end());
    fs::remove(dir_.path() / "port");
    absl::StatusOr<std::unique_ptr<Subprocess>> started = Subprocess::Start(argv);
    ASSERT_TRUE(started.ok()) << started.status();
    coordinator_ = std::move(*started);
    absl::StatusOr<std::string> port = testing::WaitForFile(dir_.path() / "port", absl::Seconds(30));
    ASSERT_TRUE(port.ok()) << coordinator_->err();
    address_ = absl::StrCat("127.0.0.1:", absl::StripAsciiWhitespace(*port));
  }

  // Invites and enrols participant `i` (tag language=l<i mod 2>).
  void Enrol(int i) {
    RunResult invite = testing::Run({testing::Binary("tontine-coordinator"), "invite", "--state-dir",
                            StateDir().string(), "--tag", absl::StrCat("language=l", i % 2),
                            "--json"});
    ASSERT_EQ(invite.exit_code, 0) << invite.err;
    nlohmann::json j = nlohmann::json::parse(invite.out);
    RunResult enrol = testing::Run({testing::Binary("tontine-client"), "enrol", "--coordinator", address_,
                           "--ca-fingerprint", j["ca_fingerprint"].get<std::string>(), "--token",
                           j["token"].get<std::string>(), "--state-dir", ClientDir(i).string()});
    ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
  }

  fs::path ClientDir(int i) const { return dir_.path() / absl::StrCat("client-", i); }

  // An HTTPS client of the running coordinator's dashboard that verifies its certificate
  // against the state dir's CA.
  std::unique_ptr<httplib::SSLClient> DashboardClient() {
    absl::StatusOr<std::string> text =
        testing::WaitForFile(dir_.path() / "dashboard.port", absl::Seconds(10));
    int port = 0;
    EXPECT_TRUE(text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port))
        << text.status();
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    client->set_ca_cert_path((StateDir() / "tls" / "ca.pem").c_str());
    client->enable_server_certificate_verification(true);
    return client;
  }

  void StartClient(int i, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {VectorClientBinary().string(), "--state-dir",
                                     ClientDir(i).string(), "--base-sha256", base_sha256_,
                                     "--dump-inputs", (dir_.path() / "inputs").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<Subprocess>> started = Subprocess::Start(argv);
    ASSERT_TRUE(started.ok()) << started.status();
    clients_[i] = std::move(*started);
  }

  // Enrols and starts `n` participants; `extra[i]` adds flags to participant i.
  void StartFederation(int n, std::map<int, std::vector<std::string>> extra = {}) {
    for (int i = 0; i < n; ++i) {
      Enrol(i);
      StartClient(i, extra[i]);
    }
  }

  // Waits for the coordinator to exit by itself and returns its exit code.
  int WaitCoordinator(absl::Duration timeout = absl::Seconds(90)) {
    absl::StatusOr<int> code = coordinator_->Wait(timeout);
    EXPECT_TRUE(code.ok()) << code.status() << "\n" << coordinator_->err();
    return code.ok() ? *code : -1;
  }

  std::vector<store::RoundRecord> Rounds() {
    auto store = store::Store::Open(StateDir() / "tontine.db", {});
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    absl::StatusOr<store::ExperimentRecord> experiment = (*store)->LatestExperiment();
    EXPECT_TRUE(experiment.ok()) << experiment.status();
    absl::StatusOr<std::vector<store::RoundRecord>> rounds = (*store)->ListRounds(experiment->id);
    EXPECT_TRUE(rounds.ok()) << rounds.status();
    return rounds.ok() ? *rounds : std::vector<store::RoundRecord>{};
  }

  // The participants whose update the coordinator says is in round `id`'s sum.
  std::vector<std::string> Included(int64_t id) {
    absl::StatusOr<std::string> text =
        ReadFile(dir_.path() / "sums" / absl::StrCat("round-", id, ".included"));
    EXPECT_TRUE(text.ok()) << text.status();
    return absl::StrSplit(text.value_or(""), '\n', absl::SkipEmpty());
  }

  // Asserts that round `id`'s unmasked sum equals its included participants' inputs added
  // modulo 2^32.
  void ExpectExactSum(int64_t id) {
    std::vector<uint32_t> sum =
        ReadWords(dir_.path() / "sums" / absl::StrCat("round-", id, ".sum"));
    ASSERT_FALSE(sum.empty());
    std::vector<uint32_t> expected(sum.size(), 0);
    for (const std::string& participant : Included(id)) {
      std::vector<uint32_t> input = ReadWords(
          dir_.path() / "inputs" / absl::StrCat("round-", id, "-", participant, ".input"));
      ASSERT_EQ(input.size(), sum.size()) << participant;
      for (size_t w = 0; w < sum.size(); ++w) expected[w] += input[w];
    }
    EXPECT_EQ(sum, expected) << "round " << id;
  }

  std::string ParticipantId(int i) {
    absl::StatusOr<std::string> credential = ReadFile(ClientDir(i) / "credential.json");
    EXPECT_TRUE(credential.ok()) << credential.status();
    return nlohmann::json::parse(credential.value_or("{}")).value("participant_id", "");
  }

  testing::TempDir dir_;
  std::string base_sha256_;  // hex
  std::string address_;
  std::unique_ptr<Subprocess> coordinator_;
  std::map<int, std::unique_ptr<Subprocess>> clients_;
};

TEST_F(FederationTest, FiveParticipantsCommitTwoRoundsWithExactSums) {
  WriteConfigs({.participants = 5, .rounds = 2});
  StartCoordinator();
  StartFederation(5);
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 2u);
  for (const store::RoundRecord& round : rounds) {
    EXPECT_EQ(round.outcome, "committed");
    EXPECT_EQ(round.participants, 5);
    EXPECT_EQ(round.dropped, 0);
    EXPECT_GT(round.bytes_up, 0);
    EXPECT_GT(round.bytes_down, 0);
    ExpectExactSum(round.id);
    // Metrics travel masked too: the cohort totals of the synthetic held-out numbers.
    nlohmann::json metrics = nlohmann::json::parse(round.metrics_json);
    const update::BucketMetrics each = testing::SyntheticProducer::HeldOut();
    EXPECT_EQ(metrics["buckets"]["l0"]["tokens"].get<uint64_t>(), 3 * each.tokens);  // 0, 2, 4
    EXPECT_EQ(metrics["buckets"]["l1"]["tokens"].get<uint64_t>(), 2 * each.tokens);  // 1, 3
    EXPECT_NEAR(metrics["buckets"]["l1"]["nll_sum"].get<double>(), 2 * each.nll_sum, 0.1);
  }
  EXPECT_EQ(rounds[1].adapter_version.value(), rounds[0].adapter_version.value() + 1);
  // Under ffa the participants fetched each version without its A (half the bytes).
  for (int i = 0; i < 5; ++i) {
    for (int64_t v : {rounds[0].adapter_version.value() - 1, rounds[0].adapter_version.value()}) {
      const fs::path dir = ClientDir(i) / "adapters" / absl::StrCat("v", v);
      EXPECT_TRUE(fs::exists(dir / "adapter_model.lora_b.safetensors")) << dir;
      EXPECT_FALSE(fs::exists(dir / "adapter_model.safetensors")) << dir;
    }
  }
}

// What an operator sees: the dashboard's API during a round (over TLS, verified against the
// state dir's CA), /metrics accepted by promtool, the admin token enforced, and afterwards the
// terminal views of the state dir and an exported PEFT directory.
TEST_F(FederationTest, TheOperatorSeesTheRoundOnTheDashboardMetricsAndTerminal) {
  WriteConfigs({.participants = 5, .rounds = 2});
  StartCoordinator();
  std::unique_ptr<httplib::SSLClient> dashboard = DashboardClient();
  httplib::SSLClient& web = *dashboard;
  absl::StatusOr<std::string> token = ReadFile(StateDir() / "dashboard-token");
  ASSERT_TRUE(token.ok()) << token.status();
  const httplib::Headers admin = {
      {"Authorization", absl::StrCat("Bearer ", absl::StripAsciiWhitespace(*token))}};

  // Participant 0 trains slowly, holding round 1 in masked_input for a while.
  StartFederation(5, {{0, {"--training-ms", "4000"}}});
  nlohmann::json summary;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    httplib::Result r = web.Get("/api/v1/summary");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    summary = nlohmann::json::parse(r->body);
    if (summary["current_round"].is_object() &&
        summary["current_round"]["phase"] == "masked_input") {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(summary["current_round"].is_object()) << summary.dump();
  EXPECT_EQ(summary["current_round"]["phase"], "masked_input");
  EXPECT_EQ(summary["current_round"]["number"], 1);
  EXPECT_EQ(summary["current_round"]["cohort"], 5);
  EXPECT_EQ(summary["participants_enrolled"], 5);
  EXPECT_EQ(summary["participants_connected"], 5);
  EXPECT_EQ(summary["experiment"]["name"], "faults");

  httplib::Result metrics = web.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("tontine_participants_connected 5\n"));
  ASSERT_TRUE(WriteFileAtomic(dir_.path() / "metrics.txt", metrics->body).ok());
  RunResult promtool = testing::Run(
      {"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", (dir_.path() / "metrics.txt").string())});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  httplib::Result refused = web.Get("/api/v1/participants");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  httplib::Result participants = web.Get("/api/v1/participants", admin);
  ASSERT_TRUE(participants);
  ASSERT_EQ(participants->status, 200);
  nlohmann::json listed = nlohmann::json::parse(participants->body)["participants"];
  ASSERT_EQ(listed.size(), 5u);
  for (const auto& p : listed) EXPECT_EQ(p["connected"], true) << p.dump();

  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  const std::string coordinator = testing::Binary("tontine-coordinator");
  RunResult rounds = testing::Run({coordinator, "rounds", "--state-dir", StateDir().string(), "--json"});
  ASSERT_EQ(rounds.exit_code, 0) << rounds.err;
  nlohmann::json listed_rounds = nlohmann::json::parse(rounds.out)["rounds"];
  ASSERT_EQ(listed_rounds.size(), 2u);
  EXPECT_EQ(listed_rounds[1]["outcome"], "committed");
  EXPECT_EQ(listed_rounds[1]["participants"], 5);
  RunResult status = testing::Run({coordinator, "status", "--state-dir", StateDir().string()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("faults (finished)"));
  EXPECT_THAT(status.out, HasSubstr("2 committed, 0 aborted"));
  EXPECT_THAT(status.out, HasSubstr("5 enrolled"));
  RunResult table = testing::Run({coordinator, "participants", "--state-dir", StateDir().string()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(ParticipantId(3)));
  EXPECT_THAT(table.out, HasSubstr("language=l1"));

  const int64_t version = listed_rounds[1]["adapter_version"].get<int64_t>();
  const fs::path out = dir_.path() / "exported";
  RunResult exported = testing::Run({coordinator, "export", "--state-dir", StateDir().string(),
                                     "--version", absl::StrCat(version), "--out", out.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const fs::path version_dir = StateDir() / "adapters" / absl::StrCat("v", version);
  for (const char* name : {"adapter_config.json", "adapter_model.safetensors"}) {
    EXPECT_EQ(ReadFile(out / name).value_or("?"), ReadFile(version_dir / name).value_or("!")) << name;
  }
  EXPECT_EQ(testing::SnapshotDir(out).size(), 2u);
  RunResult missing = testing::Run({coordinator, "export", "--state-dir", StateDir().string(),
                                    "--version", "999", "--out", (dir_.path() / "none").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("no adapter version 999"));
}

// A free TCP port on 127.0.0.1 (bound and released; the caller binds it again at once).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// Headless Chromium driven through ChromeDriver's W3C WebDriver endpoint (Debian's chromium
// and chromium-driver: scripts/setup --browser).
class Browser {
 public:
  ~Browser() {
    if (driver_ != nullptr && !session_.empty()) (void)Command("DELETE", "", nullptr);
    if (chromedriver_ != nullptr) {
      chromedriver_->Signal(SIGTERM);
      (void)chromedriver_->Wait(absl::Seconds(10));
    }
  }

  // Starts chromedriver and a session; false (with the reason in `error`) if it cannot.
  bool Start(std::string& error) {
    for (const char* binary : {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
      if (!fs::exists(binary)) {
        error = absl::StrCat(binary, " is missing: run scripts/setup --browser");
        return false;
      }
    }
    const int port = FreePort();
    absl::StatusOr<std::unique_ptr<Subprocess>> started =
        Subprocess::Start({"/usr/bin/chromedriver", absl::StrCat("--port=", port)});
    if (!started.ok()) {
      error = started.status().ToString();
      return false;
    }
    chromedriver_ = std::move(*started);
    driver_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    driver_->set_read_timeout(60, 0);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      httplib::Result status = driver_->Get("/status");
      if (status && status->status == 200) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    // The dashboard's certificate is issued by the state dir's own CA, which this throw-away
    // browser profile does not know; the TLS chain itself is verified by the API test above.
    const nlohmann::json capabilities = {
        {"capabilities",
         {{"alwaysMatch",
           {{"browserName", "chrome"},
            {"acceptInsecureCerts", true},
            {"goog:loggingPrefs", {{"browser", "ALL"}}},
            {"goog:chromeOptions",
             {{"binary", "/usr/bin/chromium"},
              {"args", {"--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--window-size=1280,1400"}}}}}}}}};
    nlohmann::json created = Command("POST", "/session", capabilities, /*in_session=*/false);
    if (!created.contains("sessionId")) {
      error = absl::StrCat("chromedriver created no session: ", created.dump(), "\n",
                           chromedriver_->err());
      return false;
    }
    session_ = created["sessionId"].get<std::string>();
    return true;
  }

  // A WebDriver command; returns the response's "value" (or the whole body when it has none).
  nlohmann::json Command(const std::string& method, const std::string& path,
                         const nlohmann::json& body, bool in_session = true) {
    const std::string url = in_session ? absl::StrCat("/session/", session_, path) : path;
    httplib::Result r = method == "GET"      ? driver_->Get(url)
                        : method == "DELETE" ? driver_->Delete(url)
                                             : driver_->Post(url, body.dump(), "application/json");
    if (!r) return {{"error", httplib::to_string(r.error())}};
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("value")) return j["value"];
    return j;
  }

  nlohmann::json Script(const std::string& script) {
    return Command("POST", "/execute/sync", {{"script", script}, {"args", nlohmann::json::array()}});
  }

 private:
  std::unique_ptr<Subprocess> chromedriver_;
  std::unique_ptr<httplib::Client> driver_;
  std::string session_;
};

// The dashboard in a real browser during a run: the page loads from the coordinator, shows
// the round and the perplexity chart, unlocks with the admin token, and logs no console
// error. The screenshot is kept as a test artifact (dashboard.png in the build directory).
TEST_F(FederationTest, TheDashboardPageWorksInAHeadlessBrowserWithoutConsoleErrors) {
  Browser browser;
  std::string error;
  ASSERT_TRUE(browser.Start(error)) << error;
  WriteConfigs({.participants = 5, .rounds = 3});
  StartCoordinator();
  absl::StatusOr<std::string> port = testing::WaitForFile(dir_.path() / "dashboard.port", absl::Seconds(10));
  ASSERT_TRUE(port.ok()) << port.status();
  absl::StatusOr<std::string> token = ReadFile(StateDir() / "dashboard-token");
  ASSERT_TRUE(token.ok()) << token.status();
  // Participant 0 is slow, so that rounds take a few seconds each while the page is open.
  StartFederation(5, {{0, {"--training-ms", "3000"}}});

  browser.Command("POST", "/url",
                  {{"url", absl::StrCat("https://127.0.0.1:", absl::StripAsciiWhitespace(*port), "/")}});
  // Wait until a committed round is on the chart and a round is in flight or done.
  nlohmann::json state;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    state = browser.Script(
        "return {round: document.getElementById('round').textContent,"
        " series: document.querySelectorAll('#chart svg path.series').length,"
        " rows: document.querySelectorAll('#rounds tbody tr').length,"
        " experiment: document.getElementById('experiment').textContent,"
        " error: document.getElementById('error').hidden ? '' :"
        "        document.getElementById('error').textContent};");
    if (state.is_object() && state.value("series", 0) > 0) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(state.is_object()) << state.dump();
  EXPECT_EQ(state["experiment"], "faults");
  EXPECT_THAT(state["round"].get<std::string>(), ::testing::MatchesRegex("[0-9]+ / 3"));
  // One line per language (l0, l1) plus the macro average.
  EXPECT_EQ(state["series"], 3) << state.dump();
  EXPECT_GE(state["rows"].get<int>(), 1);
  EXPECT_EQ(state["error"], "");

  // Unlock the admin view with the token, as an operator would type it.
  browser.Script(absl::StrCat("document.getElementById('token').value = '",
                              absl::StripAsciiWhitespace(*token), "';"
                              "document.getElementById('token-form').requestSubmit();"));
  nlohmann::json rows;
  const absl::Time unlocked = absl::Now() + absl::Seconds(20);
  while (absl::Now() < unlocked) {
    rows = browser.Script("return document.querySelectorAll('#participants tbody tr').length;");
    if (rows.is_number() && rows.get<int>() == 5) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(rows, 5);
  EXPECT_EQ(browser.Script("return document.getElementById('token-state').textContent;"),
            "unlocked");
  EXPECT_GE(browser.Script("return document.querySelectorAll('#adapters a.download').length;")
                .get<int>(),
            2);

  nlohmann::json screenshot = browser.Command("GET", "/screenshot", nullptr);
  ASSERT_TRUE(screenshot.is_string()) << screenshot.dump();
  const fs::path artifact = fs::path(testing::Binary("tontine-coordinator")).parent_path().parent_path() /
                            "test-artifacts" / "dashboard.png";
  ASSERT_TRUE(MakeDirs(artifact.parent_path()).ok());
  std::string png;
  ASSERT_TRUE(absl::Base64Unescape(screenshot.get<std::string>(), &png));
  EXPECT_EQ(png.substr(1, 3), "PNG");
  ASSERT_TRUE(WriteFileAtomic(artifact, png).ok());
  std::printf("screenshot: %s\n", artifact.c_str());

  nlohmann::json logs = browser.Command("POST", "/se/log", {{"type", "browser"}});
  ASSERT_TRUE(logs.is_array()) << logs.dump();
  for (const nlohmann::json& entry : logs) {
    EXPECT_NE(entry.value("level", ""), "SEVERE") << entry.dump();
  }
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
}

// A laptop too slow for the round's deadline stops training early, uploads what it has, and
// is in the round: without the deadline it would still be training when the phase closed.
TEST_F(FederationTest, ASlowClientStopsTrainingAtTheDeadlineAndItsUpdateIsIncluded) {
  // 40 steps of 1 s for participant 0; the masked-input window is 8 s, so it trains until
  // 2 s before the window ends (a quarter of it) and then uploads.
  WriteConfigs({.participants = 5, .rounds = 1, .local_steps = 40,
                .masked_input_deadline = "8s"});
  StartCoordinator();
  StartFederation(5, {{0, {"--training-ms", "40000"}}});
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].outcome, "committed");
  EXPECT_EQ(rounds[0].participants, 5) << coordinator_->err();
  std::vector<std::string> included = Included(rounds[0].id);
  EXPECT_NE(std::find(included.begin(), included.end(), ParticipantId(0)), included.end());
  ExpectExactSum(rounds[0].id);
  clients_[0]->Signal(SIGTERM);
  (void)clients_[0]->Wait(absl::Seconds(10));
  EXPECT_THAT(clients_[0]->err(), HasSubstr("training stopped after"));
}

// Each aggregation rule trains what it should (checked on the committed adapter files) and
// each server optimiser commits exact sums.
struct RuleCase {
  std::string aggregation;
  bool a_moves_in_round_1, b_moves_in_round_1, a_moves_in_round_2, b_moves_in_round_2;
};

class AggregationRuleTest : public FederationTest,
                            public ::testing::WithParamInterface<RuleCase> {};

TEST_P(AggregationRuleTest, TrainsTheRulesMatricesWithExactSums) {
  const RuleCase& rule = GetParam();
  WriteConfigs({.participants = 4, .rounds = 2, .neighbours = 3, .threshold = 2,
                .aggregation = rule.aggregation});
  StartCoordinator();
  StartFederation(4);
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 2u);
  for (const store::RoundRecord& r : rounds) {
    EXPECT_EQ(r.outcome, "committed") << r.reason;
    ExpectExactSum(r.id);
  }
  // v(k) is round k's adapter; v(k) − 1 the one it started from.
  auto load = [&](int64_t version) {
    absl::StatusOr<round::GlobalAdapter> adapter =
        round::ReadAdapterDir(StateDir() / "adapters" / absl::StrCat("v", version));
    EXPECT_TRUE(adapter.ok()) << adapter.status();
    return adapter.value_or(round::GlobalAdapter{});
  };
  auto moved = [](const round::GlobalAdapter& before, const round::GlobalAdapter& after,
                  const std::string& suffix) {
    bool any = false;
    for (const auto& [name, tensor] : after.tensors) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        any = any || tensor.values != before.tensors.at(name).values;
      }
    }
    return any;
  };
  const int64_t v1 = rounds[0].adapter_version.value();
  const round::GlobalAdapter initial = load(v1 - 1), first = load(v1), second = load(v1 + 1);
  EXPECT_EQ(moved(initial, first, ".lora_A.weight"), rule.a_moves_in_round_1);
  EXPECT_EQ(moved(initial, first, ".lora_B.weight"), rule.b_moves_in_round_1);
  EXPECT_EQ(moved(first, second, ".lora_A.weight"), rule.a_moves_in_round_2);
  EXPECT_EQ(moved(first, second, ".lora_B.weight"), rule.b_moves_in_round_2);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, AggregationRuleTest,
    ::testing::Values(
        RuleCase{"{rule: ffa, server_optimizer: fedyogi, server_learning_rate: 0.01}", false,
                 true, false, true},
        RuleCase{"{rule: alternating, server_optimizer: fedavgm}", false, true, true, false},
        RuleCase{"{rule: fedit, server_optimizer: fedadam, server_learning_rate: 0.01}", true,
                 true, true, true}));

class ClientKilledTest : public FederationTest,
                         public ::testing::WithParamInterface<std::string> {};

TEST_P(ClientKilledTest, RoundCompletesWithTheSurvivorsExactSum) {
  const std::string phase = GetParam();
  WriteConfigs({.participants = 5, .rounds = 1});
  StartCoordinator();
  StartFederation(5, {{0, {"--drop-at", phase, "--drop-probability", "1", "--training-ms",
                           "300"}}});
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  absl::StatusOr<int> killed = clients_[0]->Wait(absl::Seconds(5));
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(*killed, 128 + SIGKILL);
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].outcome, "committed") << rounds[0].reason;
  ExpectExactSum(rounds[0].id);
  const std::vector<std::string> included = Included(rounds[0].id);
  const bool in_sum =
      std::find(included.begin(), included.end(), ParticipantId(0)) != included.end();
  if (phase == "unmask") {
    // Its masked update arrived; its self mask is rebuilt from its neighbours' shares.
    EXPECT_TRUE(in_sum);
    EXPECT_EQ(rounds[0].participants, 5);
  } else {
    EXPECT_FALSE(in_sum);
    EXPECT_EQ(rounds[0].participants, 4);
    EXPECT_EQ(rounds[0].dropped, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, ClientKilledTest,
                         ::testing::Values("advertise_keys", "share_keys", "training",
                                           "masked_input", "unmask"));

TEST_F(FederationTest, TooFewSurvivorsAbortCleanlyAndTheNextRoundCommits) {
  WriteConfigs({.participants = 5, .rounds = 1});
  StartCoordinator();
  std::map<int, std::vector<std::string>> drop;
  for (int i : {0, 1, 2}) drop[i] = {"--drop-at", "masked_input", "--drop-probability", "1"};
  StartFederation(5, drop);
  // Three of five die before uploading: two survivors are below t = 3.
  for (int i : {0, 1, 2}) {
    absl::StatusOr<int> code = clients_[i]->Wait(absl::Seconds(60));
    ASSERT_TRUE(code.ok()) << coordinator_->err();
    EXPECT_EQ(*code, 128 + SIGKILL);
  }
  for (int i : {0, 1, 2}) StartClient(i);  // they come back, healthy
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[0].outcome, "aborted");
  EXPECT_FALSE(rounds[0].adapter_version.has_value());
  EXPECT_EQ(rounds[1].outcome, "committed") << rounds[1].reason;
  EXPECT_EQ(rounds[1].participants, 5);
  ExpectExactSum(rounds[1].id);
}

class CoordinatorKilledTest : public FederationTest,
                              public ::testing::WithParamInterface<std::string> {};

TEST_P(CoordinatorKilledTest, RestartLosesNoCommittedRoundAndReRunsTheOneInFlight) {
  const std::string phase = GetParam();
  WriteConfigs({.participants = 4, .rounds = 2, .neighbours = 3, .threshold = 2});
  StartCoordinator({"--debug-crash-at", phase + "@2"});
  StartFederation(4, {{0, {"--training-ms", "300"}}});
  ASSERT_EQ(WaitCoordinator(), 128 + SIGKILL) << coordinator_->err();
  std::vector<store::RoundRecord> before = Rounds();
  ASSERT_EQ(before.size(), 1u);  // round 1 committed, round 2 was in flight
  ASSERT_EQ(before[0].outcome, "committed");
  const fs::path adapter = StateDir() / "adapters" /
                           absl::StrCat("v", before[0].adapter_version.value()) /
                           "adapter_model.safetensors";
  absl::StatusOr<std::string> adapter_bytes = ReadFile(adapter);
  ASSERT_TRUE(adapter_bytes.ok());

  StartCoordinator();  // same state dir, same port; the clients reconnect by themselves
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> after = Rounds();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].id, before[0].id);
  EXPECT_EQ(after[0].metrics_json, before[0].metrics_json);
  EXPECT_EQ(after[0].adapter_version, before[0].adapter_version);
  EXPECT_EQ(ReadFile(adapter).value_or(""), *adapter_bytes);
  EXPECT_EQ(after[1].outcome, "committed") << after[1].reason;
  EXPECT_EQ(after[1].participants, 4);
  ExpectExactSum(after[0].id);
  ExpectExactSum(after[1].id);
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, CoordinatorKilledTest,
                         ::testing::Values("advertise_keys", "share_keys", "masked_input",
                                           "unmask", "commit"));

// A hand-driven participant for the refusal tests: it speaks the wire protocol directly and
// misbehaves on purpose.
class RogueSession {
 public:
  RogueSession(transport::CoordinatorClient& client, const std::string& base_sha256)
      : stream_(client.OpenSession()) {
    v1::ClientMessage hello;
    hello.mutable_hello()->set_protocol_version(1);
    hello.mutable_hello()->set_client_version("rogue");
    hello.mutable_hello()->set_base_model_sha256(base_sha256);
    stream_->Write(hello);
  }
  ~RogueSession() {
    if (finished_) return;
    stream_->Cancel();
    Finish();
  }

  void Send(const v1::ClientMessage& message) { ASSERT_TRUE(stream_->Write(message)); }
  // Cancels the call from the client side; safe while another thread is in Finish.
  void Cancel() { stream_->Cancel(); }

  // The next message with `payload`, keeping the others for later calls; nullopt when the
  // stream ends first.
  std::optional<v1::ServerMessage> Next(v1::ServerMessage::PayloadCase payload) {
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (it->payload_case() == payload) {
        v1::ServerMessage m = std::move(*it);
        held_.erase(it);
        return m;
      }
    }
    v1::ServerMessage m;
    while (stream_->Read(&m)) {
      if (m.payload_case() == payload) return m;
      held_.push_back(m);
    }
    return std::nullopt;
  }
  // The next refusal's code.
  int NextRefusal() {
    std::optional<v1::ServerMessage> m = Next(v1::ServerMessage::kRefused);
    return m ? m->refused().code() : -1;
  }
  grpc::Status Finish() {
    v1::ServerMessage ignored;
    while (stream_->Read(&ignored)) continue;
    finished_ = true;
    return stream_->Finish();
  }

 private:
  std::unique_ptr<transport::SessionStream> stream_;
  std::deque<v1::ServerMessage> held_;
  bool finished_ = false;
};

TEST_F(FederationTest, MalformedAndMisplacedMessagesGetTheirStatusAndTheRoundGoesOn) {
  WriteConfigs({.participants = 5, .rounds = 1});
  StartCoordinator();
  StartFederation(4);
  Enrol(4);  // the rogue
  Enrol(5);  // an outsider, connected after the cohort is chosen
  absl::StatusOr<runner::ClientIdentity> rogue_id = runner::LoadIdentity(ClientDir(4));
  absl::StatusOr<runner::ClientIdentity> outsider_id = runner::LoadIdentity(ClientDir(5));
  ASSERT_TRUE(rogue_id.ok() && outsider_id.ok());
  auto client = transport::CoordinatorClient::Create(rogue_id->Channel());
  const std::string sha = *HexDecode(base_sha256_);

  {  // An unknown credential.
    runner::ClientIdentity forged = *rogue_id;
    forged.secret = std::string(32, 'x');
    auto forged_client = transport::CoordinatorClient::Create(forged.Channel());
    EXPECT_EQ(forged_client->GetStatus().status().code(), absl::StatusCode::kUnauthenticated);
  }
  {  // The wrong base model: the session ends with FAILED_PRECONDITION BASE_MODEL_MISMATCH.
    RogueSession wrong_base(*client, std::string(32, 'b'));
    absl::Status status = FromGrpcStatus(wrong_base.Finish());
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(GetErrorDetail(status).value_or(v1::ErrorDetail()).reason(), "BASE_MODEL_MISMATCH");
  }

  auto rogue = std::make_unique<RogueSession>(*client, sha);
  std::optional<v1::ServerMessage> invitation = rogue->Next(v1::ServerMessage::kInvitation);
  ASSERT_TRUE(invitation.has_value()) << coordinator_->err();
  const v1::RoundInvitation& inv = invitation->invitation();
  const uint64_t round = inv.round_id();
  absl::StatusOr<std::unique_ptr<secagg::SecAggClient>> secagg =
      secagg::SecAggClient::Create(round, inv.cohort_index(), inv.secagg());
  ASSERT_TRUE(secagg.ok());
  absl::StatusOr<v1::AdvertiseKeys> keys = (*secagg)->AdvertiseKeys();
  ASSERT_TRUE(keys.ok());

  v1::ClientMessage message;
  *message.mutable_advertise_keys() = *keys;
  message.mutable_advertise_keys()->set_round_id(round + 7);  // another round's
  rogue->Send(message);
  EXPECT_EQ(rogue->NextRefusal(), grpc::StatusCode::FAILED_PRECONDITION);
  message.mutable_advertise_keys()->set_round_id(round);
  message.mutable_advertise_keys()->set_masking_public_key("short");  // malformed
  rogue->Send(message);
  EXPECT_EQ(rogue->NextRefusal(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::vector<uint32_t> words(inv.secagg().vector_words(), 1);
  auto upload = [&](transport::CoordinatorClient& c, std::span<const uint32_t> w) {
    return c.UploadMaskedUpdate(round, w, 0, 1u << 18, std::string(32, '\0'),
                                [](const v1::MaskedUpdateChunk&) {})
        .status()
        .code();
  };
  EXPECT_EQ(upload(*client, words), absl::StatusCode::kFailedPrecondition);  // wrong phase

  {  // Someone not in the round.
    auto outsider_client = transport::CoordinatorClient::Create(outsider_id->Channel());
    RogueSession outsider(*outsider_client, sha);
    v1::ClientMessage advertise;
    *advertise.mutable_advertise_keys() = *keys;
    outsider.Send(advertise);
    EXPECT_EQ(outsider.NextRefusal(), grpc::StatusCode::PERMISSION_DENIED);
  }

  *message.mutable_advertise_keys() = *keys;
  rogue->Send(message);  // now properly
  std::optional<v1::ServerMessage> share_request = rogue->Next(v1::ServerMessage::kShareKeysRequest);
  ASSERT_TRUE(share_request.has_value());
  rogue->Send(message);  // replayed from the previous phase
  EXPECT_EQ(rogue->NextRefusal(), grpc::StatusCode::FAILED_PRECONDITION);
  absl::StatusOr<v1::ShareKeys> shares =
      (*secagg)->HandleShareKeysRequest(share_request->share_keys_request());
  ASSERT_TRUE(shares.ok());
  v1::ClientMessage share_message;
  *share_message.mutable_share_keys() = *shares;
  rogue->Send(share_message);
  ASSERT_TRUE(rogue->Next(v1::ServerMessage::kMaskedInputRequest).has_value());

  const std::vector<uint32_t> too_long(words.size() + 1, 1);
  EXPECT_EQ(upload(*client, too_long), absl::StatusCode::kInvalidArgument);
  const std::vector<uint32_t> oversize(3u << 20, 1);  // one 12 MiB chunk: over the 8 MiB limit
  EXPECT_EQ(client->UploadMaskedUpdate(round, oversize, 0, oversize.size(), "",
                                       [](const v1::MaskedUpdateChunk&) {})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(upload(*client, words), absl::StatusCode::kDataLoss);  // its SHA-256 is wrong

  // /metrics counts each of those errors by code: RPC results and refusals on the stream.
  httplib::Result metrics = DashboardClient()->Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* line : {"tontine_errors_total{code=\"UNAUTHENTICATED\"} 1\n",
                           "tontine_errors_total{code=\"INVALID_ARGUMENT\"} 2\n",
                           "tontine_errors_total{code=\"PERMISSION_DENIED\"} 1\n",
                           "tontine_errors_total{code=\"DATA_LOSS\"} 1\n"}) {
    EXPECT_THAT(metrics->body, HasSubstr(line)) << metrics->body;
  }
  EXPECT_THAT(metrics->body, ::testing::ContainsRegex(
                                 "tontine_errors_total\\{code=\"FAILED_PRECONDITION\"\\} [4-9]"));
  rogue.reset();  // the rogue leaves; the four others finish the round
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].outcome, "committed") << rounds[0].reason;
  EXPECT_EQ(rounds[0].participants, 4);
  ExpectExactSum(rounds[0].id);
  EXPECT_THAT(coordinator_->err(), HasSubstr("refused a message"));
}

// A session that goes silent (a hung client) is closed after three heartbeat intervals with
// DEADLINE_EXCEEDED; sessions that send heartbeats stay, and the round runs with them.
TEST_F(FederationTest, ASilentSessionIsClosedAfterThreeHeartbeatIntervals) {
  WriteConfigs({.participants = 5, .rounds = 1, .heartbeat_interval = "1s"});
  StartCoordinator();
  StartFederation(4);
  Enrol(4);
  absl::StatusOr<runner::ClientIdentity> silent_id = runner::LoadIdentity(ClientDir(4));
  ASSERT_TRUE(silent_id.ok()) << silent_id.status();
  auto client = transport::CoordinatorClient::Create(silent_id->Channel());
  const absl::Time opened = absl::Now();
  {
    // No base model yet (as `tontine-client check` connects), so it is never invited and
    // the round waits for a fifth participant.
    RogueSession silent(*client, "");
    ASSERT_TRUE(silent.Next(v1::ServerMessage::kWelcome).has_value());
    // It sends nothing more. A watchdog cancels it after 15 s, should the coordinator never
    // close it (the test then fails on the status, rather than hanging).
    std::atomic<bool> finished{false};
    std::thread watchdog([&] {
      for (int i = 0; i < 150 && !finished; ++i) absl::SleepFor(absl::Milliseconds(100));
      if (!finished) silent.Cancel();
    });
    const grpc::Status status = silent.Finish();
    finished = true;
    watchdog.join();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("heartbeat"));
    const absl::Duration lasted = absl::Now() - opened;
    EXPECT_GE(lasted, absl::Seconds(3));
    EXPECT_LE(lasted, absl::Seconds(10));
  }
  // The four heartbeating participants were connected all along: none was closed, and with
  // the fifth (now a real client) the round commits.
  StartClient(4);
  ASSERT_EQ(WaitCoordinator(), 0) << coordinator_->err();
  std::vector<store::RoundRecord> rounds = Rounds();
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].outcome, "committed");
  EXPECT_EQ(rounds[0].participants, 5);
  for (int i : {0, 1, 2, 3}) {
    EXPECT_THAT(coordinator_->err(), ::testing::Not(HasSubstr(absl::StrCat(
                                         "closing the session of ", ParticipantId(i)))));
  }
  EXPECT_THAT(coordinator_->err(),
              HasSubstr(absl::StrCat("closing the session of ", ParticipantId(4))));
}

}  // namespace
}  // namespace tontine
