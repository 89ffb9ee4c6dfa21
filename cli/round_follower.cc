#include "cli/round_follower.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "common/base/status_macros.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

// The name of the database inside a state directory (server/identity/state_dir.h).
constexpr char kDatabaseFile[] = "tontine.db";

RoundRow RowOf(const store::RoundRecord& round) {
  RoundRow row{.round = round.number,
               .outcome = round.outcome,
               .reason = round.reason,
               .participants = round.participants,
               .dropped = round.dropped,
               .bytes_up = round.bytes_up,
               .bytes_down = round.bytes_down,
               .seconds = absl::ToDoubleSeconds(round.finished - round.started),
               .adapter_version = round.adapter_version};
  row.coordinator_metrics = nlohmann::json::parse(round.metrics_json, nullptr, false);
  if (row.coordinator_metrics.is_discarded() || row.coordinator_metrics.empty()) {
    row.coordinator_metrics = nullptr;
  }
  return row;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RoundFollower>> RoundFollower::Open(const fs::path& state_dir) {
  TONTINE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                           store::Store::Open(state_dir / kDatabaseFile, {}));
  return std::unique_ptr<RoundFollower>(new RoundFollower(state_dir, std::move(store)));
}

absl::StatusOr<std::vector<RoundFollower::NewRound>> RoundFollower::Poll() {
  std::vector<NewRound> fresh;
  if (!experiment_id_.has_value()) {
    absl::StatusOr<store::ExperimentRecord> experiment = store_->LatestExperiment();
    if (absl::IsNotFound(experiment.status())) return fresh;  // not started yet
    TONTINE_RETURN_IF_ERROR(experiment.status());
    experiment_id_ = experiment->id;
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::RoundRecord> rounds,
                           store_->ListRounds(*experiment_id_));
  for (const store::RoundRecord& round : rounds) {
    if (!seen_.insert(round.id).second) continue;
    NewRound& next = fresh.emplace_back(NewRound{RowOf(round), std::nullopt});
    if (round.outcome != "committed") continue;
    next.row.committed = ++committed_;
    if (round.adapter_version.has_value()) {
      TONTINE_ASSIGN_OR_RETURN(next.adapter_dir, ScanAdapters(*round.adapter_version));
    }
  }
  if (!initial_adapter_.has_value()) TONTINE_RETURN_IF_ERROR(ScanAdapters(0).status());
  return fresh;
}

absl::StatusOr<std::optional<fs::path>> RoundFollower::ScanAdapters(int64_t version) {
  TONTINE_ASSIGN_OR_RETURN(std::vector<store::AdapterRecord> adapters, store_->ListAdapters());
  std::optional<fs::path> found;
  std::optional<int64_t> initial_version;
  for (const store::AdapterRecord& adapter : adapters) {
    if (adapter.experiment_id != *experiment_id_) continue;
    if (adapter.version == version) found = state_dir_ / adapter.path;
    if (!adapter.round_id.has_value() &&
        (!initial_version.has_value() || adapter.version < *initial_version)) {
      initial_version = adapter.version;
      initial_adapter_ = state_dir_ / adapter.path;
    }
  }
  return found;
}

}  // namespace tontine::cli
