// The README's commands (and the deployment units') never rot: each one that runs tontine,
// tontine-coordinator or tontine-client is checked against the real program's --help, and
// the scripts, configs and examples they name must exist (docs::CheckCommand).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/base/files.h"
#include "tests/docs/doc_commands.h"
#include "tests/testing/process.h"

namespace tontine::docs {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `program args… --help` from the built binaries, each asked once per test process.
absl::StatusOr<std::string> RealHelp(const std::string& program,
                                     const std::vector<std::string>& args) {
  static absl::Mutex mu;
  static auto* const cache = new std::map<std::vector<std::string>, std::string>();
  std::vector<std::string> argv = {testing::Binary(program)};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--help");
  absl::MutexLock lock(&mu);
  if (auto it = cache->find(argv); it != cache->end()) return it->second;
  testing::RunResult run = testing::Run(argv);
  if (run.exit_code != 0) {
    return absl::InternalError(absl::StrCat("exit code ", run.exit_code, ": ", run.err));
  }
  return cache->emplace(argv, run.out).first->second;
}

// Every problem with `commands`, and how many of their words name one of our programs.
std::pair<std::vector<std::string>, int> CheckAll(const std::vector<DocCommand>& commands) {
  std::vector<std::string> problems;
  int ours = 0;
  for (const DocCommand& command : commands) {
    for (const std::vector<std::string>& words : SplitShellCommands(command.text)) {
      for (const std::string& word : words) ours += static_cast<int>(OurPrograms().count(fs::path(word).filename().string()));
    }
    for (std::string& problem : CheckCommand(command, RealHelp, testing::SourceDir())) {
      problems.push_back(std::move(problem));
    }
  }
  return {problems, ours};
}

TEST(ReadmeCommandsTest, EveryReadmeCommandUsesExistingSubcommandsOptionsAndPaths) {
  absl::StatusOr<std::string> readme = ReadFile(testing::SourceDir() / "README.md");
  ASSERT_TRUE(readme.ok()) << readme.status();
  const std::vector<DocCommand> commands = ExtractShellCommands(*readme, "README.md");
  const auto [problems, ours] = CheckAll(commands);
  // The README shows every person's commands: far more than a handful run our programs.
  EXPECT_GE(ours, 20) << "did the extractor miss the README's ```sh blocks?";
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
}

TEST(ReadmeCommandsTest, TheDeploymentUnitsRunExistingSubcommandsWithTheirOptions) {
  int units = 0;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(testing::SourceDir() / "examples/deploy")) {
    if (entry.path().extension() != ".service") continue;
    ++units;
    absl::StatusOr<std::string> unit = ReadFile(entry.path());
    ASSERT_TRUE(unit.ok()) << unit.status();
    const std::string name = fs::relative(entry.path(), testing::SourceDir()).string();
    const std::vector<DocCommand> commands = ExtractUnitCommands(*unit, name);
    const auto [problems, ours] = CheckAll(commands);
    EXPECT_GE(ours, 1) << name << " runs none of our programs";
    EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  }
  EXPECT_EQ(units, 2);
}

TEST(ReadmeCommandsTest, TheRealProgramsCatchAWrongSubcommandOptionOrPath) {
  const std::string readme = R"(```sh
tontine-coordinator serve --config configs/coordinator.yaml --exit-when-done
tontine-client joinn --config client.yaml
tontine simulate --confg configs/experiments/udhr-demo.yaml --set rounds.count=3
tontine validate configs/experiments/no-such-demo.yaml
```
)";
  const auto [problems, ours] = CheckAll(ExtractShellCommands(readme, "FAKE.md"));
  EXPECT_EQ(ours, 4);
  EXPECT_THAT(problems,
              ElementsAre(AllOf(HasSubstr("FAKE.md:3: "), HasSubstr("no subcommand 'joinn'")),
                          AllOf(HasSubstr("FAKE.md:4: "),
                                HasSubstr("`tontine simulate --help` lists no option --confg")),
                          AllOf(HasSubstr("FAKE.md:5: "),
                                HasSubstr("configs/experiments/no-such-demo.yaml does not exist"))))
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace tontine::docs
