#include "common/config/overrides.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/validate.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

constexpr char kExperiment[] = R"(kind: experiment
name: e1
lora:
  rank: 8
  dropout: 0.1
cohort: {min_participants: 2, max_participants: 8}
)";

class OverridesTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_.path() / name;
    std::ofstream(p) << text;
    return p;
  }
  absl::StatusOr<ExperimentConfig> Experiment(const std::vector<std::string>& flags,
                                              const std::string& text = kExperiment) {
    absl::StatusOr<std::vector<Override>> overrides = ParseOverrides(flags);
    if (!overrides.ok()) return overrides.status();
    return LoadExperimentConfig(Write("exp.yaml", text), *overrides);
  }
  std::string ExpPath() const { return (dir_.path() / "exp.yaml").string(); }

  testing::TempDir dir_;
};

TEST(ParseOverrideTest, SplitsThePathAtDotsAndTheValueAtTheFirstEquals) {
  absl::StatusOr<Override> o = ParseOverride(" simulate.description = a=b ");
  ASSERT_THAT(o, IsOk());
  EXPECT_THAT(o->path, ElementsAre("simulate", "description"));
  EXPECT_EQ(o->value, " a=b ");
  EXPECT_EQ(o->flag, " simulate.description = a=b ");
  EXPECT_EQ(OverrideFlag({"rounds", "count"}, "3"), "rounds.count=3");
}

TEST(ParseOverrideTest, RefusesMalformedFlagsNamingThem) {
  EXPECT_THAT(ParseOverride("foo"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set foo: expected key.path=value")));
  EXPECT_THAT(ParseOverride("=3"), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("--set =3: the key path before '=' is "
                                                      "empty")));
  EXPECT_THAT(ParseOverride("lora..rank=3"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty key in the path")));
  EXPECT_THAT(ParseOverride("lora.rank.=3"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty key in the path")));
  EXPECT_THAT(ParseOverride("lora.target_modules=[q_proj"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set lora.target_modules=[q_proj: the value is not valid "
                                 "YAML")));
  EXPECT_THAT(ParseOverride("simulate.dropout[0].phase=training"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("list elements cannot be addressed")));
  EXPECT_THAT(ParseOverride("name=a\nb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("one line")));
  EXPECT_THAT(ParseOverrides({"rounds.count=3", "oops"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--set oops:")));
}

TEST_F(OverridesTest, ScalarsSequencesAndMappingsReachTheConfig) {
  absl::StatusOr<ExperimentConfig> c =
      Experiment({"rounds.count=3", "lora.target_modules=[q_proj,v_proj,o_proj]",
                  "cohort.filter={language: [wol, yor]}", "description="});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->rounds.count, 3);
  EXPECT_THAT(c->lora.target_modules, ElementsAre("q_proj", "v_proj", "o_proj"));
  EXPECT_THAT(c->cohort.filter, ElementsAre(Pair("language", ElementsAre("wol", "yor"))));
  EXPECT_EQ(c->description, "");
  EXPECT_EQ(c->lora.rank, 8);  // untouched keys keep the file's values
  EXPECT_EQ(c->lora.dropout, 0.1);
}

TEST_F(OverridesTest, CompactFlowMappingsNeedNoSpaceAfterTheKey) {
  absl::StatusOr<ExperimentConfig> c =
      Experiment({"cohort.filter={language:[wol,yor],region:west}",
                  "simulate.dropout=[{phase:training,probability:0.25}]",
                  "description={note:'a:b'}"});
  // description must be a scalar: the mapping is refused, which shows it was read as one.
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("--set description={note:'a:b'}: description: expected a "
                                    "string, got a mapping")));
  c = Experiment({"cohort.filter={language:[wol,yor],region:west}",
                  "simulate.dropout=[{phase:training,probability:0.25}]"});
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(c->cohort.filter, ElementsAre(Pair("language", ElementsAre("wol", "yor")),
                                            Pair("region", ElementsAre("west"))));
  ASSERT_EQ(c->simulate.dropout.size(), 1u);
  EXPECT_EQ(c->simulate.dropout[0].probability, 0.25);
  // Outside braces a ':' is part of the scalar.
  c = Experiment({"description=host:7443"});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->description, "host:7443");
}

TEST_F(OverridesTest, CreatesMissingSectionsOnThePath) {
  absl::StatusOr<ExperimentConfig> c =
      Experiment({"local_training.steps=7", "cohort.filter.language=wol"});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->local_training.steps, 7);
  EXPECT_THAT(c->cohort.filter, ElementsAre(Pair("language", ElementsAre("wol"))));
  // A section that is present but empty ("lora:") is filled in too.
  c = Experiment({"lora.rank=4"}, "kind: experiment\nname: e1\nlora:\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->lora.rank, 4);
}

TEST_F(OverridesTest, ReplacesValuesWholeAndLaterOverridesWin) {
  // A mapping as the value replaces the section: the file's lora.dropout is gone.
  absl::StatusOr<ExperimentConfig> c = Experiment({"lora={rank: 4}", "lora.alpha=2"});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->lora.rank, 4);
  EXPECT_EQ(c->lora.alpha, 2);
  EXPECT_EQ(c->lora.dropout, 0.05);  // the default
  c = Experiment({"rounds.count=3", "rounds.count=5"});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->rounds.count, 5);
}

TEST_F(OverridesTest, TypeErrorsNameTheOverrideNotThePlaceInTheFile) {
  absl::StatusOr<ExperimentConfig> c = Experiment({"lora.rank=abc"});
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          "--set lora.rank=abc: lora.rank: expected an integer, got 'abc'"));
  c = Experiment({"rounds.count=0"});
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("--set rounds.count=0: rounds.count: 0 is out of range")));
  c = Experiment({"lora.target_modules=[q_proj, v_prj]"});
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("--set lora.target_modules=[q_proj, v_prj]: "
                                    "lora.target_modules: unknown value 'v_prj'; did you mean "
                                    "'v_proj'?")));
  c = Experiment({"lora.rank=[1, 2]"});
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("--set lora.rank=[1, 2]: lora.rank: expected an integer, "
                                    "got a list")));
}

