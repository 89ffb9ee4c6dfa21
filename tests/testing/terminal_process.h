// Running a real binary on a terminal from a test: its stdin, stdout and stderr are the slave
// side of a new pseudo-terminal (its controlling terminal, of a given window size), and the
// test reads what it draws from the master side, escape sequences and all.
#ifndef TONTINE_TESTS_TESTING_TERMINAL_PROCESS_H_
#define TONTINE_TESTS_TESTING_TERMINAL_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tontine::testing {

// A child process in its own session on a new pseudo-terminal. Lifecycle: Start →
// WaitForOutput / Signal … → Wait (or destroy: SIGKILL if still running).
// Not thread-safe, except output() and WaitForOutput(), which may be called from any thread.
class TerminalProcess {
 public:
  // Starts `argv` (argv[0] is the program path) with `env` added to the environment, on a
  // terminal of `columns` × `rows` (set with TIOCSWINSZ before the child starts).
  static absl::StatusOr<std::unique_ptr<TerminalProcess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
      int columns, int rows);
  ~TerminalProcess();

  pid_t pid() const { return pid_; }
  // Sends `signal` unless the process has been waited for.
  void Signal(int signal);
  // Whether the output contains `text` by `timeout`; false sooner when the terminal closed
  // (the process and everything it started exited) without it.
  bool WaitForOutput(absl::string_view text, absl::Duration timeout);
  // Waits for exit, then for the rest of the output; DEADLINE_EXCEEDED (and SIGKILL) after
  // `timeout`. Returns the exit code, or 128 + signal number when killed by a signal.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Every byte read from the master side so far (all of it after Wait). The terminal's line
  // discipline turns each "\n" the program writes into "\r\n".
  std::string output() const;

 private:
  TerminalProcess() = default;
  void Drain();

  pid_t pid_ = -1;
  int master_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tontine::testing

#endif  // TONTINE_TESTS_TESTING_TERMINAL_PROCESS_H_
