// A federation on 127.0.0.1 for end-to-end tests of the real `tontine-client join`: a tiny
// base model pretrained here in seconds, a plaintext coordinator serving one experiment
// until its rounds are done, invites and enrolment, and synthetic participants
// (tontine-vector-client, no LibTorch) to make up the cohort around the real client.
//
//   absl::StatusOr<std::string> digest = PretrainTinyBaseModel(root / "base");
//   auto coordinator = TestCoordinator::Start(root, experiment_yaml);
//   absl::StatusOr<std::string> token = (*coordinator)->Invite("language=songs");
//   EnrolClient((*coordinator)->address(), *token, root / "client-0");
//   … start the real client on root / "client-0", synthetic ones with StartVectorClient …
//   (*coordinator)->process().Wait(absl::Minutes(5));  // exits when the rounds are done
#ifndef TONTINE_TESTS_TESTING_SMALL_FEDERATION_H_
#define TONTINE_TESTS_TESTING_SMALL_FEDERATION_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/testing/process.h"

namespace tontine::testing {

// Pretrains a tiny byte-level base model (one layer, hidden size 32, two steps, one thread)
// into `dir` with `tontine pretrain`; returns its digest in hex, the "model sha256" that the
// coordinator and the clients compare.
absl::StatusOr<std::string> PretrainTinyBaseModel(const std::filesystem::path& dir);

// `tontine-coordinator serve --exit-when-done` over plaintext (--insecure) on an ephemeral
// port, with its dashboard on another. Killed on destruction if still running.
// Not thread-safe.
class TestCoordinator {
 public:
  // Writes `experiment_yaml` to root/experiment.yaml and a coordinator.yaml that runs it from
  // root/state, creates the state directory with `init` and starts serving; returns once the
  // coordinator listens. INTERNAL with the command's stderr when a step fails.
  static absl::StatusOr<std::unique_ptr<TestCoordinator>> Start(const std::filesystem::path& root,
                                                                absl::string_view experiment_yaml);

  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  const std::filesystem::path& state_dir() const { return state_dir_; }
  Subprocess& process() { return *process_; }

  // A single-use invite token for a participant tagged `tag` ("language=songs").
  absl::StatusOr<std::string> Invite(absl::string_view tag);

 private:
  TestCoordinator() = default;

  std::filesystem::path state_dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// Redeems `token` at the plaintext coordinator `address` with `tontine-client enrol`, storing
// the credential in `state_dir`.
absl::Status EnrolClient(const std::string& address, const std::string& token,
                         const std::filesystem::path& state_dir);

// The tontine-vector-client program built beside the test binaries.
std::string VectorClientBinary();

// Starts a synthetic participant with the credential in `state_dir` (see EnrolClient) for a
// base model of digest `base_sha256_hex`.
absl::StatusOr<std::unique_ptr<Subprocess>> StartVectorClient(
    const std::filesystem::path& state_dir, const std::string& base_sha256_hex);

}  // namespace tontine::testing

#endif  // TONTINE_TESTS_TESTING_SMALL_FEDERATION_H_