TEST_F(OverridesTest, UnknownKeysAreReportedWithSuggestions) {
  EXPECT_THAT(Experiment({"lora.rnak=4"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--set lora.rnak=4: unknown key 'rnak' in 'lora'; did you mean 'rank'?"));
  EXPECT_THAT(Experiment({"lroa.rank=4"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set lroa.rank=4: unknown top-level key 'lroa'; did you mean "
                                 "'lora'?")));
}

TEST_F(OverridesTest, RulesAcrossKeysPointAtTheOverride) {
  EXPECT_THAT(Experiment({"cohort.min_participants=9"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set cohort.min_participants=9: cohort.min_participants: 9 is "
                                 "greater than cohort.max_participants (8)")));
}

TEST_F(OverridesTest, FileErrorsKeepTheirPlaceBesideOverrideErrors) {
  absl::StatusOr<ExperimentConfig> c =
      Experiment({"rounds.count=x"}, std::string(kExperiment) + "rounds: {cuont: 2}\n");
  ASSERT_THAT(c, Not(IsOk()));
  EXPECT_EQ(std::string(c.status().message()),
            ExpPath() + ":7:10: unknown key 'cuont' in 'rounds'; did you mean 'count'?\n"
                        "--set rounds.count=x: rounds.count: expected an integer, got 'x'");
}

TEST_F(OverridesTest, PathThroughAValueIsRefused) {
  EXPECT_THAT(Experiment({"lora.rank.x=1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--set lora.rank.x=1: 'lora.rank' is the value '8', not a section with "
                       "keys of its own"));
  EXPECT_THAT(Experiment({"kind.x=1"}, "[1, 2]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exp.yaml is not a mapping; there is no key to override")));
}

TEST_F(OverridesTest, DefaultsTakeOverridesWithoutAFile) {
  absl::StatusOr<std::vector<Override>> o = ParseOverrides({"lora.rank=4", "local_training.steps=2"});
  ASSERT_THAT(o, IsOk());
  absl::StatusOr<ExperimentConfig> c = DefaultExperimentConfig(*o);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->lora.rank, 4);
  EXPECT_EQ(c->local_training.steps, 2);
  EXPECT_EQ(c->rounds.count, 10);
  o = ParseOverrides({"lora.rnak=4"});
  EXPECT_THAT(DefaultExperimentConfig(*o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--set lora.rnak=4: unknown "
                                                                     "key 'rnak'")));
}

TEST_F(OverridesTest, ClientFilesTakeOverrides) {
  Write("data/a.txt", "");
  std::filesystem::create_directories(dir_.path() / "data");
  auto path = Write("client.yaml", "kind: client\ndata_dir: data\n");
  absl::StatusOr<std::vector<Override>> o =
      ParseOverrides({"threads=2", "reconnect.max_backoff=5m"});
  ASSERT_THAT(o, IsOk());
  absl::StatusOr<ClientConfig> c = LoadClientConfig(path, *o);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->threads, 2);
  EXPECT_EQ(c->reconnect.max_backoff, absl::Minutes(5));
  o = ParseOverrides({"data_dir=missing"});
  EXPECT_THAT(LoadClientConfig(path, *o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set data_dir=missing: data_dir: directory does not exist: " +
                                 (dir_.path() / "missing").string())));
}

