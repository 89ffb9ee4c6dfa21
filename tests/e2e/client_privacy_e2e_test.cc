// What leaves a contributor's laptop, byte for byte: a real `tontine-client join` (LibTorch
// training on its own text) takes part in two rounds with three synthetic participants,
// talking to the coordinator through a recording TCP proxy over plaintext gRPC (--insecure),
// so that the test sees every byte the client sends. None of the client's text may appear in
// them, and the transparency log must account for the messages.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/runner/transparency_log.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "server/store/store.h"
#include "tests/testing/process.h"
#include "tests/testing/small_federation.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::Subprocess;

// Forwards 127.0.0.1:port() to `upstream_port`, keeping every byte clients send.
class RecordingProxy {
 public:
  explicit RecordingProxy(int upstream_port) : upstream_port_(upstream_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listener_, 64);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~RecordingProxy() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    acceptor_.join();
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
    for (std::thread& t : pumps_) t.join();
    for (int fd : open_) close(fd);
  }
  int port() const { return port_; }
  std::string sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  void Accept() {
    while (!stopping_) {
      const int client = accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(client);
        close(server);
        continue;
      }
      open_.insert(open_.end(), {client, server});
      pumps_.emplace_back([this, client, server] { Pump(client, server, true); });
      pumps_.emplace_back([this, client, server] { Pump(server, client, false); });
    }
  }
  void Pump(int from, int to, bool record) {
    char buffer[1 << 16];
    while (true) {
      const ssize_t n = read(from, buffer, sizeof(buffer));
      if (n <= 0) break;
      if (record) {
        absl::MutexLock lock(&mu_);
        sent_.append(buffer, static_cast<size_t>(n));
      }
      if (write(to, buffer, static_cast<size_t>(n)) != n) break;
    }
    shutdown(to, SHUT_WR);
  }

  const int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
  std::vector<int> open_;
  absl::Mutex mu_;
  std::string sent_ ABSL_GUARDED_BY(mu_);
};

// Text no model or protocol would produce by chance: each document holds a unique marker.
std::vector<std::string> WriteContributorText(const fs::path& dir) {
  std::vector<std::string> documents;
  std::string jsonl;
  for (int i = 0; i < 40; ++i) {
    std::string text = absl::StrCat(
        "Marker", i, "-zq: the harvest song of the river people is sung at dawn by ", i,
        " elders, who keep the rhythm with calabashes and call the names of the rains.");
    jsonl += nlohmann::json{{"text", text}}.dump() + "\n";
    documents.push_back(std::move(text));
  }
  EXPECT_TRUE(WriteFileAtomic(dir / "songs.jsonl", jsonl).ok());
  return documents;
}

