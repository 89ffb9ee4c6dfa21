// The commands the documentation tells people to type, and a check of each against the
// programs: the README's fenced ```sh blocks and the systemd units' ExecStart lines (and the
// indented example commands in their comments).
//
// A command that runs `tontine`, `tontine-coordinator` or `tontine-client` must name an
// existing subcommand, and every option it uses (--flag, --flag=value, -x) must be listed in
// that subcommand's --help (options before the subcommand in the program's own --help).
// Wherever a word of any command is a path under scripts/, configs/ or examples/ (also as the
// value of --flag=value, or with a glob), it must exist, and one under scripts/ must be
// executable.
//
// Shell syntax understood: comments (# at the start of a word), backslash-newline
// continuations, single and double quotes, backslash escapes, and `|`, `||`, `&&`, `;`, `&`
// between commands when they stand as words of their own (so that a placeholder such as
// `[--split held-out|train|all]` stays one word). Placeholder brackets around a word
// (`[--json]`, `[--set K=V]...`) are ignored. Lines starting with "→" are output, not
// commands; a leading "$ " prompt is dropped.
#ifndef TONTINE_TESTS_DOCS_DOC_COMMANDS_H_
#define TONTINE_TESTS_DOCS_DOC_COMMANDS_H_

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::docs {

// One command as the documentation shows it, continuations joined, comments removed.
struct DocCommand {
  std::string file;  // as given to the extractor, for messages
  int line = 0;      // 1-based, of the command's first line
  std::string text;
};

// The commands in every fenced code block of `markdown` whose info string is `sh` or `bash`.
std::vector<DocCommand> ExtractShellCommands(absl::string_view markdown, const std::string& file);

// The commands of a systemd unit: each ExecStart= line (without systemd's prefixes such as
// "-" or "+"), and each comment line indented by three spaces or more ("#   tontine-…").
std::vector<DocCommand> ExtractUnitCommands(absl::string_view unit, const std::string& file);

// `text` without its comment: from the first # that starts a word outside quotes.
std::string StripShellComment(absl::string_view text);

// The simple commands of `text`, each as its words (quotes removed, escapes applied).
std::vector<std::vector<std::string>> SplitShellCommands(absl::string_view text);

// What a CLI11 program's --help lists.
struct CliHelp {
  // Option name ("--config", "-h") → whether it takes a value.
  std::map<std::string, bool> options;
  std::set<std::string> subcommands;
};
CliHelp ParseCliHelp(absl::string_view help);

// The --help text of a program of ours run with `args` (empty: the program's own help), e.g.
// ("tontine-client", {"join"}) for `tontine-client join --help`.
using HelpSource = std::function<absl::StatusOr<std::string>(
    const std::string& program, const std::vector<std::string>& args)>;

// Every problem with `command`, each as "FILE:LINE: `COMMAND`: what is wrong". Paths are
// resolved against `source_dir`.
std::vector<std::string> CheckCommand(const DocCommand& command, const HelpSource& help,
                                      const std::filesystem::path& source_dir);

// The programs CheckCommand knows.
const std::set<std::string>& OurPrograms();

}  // namespace tontine::docs

#endif  // TONTINE_TESTS_DOCS_DOC_COMMANDS_H_
