#include "client/runner/status_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tontine::runner {
namespace {

// Carriage return, then erase to the end of the line (ECMA-48 EL 0).
constexpr absl::string_view kRewind = "\r\033[K";
constexpr int kMaxBarWidth = 30;
constexpr int kMinBarWidth = 8;
constexpr int kNarrowBarWidth = 16;

// Text from the coordinator (a decline or abort reason) or a log line must not move the
// cursor or change the terminal: control characters become spaces.
std::string Sanitize(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

int CodePoints(absl::string_view text) {
  return static_cast<int>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::string ProgressBar(int done, int total, int width) {
  width = std::max(width, 3);
  const int inner = width - 2;
  const int filled =
      total <= 0 ? 0 : static_cast<int>(static_cast<int64_t>(std::clamp(done, 0, total)) * inner / total);
  return absl::StrCat("[", std::string(static_cast<size_t>(filled), '#'),
                      std::string(static_cast<size_t>(inner - filled), '.'), "]");
}

std::string FitToColumns(absl::string_view text, int columns) {
  if (CodePoints(text) <= columns) return std::string(text);
  if (columns <= 0) return "";
  // Keep columns − 1 code points, then the ellipsis.
  int kept = 0;
  size_t end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80) {
      if (kept == columns - 1) break;
      ++kept;
    }
  }
  return absl::StrCat(text.substr(0, end), "…");
}

bool FdIsInteractiveTerminal(int fd) {
  if (::isatty(fd) != 1) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0;
}

StatusLine::StatusLine(StatusLineOptions options) : options_(std::move(options)) {}

StatusLine::~StatusLine() { Finish(); }

int StatusLine::Width() const {
  if (options_.width > 0) return options_.width;
  struct winsize size {};
  if (::ioctl(options_.fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

void StatusLine::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(options_.fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to show it; the client carries on
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string StatusLine::Stamp(bool with_date) {
  return absl::FormatTime(with_date ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", options_.now(),
                          options_.time_zone);
}

void StatusLine::ClearLive() {
  if (!live_drawn_) return;
  Write(kRewind);
  live_drawn_ = false;
}

void StatusLine::Redraw() {
  if (!options_.terminal || live_.empty()) return;
  std::string text = suffix_.empty() ? live_ : absl::StrCat(live_, "  |  ", suffix_);
  // One column spare: writing into the last column makes some terminals wrap.
  Write(absl::StrCat(kRewind, FitToColumns(text, Width() - 1)));
  live_drawn_ = true;
  last_redraw_ = options_.now();
}

void StatusLine::Phase(absl::string_view text) {
  const std::string clean = Sanitize(text);
  absl::MutexLock lock(&mu_);
  if (!options_.terminal) {
    Write(absl::StrCat(Stamp(true), " ", clean, "\n"));
    return;
  }
  ClearLive();
  // Kept lines may wrap (nothing redraws them); only the live line must fit.
  Write(absl::StrCat(Stamp(false), "  ", clean, "\n"));
  live_ = clean;
  Redraw();
}

void StatusLine::Progress(absl::string_view label, const ProgressUpdate& update) {
  const std::string clean_label = Sanitize(label);
  const std::string numbers = FormatProgress(update);
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.now();
  const bool first_or_last = update.step <= 1 || update.step >= update.steps;
  if (!options_.terminal) {
    const int every = options_.log_every_steps > 0 ? options_.log_every_steps
                                                   : std::max(1, update.steps / 10);
    if (first_or_last || update.step % every == 0 || now - last_log_ >= options_.log_interval) {
      Write(absl::StrCat(Stamp(true), " ", clean_label, ": training ", numbers, "\n"));
      last_log_ = now;
    }
    return;
  }
  // The bar takes what the text and the suffix leave of the line, up to kMaxBarWidth; on a
  // narrow terminal it keeps kNarrowBarWidth and the suffix is cut instead.
  const int room = Width() - 1 - (CodePoints(clean_label) + 1 + CodePoints(numbers) + 1);
  const int suffix = suffix_.empty() ? 0 : 5 + CodePoints(suffix_);
  const int bar_width = room - suffix >= kNarrowBarWidth ? std::min(kMaxBarWidth, room - suffix)
                                                         : std::min(room, kNarrowBarWidth);
  live_ = bar_width >= kMinBarWidth
              ? absl::StrCat(clean_label, " ", ProgressBar(update.step, update.steps, bar_width),
                             " ", numbers)
              : absl::StrCat(clean_label, " ", numbers);
  if (first_or_last || now - last_redraw_ >= options_.redraw_interval) Redraw();
}

void StatusLine::SetSuffix(absl::string_view suffix) {
  const std::string clean = Sanitize(suffix);
  absl::MutexLock lock(&mu_);
  if (clean == suffix_) return;
  suffix_ = clean;
  Redraw();
}

void StatusLine::Print(absl::string_view line) {
  const std::string clean = Sanitize(line);
  absl::MutexLock lock(&mu_);
  ClearLive();
  Write(absl::StrCat(clean, "\n"));
  Redraw();
}

void StatusLine::Finish() {
  absl::MutexLock lock(&mu_);
  ClearLive();
  live_.clear();
}

}  // namespace tontine::runner
