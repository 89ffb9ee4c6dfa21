// What a Participant reports about itself while it runs, for the contributor's status line
// (ConsoleStatus) and for tests: one PhaseEvent per phase change, one TrainingStep per local
// training step.
#ifndef TONTINE_CLIENT_RUNNER_PARTICIPANT_EVENTS_H_
#define TONTINE_CLIENT_RUNNER_PARTICIPANT_EVENTS_H_

#include <cstdint>
#include <string>

#include "common/base/progress.h"

namespace tontine::runner {

enum class ParticipantPhase {
  kConnecting,    // detail: the coordinator's address
  kConnected,     // detail: "as <participant> to <coordinator version>, experiment '<name>'"
  kWaiting,       // waiting to be invited
  kPaused,        // detail: why (on battery, CPU budget used); invitations are declined
  kDisconnected,  // detail: why, and when the next attempt is
  kInvited,       // detail: "index i of n"
  kDeclined,      // detail: the reason sent to the coordinator
  kDownloading,   // detail: "adapter vN (size)"
  kEvaluating,    // the incoming adapter on the held-out text
  kTraining,
  kMasking,
  kUploading,     // detail: size of the masked update
  kUnmasking,
  kRoundDone,     // detail: what the coordinator committed
  kRoundDropped,  // detail: why this client left or the round ended without it
};

struct PhaseEvent {
  ParticipantPhase phase = ParticipantPhase::kConnecting;
  uint64_t round = 0;  // 0 when not about a round
  std::string detail;
};

// Called from the participant's threads (session, round, training), one call at a time per
// thread but concurrently across them: implementations must be safe for concurrent use and
// return quickly.
class ParticipantObserver {
 public:
  virtual ~ParticipantObserver() = default;
  virtual void OnPhase(const PhaseEvent& event) = 0;
  virtual void OnTrainingStep(uint64_t round, const ProgressUpdate& step) = 0;
};

// "invited to round 7 (index 2 of 8)", "waiting for a round", "paused: on battery; …".
std::string DescribePhase(const PhaseEvent& event);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_PARTICIPANT_EVENTS_H_
