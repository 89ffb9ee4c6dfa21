// tontine-vector-client: a participant whose update is synthetic (SyntheticProducer), for the
// fault tests. It speaks the real protocol through the same runner as tontine-client join
// and starts in milliseconds (no LibTorch).
//
//   tontine-vector-client --state-dir DIR --base-sha256 HEX [--training-ms N]
//       [--drop-at PHASE --drop-probability P --drop-seed N] [--dump-inputs DIR]
//       [--initial-backoff-ms N]
#include <signal.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/runner/enrolment.h"
#include "client/runner/participant.h"
#include "common/base/cli.h"
#include "common/base/encoding.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "spdlog/spdlog.h"
#include "tests/testing/synthetic_producer.h"

namespace {

using namespace tontine;

struct Flags {
  std::string state_dir;
  std::string base_sha256;
  int training_ms = 0;
  std::string drop_at;
  double drop_probability = 0;
  uint64_t drop_seed = 0;
  std::string dump_inputs;
  std::string capture_dir;
  int initial_backoff_ms = 200;
};

absl::Status Run(const Flags& flags, const sigset_t& signals) {
  TONTINE_ASSIGN_OR_RETURN(runner::ClientIdentity id, runner::LoadIdentity(flags.state_dir));
  std::optional<std::string> sha = HexDecode(flags.base_sha256);
  if (!sha || sha->size() != 32) return absl::InvalidArgumentError("--base-sha256: 64 hex digits");
  testing::SyntheticProducer producer(*sha, id.participant_id,
                                      absl::Milliseconds(flags.training_ms));
  runner::ParticipantOptions options;
  options.identity = id;
  options.state_dir = flags.state_dir;
  options.initial_backoff = absl::Milliseconds(flags.initial_backoff_ms);
  options.max_backoff = absl::Seconds(2);
  TONTINE_RETURN_IF_ERROR(runner::ApplyDropFlags(flags.drop_at, flags.drop_probability,
                                                 flags.drop_seed, options));
  options.dump_inputs_dir = flags.dump_inputs;
  options.capture_dir = flags.capture_dir;
  runner::Participant participant(options, &producer);
  return participant.RunUntilSignalled(signals);
}

}  // namespace

int main(int argc, char** argv) {
  const sigset_t signals = BlockTerminationSignals();
  CLI::App app{"Synthetic Tontine participant for tests"};
  Flags flags;
  app.add_option("--state-dir", flags.state_dir)->required();
  app.add_option("--base-sha256", flags.base_sha256)->required();
  app.add_option("--training-ms", flags.training_ms);
  app.add_option("--drop-at", flags.drop_at);
  app.add_option("--drop-probability", flags.drop_probability);
  app.add_option("--drop-seed", flags.drop_seed);
  app.add_option("--dump-inputs", flags.dump_inputs);
  app.add_option("--capture-dir", flags.capture_dir);
  app.add_option("--initial-backoff-ms", flags.initial_backoff_ms);
  CLI11_PARSE(app, argc, argv);
  if (absl::Status st = InitLogging("tontine-vector-client", "info"); !st.ok()) {
    return ReportError("tontine-vector-client", st);
  }
  return ReportError("tontine-vector-client", Run(flags, signals));
}
