#include "server/http/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/server/store/store_fixtures.h"

namespace tontine::http {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Pair;

TEST(ParseRoundMetricsTest, PerplexityPerBucketIsExpOfMeanNllAndMacroTheirMean) {
  RoundMetrics m = ParseRoundMetrics(R"({"adapter_version": 3, "buckets": {
      "wol": {"nll_sum": 200.0, "tokens": 100, "bytes": 100},
      "yor": {"nll_sum": 50.0, "tokens": 50, "bytes": 50},
      "bre": {"nll_sum": 0.0, "tokens": 0, "bytes": 0}}, "macro_perplexity": 0})");
  ASSERT_TRUE(m.evaluated_adapter.has_value());
  EXPECT_EQ(*m.evaluated_adapter, 3);
  // A bucket without tokens has no perplexity and does not count in the macro average.
  EXPECT_THAT(m.perplexity, ElementsAre(Pair("wol", DoubleNear(std::exp(2.0), 1e-12)),
                                        Pair("yor", DoubleNear(std::exp(1.0), 1e-12))));
  ASSERT_TRUE(m.macro_perplexity.has_value());
  EXPECT_NEAR(*m.macro_perplexity, (std::exp(2.0) + std::exp(1.0)) / 2, 1e-12);
}

TEST(ParseRoundMetricsTest, AbortedOrMalformedMetricsGiveNothingRatherThanFailing) {
  for (const char* text :
       {"{}", "", "not json", "[1,2]", R"({"buckets": 7})", R"({"buckets": {"wol": "x"}})"}) {
    RoundMetrics m = ParseRoundMetrics(text);
    EXPECT_TRUE(m.perplexity.empty()) << text;
    EXPECT_FALSE(m.macro_perplexity.has_value()) << text;
  }
}

TEST(RoundJsonTest, CarriesCountsBytesDropoutsByPhaseAndPerplexity) {
  store::RoundRecord r = store::TestRound(4, 1, 3, absl::FromUnixSeconds(1'800'000'000));
  r.cohort[1].status = "dropped:share_keys";
  r.cohort[2].status = "dropped:share_keys";
  r.dropped = 2;
  r.participants = 1;
  r.adapter_version = 5;
  r.metrics_json = R"({"adapter_version": 4, "buckets": {"wol": {"nll_sum": 100, "tokens": 100}}})";
  nlohmann::json j = RoundJson(r);
  EXPECT_EQ(j["number"], 4);
  EXPECT_EQ(j["outcome"], "committed");
  EXPECT_EQ(j["participants"], 1);
  EXPECT_EQ(j["dropped"], 2);
  EXPECT_EQ(j["dropped_by_phase"], nlohmann::json({{"share_keys", 2}}));
  EXPECT_EQ(j["bytes_up"], 3000);
  EXPECT_EQ(j["bytes_down"], 6000);
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 30.0);
  EXPECT_EQ(j["adapter_version"], 5);
  EXPECT_EQ(j["evaluated_adapter"], 4);
  EXPECT_NEAR(j["macro_perplexity"].get<double>(), std::exp(1.0), 1e-12);
  EXPECT_NEAR(j["perplexity_by_language"]["wol"].get<double>(), std::exp(1.0), 1e-12);
  EXPECT_EQ(j["started"], "2027-01-15T08:00:00.000Z");
}

TEST(SummaryJsonTest, LiveRoundAndCounts) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<store::RoundRecord> rounds = {store::TestRound(1, 1, 2, now),
                                            store::TestRound(2, 1, 2, now)};
  rounds[1].outcome = "aborted";
  LiveStatus live;
  live.coordinator_version = "1.2.3";
  live.rounds_target = 10;
  live.connected = {"p-000", "p-001", "p-002"};
  live.round = LiveRound{7, 3, "share_keys", now, 5, 2, 2, 1};
  store::ExperimentRecord experiment{1, "demo", "", 42, now, std::nullopt, "running"};
  nlohmann::json j = SummaryJson(live, experiment, rounds, 9, std::nullopt);
  EXPECT_EQ(j["experiment"]["name"], "demo");
  EXPECT_EQ(j["experiment"]["status"], "running");
  EXPECT_EQ(j["rounds_committed"], 1);
  EXPECT_EQ(j["rounds_aborted"], 1);
  EXPECT_EQ(j["rounds_target"], 10);
  EXPECT_EQ(j["participants_enrolled"], 9);
  EXPECT_EQ(j["participants_connected"], 3);
  EXPECT_EQ(j["current_round"]["number"], 3);
  EXPECT_EQ(j["current_round"]["phase"], "share_keys");
  EXPECT_EQ(j["current_round"]["awaited"], 2);
  EXPECT_EQ(j["current_round"]["dropped"], 1);
  EXPECT_EQ(j["last_round"]["number"], 2);
  EXPECT_TRUE(j["latest_adapter"].is_null());

  live.round.reset();
  EXPECT_TRUE(SummaryJson(live, std::nullopt, {}, 0, std::nullopt)["current_round"].is_null());
}

TEST(ParticipantsJsonTest, IdsTagsAndConnectionOnly) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  store::ParticipantRecord a = store::TestParticipant("p-000", "i", now);
  store::ParticipantRecord b = store::TestParticipant("p-001", "j", now);
  b.revoked = now;
  LiveStatus live;
  live.connected = {"p-000"};
  nlohmann::json j = ParticipantsJson({a, b}, live)["participants"];
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], "p-000");
  EXPECT_EQ(j[0]["tags"], nlohmann::json({{"language", "wol"}}));
  EXPECT_EQ(j[0]["connected"], true);
  EXPECT_EQ(j[1]["connected"], false);
  EXPECT_EQ(j[1]["revoked"], true);
  // Nothing about credentials or invites leaves through the API.
  for (const auto& p : j) {
    for (const auto& [key, value] : p.items()) {
      EXPECT_THAT(key,
                  ::testing::AnyOf("id", "tags", "enrolled", "last_seen", "revoked", "connected"));
    }
  }
}

}  // namespace
}  // namespace tontine::http
