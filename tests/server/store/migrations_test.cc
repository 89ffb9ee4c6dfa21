#include "server/store/migrations.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::store {
namespace {

using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

// A made-up two-step history, to exercise the mechanism independently of the real schema.
const std::vector<Migration> kV1 = {{1, "notes", "CREATE TABLE notes (text TEXT);"}};
const std::vector<Migration> kV2 = {
    {1, "notes", "CREATE TABLE notes (text TEXT);"},
    {2, "note authors", "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anon';"}};

std::unique_ptr<Database> OpenDb(const std::filesystem::path& path) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path.string(), true);
  EXPECT_THAT(db, IsOk());
  return std::move(db).value();
}

TEST(MigrationsTest, FreshDatabaseGetsEveryMigrationAndOurApplicationId) {
  tontine::testing::TempDir dir;
  auto db = OpenDb(dir.path() / "t.db");
  absl::StatusOr<MigrationReport> report = Migrate(*db, kV2);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->from_version, 0);
  EXPECT_EQ(report->to_version, 2);
  EXPECT_TRUE(report->backup.empty());
  EXPECT_THAT(db->QueryInt("PRAGMA application_id"),
              tontine::testing::IsOkAndHolds(kApplicationId));
  EXPECT_THAT(db->QueryInt("PRAGMA user_version"), tontine::testing::IsOkAndHolds(2));
}

TEST(MigrationsTest, OlderDatabaseMigratesForwardKeepingDataAndABackup) {
  tontine::testing::TempDir dir;
  std::filesystem::path path = dir.path() / "t.db";
  {
    auto db = OpenDb(path);
    ASSERT_THAT(Migrate(*db, kV1), IsOk());
    ASSERT_THAT(db->Exec("INSERT INTO notes (text) VALUES ('kept')"), IsOk());
  }
  auto db = OpenDb(path);
  absl::StatusOr<MigrationReport> report = Migrate(*db, kV2);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->from_version, 1);
  EXPECT_EQ(report->to_version, 2);
  EXPECT_EQ(report->backup, std::filesystem::path(path.string() + ".v1.bak"));
  EXPECT_THAT(db->QueryInt("SELECT count(*) FROM notes WHERE text = 'kept' AND author = 'anon'"),
              tontine::testing::IsOkAndHolds(1));
  // The backup is the version-1 database.
  auto backup = OpenDb(report->backup);
  EXPECT_THAT(backup->QueryInt("PRAGMA user_version"), tontine::testing::IsOkAndHolds(1));
  EXPECT_THAT(backup->QueryInt("SELECT count(*) FROM notes"), tontine::testing::IsOkAndHolds(1));
}

TEST(MigrationsTest, NewerDatabaseIsRefusedAndLeftUntouched) {
  tontine::testing::TempDir dir;
  std::filesystem::path path = dir.path() / "t.db";
  {
    auto db = OpenDb(path);
    ASSERT_THAT(Migrate(*db, kV2), IsOk());
  }
  auto before = tontine::testing::SnapshotDir(dir.path());
  {
    auto db = OpenDb(path);
    EXPECT_THAT(Migrate(*db, kV1),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("has schema version 2, newer than this build understands (1)")));
  }
  EXPECT_EQ(tontine::testing::SnapshotDir(dir.path()), before);
}

TEST(MigrationsTest, AnotherProgramsDatabaseIsRefused) {
  tontine::testing::TempDir dir;
  std::filesystem::path path = dir.path() / "other.db";
  {
    auto db = OpenDb(path);
    ASSERT_THAT(db->Exec("CREATE TABLE cookies (flavour TEXT)"), IsOk());
  }
  auto db = OpenDb(path);
  EXPECT_THAT(Migrate(*db, kV2),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is an SQLite database, but not a Tontine state database")));
}

TEST(MigrationsTest, NonSqliteFileIsRefusedAndLeftUntouched) {
  tontine::testing::TempDir dir;
  std::filesystem::path path = dir.path() / "tontine.db";
  std::ofstream(path) << "these are my holiday notes, not a database\n" << std::string(4096, 'x');
  auto before = tontine::testing::SnapshotDir(dir.path());
  {
    auto db = OpenDb(path);
    EXPECT_THAT(Migrate(*db, kV2),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("tontine.db: is not an SQLite database")));
  }
  EXPECT_EQ(tontine::testing::SnapshotDir(dir.path()), before);
}

TEST(MigrationsTest, FailingMigrationRollsBackToThePreviousVersion) {
  tontine::testing::TempDir dir;
  auto db = OpenDb(dir.path() / "t.db");
  ASSERT_THAT(Migrate(*db, kV1), IsOk());
  const std::vector<Migration> broken = {
      kV1[0], {2, "broken", "CREATE TABLE extra (x); THIS IS NOT SQL;"}};
  EXPECT_THAT(Migrate(*db, broken),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("migration to schema version 2")));
  EXPECT_THAT(db->QueryInt("PRAGMA user_version"), tontine::testing::IsOkAndHolds(1));
  EXPECT_THAT(db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'"),
              tontine::testing::IsOkAndHolds(0));
}

TEST(MigrationsTest, RealSchemaHistoryIsNumberedFromOneWithoutGaps) {
  const std::vector<Migration>& migrations = SchemaMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
  }
}

}  // namespace
}  // namespace tontine::store
