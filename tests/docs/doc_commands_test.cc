#include "tests/docs/doc_commands.h"

#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "tests/testing/process.h"

namespace tontine::docs {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// What CLI11 prints, trimmed to what the checks read.
constexpr char kClientHelp[] = R"(Tontine client
Usage: ./tontine-client [OPTIONS] SUBCOMMAND

Options:
  -h,--help                   Print this help message and exit
  --log-level TEXT            trace, debug, info, warn (default), error, off

Subcommands:
  enrol                       redeem an invite and store the credential
  join                        take part in the federation's rounds until stopped (Ctrl-C)
)";
constexpr char kJoinHelp[] = R"(take part in the federation's rounds until stopped (Ctrl-C)
Usage: ./tontine-client join [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --config TEXT REQUIRED      client.yaml
  --set TEXT ...              override a key of client.yaml (YAML value; repeatable)
  --split TEXT:{held-out,train,all}=held-out
                              held-out, train or all
  --json                      print the log as one JSON array
)";
constexpr char kEnrolHelp[] = R"(redeem an invite and store the credential
Usage: ./tontine-client enrol [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --token TEXT REQUIRED       the invite token (tti_…)
)";

// `tontine-client` as the help texts above describe it; no other program.
absl::StatusOr<std::string> FakeHelp(const std::string& program,
                                     const std::vector<std::string>& args) {
  if (program != "tontine-client") return absl::NotFoundError(program);
  const std::string subcommand = args.empty() ? "" : args[0];
  if (subcommand.empty()) return kClientHelp;
  if (subcommand == "join") return kJoinHelp;
  if (subcommand == "enrol") return kEnrolHelp;
  return absl::InvalidArgumentError("the fake has no help for " + subcommand);
}

std::vector<std::string> Check(const std::string& text, const fs::path& dir = "/nonexistent") {
  return CheckCommand({"README.md", 7, text}, FakeHelp, dir);
}

