#include "server/service/upload_gate.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tontine::service {
namespace {

TEST(UploadGateTest, AdmitsUpToPermitsAtOnceThenWaitsInArrivalOrder) {
  UploadGate gate(2);
  std::vector<int> admitted;
  for (int i = 0; i < 5; ++i) {
    gate.Acquire(gate.NewTicket(), [&admitted, i] { admitted.push_back(i); });
  }
  EXPECT_EQ(admitted, (std::vector<int>{0, 1}));
  EXPECT_EQ(gate.in_use(), 2);
  EXPECT_EQ(gate.waiting(), 3);

  gate.Release();  // the permit passes to the first waiter
  EXPECT_EQ(admitted, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(gate.in_use(), 2);
  gate.Release();
  gate.Release();
  EXPECT_EQ(admitted, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(gate.waiting(), 0);
  gate.Release();
  gate.Release();
  EXPECT_EQ(gate.in_use(), 0);
}

TEST(UploadGateTest, AWithdrawnWaiterIsNeverAdmittedAndKeepsNoPermit) {
  UploadGate gate(1);
  int first = 0, second = 0, third = 0;
  const uint64_t a = gate.NewTicket(), b = gate.NewTicket();
  EXPECT_NE(a, b);
  gate.Acquire(a, [&] { ++first; });
  gate.Acquire(b, [&] { ++second; });
  gate.Acquire(gate.NewTicket(), [&] { ++third; });
  EXPECT_FALSE(gate.Withdraw(a)) << "an admitted call holds a permit; it cannot withdraw";
  EXPECT_TRUE(gate.Withdraw(b));
  EXPECT_FALSE(gate.Withdraw(b)) << "a ticket withdraws once";
  gate.Release();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(third, 1);
  gate.Release();
  EXPECT_EQ(gate.in_use(), 0);
  EXPECT_FALSE(gate.Withdraw(9999));
}

TEST(UploadGateTest, NeverMorePermitsInUseThanAllowedUnderConcurrency) {
  constexpr int kPermits = 3, kCallers = 8, kCalls = 200;
  UploadGate gate(kPermits);
  std::atomic<int> holding{0}, most{0};
  // Admitted calls are queued for a releaser thread that hands their permits back, as
  // OnDone would on another gRPC thread; a Release may admit the next call inline.
  absl::Mutex mu;
  int queued ABSL_GUARDED_BY(mu) = 0;
  auto admit = [&] {
    const int now = ++holding;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    absl::MutexLock lock(&mu);
    ++queued;
  };
  std::thread releaser([&] {
    for (int released = 0; released < kCallers * kCalls; ++released) {
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(+[](int* q) { return *q > 0; }, &queued));
        --queued;
      }
      --holding;
      gate.Release();
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) gate.Acquire(gate.NewTicket(), admit);
    });
  }
  for (std::thread& c : callers) c.join();
  releaser.join();
  EXPECT_LE(most.load(), kPermits);
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(holding.load(), 0);
  EXPECT_EQ(gate.in_use(), 0);
  EXPECT_EQ(gate.waiting(), 0);
}

}  // namespace
}  // namespace tontine::service
