#include "cli/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

ExitStatus FromWaitStatus(int status) {
  if (WIFSIGNALED(status)) return {.code = -1, .signal = WTERMSIG(status)};
  return {.code = WEXITSTATUS(status), .signal = 0};
}

// Runs in the forked child, where only async-signal-safe calls are allowed until exec.
// Reports a failure as errno through `error_fd` and exits 127.
[[noreturn]] void ExecChild(char* const* argv, pid_t parent, int stdin_fd, int stdout_fd,
                            int stderr_fd, int error_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) {
    int err = errno;
    (void)!write(error_fd, &err, sizeof err);
    _exit(127);
  }
  execv(argv[0], argv);
  int err = errno;
  (void)!write(error_fd, &err, sizeof err);
  _exit(127);
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal == 0) return absl::StrCat("exited with code ", code);
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? absl::StrCat("killed by SIG", name)
                         : absl::StrCat("killed by signal ", signal);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const fs::path& log, bool capture_stdout) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  if (log.has_parent_path()) TONTINE_RETURN_IF_ERROR(MakeDirs(log.parent_path()));
  Fd log_fd(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log_fd.get() < 0) return ErrnoStatus(errno, "cannot open log", log);
  Fd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) return ErrnoStatus(errno, "cannot open", "/dev/null");
  int out_pipe[2] = {-1, -1}, error_pipe[2] = {-1, -1};
  if ((capture_stdout && pipe2(out_pipe, O_CLOEXEC) != 0) || pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", ErrnoText(errno)));
  }
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  Fd error_read(error_pipe[0]), error_write(error_pipe[1]);

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);
  const pid_t parent = getpid();
  const int stdout_fd = capture_stdout ? out_write.get() : log_fd.get();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", ErrnoText(errno)));
  if (pid == 0) {
    ExecChild(arg_ptrs.data(), parent, null_fd.get(), stdout_fd, log_fd.get(), error_write.get());
  }
  setpgid(pid, pid);  // also in the child: whichever runs first wins the race
  error_write.Reset();
  out_write.Reset();
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status = 0;
    waitpid(pid, &status, 0);
    return ErrnoStatus(exec_errno, "cannot execute", argv[0]);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log, out_read.Release()));
}

ChildProcess::~ChildProcess() {
  if (!exit_.has_value()) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (exit_.has_value()) return exit_;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) exit_ = FromWaitStatus(status);
  return exit_;
}

void ChildProcess::Signal(int signal) {
  if (!exit_.has_value()) kill(-pid_, signal);
}

void ChildProcess::ReadStdout(absl::Duration timeout) {
  if (stdout_fd_ < 0) {
    absl::SleepFor(timeout);
    return;
  }
  pollfd p = {.fd = stdout_fd_, .events = POLLIN, .revents = 0};
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) return;
  char buf[4096];
  ssize_t n = read(stdout_fd_, buf, sizeof buf);
  if (n > 0) {
    stdout_.append(buf, static_cast<size_t>(n));
  } else if (n == 0 || errno != EINTR) {
    close(stdout_fd_);  // end of file: the child (and anything it started) closed stdout
    stdout_fd_ = -1;
  }
}

absl::StatusOr<ExitStatus> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Poll().has_value()) {
    if (absl::Now() >= deadline) {
      Signal(SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_ = FromWaitStatus(status);
      return absl::DeadlineExceededError(absl::StrCat(
          "still running after ", absl::FormatDuration(timeout), "; killed it"));
    }
    ReadStdout(absl::Milliseconds(20));
  }
  // Drain what is left; bounded, in case a grandchild still holds the pipe open.
  const absl::Time drain_deadline = absl::Now() + absl::Seconds(2);
  while (stdout_fd_ >= 0 && absl::Now() < drain_deadline) ReadStdout(absl::Milliseconds(20));
  return *exit_;
}

ExitStatus ChildProcess::Terminate(absl::Duration grace) {
  Signal(SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (!Poll().has_value() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  if (!exit_.has_value()) {
    Signal(SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_ = FromWaitStatus(status);
  }
  return *exit_;
}

void TerminateAll(const std::vector<ChildProcess*>& children, absl::Duration grace) {
  for (ChildProcess* child : children) {
    if (child != nullptr) child->Signal(SIGTERM);
  }
  const absl::Time deadline = absl::Now() + grace;
  for (ChildProcess* child : children) {
    if (child == nullptr) continue;
    const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    child->Terminate(left);  // SIGTERM again is harmless; SIGKILL once the grace is over
  }
}

absl::StatusOr<std::string> RunToCompletion(const std::vector<std::string>& argv,
                                            const fs::path& log, absl::Duration timeout) {
  TONTINE_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child,
                           ChildProcess::Start(argv, log, /*capture_stdout=*/true));
  const std::string name = fs::path(argv[0]).filename().string();
  absl::StatusOr<ExitStatus> status = child->Wait(timeout);
  if (!status.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(name, " ", argv.size() > 1 ? argv[1] : "", ": ", status.status().message(),
                     "; its log is ", log.string(), "\n", TailOfFile(log, 20)));
  }
  if (!status->success()) {
    return absl::InternalError(absl::StrCat(name, " ", argv.size() > 1 ? argv[1] : "", " ",
                                            status->ToString(), "; last lines of ",
                                            log.string(), ":\n", TailOfFile(log, 20)));
  }
  return child->captured_stdout();
}

std::string TailOfFile(const fs::path& path, int lines) {
  constexpr std::streamoff kMaxBytes = 64 * 1024;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - kMaxBytes);
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace tontine::cli
