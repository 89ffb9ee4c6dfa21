// A coordinator killed with SIGKILL in the middle of a round commit must leave a database that
// opens cleanly and holds either the whole round (round, cohort, adapter, audit) or none of it.
//
// The commit runs in a forked child; the parent kills it (a) at each step between the
// commit's statements, using the store's commit-step seam, and (b) at random moments while
// the child commits rounds back to back.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/store.h"
#include "tests/server/store/store_fixtures.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::store {
namespace {

using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;

constexpr int kCohort = 40;

class StoreCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() / "tontine.db";
    auto store = Store::Open(path_, {.clock = &clock_, .create = true});
    ASSERT_THAT(store, IsOk());
    auto experiment = SeedParticipantsAndExperiment(**store, clock_, kCohort);
    ASSERT_THAT(experiment, IsOk());
    experiment_ = *experiment;
  }

  // Forks a child that opens the store and runs `body`; the child never returns.
  pid_t Fork(const std::function<void(Store&)>& body, StoreOptions options) {
    pid_t pid = fork();
    if (pid == 0) {
      options.clock = &clock_;
      auto store = Store::Open(path_, options);
      if (!store.ok()) _exit(3);
      body(**store);
      _exit(0);
    }
    return pid;
  }

  static void KillAndReap(pid_t pid) {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  // The database opens, passes SQLite's integrity check, and every round present is whole.
  // Returns the number of committed rounds.
  int CheckConsistent() {
    auto raw = Database::Open(path_.string(), false);
    EXPECT_THAT(raw, IsOk());
    if (!raw.ok()) return -1;
    Database& db = **raw;
    absl::StatusOr<Statement> check = db.Prepare("PRAGMA integrity_check");
    EXPECT_THAT(check, IsOk());
    EXPECT_THAT(check->Step(), IsOkAndHolds(true));
    EXPECT_EQ(check->ColumnText(0), "ok");
    // No half rounds: each round has its full cohort and its adapter; nothing dangles.
    EXPECT_THAT(db.QueryInt("SELECT count(*) FROM rounds r WHERE (SELECT count(*) FROM "
                            "round_participants p WHERE p.round_id = r.id) != r.participants"),
                IsOkAndHolds(0));
    EXPECT_THAT(db.QueryInt("SELECT count(*) FROM rounds WHERE adapter_version IS NULL OR "
                            "adapter_version NOT IN (SELECT version FROM adapters)"),
                IsOkAndHolds(0));
    EXPECT_THAT(db.QueryInt("SELECT count(*) FROM adapters WHERE round_id NOT IN "
                            "(SELECT id FROM rounds)"),
                IsOkAndHolds(0));
    EXPECT_THAT(db.QueryInt("SELECT count(*) FROM round_participants WHERE round_id NOT IN "
                            "(SELECT id FROM rounds)"),
                IsOkAndHolds(0));
    absl::StatusOr<int64_t> rounds = db.QueryInt("SELECT count(*) FROM rounds");
    absl::StatusOr<int64_t> audits =
        db.QueryInt("SELECT count(*) FROM audit_log WHERE action = 'round.commit'");
    EXPECT_THAT(rounds, IsOk());
    EXPECT_THAT(audits, IsOkAndHolds(rounds.value_or(-1)));
    return static_cast<int>(rounds.value_or(-1));
  }

  tontine::testing::TempDir dir_;
  std::filesystem::path path_;
  FakeClock clock_;
  int64_t experiment_ = 0;
};

TEST_F(StoreCrashTest, KillAtEachStepOfACommitLeavesNoneOfTheRound) {
  for (const char* step : {"round", "cohort", "adapter", "audit", "commit"}) {
    SCOPED_TRACE(step);
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    StoreOptions options;
    const std::string target = step;
    const int write_fd = pipe_fds[1];
    options.commit_step_hook = [target, write_fd](absl::string_view at) {
      if (at != target) return;
      char c = 'x';
      (void)!write(write_fd, &c, 1);
      for (;;) pause();  // wait to be killed, mid-transaction
    };
    pid_t child = Fork(
        [this](Store& store) {
          (void)store.CommitRound(TestRound(1, experiment_, kCohort, clock_.Now()),
                                  TestAdapter(1, experiment_, 1, clock_.Now()));
        },
        options);
    ASSERT_GT(child, 0);
    close(pipe_fds[1]);
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 30'000), 1) << "the child never reached step " << step;
    close(pipe_fds[0]);
    KillAndReap(child);
    EXPECT_EQ(CheckConsistent(), 0);
  }
  // And the database still takes the round afterwards.
  auto store = Store::Open(path_, {.clock = &clock_});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->CommitRound(TestRound(1, experiment_, kCohort, clock_.Now()),
                                    TestAdapter(1, experiment_, 1, clock_.Now())),
              IsOk());
  EXPECT_EQ(CheckConsistent(), 1);
}

TEST_F(StoreCrashTest, KillAtRandomMomentsNeverLeavesAHalfCommittedRound) {
  std::mt19937 rng(20261121);
  std::uniform_int_distribution<int> delay_us(2'000, 60'000);
  int committed = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const int first = committed + 1;
    pid_t child = Fork(
        [this, first](Store& store) {
          for (int id = first;; ++id) {
            if (!store.CommitRound(TestRound(id, experiment_, kCohort, clock_.Now()),
                                   TestAdapter(id, experiment_, id, clock_.Now()))
                     .ok()) {
              _exit(4);
            }
          }
        },
        {});
    ASSERT_GT(child, 0);
    usleep(static_cast<useconds_t>(delay_us(rng)));
    KillAndReap(child);
    int now = CheckConsistent();
    ASSERT_GE(now, committed) << "a committed round was lost";
    committed = now;
  }
  EXPECT_GT(committed, 0) << "no commit completed; the test exercised nothing";
}

}  // namespace
}  // namespace tontine::store
