#include "cli/round_follower.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

// A state directory whose store the test writes as `tontine-coordinator serve` would.
class RoundFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open(dir_.path() / "tontine.db", {.create = true});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  int64_t StartExperiment(const std::string& name) {
    absl::StatusOr<int64_t> id = store_->StartExperiment(
        {.name = name, .lora_seed = 1, .started = absl::Now(), .status = "running"});
    EXPECT_THAT(id, IsOk());
    return id.value_or(0);
  }
  store::AdapterRecord Adapter(int64_t version, int64_t experiment, std::optional<int64_t> round) {
    return {.version = version, .experiment_id = experiment, .round_id = round,
            .path = "adapters/v" + std::to_string(version), .sha256 = std::string(32, 'a'),
            .size_bytes = 10, .created = absl::Now()};
  }
  store::RoundRecord Round(int64_t id, int64_t experiment, int number, bool committed) {
    const absl::Time start = absl::Now();
    return {.id = id, .experiment_id = experiment, .number = number,
            .outcome = committed ? "committed" : "aborted", .started = start,
            .finished = start + absl::Milliseconds(2500), .participants = committed ? 6 : 1,
            .dropped = committed ? 2 : 7, .bytes_up = 1000, .bytes_down = 500,
            .metrics_json = committed ? R"({"nll": 1.5})" : "{}",
            .adapter_version = committed ? std::optional<int64_t>(id + 1) : std::nullopt,
            .reason = committed ? "" : "too few survivors"};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(RoundFollowerTest, ReportsEachRoundOnceWithItsAdapter) {
  absl::StatusOr<std::unique_ptr<RoundFollower>> follower = RoundFollower::Open(dir_.path());
  ASSERT_THAT(follower, IsOk());
  absl::StatusOr<std::vector<RoundFollower::NewRound>> before = (*follower)->Poll();
  ASSERT_THAT(before, IsOk());
  EXPECT_THAT(*before, IsEmpty());  // the coordinator has not started the experiment yet
  const int64_t experiment = StartExperiment("demo");
  ASSERT_THAT(store_->AddAdapter(Adapter(1, experiment, std::nullopt)), IsOk());
  absl::StatusOr<std::vector<RoundFollower::NewRound>> none = (*follower)->Poll();
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
  EXPECT_EQ((*follower)->initial_adapter(), dir_.path() / "adapters/v1");

  ASSERT_THAT(store_->CommitRound(Round(1, experiment, 1, true), Adapter(2, experiment, 1)), IsOk());
  ASSERT_THAT(store_->CommitRound(Round(2, experiment, 2, false), std::nullopt), IsOk());
  ASSERT_THAT(store_->CommitRound(Round(3, experiment, 3, true), Adapter(4, experiment, 3)), IsOk());
  absl::StatusOr<std::vector<RoundFollower::NewRound>> rounds = (*follower)->Poll();
  ASSERT_THAT(rounds, IsOk());
  ASSERT_THAT(*rounds, SizeIs(3));
  const RoundRow& first = (*rounds)[0].row;
  EXPECT_EQ(first.round, 1);
  EXPECT_EQ(first.committed, 1);
  EXPECT_EQ(first.participants, 6);
  EXPECT_EQ(first.dropped, 2);
  EXPECT_EQ(first.bytes_up, 1000);
  EXPECT_DOUBLE_EQ(first.seconds, 2.5);
  EXPECT_EQ(first.coordinator_metrics["nll"], 1.5);
  EXPECT_EQ((*rounds)[0].adapter_dir, dir_.path() / "adapters/v2");
  const RoundRow& aborted = (*rounds)[1].row;
  EXPECT_EQ(aborted.committed, 0);
  EXPECT_EQ(aborted.reason, "too few survivors");
  EXPECT_TRUE(aborted.coordinator_metrics.is_null());
  EXPECT_FALSE((*rounds)[1].adapter_dir.has_value());
  EXPECT_EQ((*rounds)[2].row.committed, 2);  // the coordinator's round 3, the second committed
  EXPECT_EQ((*rounds)[2].adapter_dir, dir_.path() / "adapters/v4");

  absl::StatusOr<std::vector<RoundFollower::NewRound>> again = (*follower)->Poll();
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(*again, IsEmpty());
}

TEST_F(RoundFollowerTest, FollowsTheLatestExperimentOnly) {
  const int64_t old = StartExperiment("old");
  ASSERT_THAT(store_->AddAdapter(Adapter(1, old, std::nullopt)), IsOk());
  ASSERT_THAT(store_->CommitRound(Round(1, old, 1, true), Adapter(2, old, 1)), IsOk());
  const int64_t current = StartExperiment("current");
  ASSERT_THAT(store_->AddAdapter(Adapter(3, current, std::nullopt)), IsOk());
  absl::StatusOr<std::unique_ptr<RoundFollower>> follower = RoundFollower::Open(dir_.path());
  ASSERT_THAT(follower, IsOk());
  absl::StatusOr<std::vector<RoundFollower::NewRound>> rounds = (*follower)->Poll();
  ASSERT_THAT(rounds, IsOk());
  EXPECT_THAT(*rounds, IsEmpty());
  EXPECT_EQ((*follower)->initial_adapter(), dir_.path() / "adapters/v3");
}

TEST_F(RoundFollowerTest, AStateDirectoryWithoutADatabaseIsAnError) {
  testing::TempDir empty;
  EXPECT_THAT(RoundFollower::Open(empty.path()),
              StatusIs(absl::StatusCode::kNotFound, ::testing::HasSubstr("tontine.db")));
}

}  // namespace
}  // namespace tontine::cli
