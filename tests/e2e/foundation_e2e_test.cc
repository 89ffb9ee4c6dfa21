// The foundation through the real binaries on 127.0.0.1 with ephemeral ports: init, invite,
// serve over TLS, enrol with CA pinning, authenticated sessions — and every bad input the
// foundation issue names, each with its specific error and an intact state directory.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "server/store/sqlite.h"
#include "tests/testing/process.h"
#include "tests/testing/synthetic_producer.h"

namespace tontine {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Binary;
using testing::RunResult;
using testing::Subprocess;

constexpr absl::Duration kTimeout = absl::Seconds(60);

struct Invite {
  std::string token;
  std::string fingerprint;
};

class FoundationE2eTest : public ::testing::Test {
 protected:
  std::filesystem::path StateDir() const { return dir_.path() / "coordinator"; }

  RunResult Coordinator(std::vector<std::string> args) {
    args.insert(args.begin(), Binary("tontine-coordinator"));
    return testing::Run(args, kTimeout);
  }
  RunResult Client(std::vector<std::string> args) {
    args.insert(args.begin(), Binary("tontine-client"));
    return testing::Run(args, kTimeout);
  }

  void Init() {
    RunResult init = Coordinator({"init", "--state-dir", StateDir().string()});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_THAT(init.out, HasSubstr("CA fingerprint: SHA256:"));
  }

  // Starts `serve` on a free port of 127.0.0.1 and waits until it listens.
  void Serve(const std::vector<std::string>& extra = {}) {
    // The coordinator runs an experiment on a base model it must find: a tiny one written
    // here, so that the test needs no pretrained bundled model.
    ASSERT_TRUE(testing::WriteTinyBaseModel(dir_.path() / "base").ok());
    std::ofstream(dir_.path() / "experiment.yaml")
        << "kind: experiment\nname: foundation\nmodel: {base: " << (dir_.path() / "base").string()
        << "}\ncohort: {min_participants: 4}\nsimulate: {clients: 4}\n";
    std::filesystem::path config = dir_.path() / "coordinator.yaml";
    std::ofstream(config) << "kind: coordinator\nstate_dir: coordinator\nlisten: 127.0.0.1:0\n"
                          << "dashboard: {listen: 127.0.0.1:0}\n"
                          << "experiment: " << (dir_.path() / "experiment.yaml").string() << "\n";
    std::vector<std::string> argv = {Binary("tontine-coordinator"), "serve", "--config",
                                     config.string(), "--port-file",
                                     (dir_.path() / "port").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto server = Subprocess::Start(argv);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    absl::StatusOr<std::string> port = testing::WaitForFile(dir_.path() / "port", kTimeout);
    ASSERT_TRUE(port.ok()) << server_->err();
    address_ = "127.0.0.1:" + std::string(absl::StripTrailingAsciiWhitespace(*port));
  }

  Invite MakeInvite(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"invite", "--state-dir", StateDir().string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = Coordinator(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object()) return {};
    return {j["token"].get<std::string>(), j["ca_fingerprint"].get<std::string>()};
  }

  RunResult Enrol(const std::string& client, const Invite& invite) {
    return Client({"enrol", "--coordinator", address_, "--ca-fingerprint", invite.fingerprint,
                   "--token", invite.token, "--state-dir", (dir_.path() / client).string()});
  }

  testing::TempDir dir_;
  std::unique_ptr<Subprocess> server_;
  std::string address_;
};

TEST_F(FoundationE2eTest, TwoClientsEnrolAndCompleteAuthenticatedTlsSessions) {
  Init();
  Serve();
  for (const std::string language : {"wol", "yor"}) {
    RunResult enrol = Enrol("client-" + language, MakeInvite({"--tag", "language=" + language}));
    ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
    EXPECT_THAT(enrol.out, HasSubstr("with tags language=" + language));
    struct stat st {};
    ASSERT_EQ(stat((dir_.path() / ("client-" + language) / "credential.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    RunResult check =
        Client({"check", "--state-dir", (dir_.path() / ("client-" + language)).string()});
    ASSERT_EQ(check.exit_code, 0) << check.err;
    EXPECT_THAT(check.out, HasSubstr("TLS session with " + address_ + " established"));
  }
  RunResult last = Client({"check", "--state-dir", (dir_.path() / "client-yor").string()});
  EXPECT_THAT(last.out, HasSubstr("2 enrolled"));

  server_->Signal(SIGTERM);
  absl::StatusOr<int> code = server_->Wait(kTimeout);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << server_->err();
  EXPECT_THAT(server_->err(), HasSubstr("session started"));
}

TEST_F(FoundationE2eTest, ReusedInviteIsRefusedAndNoCredentialIsWritten) {
  Init();
  Serve();
  Invite invite = MakeInvite();
  ASSERT_EQ(Enrol("first", invite).exit_code, 0);
  RunResult again = Enrol("second", invite);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("invite was already used"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "second" / "credential.json"));
}

TEST_F(FoundationE2eTest, ExpiredInviteIsRefused) {
  Init();
  Serve();
  Invite invite = MakeInvite({"--expires", "1s"});
  absl::SleepFor(absl::Milliseconds(1100));
  RunResult late = Enrol("late", invite);
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_THAT(late.err, AllOf(HasSubstr("invite expired"), HasSubstr("ask the operator")));
}

TEST_F(FoundationE2eTest, ForgedInviteIsRefused) {
  Init();
  Serve();
  Invite real = MakeInvite();
  Invite forged{real.token.substr(0, real.token.find('.') + 1) + std::string(43, 'A'),
                real.fingerprint};
  RunResult r = Enrol("forger", forged);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("invite token not recognised"));
  EXPECT_EQ(Enrol("honest", real).exit_code, 0);  // the real invite is unaffected
}

TEST_F(FoundationE2eTest, WrongCaFingerprintSendsNothingAndKeepsTheInvite) {
  Init();
  Serve();
  Invite invite = MakeInvite();
  Invite wrong{invite.token, "SHA256:" + std::string(64, 'A')};
  RunResult r = Enrol("mitm", wrong);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("does not present the CA with fingerprint"),
                           HasSubstr("nothing was sent")));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "mitm"));
  // The token never left the client: it still works with the right fingerprint.
  EXPECT_EQ(Enrol("ok", invite).exit_code, 0);
}

