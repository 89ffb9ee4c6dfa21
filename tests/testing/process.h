// Running the real binaries from tests: spawn, capture output, bound every wait in time.
#ifndef TONTINE_TESTS_TESTING_PROCESS_H_
#define TONTINE_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tontine::testing {

// The directory holding tontine-coordinator, tontine-client and tontine (from the build).
std::filesystem::path BinDir();
// The path of one of those binaries.
std::string Binary(const std::string& name);
// The source tree's root (for configs/ and examples/).
std::filesystem::path SourceDir();
// This process's environment with `env` added (replacing variables of the same name), as
// "NAME=value" strings for execve.
std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& env);

// The argv and envp arrays posix_spawn takes, with the strings they point into: `argv`, and
// this process's environment with `env` added.
class SpawnArguments {
 public:
  SpawnArguments(std::vector<std::string> argv, const std::map<std::string, std::string>& env);
  SpawnArguments(const SpawnArguments&) = delete;
  SpawnArguments& operator=(const SpawnArguments&) = delete;

  const char* path() const { return argv_.front(); }  // null when argv is empty
  char* const* argv() { return argv_.data(); }
  char* const* envp() { return envp_.data(); }

 private:
  std::vector<std::string> strings_argv_;
  std::vector<std::string> strings_env_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

// A child process with captured stdout and stderr. Killed (SIGKILL) on destruction if still
// running. Not thread-safe.
class Subprocess {
 public:
  // Starts `argv` (argv[0] is the program path) with `env` added to the environment.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Sends `signal`.
  void Signal(int signal);
  // Waits for exit; DEADLINE_EXCEEDED (and SIGKILL) if it takes longer than `timeout`.
  // Returns the exit code, or 128 + signal number when killed by a signal.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Output so far (complete after Wait).
  std::string out() const;
  std::string err() const;

 private:
  Subprocess() = default;
  void Drain(int fd, std::string* sink);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  mutable absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  std::thread out_reader_;
  std::thread err_reader_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs to completion (bounded by `timeout`). A process that fails to start or exceed the
// timeout yields exit_code -1 and the reason in `err`.
RunResult Run(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(60),
              const std::map<std::string, std::string>& env = {});

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Polls until `path` exists and is not empty, up to `timeout`; returns its contents.
absl::StatusOr<std::string> WaitForFile(const std::filesystem::path& path,
                                        absl::Duration timeout);

// Every file under `dir` with its bytes, for checking that a failed command changed nothing.
std::map<std::string, std::string> SnapshotDir(const std::filesystem::path& dir);

// Removes CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from this process's effective set, so
// that root is bound by file modes like anyone else. Call it in a death-test child only: it
// cannot be undone. Returns false if the kernel refused.
bool DropFileAccessCapabilities();

}  // namespace tontine::testing

#endif  // TONTINE_TESTS_TESTING_PROCESS_H_
