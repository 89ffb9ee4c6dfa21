#include "server/http/metrics.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/http/api.h"

namespace tontine::http {

void StatusCounts::Add(absl::StatusCode code) {
  const int i = static_cast<int>(code);
  const size_t slot = i >= 0 && i < static_cast<int>(counts_.size())
                          ? static_cast<size_t>(i)
                          : static_cast<size_t>(absl::StatusCode::kUnknown);
  counts_[slot].fetch_add(1, std::memory_order_relaxed);
}

std::map<std::string, uint64_t> StatusCounts::Snapshot() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 1; i < counts_.size(); ++i) {  // 0 is OK, never counted
    const uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n > 0) out[absl::StatusCodeToString(static_cast<absl::StatusCode>(i))] = n;
  }
  return out;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// One metric family at a time: HELP and TYPE, then its samples.
class Exposition {
 public:
  void Family(absl::string_view name, absl::string_view type, absl::string_view help) {
    absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }
  void Sample(absl::string_view name, double value,
              const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    absl::StrAppend(&text_, name);
    if (!labels.empty()) {
      text_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        absl::StrAppend(&text_, i == 0 ? "" : ",", labels[i].first, "=\"",
                        EscapeLabelValue(labels[i].second), "\"");
      }
      text_ += '}';
    }
    absl::StrAppend(&text_, " ", FormatValue(value), "\n");
  }
  std::string Take() { return std::move(text_); }

 private:
  static std::string FormatValue(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return absl::StrFormat("%.17g", v);
  }
  std::string text_;
};

// Upper bounds of the round-duration histogram, in seconds.
constexpr double kDurationBuckets[] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};

}  // namespace

std::string RenderPrometheus(const MetricsInput& in) {
  Exposition out;
  out.Family("tontine_info", "gauge", "Coordinator version and the experiment it runs (always 1).");
  out.Sample("tontine_info", 1,
             {{"version", in.live.coordinator_version},
              {"experiment", in.experiment.has_value() ? in.experiment->name : ""}});

  out.Family("tontine_participants_enrolled", "gauge", "Participants enrolled.");
  out.Sample("tontine_participants_enrolled", in.participants_enrolled);
  out.Family("tontine_participants_connected", "gauge", "Participants with a live session.");
  out.Sample("tontine_participants_connected", static_cast<double>(in.live.connected.size()));

  out.Family("tontine_rounds_target", "gauge", "Rounds the experiment is to commit.");
  out.Sample("tontine_rounds_target", in.live.rounds_target);
  out.Family("tontine_round_current", "gauge",
             "Number of the round in flight within the experiment; 0 between rounds.");
  out.Sample("tontine_round_current", in.live.round.has_value() ? in.live.round->number : 0);
  out.Family("tontine_round_phase", "gauge",
             "1 for the phase the round in flight is in, 0 for the others.");
  for (const char* phase : kRoundPhases) {
    out.Sample("tontine_round_phase",
               in.live.round.has_value() && in.live.round->phase == phase ? 1 : 0,
               {{"phase", phase}});
  }
  out.Family("tontine_round_cohort", "gauge",
             "Members of the round in flight by state: awaited in this phase, done with it, "
             "dropped.");
  const LiveRound none;
  const LiveRound& r = in.live.round.has_value() ? *in.live.round : none;
  out.Sample("tontine_round_cohort", r.awaited, {{"state", "awaited"}});
  out.Sample("tontine_round_cohort", r.done, {{"state", "done"}});
  out.Sample("tontine_round_cohort", r.dropped, {{"state", "dropped"}});

  // Per-experiment totals from the recorded rounds.
  const RoundOutcomes outcomes = CountOutcomes(in.rounds);
  uint64_t included = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  std::map<std::string, int> dropped;
  std::vector<uint64_t> bucket_counts(std::size(kDurationBuckets), 0);
  double duration_sum = 0;
  std::optional<RoundMetrics> latest;
  for (const store::RoundRecord& round : in.rounds) {
    if (round.outcome == "committed") included += static_cast<uint64_t>(round.participants);
    bytes_up += static_cast<uint64_t>(round.bytes_up);
    bytes_down += static_cast<uint64_t>(round.bytes_down);
    for (const auto& [phase, n] : DroppedByPhase(round)) dropped[phase] += n;
    const double seconds = absl::ToDoubleSeconds(round.finished - round.started);
    duration_sum += seconds;
    for (size_t b = 0; b < std::size(kDurationBuckets); ++b) {
      if (seconds <= kDurationBuckets[b]) ++bucket_counts[b];
    }
    RoundMetrics metrics = ParseRoundMetrics(round.metrics_json);
    if (metrics.macro_perplexity.has_value()) latest = std::move(metrics);
  }
  out.Family("tontine_rounds_total", "counter", "Rounds recorded in this experiment, by outcome.");
  out.Sample("tontine_rounds_total", outcomes.committed, {{"outcome", "committed"}});
  out.Sample("tontine_rounds_total", outcomes.aborted, {{"outcome", "aborted"}});
  out.Family("tontine_round_participants_total", "counter",
             "Participants whose updates were included, summed over committed rounds.");
  out.Sample("tontine_round_participants_total", static_cast<double>(included));
  out.Family("tontine_round_dropouts_total", "counter",
             "Cohort members dropped, by the phase they were still awaited in.");
  for (const char* phase : kRoundPhases) {
    auto it = dropped.find(phase);
    out.Sample("tontine_round_dropouts_total", it == dropped.end() ? 0 : it->second,
               {{"phase", phase}});
  }
  out.Family("tontine_bytes_total", "counter",
             "Bytes of round traffic (messages, adapter downloads, masked updates).");
  out.Sample("tontine_bytes_total", static_cast<double>(bytes_up), {{"direction", "up"}});
  out.Sample("tontine_bytes_total", static_cast<double>(bytes_down), {{"direction", "down"}});
  out.Family("tontine_round_duration_seconds", "histogram",
             "Wall time of each recorded round, invitation to commit.");
  for (size_t b = 0; b < std::size(kDurationBuckets); ++b) {
    out.Sample("tontine_round_duration_seconds_bucket", static_cast<double>(bucket_counts[b]),
               {{"le", absl::StrFormat("%g", kDurationBuckets[b])}});
  }
  out.Sample("tontine_round_duration_seconds_bucket", static_cast<double>(in.rounds.size()),
             {{"le", "+Inf"}});
  out.Sample("tontine_round_duration_seconds_sum", duration_sum);
  out.Sample("tontine_round_duration_seconds_count", static_cast<double>(in.rounds.size()));

  out.Family("tontine_heldout_perplexity", "gauge",
             "Held-out perplexity the latest committed round measured, per metric bucket "
             "(language) and macro-averaged (language=\"macro\").");
  if (latest.has_value()) {
    for (const auto& [bucket, ppl] : latest->perplexity) {
      out.Sample("tontine_heldout_perplexity", ppl, {{"language", bucket}});
    }
    out.Sample("tontine_heldout_perplexity", *latest->macro_perplexity, {{"language", "macro"}});
  }

  out.Family("tontine_errors_total", "counter",
             "Error statuses the coordinator returned (RPC results and refusals on session "
             "streams), by gRPC code, since it started.");
  for (const auto& [code, n] : in.errors) {
    out.Sample("tontine_errors_total", static_cast<double>(n), {{"code", code}});
  }
  return out.Take();
}

}  // namespace tontine::http
