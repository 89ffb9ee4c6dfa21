// Small helpers shared by the three command-line programs.
#ifndef TONTINE_COMMON_BASE_CLI_H_
#define TONTINE_COMMON_BASE_CLI_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace tontine {

// Prints "<program>: error: <message>" to stderr (the message may span lines) and returns
// the process exit code for `status`: 0 for OK, 1 otherwise.
int ReportError(absl::string_view program, const absl::Status& status);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_CLI_H_
