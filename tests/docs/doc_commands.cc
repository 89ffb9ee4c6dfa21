#include "tests/docs/doc_commands.h"

#include <glob.h>
#include <sys/stat.h>

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tontine::docs {
namespace {

namespace fs = std::filesystem;

// Adds one documentation line to the command being gathered in `pending` (which a trailing
// backslash continues), and to `out` once it is complete.
class CommandGatherer {
 public:
  CommandGatherer(const std::string& file, std::vector<DocCommand>* out)
      : file_(file), out_(out) {}

  void Add(absl::string_view raw, int line) {
    std::string text(absl::StripAsciiWhitespace(StripShellComment(raw)));
    if (pending_.empty()) {
      if (absl::StartsWith(text, "→")) return;  // output shown after a command
      if (absl::StartsWith(text, "$ ")) text.erase(0, 2);
      if (text.empty()) return;
      first_line_ = line;
    }
    const bool continues = absl::EndsWith(text, "\\");
    if (continues) text.pop_back();
    absl::StrAppend(&pending_, pending_.empty() ? "" : " ", absl::StripAsciiWhitespace(text));
    if (!continues) Flush();
  }

  // Ends a command left open by a continuation at the end of a block.
  void Flush() {
    if (!pending_.empty()) out_->push_back({file_, first_line_, pending_});
    pending_.clear();
  }

 private:
  const std::string& file_;
  std::vector<DocCommand>* out_;
  std::string pending_;
  int first_line_ = 0;
};

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  return lines;
}

bool IsOption(absl::string_view word) {
  if (word.size() < 2 || word[0] != '-') return false;
  const size_t letter = word[1] == '-' ? 2 : 1;
  return letter < word.size() && std::isalpha(static_cast<unsigned char>(word[letter]));
}

std::string OptionName(absl::string_view word) {
  return std::string(word.substr(0, word.find('=')));
}

// A word without the placeholder syntax around it: "[--json]" → "--json",
// "[--set" → "--set", "KEY.PATH=VALUE]..." → "KEY.PATH=VALUE".
std::string Unbracket(absl::string_view word) {
  while (absl::ConsumePrefix(&word, "[")) {
  }
  while (absl::ConsumeSuffix(&word, "...") || absl::ConsumeSuffix(&word, "…") ||
         absl::ConsumeSuffix(&word, "]")) {
  }
  return std::string(word);
}

// The index of the word that names the program, past environment assignments and wrappers
// such as `sudo -u tontine`.
size_t CommandWordIndex(const std::vector<std::string>& words) {
  size_t i = 0;
  while (i < words.size()) {
    const std::string& word = words[i];
    const size_t eq = word.find('=');
    if (eq != std::string::npos && eq > 0 && word.find('/') > eq && !IsOption(word)) {
      ++i;  // NAME=value
      continue;
    }
    if (word != "sudo" && word != "env" && word != "exec" && word != "time" && word != "nice" &&
        word != "nohup") {
      return i;
    }
    for (++i; i < words.size() && IsOption(words[i]); ++i) {
      const bool takes_value = (word == "sudo" && (words[i] == "-u" || words[i] == "-g")) ||
                               (word == "nice" && words[i] == "-n");
      if (takes_value) ++i;
    }
  }
  return i;
}

bool IsExecutableFile(const fs::path& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & 0111) != 0;
}

// Problems with the words of `words` that are paths in the source tree.
void CheckPaths(const std::vector<std::string>& words, const fs::path& source_dir,
                std::vector<std::string>& problems) {
  for (const std::string& word : words) {
    std::vector<std::string> candidates = {Unbracket(word)};
    if (const size_t eq = candidates[0].find('='); eq != std::string::npos) {
      candidates.push_back(candidates[0].substr(eq + 1));  // --flag=path, KEY=path
    }
    for (std::string path : candidates) {
      if (absl::StartsWith(path, "./")) path.erase(0, 2);
      const bool script = absl::StartsWith(path, "scripts/");
      if (!script && !absl::StartsWith(path, "configs/") && !absl::StartsWith(path, "examples/")) {
        continue;
      }
      if (path.find_first_of("*?") != std::string::npos) {
        glob_t matches{};
        const int rc = ::glob((source_dir / path).c_str(), 0, nullptr, &matches);
        const size_t count = rc == 0 ? matches.gl_pathc : 0;
        ::globfree(&matches);
        if (count == 0) problems.push_back(absl::StrCat("no file matches ", path));
        continue;
      }
      std::error_code ec;
      if (!fs::exists(source_dir / path, ec)) {
        problems.push_back(absl::StrCat(path, " does not exist"));
      } else if (script && !IsExecutableFile(source_dir / path)) {
        problems.push_back(absl::StrCat(path, " is not an executable file"));
      }
    }
  }
}

