// Time as an injected dependency, so that deadlines and expiries are testable on a fake clock.
#ifndef TONTINE_COMMON_BASE_CLOCK_H_
#define TONTINE_COMMON_BASE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tontine {

// A source of wall-clock time. Implementations are safe for concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real clock. Never null; lives forever.
  static Clock* Real();
};

// A clock that moves only when told to. Safe for concurrent use.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}

  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_CLOCK_H_
