#include "tests/testing/process.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace tontine::testing {

std::filesystem::path BinDir() {
  const char* dir = std::getenv("TONTINE_BIN_DIR");
  return dir != nullptr ? dir : TONTINE_DEFAULT_BIN_DIR;
}

std::string Binary(const std::string& name) { return (BinDir() / name).string(); }

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("TONTINE_SOURCE_DIR");
  return dir != nullptr ? dir : TONTINE_DEFAULT_SOURCE_DIR;
}

std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  return env_strings;
}

SpawnArguments::SpawnArguments(std::vector<std::string> argv,
                               const std::map<std::string, std::string>& env)
    : strings_argv_(std::move(argv)), strings_env_(EnvironmentWith(env)) {
  for (std::string& s : strings_argv_) argv_.push_back(s.data());
  argv_.push_back(nullptr);
  for (std::string& s : strings_env_) envp_.push_back(s.data());
  envp_.push_back(nullptr);
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  SpawnArguments spawn(argv, env);
  auto process = std::unique_ptr<Subprocess>(new Subprocess());
  int rc = posix_spawn(&process->pid_, spawn.path(), &actions, nullptr, spawn.argv(), spawn.envp());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  Subprocess* p = process.get();
  p->out_reader_ = std::thread([p, fd = out_pipe[0]] { p->Drain(fd, &p->out_); });
  p->err_reader_ = std::thread([p, fd = err_pipe[0]] { p->Drain(fd, &p->err_); });
  return process;
}

void Subprocess::Drain(int fd, std::string* sink) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    sink->append(buf, static_cast<size_t>(n));
  }
  close(fd);
}

Subprocess::~Subprocess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

void Subprocess::Signal(int signal) {
  if (!exit_code_.has_value()) kill(pid_, signal);
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (exit_code_.has_value()) return *exit_code_;
  absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      exit_code_ = 128 + SIGKILL;
      if (out_reader_.joinable()) out_reader_.join();
      if (err_reader_.joinable()) err_reader_.join();
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  return *exit_code_;
}

std::string Subprocess::out() const {
  absl::MutexLock lock(&mu_);
  return out_;
}

std::string Subprocess::err() const {
  absl::MutexLock lock(&mu_);
  return err_;
}

RunResult Run(const std::vector<std::string>& argv, absl::Duration timeout,
              const std::map<std::string, std::string>& env) {
  RunResult result;
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv, env);
  if (!p.ok()) {
    result.err = p.status().ToString();
    return result;
  }
  absl::StatusOr<int> code = (*p)->Wait(timeout);
  result.out = (*p)->out();
  result.err = (*p)->err();
  if (!code.ok()) {
    result.err += "\n" + code.status().ToString();
    return result;
  }
  result.exit_code = *code;
  return result;
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/tontine-test-XXXXXX");
  char* made = mkdtemp(pattern.data());
  path_ = made != nullptr ? made : pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

absl::StatusOr<std::string> WaitForFile(const std::filesystem::path& path,
                                        absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!text.str().empty()) return text.str();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(path.string(), " did not appear"));
}

std::map<std::string, std::string> SnapshotDir(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files[std::filesystem::relative(entry.path(), dir).string()] = bytes.str();
  }
  return files;
}

bool DropFileAccessCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
    data[cap / 32].effective &= ~(1u << (cap % 32));
  }
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace tontine::testing
