#include "common/base/progress.h"

#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/base/units.h"
#include "spdlog/spdlog.h"

namespace tontine {

std::string FormatProgress(const ProgressUpdate& u) {
  return absl::StrFormat("step %d/%d  loss %.3f  %.0f tok/s  ETA %s", u.step, u.steps, u.loss,
                         u.tokens_per_second,
                         FormatShortDuration(absl::Trunc(u.eta, absl::Seconds(1))));
}

ProgressLine::ProgressLine(std::FILE* out, bool terminal, std::string label,
                           absl::Duration log_interval)
    : out_(out), terminal_(terminal), label_(std::move(label)), log_interval_(log_interval) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(const ProgressUpdate& update) {
  const std::string text = absl::StrCat(label_, ": ", FormatProgress(update));
  if (terminal_) {
    // Carriage return, then erase to the end of the line: the line is rewritten in place.
    std::fprintf(out_, "\r\033[K%s", text.c_str());
    std::fflush(out_);
    line_open_ = true;
    return;
  }
  const absl::Time now = absl::Now();
  if (update.step == update.steps || now - last_log_ >= log_interval_) {
    spdlog::info("{}", text);
    last_log_ = now;
  }
}

void ProgressLine::Finish() {
  if (!line_open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  line_open_ = false;
}

bool IsTerminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

}  // namespace tontine
