// The dashboard's JSON API (/api/v1/…): documents built from the store's records and the live
// status. Pure functions, so that the HTTP layer only routes and authorises.
//
//   GET /api/v1/summary        experiment, current round and phase with live counts,
//                              participants enrolled/connected, latest adapter     (public)
//   GET /api/v1/rounds         every round of the experiment: outcome, participants,
//                              dropouts by phase, bytes, seconds, perplexity       (public)
//   GET /api/v1/adapters       adapter versions: round, SHA-256, size              (public)
//   GET /api/v1/participants   pseudonymous ids, tags, enrolment, last seen,
//                              connected                                           (admin)
//   GET /api/v1/adapters/N/peft.tar | peft.zip   the PEFT directory of version N   (admin)
// "public" means served without the admin token unless dashboard.public_summary is false.
#ifndef TONTINE_SERVER_HTTP_API_H_
#define TONTINE_SERVER_HTTP_API_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "server/http/live_status.h"
#include "server/store/store.h"

namespace tontine::http {

// What a committed round's securely summed metrics say (store::RoundRecord::metrics_json).
struct RoundMetrics {
  // The adapter version the cohort evaluated: the one the round started from.
  std::optional<int64_t> evaluated_adapter;
  // Held-out perplexity per metric bucket (e.g. language): exp(nll_sum / tokens).
  std::map<std::string, double> perplexity;
  // The mean of `perplexity` over buckets with tokens; nullopt when none had any.
  std::optional<double> macro_perplexity;
};

// The store's latest experiment and its rounds, in order; no record (and no rounds) before an
// experiment has started. The store's other errors pass through.
struct ExperimentRounds {
  std::optional<store::ExperimentRecord> experiment;
  std::vector<store::RoundRecord> rounds;
};
absl::StatusOr<ExperimentRounds> LatestExperimentRounds(store::Store& store);

struct RoundOutcomes {
  int committed = 0;
  int aborted = 0;
};
RoundOutcomes CountOutcomes(const std::vector<store::RoundRecord>& rounds);

// Parses metrics_json; an aborted round's "{}" (or text that is not the expected object)
// gives empty metrics rather than an error: the dashboard shows what there is.
RoundMetrics ParseRoundMetrics(const std::string& metrics_json);

// "dropped:<phase>" cohort entries counted by phase.
std::map<std::string, int> DroppedByPhase(const store::RoundRecord& round);

nlohmann::json SummaryJson(const LiveStatus& live,
                           const std::optional<store::ExperimentRecord>& experiment,
                           const std::vector<store::RoundRecord>& rounds, int enrolled,
                           const std::optional<store::AdapterRecord>& latest_adapter);
nlohmann::json RoundJson(const store::RoundRecord& round);
nlohmann::json RoundsJson(const std::vector<store::RoundRecord>& rounds);
nlohmann::json AdaptersJson(const std::vector<store::AdapterRecord>& adapters);
nlohmann::json ParticipantsJson(const std::vector<store::ParticipantRecord>& participants,
                                const LiveStatus& live);

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-22T05:01:02.345Z".
std::string Rfc3339(absl::Time t);

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_API_H_
