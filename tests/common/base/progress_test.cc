#include "common/base/progress.h"

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace tontine {
namespace {

using ::testing::HasSubstr;

std::string Contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buffer[256];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.append(buffer, n);
  return out;
}

TEST(FormatProgressTest, ShowsStepLossSpeedAndWholeSecondsOfEta) {
  EXPECT_EQ(FormatProgress({.step = 12, .steps = 100, .loss = 2.3104, .tokens_per_second = 1234.4,
                            .eta = absl::Milliseconds(42'700)}),
            "step 12/100  loss 2.310  1234 tok/s  ETA 42s");
}

TEST(ProgressLineTest, OnATerminalRewritesOneLineAndEndsItOnFinish) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressLine line(file, /*terminal=*/true, "train");
    line.Update({.step = 1, .steps = 2, .loss = 3, .tokens_per_second = 10, .eta = absl::Seconds(1)});
    line.Update({.step = 2, .steps = 2, .loss = 2, .tokens_per_second = 10, .eta = absl::ZeroDuration()});
    line.Finish();
    line.Finish();  // idempotent
  }
  EXPECT_EQ(Contents(file),
            "\r\033[Ktrain: step 1/2  loss 3.000  10 tok/s  ETA 1s"
            "\r\033[Ktrain: step 2/2  loss 2.000  10 tok/s  ETA 0\n");
  std::fclose(file);
}

TEST(ProgressLineTest, OffATerminalLogsPlainLinesAtMostOncePerIntervalAndTheLastStep) {
  std::ostringstream captured;
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_pattern("%v");
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressLine line(file, /*terminal=*/false, "train", absl::Hours(1));
    for (int step = 1; step <= 5; ++step) {
      line.Update({.step = step, .steps = 5, .loss = 1, .tokens_per_second = 1, .eta = absl::ZeroDuration()});
    }
  }
  spdlog::set_default_logger(previous);
  // The first step (nothing logged yet) and the last; nothing in between within the hour.
  EXPECT_EQ(captured.str(),
            "train: step 1/5  loss 1.000  1 tok/s  ETA 0\n"
            "train: step 5/5  loss 1.000  1 tok/s  ETA 0\n");
  EXPECT_EQ(Contents(file), "");  // no carriage returns, nothing on the stream itself
  std::fclose(file);
}

}  // namespace
}  // namespace tontine