TEST(ClientPrivacyE2eTest, NothingOfTheTextLeavesAndTheAuditAccountsForEveryMessage) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  // A tiny real base model, pretrained here in seconds.
  absl::StatusOr<std::string> digest = testing::PretrainTinyBaseModel(root / "base");
  ASSERT_TRUE(digest.ok()) << digest.status();
  fs::create_directories(root / "text");
  fs::create_directories(root / "capture");
  const std::vector<std::string> documents = WriteContributorText(root / "text");

  absl::StatusOr<std::unique_ptr<testing::TestCoordinator>> coordinator =
      testing::TestCoordinator::Start(root, absl::StrCat(R"(kind: experiment
name: privacy
model: {base: )", (root / "base").string(), R"(}
lora: {rank: 2, alpha: 4, target_modules: [q_proj, v_proj]}
rounds: {count: 2}
cohort: {min_participants: 4, max_participants: 4}
local_training: {steps: 2, batch_size: 2, sequence_length: 32}
evaluation: {held_out_fraction: 0.2}
simulate: {clients: 4}
deadlines: {advertise_keys: 20s, share_keys: 20s, masked_input: 2m, unmask: 20s}
)"));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  RecordingProxy proxy((*coordinator)->port());
  const std::string via_proxy = absl::StrCat("127.0.0.1:", proxy.port());

  std::vector<std::unique_ptr<Subprocess>> clients;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::string> token = (*coordinator)->Invite("language=songs");
    ASSERT_TRUE(token.ok()) << token.status();
    const fs::path state = root / absl::StrCat("client-", i);
    // The real client enrols and runs through the proxy; the synthetic ones directly.
    absl::Status enrolled =
        testing::EnrolClient(i == 0 ? via_proxy : (*coordinator)->address(), *token, state);
    ASSERT_TRUE(enrolled.ok()) << enrolled;
    absl::StatusOr<std::unique_ptr<Subprocess>> client;
    if (i == 0) {
      ASSERT_TRUE(WriteFileAtomic(root / "client.yaml",
                                  absl::StrCat("kind: client\ndata_dir: ", (root / "text").string(),
                                               "\nbase_model: ", (root / "base").string(),
                                               "\nthreads: 1\ninsecure: true\n"))
                      .ok());
      client = Subprocess::Start({testing::Binary("tontine-client"), "join", "--config",
                                  (root / "client.yaml").string(), "--state-dir", state.string(),
                                  "--debug-capture-dir", (root / "capture").string()});
    } else {
      client = testing::StartVectorClient(state, *digest);
    }
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(std::move(*client));
  }
  testing::Subprocess& coordinator_process = (*coordinator)->process();
  absl::StatusOr<int> code = coordinator_process.Wait(absl::Minutes(5));
  ASSERT_TRUE(code.ok() && *code == 0) << coordinator_process.err() << clients[0]->err();
  clients[0]->Signal(SIGTERM);
  ASSERT_TRUE(clients[0]->Wait(absl::Seconds(30)).ok());

  // Both rounds committed with the real client in them.
  auto store = store::Store::Open((*coordinator)->state_dir() / "tontine.db", {});
  ASSERT_TRUE(store.ok());
  auto experiment = (*store)->LatestExperiment();
  auto rounds = (*store)->ListRounds(experiment->id);
  ASSERT_TRUE(rounds.ok());
  ASSERT_EQ(rounds->size(), 2u);
  for (const store::RoundRecord& r : *rounds) {
    EXPECT_EQ(r.outcome, "committed");
    EXPECT_EQ(r.participants, 4);
  }

  // Every byte the real client sent: no 12-byte piece of any document is among them.
  const std::string sent = proxy.sent();
  ASSERT_GT(sent.size(), 1000u);
  for (const std::string& text : documents) {
    for (size_t at = 0; at + 12 <= text.size(); at += 6) {
      ASSERT_EQ(sent.find(text.substr(at, 12)), std::string::npos)
          << "the client sent a piece of its text: '" << text.substr(at, 12) << "'";
    }
  }
  // The transparency log lists what was sent: the protocol's messages, and in both rounds a
  // masked update. Each message it lists is in the recorded stream verbatim (gRPC frames a
  // small message whole), and the log's byte counts are those messages' sizes.
  absl::StatusOr<std::vector<runner::TransparencyEntry>> log =
      runner::ReadTransparencyLog(root / "client-0" / runner::kTransparencyLogFile);
  ASSERT_TRUE(log.ok()) << log.status();
  uint64_t logged = 0;
  std::map<std::string, int> kinds;
  for (const runner::TransparencyEntry& e : *log) {
    logged += e.bytes;
    ++kinds[e.message];
  }
  EXPECT_LE(logged, sent.size());
  uint64_t captured = 0;
  int messages = 0;
  for (const auto& entry : fs::directory_iterator(root / "capture")) {
    absl::StatusOr<std::string> bytes = ReadFile(entry.path());
    ASSERT_TRUE(bytes.ok());
    captured += bytes->size();
    ++messages;
    if (!bytes->empty()) {
      EXPECT_NE(sent.find(*bytes), std::string::npos) << entry.path().filename();
    }
  }
  EXPECT_EQ(messages, static_cast<int>(log->size()));
  EXPECT_EQ(captured, logged);
  EXPECT_EQ(kinds["MaskedUpdateChunk"], 2);
  EXPECT_EQ(kinds["AdvertiseKeys"], 2);
  EXPECT_EQ(kinds["ShareKeys"], 2);
  EXPECT_EQ(kinds["UnmaskResponse"], 2);
  for (const auto& [kind, count] : kinds) {
    EXPECT_THAT(kind, ::testing::AnyOf("Hello", "Heartbeat", "RoundResponse", "AdvertiseKeys",
                                       "ShareKeys", "UnmaskResponse", "TrainingProgress",
                                       "DownloadAdapterRequest", "MaskedUpdateChunk"))
        << count;
  }
  // `tontine-client audit` prints it.
  RunResult audit = testing::Run({testing::Binary("tontine-client"), "audit", "--state-dir",
                                  (root / "client-0").string()});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, ::testing::HasSubstr("MaskedUpdateChunk"));
  // … and as one JSON array, an object per logged message.
  RunResult audit_json = testing::Run({testing::Binary("tontine-client"), "audit", "--json",
                                       "--state-dir", (root / "client-0").string()});
  ASSERT_EQ(audit_json.exit_code, 0) << audit_json.err;
  const nlohmann::json array = nlohmann::json::parse(audit_json.out, nullptr, false);
  ASSERT_TRUE(array.is_array()) << audit_json.out;
  EXPECT_EQ(array.size(), log->size());

  // The client's status on stderr, a pipe here: a plain line per phase, no control characters.
  const std::string status = clients[0]->err();
  EXPECT_THAT(status, ::testing::AllOf(::testing::HasSubstr("limits: 1 thread"),
                                       ::testing::HasSubstr("waiting for a round"),
                                       ::testing::HasSubstr(": training step "),
                                       ::testing::HasSubstr(": uploading the masked update"),
                                       ::testing::HasSubstr(" done (adapter v")));
  EXPECT_EQ(status.find_first_of("\r\033"), std::string::npos) << status;
}

}  // namespace
}  // namespace tontine