// Problems with the options and subcommand of `words[at…]`, a command running `program`.
void CheckInvocation(const std::string& program, const std::vector<std::string>& words,
                     size_t at, const HelpSource& help, std::vector<std::string>& problems) {
  absl::StatusOr<std::string> program_help = help(program, {});
  if (!program_help.ok()) {
    problems.push_back(absl::StrCat("`", program, " --help` failed: ", program_help.status().message()));
    return;
  }
  const CliHelp top = ParseCliHelp(*program_help);
  size_t i = at + 1;
  // Options of the program itself, before the subcommand.
  for (; i < words.size(); ++i) {
    const std::string word = Unbracket(words[i]);
    if (!IsOption(word)) break;
    auto option = top.options.find(OptionName(word));
    if (option == top.options.end()) {
      problems.push_back(absl::StrCat("`", program, " --help` lists no option ", OptionName(word)));
    } else if (option->second && word.find('=') == std::string::npos) {
      ++i;  // its value
    }
  }
  if (i >= words.size()) return;
  std::string subcommand = Unbracket(words[i]);
  std::vector<std::string> args;
  if (!top.subcommands.empty()) {
    if (top.subcommands.count(subcommand) == 0) {
      problems.push_back(absl::StrCat("`", program, " --help` lists no subcommand '", subcommand,
                                      "' (it has ", absl::StrJoin(top.subcommands, ", "), ")"));
      return;
    }
    args = {subcommand};
    ++i;
  }
  absl::StatusOr<std::string> subcommand_help = help(program, args);
  if (!subcommand_help.ok()) {
    problems.push_back(absl::StrCat("`", program, " ", absl::StrJoin(args, " "),
                                    " --help` failed: ", subcommand_help.status().message()));
    return;
  }
  const CliHelp own = ParseCliHelp(*subcommand_help);
  const std::string shown = absl::StrJoin(args, " ");
  for (; i < words.size(); ++i) {
    const std::string word = Unbracket(words[i]);
    if (word == "--") break;
    if (!IsOption(word)) continue;
    auto option = own.options.find(OptionName(word));
    if (option == own.options.end()) {
      problems.push_back(absl::StrCat("`", program, shown.empty() ? "" : " ", shown,
                                      " --help` lists no option ", OptionName(word)));
    } else if (option->second && word.find('=') == std::string::npos) {
      ++i;  // its value, which may look like an option
    }
  }
}

}  // namespace

const std::set<std::string>& OurPrograms() {
  static const std::set<std::string>* const programs =
      new std::set<std::string>{"tontine", "tontine-coordinator", "tontine-client"};
  return *programs;
}

std::string StripShellComment(absl::string_view text) {
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (quote == '"' && c == '\\') {
        ++i;
      }
    } else if (c == '\\') {
      ++i;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && (i == 0 || absl::ascii_isspace(static_cast<unsigned char>(text[i - 1])))) {
      return std::string(text.substr(0, i));
    }
  }
  return std::string(text);
}

std::vector<std::vector<std::string>> SplitShellCommands(absl::string_view text) {
  std::vector<std::vector<std::string>> commands(1);
  std::string word;
  bool in_word = false;
  bool quoted = false;
  auto end_word = [&] {
    if (!in_word) return;
    const bool separator =
        !quoted && (word == "|" || word == "||" || word == "&&" || word == ";" || word == "&");
    if (!separator) {
      commands.back().push_back(word);
    } else if (!commands.back().empty()) {
      commands.emplace_back();
    }
    word.clear();
    in_word = quoted = false;
  };
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (quote == '"' && c == '\\' && i + 1 < text.size()) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = quoted = true;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      end_word();
    } else {
      word += c;
      in_word = true;
    }
  }
  end_word();
  if (commands.back().empty()) commands.pop_back();
  return commands;
}

