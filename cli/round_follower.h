// Following an experiment's rounds in the coordinator's database, for `tontine simulate`:
// polled, read-only in effect (it only reads), while `tontine-coordinator serve` writes.
#ifndef TONTINE_CLI_ROUND_FOLLOWER_H_
#define TONTINE_CLI_ROUND_FOLLOWER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/simulate_report.h"
#include "server/store/store.h"

namespace tontine::cli {

// Lifecycle: Open → Poll … (the latest experiment is followed from the first Poll that sees
// one). Not thread-safe.
class RoundFollower {
 public:
  // Opens the database of the state directory `state_dir` (server/store/store.h's errors: it
  // must exist already, made by `tontine-coordinator init`).
  static absl::StatusOr<std::unique_ptr<RoundFollower>> Open(
      const std::filesystem::path& state_dir);

  struct NewRound {
    RoundRow row;  // all but the evaluation
    // The PEFT directory of the adapter a committed round produced; nullopt when aborted (or
    // when the store lists no such version).
    std::optional<std::filesystem::path> adapter_dir;
  };

  // The rounds recorded since the last call, in the store's order, numbered among the
  // committed ones (RoundRow::committed). Empty until the coordinator has started the
  // experiment.
  absl::StatusOr<std::vector<NewRound>> Poll();

  // The experiment's initial adapter directory (its lowest version, recorded without a round;
  // B = 0), once a Poll has seen it.
  const std::optional<std::filesystem::path>& initial_adapter() const { return initial_adapter_; }

 private:
  RoundFollower(std::filesystem::path state_dir, std::unique_ptr<store::Store> store)
      : state_dir_(std::move(state_dir)), store_(std::move(store)) {}
  // Scans the experiment's adapters: records the initial one, and returns the directory of
  // `version` (0: none wanted).
  absl::StatusOr<std::optional<std::filesystem::path>> ScanAdapters(int64_t version);

  const std::filesystem::path state_dir_;
  std::unique_ptr<store::Store> store_;
  std::optional<int64_t> experiment_id_;
  std::set<int64_t> seen_;  // RoundRecord::id
  int committed_ = 0;
  std::optional<std::filesystem::path> initial_adapter_;
};

}  // namespace tontine::cli

#endif  // TONTINE_CLI_ROUND_FOLLOWER_H_