TEST_F(OverridesTest, CoordinatorOverridesUnderExperimentGoToTheExperiment) {
  Write("exp.yaml", kExperiment);
  Write("other.yaml", "kind: experiment\nname: other\n");
  auto path = Write("coordinator.yaml", "kind: coordinator\nexperiment: exp.yaml\n");
  absl::StatusOr<std::vector<Override>> o = ParseOverrides(
      {"listen=127.0.0.1:0", "experiment.rounds.count=3", "experiment.lora.rank=4"});
  ASSERT_THAT(o, IsOk());
  CoordinatorOverrides split = SplitCoordinatorOverrides(*o);
  ASSERT_EQ(split.experiment.size(), 2u);
  EXPECT_THAT(split.experiment[0].path, ElementsAre("rounds", "count"));
  EXPECT_EQ(split.experiment[0].flag, "experiment.rounds.count=3");
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(path, *o);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_EQ(c->experiment.rounds.count, 3);
  EXPECT_EQ(c->experiment.lora.rank, 4);

  o = ParseOverrides({"experiment=other.yaml"});
  c = LoadCoordinatorConfig(path, *o);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->experiment.name, "other");

  o = ParseOverrides({"experiment.rounds.count=many"});
  EXPECT_THAT(LoadCoordinatorConfig(path, *o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--set experiment.rounds.count=many: rounds.count: expected an integer, "
                       "got 'many'"));
  o = ParseOverrides({"limits.max_sesions=3"});
  EXPECT_THAT(LoadCoordinatorConfig(path, *o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--set limits.max_sesions=3: unknown key 'max_sesions' in "
                                 "'limits'; did you mean 'max_sessions'?")));
}

TEST_F(OverridesTest, ValidateAppliesOverridesToEachKind) {
  auto path = Write("exp.yaml", kExperiment);
  absl::StatusOr<std::vector<Override>> o = ParseOverrides({"name=renamed"});
  EXPECT_THAT(ValidateConfigFile(path, *o), ::testing::AnyOf(IsOk()));
  EXPECT_EQ(*ValidateConfigFile(path, *o), "experiment 'renamed'");
  o = ParseOverrides({"name=Not A Name"});
  EXPECT_THAT(ValidateConfigFile(path, *o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--set name=Not A Name: "
                                                                     "name:")));
}

TEST(ExperimentTextWithOverridesTest, AppendsOneCommentPerOverride) {
  EXPECT_EQ(ExperimentTextWithOverrides("kind: experiment\n", {}), "kind: experiment\n");
  std::vector<Override> o = *ParseOverrides({"experiment.rounds.count=3"});
  EXPECT_EQ(ExperimentTextWithOverrides("kind: experiment", SplitCoordinatorOverrides(o).experiment),
            "kind: experiment\n# Overridden on the command line:\n"
            "# --set experiment.rounds.count=3\n");
}

}  // namespace
}  // namespace tontine::config
