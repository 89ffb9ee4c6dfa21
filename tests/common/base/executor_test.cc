#include "common/base/executor.h"

#include <atomic>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace tontine {
namespace {

TEST(ExecutorTest, RunsEveryScheduledTaskBeforeDestructionCompletes) {
  std::atomic<int> done{0};
  {
    Executor executor(2);
    for (int i = 0; i < 100; ++i) executor.Schedule([&done] { done.fetch_add(1); });
  }
  EXPECT_EQ(done.load(), 100);
}

TEST(ExecutorTest, RunsTasksConcurrentlyOnItsThreads) {
  Executor executor(2);
  absl::Notification first_started, second_ran;
  // The first task blocks until the second has run: only possible with two workers.
  executor.Schedule([&] {
    first_started.Notify();
    second_ran.WaitForNotificationWithTimeout(absl::Seconds(30));
  });
  first_started.WaitForNotification();
  executor.Schedule([&] { second_ran.Notify(); });
  EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace tontine

namespace tontine {
namespace {

TEST(ExecutorTest, ShutdownRunsQueuedWorkAndDropsLaterWork) {
  std::atomic<int> done{0};
  Executor executor(1);
  for (int i = 0; i < 10; ++i) executor.Schedule([&done] { done.fetch_add(1); });
  executor.Shutdown();
  EXPECT_EQ(done.load(), 10);
  executor.Schedule([&done] { done.fetch_add(1); });
  executor.Shutdown();  // idempotent
  EXPECT_EQ(done.load(), 10);
}

}  // namespace
}  // namespace tontine
