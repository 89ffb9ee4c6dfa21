// Small helpers shared by the three command-line programs.
#ifndef TONTINE_COMMON_BASE_CLI_H_
#define TONTINE_COMMON_BASE_CLI_H_

#include <signal.h>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace tontine {

// Prints "<program>: error: <message>" to stderr (the message may span lines) and returns
// the process exit code for `status`: 0 for OK, 1 otherwise.
int ReportError(absl::string_view program, const absl::Status& status);

// The long-running programs take SIGINT and SIGTERM (stop) and SIGUSR1 (the program's own
// "work is done" wake-up) with sigwait. BlockTerminationSignals blocks them in the calling
// thread, and so in every thread started after: call it first in main. WaitForSignal then
// returns the number of the next one.
sigset_t BlockTerminationSignals();
int WaitForSignal(const sigset_t& signals);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_CLI_H_
