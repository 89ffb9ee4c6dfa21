#include "server/state_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/clock.h"
#include "common/base/encoding.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"
#include "server/http/api.h"
#include "server/http/archive.h"
#include "server/http/live_status.h"
#include "server/identity/state_dir.h"

namespace tontine {
namespace fs = std::filesystem;

namespace {

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

std::string Perplexity(const std::optional<double>& p) {
  return p.has_value() ? absl::StrFormat("%.2f", *p) : "-";
}

// Prints rows with each column padded to its widest cell; columns listed in `right` are
// right-aligned (numbers).
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const int w = static_cast<int>(width[c]);
      absl::StrAppend(&line, c == 0 ? "" : "  ",
                      right[c]
                          ? absl::StrFormat("%*s", w, row[c])
                          : (c + 1 == row.size() ? row[c] : absl::StrFormat("%-*s", w, row[c])));
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

absl::Status PrintStatus(const fs::path& state_dir, bool json) {
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(state_dir, Clock::Real()));
  TONTINE_ASSIGN_OR_RETURN(http::ExperimentRounds latest, http::LatestExperimentRounds(*store));
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::ParticipantRecord> participants,
                           store->ListParticipants());
  TONTINE_ASSIGN_OR_RETURN(std::optional<store::AdapterRecord> adapter, store->LatestAdapter());
  if (json) {
    // The dashboard's summary without the live parts, which only `serve` knows.
    nlohmann::json j = http::SummaryJson(http::LiveStatus{}, latest.experiment, latest.rounds,
                                         static_cast<int>(participants.size()), adapter);
    j.erase("coordinator_version");
    j.erase("current_round");
    j.erase("rounds_target");  // in the experiment's file, not the state dir
    j.erase("participants_connected");
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("State directory  %s\n", state_dir.c_str());
  if (!latest.experiment.has_value()) {
    std::printf("Experiment       none yet (serve starts the one its config names)\n");
  } else {
    const store::ExperimentRecord& e = *latest.experiment;
    std::printf("Experiment       %s (%s), started %s%s\n", e.name.c_str(), e.status.c_str(),
                Time(e.started).c_str(),
                e.finished.has_value() ? absl::StrCat(", ended ", Time(*e.finished)).c_str() : "");
    const http::RoundOutcomes outcomes = http::CountOutcomes(latest.rounds);
    std::printf("Rounds           %d committed, %d aborted\n", outcomes.committed,
                outcomes.aborted);
    if (!latest.rounds.empty()) {
      const store::RoundRecord& r = latest.rounds.back();
      std::printf(
          "Last round       %d: %s, %d participants, %d dropped, macro perplexity %s, "
          "%.1f s, ended %s\n",
          r.number, r.outcome.c_str(), r.participants, r.dropped,
          Perplexity(http::ParseRoundMetrics(r.metrics_json).macro_perplexity).c_str(),
          absl::ToDoubleSeconds(r.finished - r.started), Time(r.finished).c_str());
    }
  }
  if (adapter.has_value()) {
    std::printf("Latest adapter   v%lld, %s, sha256 %s\n", static_cast<long long>(adapter->version),
                FormatByteSize(static_cast<uint64_t>(adapter->size_bytes)).c_str(),
                HexEncode(adapter->sha256).c_str());
  }
  int revoked = 0;
  for (const auto& p : participants) revoked += p.revoked.has_value();
  std::printf("Participants     %zu enrolled%s\n", participants.size(),
              revoked > 0 ? absl::StrCat(", ", revoked, " revoked").c_str() : "");
  return absl::OkStatus();
}

absl::Status PrintRounds(const fs::path& state_dir, bool json) {
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(state_dir, Clock::Real()));
  TONTINE_ASSIGN_OR_RETURN(http::ExperimentRounds latest, http::LatestExperimentRounds(*store));
  if (json) {
    std::printf("%s\n", http::RoundsJson(latest.rounds).dump(2).c_str());
    return absl::OkStatus();
  }
  if (latest.rounds.empty()) {
    std::printf("No rounds recorded yet.\n");
    return absl::OkStatus();
  }
  std::printf("Experiment %s\n", latest.experiment->name.c_str());
  std::vector<std::vector<std::string>> rows = {{"round", "outcome", "participants", "dropped",
                                                 "macro ppl", "up", "down", "seconds", "adapter",
                                                 "note"}};
  for (const store::RoundRecord& r : latest.rounds) {
    std::vector<std::string> dropped;
    for (const auto& [phase, n] : http::DroppedByPhase(r))
      dropped.push_back(absl::StrCat(n, " ", phase));
    rows.push_back(
        {absl::StrCat(r.number), r.outcome, absl::StrCat(r.participants), absl::StrCat(r.dropped),
         Perplexity(http::ParseRoundMetrics(r.metrics_json).macro_perplexity),
         FormatByteSize(static_cast<uint64_t>(r.bytes_up)),
         FormatByteSize(static_cast<uint64_t>(r.bytes_down)),
         absl::StrFormat("%.1f", absl::ToDoubleSeconds(r.finished - r.started)),
         r.adapter_version.has_value() ? absl::StrCat("v", *r.adapter_version) : "-",
         r.outcome == "aborted"
             ? r.reason
             : (dropped.empty() ? "" : absl::StrCat("dropped: ", absl::StrJoin(dropped, ", ")))});
  }
  PrintTable(rows, {true, false, true, true, true, true, true, true, false, false});
  return absl::OkStatus();
}

