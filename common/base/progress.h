// Progress of a long loop (local training) for a person watching: on a terminal, one line
// rewritten in place ("step 12/100  loss 2.31  1234 tok/s  ETA 0:42"); otherwise plain log
// lines, at most one per `log_interval`, and always the last step.
#ifndef TONTINE_COMMON_BASE_PROGRESS_H_
#define TONTINE_COMMON_BASE_PROGRESS_H_

#include <cstdio>
#include <string>

#include "absl/time/time.h"

namespace tontine {

struct ProgressUpdate {
  int step = 0;   // steps done, 1-based
  int steps = 0;  // total
  double loss = 0;
  double tokens_per_second = 0;
  absl::Duration eta;
};

// "step 12/100  loss 2.310  1234 tok/s  ETA 42s".
std::string FormatProgress(const ProgressUpdate& update);

class ProgressLine {
 public:
  // `out` is a terminal when `terminal` is true (usually isatty(fileno(out))).
  ProgressLine(std::FILE* out, bool terminal, std::string label,
               absl::Duration log_interval = absl::Seconds(5));
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();

  void Update(const ProgressUpdate& update);
  // Ends the terminal line (a newline) so later output starts on a fresh line. Idempotent.
  void Finish();

 private:
  std::FILE* out_;
  bool terminal_;
  std::string label_;
  absl::Duration log_interval_;
  absl::Time last_log_ = absl::InfinitePast();
  bool line_open_ = false;
};

// Whether `stream` is a terminal.
bool IsTerminal(std::FILE* stream);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_PROGRESS_H_
