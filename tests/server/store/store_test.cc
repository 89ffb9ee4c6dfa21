#include "server/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/store/store_fixtures.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(dir_.path() / "tontine.db", {.clock = &clock_, .create = true});
    ASSERT_THAT(store, IsOk());
    store_ = std::move(store).value();
  }

  tontine::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, NewDatabaseIsInWalModeAtTheCurrentSchema) {
  EXPECT_THAT(store_->SchemaVersion(), IsOkAndHolds(SchemaMigrations().back().version));
  absl::StatusOr<std::unique_ptr<Database>> raw =
      Database::Open((dir_.path() / "tontine.db").string(), false);
  ASSERT_THAT(raw, IsOk());
  absl::StatusOr<Statement> mode = (*raw)->Prepare("PRAGMA journal_mode");
  ASSERT_THAT(mode, IsOk());
  ASSERT_THAT(mode->Step(), IsOkAndHolds(true));
  EXPECT_EQ(mode->ColumnText(0), "wal");
}

TEST_F(StoreTest, MissingDatabaseIsNotFoundUnlessCreating) {
  EXPECT_THAT(Store::Open(dir_.path() / "absent.db", {.clock = &clock_}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.db")));
}

TEST_F(StoreTest, InviteIsRedeemedExactlyOnce) {
  InviteRecord invite = TestInvite("0123456789abcdef", clock_.Now(), absl::Hours(1));
  ASSERT_THAT(store_->CreateInvite(invite), IsOk());
  EXPECT_THAT(store_->CreateInvite(invite), StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));

  ASSERT_THAT(store_->RedeemInvite(invite.id, TestParticipant("p-01", invite.id, clock_.Now())),
              IsOk());
  EXPECT_THAT(store_->RedeemInvite(invite.id, TestParticipant("p-02", invite.id, clock_.Now())),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already redeemed")));
  absl::StatusOr<InviteRecord> found = store_->FindInvite(invite.id);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->participant_id, "p-01");
  EXPECT_EQ(found->tags, invite.tags);
  EXPECT_THAT(store_->FindParticipant("p-02"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  absl::StatusOr<ParticipantRecord> p = store_->FindParticipant("p-01");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->tags.at("language"), "wol");
  EXPECT_EQ(p->credential_hash, std::string(32, 'h'));
}

TEST_F(StoreTest, ExpiredInviteCannotBeRedeemed) {
  InviteRecord invite = TestInvite("00000000000000aa", clock_.Now(), absl::Minutes(5));
  ASSERT_THAT(store_->CreateInvite(invite), IsOk());
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(store_->RedeemInvite(invite.id, TestParticipant("p-03", invite.id, clock_.Now())),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
}

TEST_F(StoreTest, RoundCommitStoresRoundCohortAdapterAndAudit) {
  absl::StatusOr<int64_t> experiment = SeedParticipantsAndExperiment(*store_, clock_, 4);
  ASSERT_THAT(experiment, IsOk());
  RoundRecord round = TestRound(1, *experiment, 4, clock_.Now());
  AdapterRecord adapter = TestAdapter(1, *experiment, round.id, clock_.Now());
  ASSERT_THAT(store_->CommitRound(round, adapter), IsOk());

  absl::StatusOr<std::vector<RoundRecord>> rounds = store_->ListRounds(*experiment);
  ASSERT_THAT(rounds, IsOk());
  ASSERT_EQ(rounds->size(), 1u);
  EXPECT_EQ((*rounds)[0].adapter_version, 1);
  EXPECT_EQ((*rounds)[0].metrics_json, round.metrics_json);
  EXPECT_THAT((*rounds)[0].cohort,
              ElementsAre(Field(&RoundParticipantRecord::participant_id, "p-000"),
                          Field(&RoundParticipantRecord::participant_id, "p-001"),
                          Field(&RoundParticipantRecord::participant_id, "p-002"),
                          Field(&RoundParticipantRecord::participant_id, "p-003")));
  absl::StatusOr<std::optional<AdapterRecord>> latest = store_->LatestAdapter();
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->sha256, adapter.sha256);
  EXPECT_THAT(store_->NextRoundId(), IsOkAndHolds(2));
  absl::StatusOr<std::vector<AuditRecord>> audit = store_->ListAudit(1);
  ASSERT_THAT(audit, IsOk());
  EXPECT_EQ((*audit)[0].action, "round.commit");
}

TEST_F(StoreTest, AParticipantTwiceInOneRoundRollsTheWholeCommitBack) {
  absl::StatusOr<int64_t> experiment = SeedParticipantsAndExperiment(*store_, clock_, 3);
  ASSERT_THAT(experiment, IsOk());
  RoundRecord round = TestRound(1, *experiment, 3, clock_.Now());
  round.cohort[2].participant_id = round.cohort[0].participant_id;
  EXPECT_THAT(store_->CommitRound(round, TestAdapter(1, *experiment, 1, clock_.Now())),
              StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));
  EXPECT_THAT(store_->ListRounds(*experiment), IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(store_->ListAdapters(), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(StoreTest, ReopeningANewerSchemaIsRefused) {
  store_.reset();
  {
    absl::StatusOr<std::unique_ptr<Database>> raw =
        Database::Open((dir_.path() / "tontine.db").string(), false);
    ASSERT_THAT(raw, IsOk());
    ASSERT_THAT((*raw)->Exec("PRAGMA user_version = 99"), IsOk());
  }
  EXPECT_THAT(Store::Open(dir_.path() / "tontine.db", {.clock = &clock_}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has schema version 99, newer than this build understands")));
}

}  // namespace
}  // namespace tontine::store

namespace tontine::store {
namespace {

TEST(StoreOpenTest, EmptiedDatabaseIsRefusedRatherThanRecreated) {
  tontine::testing::TempDir dir;
  FakeClock clock;
  ASSERT_THAT(Store::Open(dir.path() / "tontine.db", {.clock = &clock, .create = true}),
              tontine::testing::IsOk());
  std::filesystem::resize_file(dir.path() / "tontine.db", 0);
  std::filesystem::remove(dir.path() / "tontine.db-wal");
  std::filesystem::remove(dir.path() / "tontine.db-shm");
  EXPECT_THAT(Store::Open(dir.path() / "tontine.db", {.clock = &clock}),
              tontine::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                         ::testing::HasSubstr("may have been truncated")));
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "tontine.db"), 0u);
}

}  // namespace
}  // namespace tontine::store