absl::Status PrintParticipants(const fs::path& state_dir, bool json) {
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(state_dir, Clock::Real()));
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::ParticipantRecord> participants,
                           store->ListParticipants());
  if (json) {
    nlohmann::json j = http::ParticipantsJson(participants, http::LiveStatus{});
    for (auto& p : j["participants"]) p.erase("connected");  // only `serve` knows
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  if (participants.empty()) {
    std::printf("No participants enrolled yet (tontine-coordinator invite makes invites).\n");
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"participant", "tags", "enrolled", "last seen", "state"}};
  for (const store::ParticipantRecord& p : participants) {
    rows.push_back({p.id, absl::StrJoin(p.tags, ",", absl::PairFormatter("=")), Time(p.enrolled),
                    p.last_seen.has_value() ? Time(*p.last_seen) : "never",
                    p.revoked.has_value() ? "revoked" : "enrolled"});
  }
  PrintTable(rows, {false, false, false, false, false});
  return absl::OkStatus();
}

absl::Status ExportAdapter(const fs::path& state_dir, std::optional<int64_t> version,
                           const fs::path& out) {
  TONTINE_ASSIGN_OR_RETURN(auto store, identity::OpenStateStore(state_dir, Clock::Real()));
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::AdapterRecord> adapters, store->ListAdapters());
  if (adapters.empty()) {
    return absl::NotFoundError(absl::StrCat(state_dir.string(), " holds no adapter yet"));
  }
  const store::AdapterRecord* chosen = &adapters.back();
  if (version.has_value()) {
    auto it = std::find_if(adapters.begin(), adapters.end(),
                           [&](const store::AdapterRecord& a) { return a.version == *version; });
    if (it == adapters.end()) {
      return absl::NotFoundError(
          absl::StrCat("no adapter version ", *version, " in ", state_dir.string(), " (versions ",
                       adapters.front().version, "–", adapters.back().version, ")"));
    }
    chosen = &*it;
  }
  TONTINE_RETURN_IF_ERROR(http::ExportPeftDir(state_dir / chosen->path, out, chosen->sha256));
  std::printf("Exported adapter v%lld (sha256 %s) to %s: %s\n",
              static_cast<long long>(chosen->version), HexEncode(chosen->sha256).c_str(),
              out.c_str(), absl::StrJoin(http::kPeftFiles, ", ").c_str());
  std::printf("Load it with PEFT: PeftModel.from_pretrained(base_model, \"%s\")\n", out.c_str());
  return absl::OkStatus();
}

}  // namespace tontine
