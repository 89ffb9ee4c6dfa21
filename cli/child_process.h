// Child processes of `tontine simulate`: the coordinator and the clients it supervises, each
// with stdout and stderr appended to a log file.
//
// Every child runs in a process group of its own (so a Ctrl-C at the terminal reaches
// `simulate` alone, which then stops the children in order), and asks the kernel for SIGKILL
// when its parent dies (PR_SET_PDEATHSIG), so that no child outlives a `simulate` that was
// killed outright. The kernel sends that signal when the *thread* that forked exits: start
// children from the main thread only.
#ifndef TONTINE_CLI_CHILD_PROCESS_H_
#define TONTINE_CLI_CHILD_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine::cli {

// How a child ended: exited with `code`, or killed by `signal` (then code is -1).
struct ExitStatus {
  int code = -1;
  int signal = 0;

  bool success() const { return signal == 0 && code == 0; }
  // "exited with code 3", "killed by SIGKILL".
  std::string ToString() const;
};

// A running child. Destroying it kills the child's process group (SIGKILL) and reaps the
// child if it is still running. Not thread-safe.
// Lifecycle: Start → Poll / Signal … → Wait or Terminate (or destroy).
class ChildProcess {
 public:
  // Starts `argv` (argv[0] is the program's path) with stdin from /dev/null and stdout and
  // stderr appended to `log` (created if missing, parents too). With `capture_stdout`, stdout
  // goes to a pipe instead, read by Wait. INVALID_ARGUMENT for an empty argv; NOT_FOUND or
  // PERMISSION_DENIED naming the program when it cannot be executed; errors naming `log` when
  // it cannot be opened.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::filesystem::path& log,
                                                             bool capture_stdout = false);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log() const { return log_; }

  // The exit status if the child has ended (reaping it), nullopt while it runs. Never blocks.
  std::optional<ExitStatus> Poll();

  // Sends `signal` to the child's process group, unless the child has been reaped.
  void Signal(int signal);

  // Waits for the child to end, reading captured stdout meanwhile. DEADLINE_EXCEEDED after
  // `timeout` (the child is then killed and reaped).
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout);

  // SIGTERM, then SIGKILL if the child is still running after `grace`; returns how it ended.
  ExitStatus Terminate(absl::Duration grace);

  // What the child wrote to stdout so far (with capture_stdout; complete after Wait).
  const std::string& captured_stdout() const { return stdout_; }

 private:
  ChildProcess(pid_t pid, std::filesystem::path log, int stdout_fd)
      : pid_(pid), log_(std::move(log)), stdout_fd_(stdout_fd) {}
  // Reads what is available on stdout_fd_ without blocking longer than `timeout`.
  void ReadStdout(absl::Duration timeout);

  const pid_t pid_;
  const std::filesystem::path log_;
  int stdout_fd_;  // -1 unless capturing
  std::string stdout_;
  std::optional<ExitStatus> exit_;
};

// Stops `children` together: SIGTERM to each, then SIGKILL to those still running after
// `grace`; every child is reaped when this returns. Null entries are skipped.
void TerminateAll(const std::vector<ChildProcess*>& children, absl::Duration grace);

// Runs `argv` to completion with output appended to `log` and returns what it printed on
// stdout. An exit other than 0 is an error naming the program, its status and `log`
// (INTERNAL), or DEADLINE_EXCEEDED after `timeout`.
absl::StatusOr<std::string> RunToCompletion(const std::vector<std::string>& argv,
                                            const std::filesystem::path& log,
                                            absl::Duration timeout);

// The last `lines` lines of the file at `path` ("" when it cannot be read).
std::string TailOfFile(const std::filesystem::path& path, int lines);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_CHILD_PROCESS_H_
