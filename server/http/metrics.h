// The coordinator's Prometheus metrics (text exposition format 0.0.4), rendered on each scrape
// from the store (the experiment's recorded rounds) and the live status, plus the counts of
// error statuses the coordinator returned, which only this process sees.
//
// Written here rather than with a client library: Debian 12 packages none for C++
// (prometheus-cpp is not in bookworm), and the format is a few lines of text.
#ifndef TONTINE_SERVER_HTTP_METRICS_H_
#define TONTINE_SERVER_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/http/live_status.h"
#include "server/store/store.h"

namespace tontine::http {

// Counts of non-OK statuses by code: each RPC's final status and each refusal sent on a
// session stream. Safe for concurrent use; lock-free.
class StatusCounts {
 public:
  void Add(absl::StatusCode code);
  // Code name (absl::StatusCodeToString, e.g. "INVALID_ARGUMENT") → count, non-zero only.
  std::map<std::string, uint64_t> Snapshot() const;

 private:
  // absl::StatusCode values are 0–16; anything else is counted as UNKNOWN.
  std::array<std::atomic<uint64_t>, 17> counts_{};
};

struct MetricsInput {
  LiveStatus live;
  std::optional<store::ExperimentRecord> experiment;
  std::vector<store::RoundRecord> rounds;  // the experiment's, in order
  int participants_enrolled = 0;
  std::map<std::string, uint64_t> errors;  // StatusCounts::Snapshot()
};

// The exposition text, one family per metric, each with HELP and TYPE.
std::string RenderPrometheus(const MetricsInput& input);

// Escapes a label value for the exposition format (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_METRICS_H_
