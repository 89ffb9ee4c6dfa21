#include "tests/testing/small_federation.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/safetensors/model_dir.h"

namespace tontine::testing {
namespace {

namespace fs = std::filesystem;

// OK when `result` exited 0; otherwise INTERNAL naming `what`, with the command's stderr.
absl::Status Succeeded(absl::string_view what, const RunResult& result) {
  if (result.exit_code == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, " exited with ", result.exit_code, ":\n", result.err));
}

}  // namespace

absl::StatusOr<std::string> PretrainTinyBaseModel(const fs::path& dir) {
  RunResult pretrain = Run(
      {Binary("tontine"), "pretrain", "--data", (SourceDir() / "examples/data/pretrain").string(),
       "--out", dir.string(), "--steps", "2", "--hidden", "32", "--layers", "1", "--heads", "2",
       "--intermediate", "64", "--threads", "1"},
      absl::Minutes(3));
  if (absl::Status st = Succeeded("tontine pretrain", pretrain); !st.ok()) return st;
  return safetensors::ModelDigest(dir);
}

absl::StatusOr<std::unique_ptr<TestCoordinator>> TestCoordinator::Start(
    const fs::path& root, absl::string_view experiment_yaml) {
  auto coordinator = std::unique_ptr<TestCoordinator>(new TestCoordinator());
  coordinator->state_dir_ = root / "state";
  if (absl::Status st = WriteFileAtomic(root / "experiment.yaml", experiment_yaml); !st.ok()) {
    return st;
  }
  const std::string config = absl::StrCat(
      "kind: coordinator\nstate_dir: ", coordinator->state_dir_.string(),
      "\nlisten: 127.0.0.1:0\ninsecure: true\ndashboard: {listen: 127.0.0.1:0}\nexperiment: ",
      (root / "experiment.yaml").string(), "\n");
  if (absl::Status st = WriteFileAtomic(root / "coordinator.yaml", config); !st.ok()) return st;
  if (absl::Status st = Succeeded("tontine-coordinator init",
                                  Run({Binary("tontine-coordinator"), "init", "--state-dir",
                                       coordinator->state_dir_.string()}));
      !st.ok()) {
    return st;
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {Binary("tontine-coordinator"), "serve", "--config", (root / "coordinator.yaml").string(),
       "--port-file", (root / "port").string(), "--exit-when-done"});
  if (!process.ok()) return process.status();
  coordinator->process_ = *std::move(process);
  absl::StatusOr<std::string> port = WaitForFile(root / "port", absl::Seconds(30));
  if (!port.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*port), &coordinator->port_)) {
    return absl::InternalError(absl::StrCat("the coordinator did not start listening:\n",
                                            coordinator->process_->err()));
  }
  return coordinator;
}

std::string TestCoordinator::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::StatusOr<std::string> TestCoordinator::Invite(absl::string_view tag) {
  RunResult invite = Run({Binary("tontine-coordinator"), "invite", "--state-dir",
                          state_dir_.string(), "--tag", std::string(tag), "--json"});
  if (absl::Status st = Succeeded("tontine-coordinator invite", invite); !st.ok()) return st;
  const nlohmann::json json = nlohmann::json::parse(invite.out, nullptr, false);
  if (!json.is_object() || !json.contains("token") || !json["token"].is_string()) {
    return absl::InternalError(absl::StrCat("invite --json printed no token: ", invite.out));
  }
  return json["token"].get<std::string>();
}

absl::Status EnrolClient(const std::string& address, const std::string& token,
                         const fs::path& state_dir) {
  return Succeeded("tontine-client enrol",
                   Run({Binary("tontine-client"), "enrol", "--coordinator", address, "--insecure",
                        "--token", token, "--state-dir", state_dir.string()}));
}

std::string VectorClientBinary() {
  return (fs::read_symlink("/proc/self/exe").parent_path() / "tontine-vector-client").string();
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartVectorClient(const fs::path& state_dir,
                                                             const std::string& base_sha256_hex) {
  return Subprocess::Start({VectorClientBinary(), "--state-dir", state_dir.string(),
                            "--base-sha256", base_sha256_hex});
}

}  // namespace tontine::testing
