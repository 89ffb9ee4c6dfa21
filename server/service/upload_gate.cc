#include "server/service/upload_gate.h"

#include <algorithm>

namespace tontine::service {

UploadGate::UploadGate(int permits) : permits_(std::max(1, permits)) {}

uint64_t UploadGate::NewTicket() { return next_ticket_++; }

void UploadGate::Acquire(uint64_t ticket, std::function<void()> admit) {
  {
    absl::MutexLock lock(&mu_);
    if (in_use_ >= permits_) {
      waiting_.emplace_back(ticket, std::move(admit));
      return;
    }
    ++in_use_;
  }
  admit();
}

bool UploadGate::Withdraw(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [ticket](const auto& w) { return w.first == ticket; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

void UploadGate::Release() {
  std::function<void()> admit;
  {
    absl::MutexLock lock(&mu_);
    if (waiting_.empty()) {
      in_use_ = std::max(0, in_use_ - 1);
      return;
    }
    // The permit passes straight to the first waiter.
    admit = std::move(waiting_.front().second);
    waiting_.pop_front();
  }
  admit();
}

int UploadGate::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiting_.size());
}

int UploadGate::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

}  // namespace tontine::service
