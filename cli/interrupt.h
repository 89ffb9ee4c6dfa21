// Ctrl-C and SIGTERM for the long-running commands of `tontine`: the handler only sets a flag,
// which training polls between steps and `simulate` polls in its supervision loop.
#ifndef TONTINE_CLI_INTERRUPT_H_
#define TONTINE_CLI_INTERRUPT_H_

namespace tontine::cli {

// Installs handlers for SIGINT and SIGTERM that set the flag Interrupted() reads. Idempotent.
void CatchInterrupts();

// Whether SIGINT or SIGTERM arrived since CatchInterrupts. Safe for concurrent use.
bool Interrupted();

}  // namespace tontine::cli

#endif  // TONTINE_CLI_INTERRUPT_H_
