// What `tontine-client join` shows the contributor while it runs, on one file descriptor
// (stderr in the binary).
//
// On a terminal: every phase change is kept as a line of its own ("14:02:07  invited to
// round 7"), and below them one live line is redrawn in place (carriage return, erase to
// the end of the line): the current phase, or during training a bar with step/total, loss,
// tokens/s and ETA, followed by the resource summary (SetSuffix). The live line is cut to
// the terminal's width so that it never wraps (a wrapped line cannot be redrawn in place).
// Log lines from elsewhere go through Print(), which writes them above the live line.
//
// Elsewhere (a pipe, a file, journald): plain lines only, with no control characters — one
// per phase change and one every few training steps ("round 7: training step 12/60 …").
//
// Lifecycle: construct → Phase / Progress / SetSuffix / Print … → Finish (or destroy).
// Safe for concurrent use.
#ifndef TONTINE_CLIENT_RUNNER_STATUS_LINE_H_
#define TONTINE_CLIENT_RUNNER_STATUS_LINE_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/base/progress.h"

namespace tontine::runner {

struct StatusLineOptions {
  int fd = 2;  // borrowed, never closed
  // Whether `fd` is a terminal; usually FdIsInteractiveTerminal(fd).
  bool terminal = false;
  // Columns of the terminal; 0 asks the terminal each time (TIOCGWINSZ, so a resized
  // window is followed), 80 when it cannot say.
  int width = 0;
  // Terminal: progress is redrawn at most this often (the last step always is).
  absl::Duration redraw_interval = absl::Milliseconds(100);
  // Plain: a training line every `log_every_steps` steps (0: a tenth of the steps), on the
  // first and last step, and at least every `log_interval`.
  int log_every_steps = 0;
  absl::Duration log_interval = absl::Minutes(1);
  // Clock and time zone of the time stamps (tests inject fixed ones).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  absl::TimeZone time_zone = absl::LocalTimeZone();
};

class StatusLine {
 public:
  explicit StatusLine(StatusLineOptions options);
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;
  ~StatusLine();

  // A new phase: `text` is kept as a line of its own and becomes the live line.
  void Phase(absl::string_view text);
  // Training progress of the current phase; `label` prefixes it ("round 7").
  void Progress(absl::string_view label, const ProgressUpdate& update);
  // The resource summary shown at the end of the live line (terminal only), e.g.
  // "2 threads · CPU today 12m of 2h"; redraws the live line.
  void SetSuffix(absl::string_view suffix);
  // A line from elsewhere (a log message, without its newline), written above the live line.
  void Print(absl::string_view line);
  // Clears the live line so that later output starts on a clean line. Idempotent.
  void Finish();

  bool terminal() const { return options_.terminal; }

 private:
  int Width() const;
  void Redraw() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearLive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(absl::string_view bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Stamp(bool with_date) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const StatusLineOptions options_;

  absl::Mutex mu_;
  std::string live_ ABSL_GUARDED_BY(mu_);    // the phase, or the progress text
  std::string suffix_ ABSL_GUARDED_BY(mu_);
  bool live_drawn_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_redraw_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// "[#########...........]" of `width` characters (at least 3) for `done` of `total`.
std::string ProgressBar(int done, int total, int width);

// `text` cut to at most `columns` code points (UTF-8), ending in "…" when cut.
std::string FitToColumns(absl::string_view text, int columns);

// Whether `fd` is a terminal that can redraw a line: isatty, and TERM is set and not "dumb".
bool FdIsInteractiveTerminal(int fd);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_STATUS_LINE_H_
