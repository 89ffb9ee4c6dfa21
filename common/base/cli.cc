#include "common/base/cli.h"

#include <cstdio>
#include <string>

namespace tontine {

int ReportError(absl::string_view program, const absl::Status& status) {
  if (status.ok()) return 0;
  std::string message(status.message());
  std::fprintf(stderr, "%.*s: error: %s\n", static_cast<int>(program.size()), program.data(),
               message.c_str());
  return 1;
}

}  // namespace tontine