TEST(ExtractShellCommandsTest, TakesShellBlocksJoinsContinuationsAndDropsCommentsAndOutput) {
  const std::string markdown = R"(# Title

```sh
# a comment line
tontine-client enrol --token tti_x \
    --coordinator host:7443   # a comment after a continuation
#    → prints something
→ output shown after a command
$ tontine-client check
scripts/demo    # trailing comment
```

```
tontine-client ignored --in-a-plain-block
```

```yaml
key: not a command
```

  ```bash
  curl -H "a # b" https://example.org/#anchor
  ```
)";
  EXPECT_THAT(
      ExtractShellCommands(markdown, "README.md"),
      ElementsAre(
          AllOf(Field(&DocCommand::line, 5),
                Field(&DocCommand::text,
                      "tontine-client enrol --token tti_x --coordinator host:7443")),
          AllOf(Field(&DocCommand::line, 9), Field(&DocCommand::text, "tontine-client check")),
          AllOf(Field(&DocCommand::line, 10), Field(&DocCommand::text, "scripts/demo")),
          AllOf(Field(&DocCommand::line, 22), Field(&DocCommand::file, "README.md"),
                Field(&DocCommand::text, R"(curl -H "a # b" https://example.org/#anchor)"))));
}

TEST(ExtractShellCommandsTest, ACommandLeftOpenAtTheEndOfABlockIsKept) {
  EXPECT_THAT(ExtractShellCommands("```sh\ntontine validate a.yaml \\\n```\n", "R.md"),
              ElementsAre(Field(&DocCommand::text, "tontine validate a.yaml")));
}

TEST(ExtractUnitCommandsTest, TakesExecStartAndIndentedExampleCommandsInComments) {
  const std::string unit = R"(# A unit.
#
#   sudo -u tontine tontine-coordinator init --state-dir /var/lib/tontine
#   cp x.service /etc/systemd/system/   # then enable it
# Logs go to the journal: journalctl -u tontine-coordinator.
[Service]
ExecStart=-/usr/local/bin/tontine-coordinator serve --config /etc/tontine/coordinator.yaml
Restart=on-failure
)";
  EXPECT_THAT(
      ExtractUnitCommands(unit, "x.service"),
      ElementsAre(
          AllOf(Field(&DocCommand::line, 3),
                Field(&DocCommand::text,
                      "sudo -u tontine tontine-coordinator init --state-dir /var/lib/tontine")),
          Field(&DocCommand::text, "cp x.service /etc/systemd/system/"),
          AllOf(Field(&DocCommand::line, 7),
                Field(&DocCommand::text, "/usr/local/bin/tontine-coordinator serve --config "
                                         "/etc/tontine/coordinator.yaml"))));
}

TEST(StripShellCommentTest, CutsAtAHashThatStartsAWordOutsideQuotes) {
  EXPECT_EQ(StripShellComment("a '#x' \"#y\" b#c # d"), "a '#x' \"#y\" b#c ");
  EXPECT_EQ(StripShellComment("# all of it"), "");
  EXPECT_EQ(StripShellComment("a \\# b"), "a \\# b");
}

TEST(SplitShellCommandsTest, SplitsWordsAndCommandsTheWayTheShellWould) {
  EXPECT_THAT(
      SplitShellCommands(R"(a 'b c' "d \"e\"" f\ g | h && i; j '|' [--x a|b|c])"),
      ElementsAre(ElementsAre("a", "b c", "d \"e\"", "f g"), ElementsAre("h"), ElementsAre("i;", "j",
                                                                                      "|", "[--x",
                                                                                      "a|b|c]")));
  EXPECT_THAT(SplitShellCommands(R"x(curl -H "Bearer $(cat f)" u)x"),
              ElementsAre(ElementsAre("curl", "-H", "Bearer $(cat f)", "u")));
  EXPECT_THAT(SplitShellCommands("  "), IsEmpty());
}

TEST(ParseCliHelpTest, ReadsOptionsWithTheirValuesAndSubcommands) {
  const CliHelp client = ParseCliHelp(kClientHelp);
  EXPECT_THAT(client.options,
              ElementsAre(Pair("--help", false), Pair("--log-level", true), Pair("-h", false)));
  EXPECT_THAT(client.subcommands, ElementsAre("enrol", "join"));
  const CliHelp join = ParseCliHelp(kJoinHelp);
  EXPECT_THAT(join.options, ElementsAre(Pair("--config", true), Pair("--help", false),
                                        Pair("--json", false), Pair("--set", true),
                                        Pair("--split", true), Pair("-h", false)));
  EXPECT_THAT(join.subcommands, IsEmpty());
}

TEST(CheckCommandTest, AcceptsExistingSubcommandsAndOptionsInEveryForm) {
  EXPECT_THAT(Check("tontine-client join --config client.yaml"), IsEmpty());
  EXPECT_THAT(Check("/usr/local/bin/tontine-client --log-level debug join --config=c.yaml "
                    "[--json] [--split held-out|train|all] [--set K=V]..."),
              IsEmpty());
  EXPECT_THAT(Check("sudo -u tontine FOO=1 tontine-client enrol --token tti_…"), IsEmpty());
  // An option's value may look like an option.
  EXPECT_THAT(Check("tontine-client join --set -x --config c.yaml"), IsEmpty());
  // Programs that are not ours are not checked.
  EXPECT_THAT(Check("curl --no-such-flag https://x && cat f | grep -q y"), IsEmpty());
}

TEST(CheckCommandTest, NamesASubcommandThatDoesNotExist) {
  EXPECT_THAT(Check("tontine-client joinn --config c.yaml"),
              ElementsAre(AllOf(HasSubstr("README.md:7: `tontine-client joinn --config c.yaml`: "),
                                HasSubstr("no subcommand 'joinn' (it has enrol, join)"))));
}

TEST(CheckCommandTest, NamesEveryOptionThatDoesNotExist) {
  EXPECT_THAT(
      Check("tontine-client --verbose join --confg c.yaml [--jsn] --set=x -q"),
      ElementsAre(HasSubstr("`tontine-client --help` lists no option --verbose"),
                  HasSubstr("`tontine-client join --help` lists no option --confg"),
                  HasSubstr("`tontine-client join --help` lists no option --jsn"),
                  HasSubstr("`tontine-client join --help` lists no option -q")));
  // After a pipe, the next command is checked too.
  EXPECT_THAT(Check("echo x | tontine-client enrol --tokn t"),
              ElementsAre(HasSubstr("lists no option --tokn")));
}

TEST(CheckCommandTest, ReportsAProgramWhoseHelpFails) {
  EXPECT_THAT(Check("tontine validate a.yaml"),
              ElementsAre(HasSubstr("`tontine --help` failed: tontine")));
}

TEST(CheckCommandTest, PathsInTheSourceTreeMustExistAndScriptsBeExecutable) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "scripts");
  fs::create_directories(dir.path() / "configs");
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "scripts/run", "#!/bin/sh\n").ok());
  ASSERT_EQ(::chmod((dir.path() / "scripts/run").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "scripts/plain", "").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "configs/a.yaml", "").ok());
  EXPECT_THAT(Check("scripts/run && ./scripts/run -x configs/a.yaml configs/*.yaml", dir.path()),
              IsEmpty());
  EXPECT_THAT(Check("scripts/plain", dir.path()),
              ElementsAre(HasSubstr("scripts/plain is not an executable file")));
  EXPECT_THAT(Check("tontine-client join --config=configs/b.yaml [--set x=examples/data]",
                    dir.path()),
              ElementsAre(HasSubstr("configs/b.yaml does not exist"),
                          HasSubstr("examples/data does not exist")));
  EXPECT_THAT(Check("cat configs/*.json", dir.path()),
              ElementsAre(HasSubstr("no file matches configs/*.json")));
}

TEST(CheckCommandTest, AFakeReadmeWithAWrongSubcommandAndAWrongOptionFails) {
  const std::string readme = R"(## For the contributor

```sh
# Enrol once.
tontine-client enrol --token tti_…
# Take part.
tontine-client join --config client.yaml \
    --threads 2
tontine-client audit
```
)";
  std::vector<std::string> problems;
  for (const DocCommand& command : ExtractShellCommands(readme, "FAKE.md")) {
    for (std::string& problem : CheckCommand(command, FakeHelp, "/nonexistent")) {
      problems.push_back(std::move(problem));
    }
  }
  EXPECT_THAT(problems,
              ElementsAre(AllOf(HasSubstr("FAKE.md:7: "), HasSubstr("lists no option --threads")),
                          AllOf(HasSubstr("FAKE.md:9: "), HasSubstr("no subcommand 'audit'"))))
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace tontine::docs