TEST_F(FoundationE2eTest, ClientTrustingAnotherCaCannotOpenASession) {
  Init();
  Serve();
  ASSERT_EQ(Enrol("client", MakeInvite()).exit_code, 0);
  // Swap the pinned CA for another coordinator's (keeping the files consistent).
  RunResult other = Coordinator({"init", "--state-dir", (dir_.path() / "other").string()});
  ASSERT_EQ(other.exit_code, 0);
  std::string other_fp = other.out.substr(other.out.find("SHA256:"), 7 + 95);
  std::filesystem::copy_file(dir_.path() / "other/tls/ca.pem", dir_.path() / "client/ca.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::path cred = dir_.path() / "client/credential.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(cred));
  j["ca_fingerprint"] = other_fp;
  std::ofstream(cred) << j.dump();

  RunResult check = Client({"check", "--state-dir", (dir_.path() / "client").string()});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.err, AllOf(HasSubstr("certificate verify failed"),
                               HasSubstr("not signed by the CA pinned at enrolment")));
}

TEST_F(FoundationE2eTest, WrongCredentialIsUnauthenticated) {
  Init();
  Serve();
  ASSERT_EQ(Enrol("client", MakeInvite()).exit_code, 0);
  std::filesystem::path cred = dir_.path() / "client/credential.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(cred));
  j["secret"] = std::string(43, 'B');
  std::ofstream(cred) << j.dump();
  RunResult check = Client({"check", "--state-dir", (dir_.path() / "client").string()});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.err, HasSubstr("credential not recognised"));
}

TEST_F(FoundationE2eTest, PlaintextClientAgainstTheTlsPortIsToldToUseTls) {
  Init();
  Serve();
  Invite invite = MakeInvite();
  RunResult r = Client({"enrol", "--coordinator", address_, "--insecure", "--token",
                        invite.token, "--state-dir", (dir_.path() / "plain").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("(plaintext)"), HasSubstr("connect without --insecure")));
}

TEST_F(FoundationE2eTest, InsecureModeWorksOnlyWhenBothSidesAskForIt) {
  Init();
  Serve({"--insecure"});
  Invite invite = MakeInvite();
  RunResult tls = Enrol("tls", invite);
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_THAT(tls.err, HasSubstr("TLS handshake failed"));
  RunResult plain = Client({"enrol", "--coordinator", address_, "--insecure", "--token",
                            invite.token, "--state-dir", (dir_.path() / "plain").string()});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(plain.out, HasSubstr("WARNING: enrolled over plaintext"));
  EXPECT_EQ(Client({"check", "--state-dir", (dir_.path() / "plain").string()}).exit_code, 0);
}

