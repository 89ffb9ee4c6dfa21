// `tontine simulate`: a whole federation on one machine, with the real protocol.
//
// Starts the real tontine-coordinator (TLS, enrolment) and simulate.clients real
// tontine-client processes on 127.0.0.1, each with its own non-IID slice of the community
// data (one language per client; cli/simulate_data.h), kills clients at the configured
// phases (simulate.dropout) and restarts them so that they rejoin later rounds, and follows
// the rounds in the coordinator's database. It scores every committed adapter on each
// language's held-out split itself, prints one line per round, and writes DIR/report.json,
// DIR/report.csv and DIR/perplexity.svg (cli/simulate_report.h). --set overrides apply to the
// experiment here and are passed on to the coordinator (as --set experiment.KEY=VALUE). With --centralized it then trains the same adapter
// on the pooled data for the same number of steps × sequences, for comparison.
//
// Ctrl-C or SIGTERM stops the coordinator and every client (SIGTERM, then SIGKILL after 5 s)
// and exits non-zero; so does a coordinator that fails, clients dying for good until fewer
// than cohort.min_participants remain, or no round committing in --round-timeout. Errors show
// the end of the coordinator's log and which clients died.
#ifndef TONTINE_CLI_SIMULATE_H_
#define TONTINE_CLI_SIMULATE_H_

#include <filesystem>
#include <string>
#include <vector>

namespace tontine::cli {

struct SimulateArgs {
  std::filesystem::path config;  // the experiment file (required)
  std::vector<std::string> overrides;  // --set key.path=value, applied to it (and passed on to
                                       // the coordinator as --set experiment.key.path=value)
  std::filesystem::path out;     // the run directory; "" = ./simulate-runs/<experiment>-<time>
  bool centralized = false;      // also train the centralized baseline
  int threads = 0;               // simulate's own evaluation and baseline threads; 0 = all cores
  std::string round_timeout;     // a duration ("45m"); "" = RoundTimeout(experiment deadlines)
};

// Runs the simulation; returns the process exit code (errors printed as "tontine: error: …").
int RunSimulate(const SimulateArgs& args);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_SIMULATE_H_
