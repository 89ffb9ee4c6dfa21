#include "server/http/api.h"

#include <cmath>

#include "absl/strings/match.h"
#include "common/base/encoding.h"

namespace tontine::http {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<ExperimentRounds> LatestExperimentRounds(store::Store& store) {
  ExperimentRounds latest;
  absl::StatusOr<store::ExperimentRecord> experiment = store.LatestExperiment();
  if (absl::IsNotFound(experiment.status())) return latest;
  if (!experiment.ok()) return experiment.status();
  absl::StatusOr<std::vector<store::RoundRecord>> rounds = store.ListRounds(experiment->id);
  if (!rounds.ok()) return rounds.status();
  latest.rounds = *std::move(rounds);
  latest.experiment = *std::move(experiment);
  return latest;
}

RoundOutcomes CountOutcomes(const std::vector<store::RoundRecord>& rounds) {
  RoundOutcomes outcomes;
  for (const store::RoundRecord& round : rounds) {
    (round.outcome == "committed" ? outcomes.committed : outcomes.aborted)++;
  }
  return outcomes;
}

RoundMetrics ParseRoundMetrics(const std::string& metrics_json) {
  RoundMetrics metrics;
  const nlohmann::json j = nlohmann::json::parse(metrics_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return metrics;
  if (auto it = j.find("adapter_version"); it != j.end() && it->is_number_integer()) {
    metrics.evaluated_adapter = it->get<int64_t>();
  }
  auto buckets = j.find("buckets");
  if (buckets == j.end() || !buckets->is_object()) return metrics;
  double sum = 0;
  for (const auto& [name, bucket] : buckets->items()) {
    if (!bucket.is_object()) continue;
    const double nll = bucket.value("nll_sum", 0.0);
    const double tokens = bucket.value("tokens", 0.0);
    if (!(tokens > 0) || !std::isfinite(nll)) continue;
    const double ppl = std::exp(nll / tokens);
    metrics.perplexity[name] = ppl;
    sum += ppl;
  }
  if (!metrics.perplexity.empty()) {
    metrics.macro_perplexity = sum / static_cast<double>(metrics.perplexity.size());
  }
  return metrics;
}

std::map<std::string, int> DroppedByPhase(const store::RoundRecord& round) {
  std::map<std::string, int> dropped;
  constexpr absl::string_view kPrefix = "dropped:";
  for (const store::RoundParticipantRecord& member : round.cohort) {
    if (absl::StartsWith(member.status, kPrefix)) {
      ++dropped[member.status.substr(kPrefix.size())];
    }
  }
  return dropped;
}

namespace {

nlohmann::json OrNull(const std::optional<double>& v) {
  return v.has_value() ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json AdapterJson(const store::AdapterRecord& a) {
  return {{"version", a.version},
          {"round", a.round_id.has_value() ? nlohmann::json(*a.round_id) : nlohmann::json()},
          {"sha256", HexEncode(a.sha256)},
          {"size_bytes", a.size_bytes},
          {"created", Rfc3339(a.created)}};
}

}  // namespace

nlohmann::json RoundJson(const store::RoundRecord& round) {
  const RoundMetrics metrics = ParseRoundMetrics(round.metrics_json);
  return {
      {"number", round.number},
      {"id", round.id},
      {"outcome", round.outcome},
      {"started", Rfc3339(round.started)},
      {"seconds", absl::ToDoubleSeconds(round.finished - round.started)},
      {"participants", round.participants},
      {"dropped", round.dropped},
      {"dropped_by_phase", DroppedByPhase(round)},
      {"bytes_up", round.bytes_up},
      {"bytes_down", round.bytes_down},
      {"adapter_version", round.adapter_version.has_value() ? nlohmann::json(*round.adapter_version)
                                                            : nlohmann::json()},
      {"evaluated_adapter", metrics.evaluated_adapter.has_value()
                                ? nlohmann::json(*metrics.evaluated_adapter)
                                : nlohmann::json()},
      {"macro_perplexity", OrNull(metrics.macro_perplexity)},
      {"perplexity_by_language", metrics.perplexity},
      {"reason", round.reason},
  };
}

nlohmann::json RoundsJson(const std::vector<store::RoundRecord>& rounds) {
  nlohmann::json list = nlohmann::json::array();
  for (const store::RoundRecord& round : rounds) list.push_back(RoundJson(round));
  return {{"rounds", list}};
}

nlohmann::json AdaptersJson(const std::vector<store::AdapterRecord>& adapters) {
  nlohmann::json list = nlohmann::json::array();
  for (const store::AdapterRecord& a : adapters) list.push_back(AdapterJson(a));
  return {{"adapters", list}};
}

nlohmann::json SummaryJson(const LiveStatus& live,
                           const std::optional<store::ExperimentRecord>& experiment,
                           const std::vector<store::RoundRecord>& rounds, int enrolled,
                           const std::optional<store::AdapterRecord>& latest_adapter) {
  const RoundOutcomes outcomes = CountOutcomes(rounds);
  nlohmann::json j = {
      {"coordinator_version", live.coordinator_version},
      {"experiment", experiment.has_value()
                         ? nlohmann::json{{"name", experiment->name},
                                          {"status", experiment->status},
                                          {"started", Rfc3339(experiment->started)}}
                         : nlohmann::json()},
      {"rounds_target", live.rounds_target},
      {"rounds_committed", outcomes.committed},
      {"rounds_aborted", outcomes.aborted},
      {"participants_enrolled", enrolled},
      {"participants_connected", live.connected.size()},
      {"latest_adapter",
       latest_adapter.has_value() ? AdapterJson(*latest_adapter) : nlohmann::json()},
      {"last_round", rounds.empty() ? nlohmann::json() : RoundJson(rounds.back())},
  };
  if (live.round.has_value()) {
    const LiveRound& r = *live.round;
    j["current_round"] = {{"number", r.number}, {"id", r.round_id},
                          {"phase", r.phase},   {"started", Rfc3339(r.started)},
                          {"cohort", r.cohort}, {"awaited", r.awaited},
                          {"done", r.done},     {"dropped", r.dropped}};
  } else {
    j["current_round"] = nullptr;
  }
  return j;
}

nlohmann::json ParticipantsJson(const std::vector<store::ParticipantRecord>& participants,
                                const LiveStatus& live) {
  nlohmann::json list = nlohmann::json::array();
  for (const store::ParticipantRecord& p : participants) {
    list.push_back({{"id", p.id},
                    {"tags", p.tags},
                    {"enrolled", Rfc3339(p.enrolled)},
                    {"last_seen", p.last_seen.has_value() ? nlohmann::json(Rfc3339(*p.last_seen))
                                                          : nlohmann::json()},
                    {"revoked", p.revoked.has_value()},
                    {"connected", live.connected.count(p.id) > 0}});
  }
  return {{"participants", list}};
}

}  // namespace tontine::http
