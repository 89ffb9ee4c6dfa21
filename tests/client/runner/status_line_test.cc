#include "client/runner/status_line.h"

#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/runner/console_status.h"
#include "client/runner/participant_events.h"

namespace tontine::runner {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kColumns = 100;

// Reads `fd` to its end (EOF, or EIO once a pty's slave side is closed).
std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

StatusLineOptions FixedClock(StatusLineOptions options) {
  options.now = [] { return absl::FromUnixSeconds(1'790'000'000); };
  options.time_zone = absl::UTCTimeZone();
  return options;
}

// What a join shows for one round, as the participant reports it.
void PlayOneRound(StatusLine& line) {
  ConsoleStatus status(&line, nullptr, "2 threads · memory cap 2.0 GB");
  status.OnPhase({ParticipantPhase::kConnected, 0, "as p-1 to coordinator 0.1.0"});
  status.OnPhase({ParticipantPhase::kWaiting});
  status.OnPhase({ParticipantPhase::kInvited, 7, "index 2 of 8"});
  status.OnPhase({ParticipantPhase::kTraining, 7});
  for (int step = 1; step <= 60; ++step) {
    status.OnTrainingStep(7, {step, 60, 2.5 - step * 0.01, 1234, absl::Seconds(60 - step)});
  }
  line.Print("2026-01-01T00:00:00.000 info  [tontine-client] a log line");
  status.OnPhase({ParticipantPhase::kUploading, 7, "1.2 MB"});
  status.OnPhase({ParticipantPhase::kRoundDone, 7, "adapter v4 committed"});
  line.Finish();
}

TEST(StatusLineTest, OnAPseudoTerminalRedrawsOneLineInPlaceWithinTheWidth) {
  int master = -1;
  int slave = -1;
  struct winsize size {};
  size.ws_col = kColumns;
  size.ws_row = 24;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, &size), 0) << std::strerror(errno);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(master);
    ::setenv("TERM", "xterm", 1);
    StatusLineOptions options;
    options.fd = slave;
    options.terminal = FdIsInteractiveTerminal(slave);
    options.width = 0;  // asked from the pty: kColumns
    options.redraw_interval = absl::ZeroDuration();
    StatusLine line(FixedClock(options));
    PlayOneRound(line);
    ::_exit(options.terminal ? 0 : 3);
  }
  ::close(slave);
  const std::string out = ReadAll(master);
  ::close(master);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0) << "the pty's slave side is not seen as a terminal";

  EXPECT_THAT(out, AllOf(HasSubstr("\r\033[K"), HasSubstr("invited to round 7 (index 2 of 8)"),
                         HasSubstr("round 7 [#"), HasSubstr("step 60/60"),
                         HasSubstr("a log line"), HasSubstr("round 7 done")));
  // Every piece of text between a rewind and a newline is one screen line: none may reach
  // the last column, or the terminal would wrap it and the next redraw would not erase it.
  std::string text = absl::StrReplaceAll(out, {{"\r\033[K", "\n"}, {"\r\n", "\n"}});
  int lines = 0;
  for (absl::string_view piece : absl::StrSplit(text, '\n')) {
    int columns = 0;
    for (char c : piece) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    EXPECT_LT(columns, kColumns) << "'" << piece << "'";
    EXPECT_THAT(std::string(piece), Not(HasSubstr("\033"))) << "a stray escape sequence";
    ++lines;
  }
  EXPECT_GT(lines, 60);  // a redraw per step
  // The live line was cleared at the end: the output ends with a rewind.
  EXPECT_TRUE(absl::EndsWith(out, "\r\033[K")) << out.substr(out.size() - 40);
}

TEST(StatusLineTest, ANarrowTerminalCutsTheLineInsteadOfWrappingIt) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  {
    StatusLineOptions options;
    options.fd = pipe_fds[1];
    options.terminal = true;
    options.width = 40;
    options.redraw_interval = absl::ZeroDuration();
    StatusLine line(FixedClock(options));
    PlayOneRound(line);
  }
  ::close(pipe_fds[1]);
  const std::string out = ReadAll(pipe_fds[0]);
  ::close(pipe_fds[0]);
  EXPECT_THAT(out, AllOf(HasSubstr("round 7 step 60/60  loss 1.900"), HasSubstr("…")));
  // Each redraw of the live line is the text after a rewind with no newline (kept lines,
  // which may wrap, end in one).
  for (absl::string_view piece : absl::StrSplit(out, "\r\033[K")) {
    if (absl::StrContains(piece, '\n')) continue;
    int columns = 0;
    for (char c : piece) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    EXPECT_LT(columns, 40) << "'" << piece << "'";
  }
}

