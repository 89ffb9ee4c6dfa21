// What the coordinator is doing right now, as the dashboard and /metrics show it. Filled by
// `tontine-coordinator serve` from the round loop and the session registry on each request.
#ifndef TONTINE_SERVER_HTTP_LIVE_STATUS_H_
#define TONTINE_SERVER_HTTP_LIVE_STATUS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/time/time.h"

namespace tontine::http {

struct LiveRound {
  uint64_t round_id = 0;
  int number = 0;     // within the experiment, 1, 2, …
  std::string phase;  // advertise_keys, share_keys, masked_input, unmask
  absl::Time started;
  int cohort = 0;   // invited
  int awaited = 0;  // still awaited in this phase
  int done = 0;     // answered this phase
  int dropped = 0;  // gone, declined, or dropped in an earlier phase
};

struct LiveStatus {
  std::string coordinator_version;
  int rounds_target = 0;
  // Participant ids with a live session.
  std::set<std::string> connected;
  std::optional<LiveRound> round;  // nullopt between rounds
};

// The SecAgg phase names the dashboard and /metrics use, in protocol order.
inline constexpr const char* kRoundPhases[] = {"advertise_keys", "share_keys", "masked_input",
                                               "unmask"};

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_LIVE_STATUS_H_
