// `tontine-client join` as a contributor sees it on a terminal: the real client, with stdin,
// stdout and stderr on a pseudo-terminal of kColumns × kRows (TERM=xterm), takes part in one
// round of a real coordinator with three synthetic participants. Its output is replayed on a
// model of the terminal (carriage return, line feed, erase to end of line, auto-wrap at the
// last column), which is what the contributor's screen would show.
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/files.h"
#include "tests/testing/process.h"
#include "tests/testing/small_federation.h"
#include "tests/testing/terminal_process.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Subprocess;

constexpr int kColumns = 80;
constexpr int kRows = 24;
constexpr absl::string_view kRewind = "\r\033[K";  // carriage return, erase to end of line

// A terminal of kColumns columns fed the bytes a program wrote. It keeps the lines as they
// stand at the end (scrollback included; a line the terminal wrapped counts as one), and
// notes every redraw that the wrapping tore: a carriage return on a wrapped line goes back
// only to its last row, so erasing and redrawing from there leaves the rows above behind.
// That is what the live line must never do; a kept line (ended by a newline) may wrap.
class Screen {
 public:
  explicit Screen(absl::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (c == '\r') {
        const bool line_ends = i + 1 < bytes.size() && bytes[i + 1] == '\n';
        if (wrapped_ && !line_ends) torn_.push_back(absl::StrJoin(cells_, ""));
        column_ = row_start_;
      } else if (c == '\n') {
        NewLine();
      } else if (absl::StartsWith(bytes.substr(i), "\033[K")) {
        cells_.resize(static_cast<size_t>(column_));
        i += 2;
      } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        unexpected_.push_back(absl::StrCat("control character ", static_cast<int>(c), " in '",
                                           absl::StrJoin(cells_, ""), "'"));
      } else {
        Put(bytes, i);
      }
    }
    lines_.push_back(absl::StrJoin(cells_, ""));
  }

  // Every line, top to bottom, as it stands at the end.
  const std::vector<std::string>& lines() const { return lines_; }
  // Lines that were redrawn after the terminal had wrapped them.
  const std::vector<std::string>& torn() const { return torn_; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

 private:
  // One code point (UTF-8) at the cursor; past the last column the terminal moves to a new
  // row first (xterm's auto-wrap), where a carriage return will now take the cursor.
  void Put(absl::string_view bytes, size_t& i) {
    size_t length = 1;
    while (i + length < bytes.size() && (bytes[i + length] & 0xC0) == 0x80) ++length;
    if (column_ - row_start_ == kColumns) {
      wrapped_ = true;
      row_start_ = column_;
    }
    if (static_cast<size_t>(column_) == cells_.size()) cells_.emplace_back();
    cells_[static_cast<size_t>(column_++)] = std::string(bytes.substr(i, length));
    i += length - 1;
  }
  void NewLine() {
    lines_.push_back(absl::StrJoin(cells_, ""));
    cells_.clear();
    // The pty's line discipline sends "\r\n"; a bare "\n" is taken the same way.
    column_ = row_start_ = 0;
    wrapped_ = false;
  }

  std::vector<std::string> cells_;  // the cursor's line, one code point per column
  int column_ = 0;                  // in the line, counting the rows it wrapped onto
  int row_start_ = 0;               // where the cursor's row starts in the line
  bool wrapped_ = false;
  std::vector<std::string> lines_;
  std::vector<std::string> torn_;
  std::vector<std::string> unexpected_;
};

int CodePoints(absl::string_view text) {
  return static_cast<int>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Text with a fixed number of documents, enough for a held-out split and a few batches.
void WriteContributorText(const fs::path& dir) {
  std::string jsonl;
  for (int i = 0; i < 30; ++i) {
    absl::StrAppend(&jsonl, R"({"text": "Song )", i,
                    R"(: the river people sing at dawn and call the names of the rains."})", "\n");
  }
  ASSERT_TRUE(WriteFileAtomic(dir / "songs.jsonl", jsonl).ok());
}

// How many lines contain `text`.
int LinesWith(const std::vector<std::string>& lines, absl::string_view text) {
  int n = 0;
  for (const std::string& line : lines) n += absl::StrContains(line, text);
  return n;
}

