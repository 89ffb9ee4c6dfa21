// The participant's events on the contributor's screen: each PhaseEvent becomes a status
// line (DescribePhase), each training step the progress bar, and the resource summary
// (ResourceGovernor::Summary) follows on the live line. On a terminal, spdlog's messages are
// routed through the StatusLine too (InstallLogSink) so that they do not tear the live line.
//
// Safe for concurrent use.
#ifndef TONTINE_CLIENT_RUNNER_CONSOLE_STATUS_H_
#define TONTINE_CLIENT_RUNNER_CONSOLE_STATUS_H_

#include <cstdint>
#include <string>

#include "client/runner/participant_events.h"
#include "client/runner/resource_governor.h"
#include "client/runner/status_line.h"

namespace tontine::runner {

class ConsoleStatus final : public ParticipantObserver {
 public:
  // `line` must outlive this object; `governor` may be null, and must outlive it otherwise.
  // `fixed_summary` (threads, memory cap) starts the live line's resource summary.
  ConsoleStatus(StatusLine* line, ResourceGovernor* governor, std::string fixed_summary);

  void OnPhase(const PhaseEvent& event) override;
  void OnTrainingStep(uint64_t round, const ProgressUpdate& step) override;

 private:
  void RefreshSummary();

  StatusLine* const line_;
  ResourceGovernor* const governor_;
  const std::string fixed_summary_;
};

// The limits that do not change while the client runs: "2 threads · memory cap 2.1 GB" or
// "… · no memory cap".
std::string FormatMachineLimits(int threads, uint64_t memory_limit_bytes);

// Replaces the default spdlog logger's sinks by one that prints through `line` (keeping the
// logger's pattern and level). `line` must outlive every later log call.
void InstallLogSink(StatusLine* line);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_CONSOLE_STATUS_H_
