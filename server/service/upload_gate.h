// Admission of masked-update uploads: at most `permits` UploadMaskedUpdate calls read their
// chunks at once; the others wait, first come first served, before their first read.
//
// Why: a call the coordinator reads holds gRPC's receive buffer for a whole chunk (1 MiB),
// and one it refuses still costs that chunk's bytes and decryption. A call that has not
// started reading holds only HTTP/2 flow control's window (64 KiB), and its client simply
// blocks in Write. So the coordinator's memory for uploads is O(permits · chunk) plus the
// round's O(slots · d) buffers, whatever the number of participants uploading at once.
//
// Safe for concurrent use. Callbacks run outside the gate's lock, on the thread that called
// Acquire or Release.
#ifndef TONTINE_SERVER_SERVICE_UPLOAD_GATE_H_
#define TONTINE_SERVER_SERVICE_UPLOAD_GATE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tontine::service {

class UploadGate {
 public:
  // REQUIRES: permits >= 1.
  explicit UploadGate(int permits);

  // A ticket for Acquire and Withdraw, unique to this gate.
  uint64_t NewTicket();
  // Runs `admit` once a permit is the ticket's: at once (on this thread) when one is free,
  // else when a holder releases one.
  void Acquire(uint64_t ticket, std::function<void()> admit);
  // Gives up waiting. True if the ticket was still waiting (its `admit` will never run);
  // false if it was admitted already, and then holds a permit to Release.
  bool Withdraw(uint64_t ticket);
  // Returns a permit, admitting the next waiter if there is one.
  void Release();

  int waiting() const;
  int in_use() const;

 private:
  const int permits_;
  mutable absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> next_ticket_{1};
  std::deque<std::pair<uint64_t, std::function<void()>>> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tontine::service

#endif  // TONTINE_SERVER_SERVICE_UPLOAD_GATE_H_
