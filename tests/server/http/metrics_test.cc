#include "server/http/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/server/store/store_fixtures.h"
#include "tests/testing/process.h"

namespace tontine::http {
namespace {

using ::testing::HasSubstr;

MetricsInput SampleInput() {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  MetricsInput in;
  in.live.coordinator_version = "0.1.0";
  in.live.rounds_target = 10;
  in.live.connected = {"p-000", "p-001"};
  in.live.round = LiveRound{3, 3, "masked_input", now, 4, 1, 2, 1};
  in.experiment = store::ExperimentRecord{1, "udhr \"demo\"", "", 1, now, std::nullopt, "running"};
  in.rounds = {store::TestRound(1, 1, 3, now), store::TestRound(2, 1, 3, now)};
  in.rounds[1].outcome = "aborted";
  in.rounds[1].finished = now + absl::Seconds(400);
  in.rounds[1].cohort[0].status = "dropped:unmask";
  in.rounds[0].metrics_json =
      R"({"adapter_version": 1, "buckets": {"wol": {"nll_sum": 100, "tokens": 100}}})";
  in.participants_enrolled = 5;
  in.errors = {{"INVALID_ARGUMENT", 2}, {"PERMISSION_DENIED", 1}};
  return in;
}

TEST(StatusCountsTest, CountsNonOkCodesByName) {
  StatusCounts counts;
  counts.Add(absl::StatusCode::kInvalidArgument);
  counts.Add(absl::StatusCode::kInvalidArgument);
  counts.Add(absl::StatusCode::kUnauthenticated);
  counts.Add(static_cast<absl::StatusCode>(99));  // out of range: UNKNOWN
  EXPECT_EQ(counts.Snapshot(),
            (std::map<std::string, uint64_t>{
                {"INVALID_ARGUMENT", 2}, {"UNAUTHENTICATED", 1}, {"UNKNOWN", 1}}));
}

TEST(RenderPrometheusTest, SamplesReflectTheRoundsAndTheLiveRound) {
  const std::string text = RenderPrometheus(SampleInput());
  EXPECT_THAT(text, HasSubstr("tontine_rounds_total{outcome=\"committed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_rounds_total{outcome=\"aborted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_participants_total 3\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_dropouts_total{phase=\"unmask\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_bytes_total{direction=\"up\"} 6000\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_current 3\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_phase{phase=\"masked_input\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_phase{phase=\"unmask\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_cohort{state=\"awaited\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_participants_connected 2\n"));
  EXPECT_THAT(text, HasSubstr("tontine_participants_enrolled 5\n"));
  // 30 s and 400 s rounds: one at ≤ 30, both at ≤ 600.
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_bucket{le=\"15\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_bucket{le=\"30\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_bucket{le=\"300\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_bucket{le=\"600\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tontine_round_duration_seconds_sum 430\n"));
  EXPECT_THAT(text, HasSubstr("tontine_heldout_perplexity{language=\"wol\"} 2.71828"));
  EXPECT_THAT(text, HasSubstr("tontine_errors_total{code=\"INVALID_ARGUMENT\"} 2\n"));
  // Label values are escaped.
  EXPECT_THAT(text, HasSubstr("experiment=\"udhr \\\"demo\\\"\""));
}

TEST(RenderPrometheusTest, BetweenRoundsNoPhaseIsCurrent) {
  MetricsInput in = SampleInput();
  in.live.round.reset();
  const std::string text = RenderPrometheus(in);
  EXPECT_THAT(text, HasSubstr("tontine_round_current 0\n"));
  for (const char* phase : kRoundPhases) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("tontine_round_phase{phase=\"", phase, "\"} 0\n")));
  }
}

TEST(EscapeLabelValueTest, BackslashQuoteNewline) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

// The exposition is what Prometheus's own linter accepts (Debian's `prometheus` package,
// installed by scripts/setup).
TEST(RenderPrometheusTest, PassesPromtoolCheckMetrics) {
  tontine::testing::TempDir dir;
  const std::filesystem::path file = dir.path() / "metrics.txt";
  std::ofstream(file) << RenderPrometheus(SampleInput());
  tontine::testing::RunResult result =
      tontine::testing::Run({"/bin/sh", "-c", "promtool check metrics < " + file.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace tontine::http
