#include "client/runner/console_status.h"

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/base/units.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace tontine::runner {
namespace {

std::string WithDetail(absl::string_view text, const std::string& detail) {
  return detail.empty() ? std::string(text) : absl::StrCat(text, " (", detail, ")");
}

// spdlog messages printed above the live line instead of through it.
class StatusLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StatusLineSink(StatusLine* line) : line_(line) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    absl::string_view text(formatted.data(), formatted.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    line_->Print(text);
  }
  void flush_() override {}

 private:
  StatusLine* const line_;
};

}  // namespace

std::string DescribePhase(const PhaseEvent& e) {
  const std::string round = absl::StrCat("round ", e.round);
  switch (e.phase) {
    case ParticipantPhase::kConnecting: return WithDetail("connecting", e.detail);
    case ParticipantPhase::kConnected: return WithDetail("connected", e.detail);
    case ParticipantPhase::kWaiting: return "waiting for a round";
    case ParticipantPhase::kPaused:
      return absl::StrCat("paused: ", e.detail, "; declining rounds until then");
    case ParticipantPhase::kDisconnected: return WithDetail("disconnected", e.detail);
    case ParticipantPhase::kInvited: return WithDetail(absl::StrCat("invited to ", round), e.detail);
    case ParticipantPhase::kDeclined: return WithDetail(absl::StrCat(round, ": declined"), e.detail);
    case ParticipantPhase::kDownloading:
      return WithDetail(absl::StrCat(round, ": downloading the adapter"), e.detail);
    case ParticipantPhase::kEvaluating:
      return absl::StrCat(round, ": evaluating the adapter on your held-out text");
    case ParticipantPhase::kTraining: return absl::StrCat(round, ": training");
    case ParticipantPhase::kMasking: return absl::StrCat(round, ": masking the update");
    case ParticipantPhase::kUploading:
      return WithDetail(absl::StrCat(round, ": uploading the masked update"), e.detail);
    case ParticipantPhase::kUnmasking: return absl::StrCat(round, ": unmasking");
    case ParticipantPhase::kRoundDone: return WithDetail(absl::StrCat(round, " done"), e.detail);
    case ParticipantPhase::kRoundDropped:
      return WithDetail(absl::StrCat(round, " dropped"), e.detail);
  }
  return "unknown phase";
}

ConsoleStatus::ConsoleStatus(StatusLine* line, ResourceGovernor* governor,
                             std::string fixed_summary)
    : line_(line), governor_(governor), fixed_summary_(std::move(fixed_summary)) {
  RefreshSummary();
}

void ConsoleStatus::RefreshSummary() {
  std::string summary = fixed_summary_;
  if (governor_ != nullptr) {
    const std::string limits = governor_->Summary();
    if (!limits.empty()) absl::StrAppend(&summary, summary.empty() ? "" : " · ", limits);
  }
  line_->SetSuffix(summary);
}

void ConsoleStatus::OnPhase(const PhaseEvent& event) {
  RefreshSummary();
  line_->Phase(DescribePhase(event));
}

void ConsoleStatus::OnTrainingStep(uint64_t round, const ProgressUpdate& step) {
  // The CPU-time figure moves while training; the summary is cheap (one clock read, the
  // power source at most every few seconds).
  RefreshSummary();
  line_->Progress(absl::StrCat("round ", round), step);
}

std::string FormatMachineLimits(int threads, uint64_t memory_limit_bytes) {
  return absl::StrCat(threads, threads == 1 ? " thread · " : " threads · ",
                      memory_limit_bytes == 0
                          ? std::string("no memory cap")
                          : absl::StrCat("memory cap ", FormatByteSize(memory_limit_bytes)));
}

void InstallLogSink(StatusLine* line) {
  auto sink = std::make_shared<StatusLineSink>(line);
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l [%n] %v");  // as InitLogging's
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
  logger->sinks().clear();
  logger->sinks().push_back(std::move(sink));
}

}  // namespace tontine::runner
