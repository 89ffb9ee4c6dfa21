// A fixed pool of worker threads for work that may block (SQLite commits, file I/O), so
// that gRPC callback reactors hand it off and return at once (leveldb Env::Schedule).
//
// Lifecycle: construct (threads start) → Schedule … → Shutdown (runs what is queued, joins)
// → destroy. The destructor shuts down if Shutdown was not called. Owners call Shutdown
// explicitly when queued work refers to objects destroyed before the executor.
// Safe for concurrent use.
#ifndef TONTINE_COMMON_BASE_EXECUTOR_H_
#define TONTINE_COMMON_BASE_EXECUTOR_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tontine {

class Executor {
 public:
  // REQUIRES: threads >= 1.
  explicit Executor(int threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `work` on a worker thread, in FIFO order of scheduling (not of completion).
  // Work scheduled after Shutdown has begun is dropped.
  void Schedule(std::function<void()> work);

  // Runs the work already queued, then stops the threads. Idempotent.
  void Shutdown();

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_EXECUTOR_H_
