#include "cli/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Shell(const std::string& script) { return {"/bin/sh", "-c", script}; }

// Whether process `pid` is gone or a zombie, polled for up to `timeout`.
bool EndsWithin(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string stat = Slurp(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// The pid a script wrote to `path`, waiting for it.
pid_t ReadPid(const fs::path& path) {
  absl::StatusOr<std::string> text = testing::WaitForFile(path, absl::Seconds(10));
  int pid = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid)) return -1;
  return pid;
}

class ChildProcessTest : public ::testing::Test {
 protected:
  fs::path Log() const { return dir_.path() / "logs" / "child.log"; }
  testing::TempDir dir_;
};

TEST_F(ChildProcessTest, AppendsStdoutAndStderrToTheLogAndReportsTheExitCode) {
  std::ofstream(dir_.path() / "placeholder");  // the log's directory does not exist yet
  auto child = ChildProcess::Start(Shell("echo to-stdout; echo to-stderr >&2; exit 3"), Log());
  ASSERT_THAT(child, IsOk());
  absl::StatusOr<ExitStatus> status = (*child)->Wait(absl::Seconds(30));
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->code, 3);
  EXPECT_FALSE(status->success());
  EXPECT_EQ(status->ToString(), "exited with code 3");
  auto again = ChildProcess::Start(Shell("echo second"), Log());
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT((*again)->Wait(absl::Seconds(30)), IsOk());
  EXPECT_EQ(Slurp(Log()), "to-stdout\nto-stderr\nsecond\n");
}

TEST_F(ChildProcessTest, ReportsDeathBySignal) {
  auto child = ChildProcess::Start(Shell("kill -KILL $$"), Log());
  ASSERT_THAT(child, IsOk());
  absl::StatusOr<ExitStatus> status = (*child)->Wait(absl::Seconds(30));
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->signal, SIGKILL);
  EXPECT_EQ(status->ToString(), "killed by SIGKILL");
}

TEST_F(ChildProcessTest, PollDoesNotBlockWhileTheChildRuns) {
  auto child = ChildProcess::Start({"/bin/sleep", "30"}, Log());
  ASSERT_THAT(child, IsOk());
  EXPECT_FALSE((*child)->Poll().has_value());
  (*child)->Signal(SIGKILL);
  absl::StatusOr<ExitStatus> status = (*child)->Wait(absl::Seconds(30));
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->signal, SIGKILL);
  EXPECT_EQ((*child)->Poll()->signal, SIGKILL);
}

TEST_F(ChildProcessTest, AProgramThatCannotBeExecutedIsNotFoundByName) {
  const std::string missing = (dir_.path() / "no-such-program").string();
  EXPECT_THAT(ChildProcess::Start({missing, "join"}, Log()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  EXPECT_THAT(ChildProcess::Start({}, Log()), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("no program")));
}

TEST_F(ChildProcessTest, AnUnwritableLogIsAnErrorNamingIt) {
  std::ofstream(dir_.path() / "file");
  const fs::path log = dir_.path() / "file" / "child.log";  // a file as the log's directory
  auto child = ChildProcess::Start(Shell("true"), log);
  ASSERT_THAT(child, Not(IsOk()));
  EXPECT_THAT(std::string(child.status().message()), HasSubstr((dir_.path() / "file").string()));
}

TEST_F(ChildProcessTest, TerminateStopsTheWholeProcessGroup) {
  const fs::path pid_file = dir_.path() / "grandchild.pid";
  auto child = ChildProcess::Start(
      Shell(absl::StrCat("sleep 60 & echo $! > ", pid_file.string(), "; wait")), Log());
  ASSERT_THAT(child, IsOk());
  const pid_t grandchild = ReadPid(pid_file);
  ASSERT_GT(grandchild, 0);
  ExitStatus status = (*child)->Terminate(absl::Seconds(5));
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_TRUE(EndsWithin(grandchild, absl::Seconds(10)));
}

TEST_F(ChildProcessTest, TerminateFallsBackToSigkillAfterTheGracePeriod) {
  const fs::path ready = dir_.path() / "ready";
  // The ignored SIGTERM is inherited by `sleep` too.
  auto child = ChildProcess::Start(
      Shell(absl::StrCat("trap '' TERM; echo $$ > ", ready.string(), "; sleep 60")), Log());
  ASSERT_THAT(child, IsOk());
  ASSERT_GT(ReadPid(ready), 0);
  const absl::Time start = absl::Now();
  ExitStatus status = (*child)->Terminate(absl::Milliseconds(300));
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(ChildProcessTest, TerminateAllStopsEveryChild) {
  auto a = ChildProcess::Start({"/bin/sleep", "60"}, Log());
  auto b = ChildProcess::Start({"/bin/sleep", "60"}, Log());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  TerminateAll({a->get(), nullptr, b->get()}, absl::Seconds(5));
  EXPECT_EQ((*a)->Poll()->signal, SIGTERM);
  EXPECT_EQ((*b)->Poll()->signal, SIGTERM);
}

TEST_F(ChildProcessTest, DestroyingARunningChildKillsIt) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::Start({"/bin/sleep", "60"}, Log());
    ASSERT_THAT(child, IsOk());
    pid = (*child)->pid();
  }
  EXPECT_TRUE(EndsWithin(pid, absl::Seconds(1)));
}

// The guarantee for a `simulate` killed outright (SIGKILL, OOM): its children die with it.
TEST_F(ChildProcessTest, ChildrenDieWithTheirParent) {
  const fs::path pid_file = dir_.path() / "child.pid";
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    auto child = ChildProcess::Start(
        Shell(absl::StrCat("echo $$ > ", pid_file.string(), "; exec sleep 60")), Log());
    if (!child.ok()) _exit(1);
    testing::WaitForFile(pid_file, absl::Seconds(10)).IgnoreError();
    _exit(0);  // no destructor runs: only PR_SET_PDEATHSIG can stop the child now
  }
  int status = 0;
  ASSERT_EQ(waitpid(parent, &status, 0), parent);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const pid_t orphan = ReadPid(pid_file);
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(EndsWithin(orphan, absl::Seconds(10)));
}

TEST_F(ChildProcessTest, RunToCompletionReturnsStdoutAndLogsStderr) {
  EXPECT_THAT(RunToCompletion(Shell("echo '{\"token\": \"t\"}'; echo progress >&2"), Log(),
                              absl::Seconds(30)),
              IsOkAndHolds("{\"token\": \"t\"}\n"));
  EXPECT_EQ(Slurp(Log()), "progress\n");
}

TEST_F(ChildProcessTest, RunToCompletionFailureNamesTheStatusAndShowsTheLog) {
  EXPECT_THAT(RunToCompletion({"/bin/sh", "-c", "echo 'bad token' >&2; exit 2"}, Log(),
                              absl::Seconds(30)),
              StatusIs(absl::StatusCode::kInternal,
                       ::testing::AllOf(HasSubstr("sh -c exited with code 2"),
                                        HasSubstr(Log().string()), HasSubstr("bad token"))));
  EXPECT_THAT(RunToCompletion({"/bin/sleep", "60"}, Log(), absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("still running")));
}

TEST_F(ChildProcessTest, TailOfFileKeepsTheLastLines) {
  const fs::path path = dir_.path() / "log";
  std::ofstream(path) << "one\ntwo\nthree\nfour\n";
  EXPECT_EQ(TailOfFile(path, 2), "three\nfour");
  EXPECT_EQ(TailOfFile(path, 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(TailOfFile(dir_.path() / "missing", 3), "");
}

}  // namespace
}  // namespace tontine::cli