TEST(StatusLineTest, WithoutATerminalWritesPlainLinesWithoutControlCharacters) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_FALSE(FdIsInteractiveTerminal(pipe_fds[1]));
  {
    StatusLineOptions options;
    options.fd = pipe_fds[1];
    options.terminal = false;
    StatusLine line(FixedClock(options));
    PlayOneRound(line);
    line.Phase("a reason from the coordinator\033[2J with\ra control character");
  }
  ::close(pipe_fds[1]);
  const std::string out = ReadAll(pipe_fds[0]);
  ::close(pipe_fds[0]);
  for (char c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    ASSERT_TRUE(c == '\n' || (u >= 0x20 && u != 0x7f))
        << "control character " << static_cast<int>(u) << " in:\n" << out;
  }
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  int training_lines = 0;
  for (const std::string& l : lines) training_lines += absl::StrContains(l, ": training step");
  // Step 1, every sixth step (a tenth of 60) up to 60: 11 lines, not 60.
  EXPECT_EQ(training_lines, 11) << out;
  EXPECT_THAT(out, AllOf(HasSubstr("2026-09-21T14:13:20 invited to round 7 (index 2 of 8)\n"),
                         HasSubstr("2026-09-21T14:13:20 round 7: training step 60/60  loss 1.900"),
                         HasSubstr("a log line\n"), HasSubstr("round 7 done"),
                         Not(HasSubstr("2 threads"))));  // the summary is for the live line
}

TEST(StatusLineTest, PlainTrainingLinesAlsoComeAfterTheLogInterval) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  absl::Time now = absl::FromUnixSeconds(0);
  {
    StatusLineOptions options;
    options.fd = pipe_fds[1];
    options.log_every_steps = 1000;
    options.log_interval = absl::Minutes(1);
    options.now = [&now] { return now; };
    options.time_zone = absl::UTCTimeZone();
    StatusLine line(options);
    for (int step = 1; step <= 100; ++step) {
      now += absl::Seconds(10);  // a line at steps 1, 7, 13, … and 100
      line.Progress("round 1", {step, 100, 1.0, 10, absl::ZeroDuration()});
    }
  }
  ::close(pipe_fds[1]);
  const std::string out = ReadAll(pipe_fds[0]);
  ::close(pipe_fds[0]);
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 18u) << out;
  EXPECT_THAT(lines[1], HasSubstr("step 7/100"));
  EXPECT_THAT(lines.back(), HasSubstr("step 100/100"));
}

TEST(StatusLineTest, TermDumbIsNotAnInteractiveTerminal) {
  int master = -1;
  int slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  const char* old = std::getenv("TERM");
  const std::string saved = old == nullptr ? "" : old;
  ::setenv("TERM", "dumb", 1);
  EXPECT_FALSE(FdIsInteractiveTerminal(slave));
  ::setenv("TERM", "xterm-256color", 1);
  EXPECT_TRUE(FdIsInteractiveTerminal(slave));
  if (old == nullptr) {
    ::unsetenv("TERM");
  } else {
    ::setenv("TERM", saved.c_str(), 1);
  }
  ::close(master);
  ::close(slave);
}

TEST(ProgressBarTest, FillsInProportionToTheStepsDone) {
  EXPECT_EQ(ProgressBar(0, 10, 12), "[..........]");
  EXPECT_EQ(ProgressBar(5, 10, 12), "[#####.....]");
  EXPECT_EQ(ProgressBar(10, 10, 12), "[##########]");
  EXPECT_EQ(ProgressBar(12, 10, 12), "[##########]");
  EXPECT_EQ(ProgressBar(1, 0, 5), "[...]");
}

TEST(FitToColumnsTest, CutsByCodePointsAndMarksTheCut) {
  EXPECT_EQ(FitToColumns("short", 10), "short");
  EXPECT_EQ(FitToColumns("0123456789", 10), "0123456789");
  EXPECT_EQ(FitToColumns("0123456789ab", 10), "012345678…");
  EXPECT_EQ(FitToColumns("a · b · c · d", 6), "a · b…");
  EXPECT_EQ(FitToColumns("abc", 0), "");
}

TEST(FormatMachineLimitsTest, NamesThreadsAndTheMemoryCap) {
  EXPECT_EQ(FormatMachineLimits(1, 0), "1 thread · no memory cap");
  EXPECT_EQ(FormatMachineLimits(4, 2ull << 30), "4 threads · memory cap 2.1 GB");
}

TEST(DescribePhaseTest, NamesTheRoundAndTheDetail) {
  EXPECT_EQ(DescribePhase({ParticipantPhase::kWaiting}), "waiting for a round");
  EXPECT_EQ(DescribePhase({ParticipantPhase::kDeclined, 3, "on battery"}),
            "round 3: declined (on battery)");
  EXPECT_EQ(DescribePhase({ParticipantPhase::kPaused, 0, "on battery"}),
            "paused: on battery; declining rounds until then");
  EXPECT_EQ(DescribePhase({ParticipantPhase::kDownloading, 4, "v3, 1.2 MB"}),
            "round 4: downloading the adapter (v3, 1.2 MB)");
  EXPECT_EQ(DescribePhase({ParticipantPhase::kRoundDropped, 4, "cancelled: too few"}),
            "round 4 dropped (cancelled: too few)");
}

}  // namespace
}  // namespace tontine::runner