TEST_F(FoundationE2eTest, StateDirWithNewerSchemaIsRefusedAndLeftIntact) {
  Init();
  {
    auto db = store::Database::Open((StateDir() / "tontine.db").string(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 1000").ok());
  }
  auto before = testing::SnapshotDir(StateDir());
  RunResult invite = Coordinator({"invite", "--state-dir", StateDir().string()});
  EXPECT_EQ(invite.exit_code, 1);
  EXPECT_THAT(invite.err, HasSubstr("has schema version 1000, newer than this build"));
  std::filesystem::path config = dir_.path() / "c.yaml";
  std::ofstream(config) << "kind: coordinator\nstate_dir: coordinator\nlisten: 127.0.0.1:0\n"
                          << "dashboard: {listen: 127.0.0.1:0}\n"
                        << "experiment: "
                        << (testing::SourceDir() / "configs/experiments/udhr-demo.yaml").string()
                        << "\n";
  RunResult serve = Coordinator({"serve", "--config", config.string()});
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_THAT(serve.err, HasSubstr("newer than this build"));
  EXPECT_EQ(testing::SnapshotDir(StateDir()), before);
}

TEST_F(FoundationE2eTest, DatabaseThatIsNotSqliteIsRefusedAndLeftIntact) {
  Init();
  std::ofstream(StateDir() / "tontine.db", std::ios::trunc) << std::string(8192, '#');
  auto before = testing::SnapshotDir(StateDir());
  RunResult invite = Coordinator({"invite", "--state-dir", StateDir().string()});
  EXPECT_EQ(invite.exit_code, 1);
  EXPECT_THAT(invite.err, HasSubstr("tontine.db: is not an SQLite database"));
  EXPECT_EQ(testing::SnapshotDir(StateDir()), before);
}

TEST_F(FoundationE2eTest, InitTwiceChangesNothing) {
  Init();
  auto before = testing::SnapshotDir(StateDir());
  RunResult again = Coordinator({"init", "--state-dir", StateDir().string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already an initialised state directory"));
  EXPECT_EQ(testing::SnapshotDir(StateDir()), before);
}

TEST_F(FoundationE2eTest, ValidateAcceptsTheShippedConfigsAndStopsAtTheFirstBadFile) {
  std::vector<std::string> args = {Binary("tontine"), "validate"};
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(testing::SourceDir() / "configs")) {
    if (entry.path().extension() == ".yaml") args.push_back(entry.path().string());
  }
  RunResult ok = testing::Run(args, kTimeout);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  std::filesystem::path bad = dir_.path() / "bad.yaml";
  std::ofstream(bad) << "kind: experiment\nname: x\nlora:\n  rnak: 8\n";
  std::filesystem::path never = dir_.path() / "never-read.yaml";
  RunResult r = testing::Run({Binary("tontine"), "validate", args[2], bad.string(), never.string()},
                    kTimeout);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(bad.string() + ":4:3: unknown key 'rnak' in 'lora'; did you "
                                              "mean 'rank'?"));
  EXPECT_THAT(r.err, Not(HasSubstr("never-read.yaml")));
}

TEST_F(FoundationE2eTest, ValidateAppliesSetOverridesAndNamesTheBadOnes) {
  const std::string experiment =
      (testing::SourceDir() / "configs/experiments/udhr-demo.yaml").string();
  RunResult ok = testing::Run({Binary("tontine"), "validate", experiment, "--set",
                               "rounds.count=3", "--set", "cohort.filter={language:[wol]}"},
                              kTimeout);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("ok (experiment 'udhr-demo')"));

  RunResult typed = testing::Run(
      {Binary("tontine"), "validate", "--set", "rounds.count=abc", "--set", "lora.rnak=4",
       experiment},
      kTimeout);
  EXPECT_EQ(typed.exit_code, 1);
  EXPECT_THAT(typed.err, HasSubstr("--set rounds.count=abc: rounds.count: expected an integer, "
                                   "got 'abc'"));
  EXPECT_THAT(typed.err, HasSubstr("--set lora.rnak=4: unknown key 'rnak' in 'lora'; did you "
                                   "mean 'rank'?"));
  EXPECT_THAT(typed.err, Not(HasSubstr("udhr-demo.yaml:")));

  RunResult malformed =
      testing::Run({Binary("tontine"), "validate", experiment, "--set", "rounds.count"}, kTimeout);
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_THAT(malformed.err, HasSubstr("--set rounds.count: expected key.path=value"));

  // The coordinator's experiment takes overrides under experiment.
  RunResult coordinator = testing::Run(
      {Binary("tontine"), "validate",
       (testing::SourceDir() / "configs/coordinator.yaml").string(), "--set",
       "experiment.local_training.steps=0"},
      kTimeout);
  EXPECT_EQ(coordinator.exit_code, 1);
  EXPECT_THAT(coordinator.err, HasSubstr("--set experiment.local_training.steps=0: "
                                         "local_training.steps: 0 is out of range"));
}

}  // namespace
}  // namespace tontine