TEST(ClientTerminalE2eTest, DrawsTheProgressBarInPlaceAndOneStatusLinePerPhaseWithinTheWindow) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  absl::StatusOr<std::string> digest = testing::PretrainTinyBaseModel(root / "base");
  ASSERT_TRUE(digest.ok()) << digest.status();
  fs::create_directories(root / "text");
  WriteContributorText(root / "text");
  constexpr int kSteps = 3;
  absl::StatusOr<std::unique_ptr<testing::TestCoordinator>> coordinator =
      testing::TestCoordinator::Start(root, absl::StrCat(R"(kind: experiment
name: terminal
model: {base: )", (root / "base").string(), R"(}
lora: {rank: 2, alpha: 4, target_modules: [q_proj, v_proj]}
rounds: {count: 1}
cohort: {min_participants: 4, max_participants: 4}
local_training: {steps: )", kSteps, R"(, batch_size: 2, sequence_length: 32}
evaluation: {held_out_fraction: 0.2}
simulate: {clients: 4}
deadlines: {advertise_keys: 20s, share_keys: 20s, masked_input: 2m, unmask: 20s}
)"));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  ASSERT_TRUE(WriteFileAtomic(root / "client.yaml",
                              absl::StrCat("kind: client\ndata_dir: ", (root / "text").string(),
                                           "\nbase_model: ", (root / "base").string(),
                                           "\nthreads: 1\ninsecure: true\n"))
                  .ok());

  std::unique_ptr<testing::TerminalProcess> client;
  std::vector<std::unique_ptr<Subprocess>> synthetic;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::string> token = (*coordinator)->Invite("language=songs");
    ASSERT_TRUE(token.ok()) << token.status();
    const fs::path state = root / absl::StrCat("client-", i);
    absl::Status enrolled = testing::EnrolClient((*coordinator)->address(), *token, state);
    ASSERT_TRUE(enrolled.ok()) << enrolled;
    if (i == 0) {
      absl::StatusOr<std::unique_ptr<testing::TerminalProcess>> started =
          testing::TerminalProcess::Start({testing::Binary("tontine-client"), "join", "--config",
                                           (root / "client.yaml").string(), "--state-dir",
                                           state.string()},
                                          {{"TERM", "xterm"}}, kColumns, kRows);
      ASSERT_TRUE(started.ok()) << started.status();
      client = *std::move(started);
    } else {
      absl::StatusOr<std::unique_ptr<Subprocess>> started =
          testing::StartVectorClient(state, *digest);
      ASSERT_TRUE(started.ok()) << started.status();
      synthetic.push_back(*std::move(started));
    }
  }
  // The round completes: the coordinator has committed it and the client says so.
  absl::StatusOr<int> code = (*coordinator)->process().Wait(absl::Minutes(4));
  ASSERT_TRUE(code.ok() && *code == 0) << (*coordinator)->process().err();
  ASSERT_TRUE(client->WaitForOutput("round 1 done", absl::Minutes(1))) << client->output();
  client->Signal(SIGTERM);
  absl::StatusOr<int> client_code = client->Wait(absl::Seconds(30));
  ASSERT_TRUE(client_code.ok()) << client_code.status();
  EXPECT_EQ(*client_code, 0) << client->output();
  const std::string out = client->output();

  // The bar was drawn in place: each redraw starts with a carriage return and an erase, and
  // the steps replaced one another on one line instead of scrolling. The live line (the bar
  // and the limits after it) is cut to fit the window, with the last column left free.
  std::vector<std::string> redraws;
  for (absl::string_view piece : absl::StrSplit(out, kRewind)) {
    if (absl::StrContains(piece, '\n')) continue;  // a kept line, written after the rewind
    const absl::string_view live = piece.substr(0, piece.find('\r'));
    EXPECT_LT(CodePoints(live), kColumns) << "'" << live << "'";
    if (absl::StrContains(live, "tok/s")) redraws.emplace_back(live);
  }
  ASSERT_GE(redraws.size(), 2u) << out;  // the first and the last step are always drawn
  for (const std::string& bar : redraws) {
    EXPECT_THAT(bar, ContainsRegex("^round 1 \\[[#.]+\\] step [0-9]+/3  loss [0-9.]+  "
                                   "[0-9]+ tok/s  ETA [0-9a-z]+"));
  }
  EXPECT_THAT(redraws.front(), HasSubstr("step 1/3"));
  EXPECT_THAT(redraws.back(), HasSubstr("step 3/3"));
  EXPECT_THAT(redraws.back(), HasSubstr("[##"));

  const Screen screen(out);
  EXPECT_THAT(screen.unexpected(), IsEmpty()) << out;
  EXPECT_THAT(screen.torn(), IsEmpty()) << "redrawn after wrapping at " << kColumns
                                        << " columns";
  // What stays on the screen: one time-stamped line per phase, in order, and no trace of
  // the bar (each redraw erased the last, and the next phase erased the bar).
  const std::vector<std::string>& lines = screen.lines();
  const std::string shown = absl::StrJoin(lines, "\n");
  const std::vector<std::string> phases = {
      "limits: 1 thread · no memory cap",
      "connected (as p-",
      "waiting for a round",
      "invited to round 1",
      "round 1: downloading the adapter (v1, ",
      "round 1: evaluating the adapter on your held-out text",
      "round 1: training",
      "round 1: masking the update",
      "round 1: uploading the masked update",
      "round 1: unmasking",
      "round 1 done (adapter v2 committed; 4 participants, 0 dropped)",
  };
  auto next = lines.begin();
  for (const std::string& phase : phases) {
    // "waiting for a round" comes again after the round; every other phase once.
    if (phase != "waiting for a round") {
      EXPECT_EQ(LinesWith(lines, phase), 1) << phase;
    }
    next = std::find_if(next, lines.end(),
                        [&](const std::string& l) { return absl::StrContains(l, phase); });
    ASSERT_NE(next, lines.end()) << "'" << phase << "' missing or out of order:\n" << shown;
    EXPECT_THAT(*next, ContainsRegex("^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]  ")) << *next;
    ++next;
  }
  EXPECT_EQ(LinesWith(lines, "tok/s  ETA"), 0) << shown;
}

}  // namespace
}  // namespace tontine