std::vector<DocCommand> ExtractShellCommands(absl::string_view markdown, const std::string& file) {
  std::vector<DocCommand> commands;
  CommandGatherer gatherer(file, &commands);
  bool in_block = false;
  bool shell = false;
  const std::vector<absl::string_view> lines = Lines(markdown);
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(lines[i]);
    if (absl::StartsWith(stripped, "```")) {
      if (!in_block) {
        const absl::string_view info = absl::StripAsciiWhitespace(stripped.substr(3));
        shell = info == "sh" || info == "bash";
      } else {
        gatherer.Flush();
      }
      in_block = !in_block;
    } else if (in_block && shell) {
      gatherer.Add(lines[i], static_cast<int>(i) + 1);
    }
  }
  gatherer.Flush();
  return commands;
}

std::vector<DocCommand> ExtractUnitCommands(absl::string_view unit, const std::string& file) {
  std::vector<DocCommand> commands;
  CommandGatherer gatherer(file, &commands);
  const std::vector<absl::string_view> lines = Lines(unit);
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (absl::ConsumePrefix(&line, "ExecStart=")) {
      // systemd's prefixes: ignore failure, full privileges, no environment expansion …
      while (!line.empty() && absl::string_view("-@:+!|").find(line[0]) != absl::string_view::npos) {
        line.remove_prefix(1);
      }
      gatherer.Add(line, static_cast<int>(i) + 1);
    } else if (absl::ConsumePrefix(&line, "#") && absl::StartsWith(line, "   ")) {
      gatherer.Add(line, static_cast<int>(i) + 1);
    } else {
      gatherer.Flush();
    }
  }
  gatherer.Flush();
  return commands;
}

CliHelp ParseCliHelp(absl::string_view help) {
  CliHelp parsed;
  bool subcommands = false;
  for (absl::string_view line : Lines(help)) {
    if (line.empty()) continue;
    if (!absl::ascii_isspace(static_cast<unsigned char>(line[0]))) {
      // A section heading ("Options:", "Subcommands:", an option group's name) or the usage.
      subcommands = absl::StartsWith(line, "Subcommands:");
      continue;
    }
    // "  --config TEXT REQUIRED      client.yaml": names, then a type for an option that takes
    // a value, then (after two spaces or more, or on the next line) the description.
    const absl::string_view entry = absl::StripLeadingAsciiWhitespace(line);
    const std::vector<absl::string_view> head =
        absl::StrSplit(entry.substr(0, entry.find("  ")), ' ', absl::SkipEmpty());
    if (head.empty()) continue;
    if (head[0][0] == '-') {
      const bool takes_value =
          head.size() > 1 && (absl::ascii_isupper(static_cast<unsigned char>(head[1][0])) ||
                              head[1][0] == '[');
      for (absl::string_view name : absl::StrSplit(head[0], ',', absl::SkipEmpty())) {
        parsed.options[std::string(name)] = takes_value;
      }
    } else if (subcommands && line.size() > 2 && line[2] != ' ') {
      parsed.subcommands.emplace(head[0]);
    }
  }
  return parsed;
}

std::vector<std::string> CheckCommand(const DocCommand& command, const HelpSource& help,
                                      const fs::path& source_dir) {
  std::vector<std::string> problems;
  for (const std::vector<std::string>& words : SplitShellCommands(command.text)) {
    CheckPaths(words, source_dir, problems);
    const size_t at = CommandWordIndex(words);
    if (at >= words.size()) continue;
    const std::string program = fs::path(words[at]).filename().string();
    if (OurPrograms().count(program) == 0) continue;
    CheckInvocation(program, words, at, help, problems);
  }
  for (std::string& problem : problems) {
    problem = absl::StrCat(command.file, ":", command.line, ": `", command.text, "`: ", problem);
  }
  return problems;
}

}  // namespace tontine::docs
