#include "tests/testing/terminal_process.h"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"

namespace tontine::testing {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TerminalProcess>> TerminalProcess::Start(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    int columns, int rows) {
  int master = -1;
  int slave = -1;
  char slave_name[256] = {};
  if (::openpty(&master, &slave, slave_name, nullptr, nullptr) != 0) return Errno("openpty");
  // Close-on-exec, so that children other tests' threads spawn meanwhile do not keep the
  // terminal open (the master would then never see it close).
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  struct winsize size {};
  size.ws_col = static_cast<unsigned short>(columns);
  size.ws_row = static_cast<unsigned short>(rows);
  if (::ioctl(master, TIOCSWINSZ, &size) != 0) {
    const absl::Status status = Errno("TIOCSWINSZ");
    ::close(master);
    ::close(slave);
    return status;
  }

  // The child starts a session and opens the slave by name, which makes it the session's
  // controlling terminal (as a login shell's), then uses it for stdin, stdout and stderr.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, slave_name, O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&actions, 0, 1);
  posix_spawn_file_actions_adddup2(&actions, 0, 2);

  SpawnArguments spawn(argv, env);
  auto process = std::unique_ptr<TerminalProcess>(new TerminalProcess());
  const int rc = ::posix_spawn(&process->pid_, spawn.path(), &actions, &attributes, spawn.argv(),
                               spawn.envp());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  // posix_spawn returns once the child has exec'd, so it holds the slave by now: the master
  // reads EIO when the child (and whatever it started) has closed it.
  ::close(slave);
  if (rc != 0) {
    ::close(master);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  process->master_ = master;
  TerminalProcess* p = process.get();
  p->reader_ = std::thread([p] { p->Drain(); });
  return process;
}

void TerminalProcess::Drain() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(master_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO: every slave descriptor is closed
    absl::MutexLock lock(&mu_);
    output_.append(buffer, static_cast<size_t>(n));
  }
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

TerminalProcess::~TerminalProcess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (master_ >= 0) ::close(master_);  // ends the reader if a grandchild still holds the slave
  if (reader_.joinable()) reader_.join();
}

void TerminalProcess::Signal(int signal) {
  if (!exit_code_.has_value()) ::kill(pid_, signal);
}

bool TerminalProcess::WaitForOutput(absl::string_view text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this, text]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || absl::StrContains(output_, text);
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return absl::StrContains(output_, text);
}

absl::StatusOr<int> TerminalProcess::Wait(absl::Duration timeout) {
  if (exit_code_.has_value()) return *exit_code_;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (absl::Now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      exit_code_ = 128 + SIGKILL;
      return absl::DeadlineExceededError(absl::StrCat(
          "process ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // The rest of what it wrote is still in the terminal's buffer: read until it closes.
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&closed_), std::max(deadline - absl::Now(),
                                                           absl::Seconds(1)));
  return *exit_code_;
}

std::string TerminalProcess::output() const {
  absl::MutexLock lock(&mu_);
  return output_;
}

}  // namespace tontine::testing
