#include "cli/simulate_data.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::SourceDir;
using tontine::testing::StatusIs;

std::vector<std::string> Texts(const std::vector<text::Document>& documents) {
  std::vector<std::string> texts;
  for (const text::Document& d : documents) texts.push_back(d.text);
  return texts;
}

// `n` training and `m` held-out documents of `language` (the split is not recomputed here).
LanguageData Synthetic(const std::string& language, int n, int m) {
  LanguageData data{language, {}, {}};
  for (int i = 0; i < n; ++i) data.train.push_back({absl::StrCat(language, " train ", i), "", 0, language});
  for (int i = 0; i < m; ++i) data.held_out.push_back({absl::StrCat(language, " held ", i), "", 0, language});
  return data;
}

TEST(ResolveLanguagesTest, TakesEverySubdirectoryInNameOrderWhenNoneAreConfigured) {
  testing::TempDir dir;
  for (const char* name : {"yor", "bre", "wol", ".git"}) fs::create_directory(dir.path() / name);
  std::ofstream(dir.path() / "README.md") << "not a language\n";
  EXPECT_THAT(ResolveLanguages(dir.path(), {}), IsOkAndHolds(ElementsAre("bre", "wol", "yor")));
  EXPECT_THAT(ResolveLanguages(dir.path(), {"wol", "bre"}),
              IsOkAndHolds(ElementsAre("wol", "bre")));
}

TEST(ResolveLanguagesTest, AMissingLanguageOrNoLanguageAtAllIsAnError) {
  testing::TempDir dir;
  EXPECT_THAT(ResolveLanguages(dir.path(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no language")));
  fs::create_directory(dir.path() / "wol");
  EXPECT_THAT(ResolveLanguages(dir.path(), {"wol", "xho"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr((dir.path() / "xho").string())));
}

TEST(ResolveDataDirTest, FindsTheBundledCorpusInTheCurrentDirectoryOrAboveTheBinary) {
  testing::TempDir tree;
  const fs::path bundled = tree.path() / kBundledCommunityData;
  fs::create_directories(bundled);
  fs::create_directories(tree.path() / "build/dev/bin");
  fs::create_directories(tree.path() / "elsewhere");
  EXPECT_THAT(ResolveDataDir("", tree.path(), "/nonexistent/bin"), IsOkAndHolds(bundled));
  EXPECT_THAT(ResolveDataDir("", tree.path() / "elsewhere", tree.path() / "build/dev/bin"),
              IsOkAndHolds(bundled));
  EXPECT_THAT(ResolveDataDir(tree.path() / "elsewhere", "/", "/"),
              IsOkAndHolds(tree.path() / "elsewhere"));
  testing::TempDir other;
  EXPECT_THAT(ResolveDataDir("", other.path(), other.path() / "bin"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("set simulate.data")));
}

TEST(SliceByLanguageTest, ClientIGetsLanguageIModL) {
  const std::vector<LanguageData> languages = {Synthetic("bre", 6, 2), Synthetic("hau", 6, 2),
                                               Synthetic("wol", 6, 2)};
  const std::vector<ClientSlice> slices = SliceByLanguage(languages, 7, 1);
  ASSERT_EQ(slices.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(slices[i].client, i);
    EXPECT_EQ(slices[i].language, languages[i % 3].language) << "client " << i;
  }
}

TEST(SliceByLanguageTest, ClientsSharingALanguageGetDisjointBalancedSlicesCoveringIt) {
  const std::vector<LanguageData> languages = {Synthetic("bre", 10, 5), Synthetic("wol", 7, 3)};
  const std::vector<ClientSlice> slices = SliceByLanguage(languages, 6, 42);  // 3 clients each
  for (size_t k = 0; k < languages.size(); ++k) {
    std::vector<std::string> train, held_out;
    size_t smallest = SIZE_MAX, largest = 0;
    for (const ClientSlice& slice : slices) {
      if (slice.language != languages[k].language) continue;
      for (const std::string& t : Texts(slice.train)) train.push_back(t);
      for (const std::string& t : Texts(slice.held_out)) held_out.push_back(t);
      smallest = std::min(smallest, slice.train.size());
      largest = std::max(largest, slice.train.size());
    }
    EXPECT_THAT(train, UnorderedElementsAreArray(Texts(languages[k].train)));
    EXPECT_THAT(held_out, UnorderedElementsAreArray(Texts(languages[k].held_out)));
    EXPECT_LE(largest - smallest, 1u) << languages[k].language;
  }
}

TEST(SliceByLanguageTest, IsDeterministicSeededAndIndependentOfTheOtherLanguages) {
  const LanguageData wol = Synthetic("wol", 20, 4);
  const std::vector<ClientSlice> a = SliceByLanguage({wol, Synthetic("bre", 20, 4)}, 4, 7);
  const std::vector<ClientSlice> b = SliceByLanguage({wol, Synthetic("bre", 20, 4)}, 4, 7);
  const std::vector<ClientSlice> c = SliceByLanguage({wol, Synthetic("bre", 20, 4)}, 4, 8);
  // wol first of three languages: clients 0 and 3 still hold it, and still get the same slices.
  const std::vector<ClientSlice> d =
      SliceByLanguage({wol, Synthetic("bre", 20, 4), Synthetic("yor", 20, 4)}, 6, 7);
  EXPECT_EQ(Texts(a[0].train), Texts(b[0].train));
  EXPECT_NE(Texts(a[0].train), Texts(c[0].train));
  EXPECT_EQ(Texts(a[0].train), Texts(d[0].train));
  EXPECT_EQ(Texts(a[2].train), Texts(d[3].train));
}

TEST(SliceByLanguageTest, KeepsTheLanguagesDocumentOrderWithinASlice) {
  const LanguageData wol = Synthetic("wol", 30, 0);
  for (const ClientSlice& slice : SliceByLanguage({wol}, 3, 5)) {
    std::vector<size_t> positions;
    for (const text::Document& d : slice.train) {
      positions.push_back(static_cast<size_t>(
          std::find_if(wol.train.begin(), wol.train.end(),
                       [&](const text::Document& w) { return w.text == d.text; }) -
          wol.train.begin()));
    }
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  }
}

TEST(CheckSlicesTest, RefusesAClientWithNothingToTrainOn) {
  const std::vector<ClientSlice> slices = SliceByLanguage({Synthetic("wol", 2, 1)}, 3, 1);
  EXPECT_THAT(CheckSlices(slices),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("language 'wol' has 2 training document(s) for 3 clients")));
  EXPECT_THAT(CheckSlices(SliceByLanguage({Synthetic("wol", 3, 0)}, 3, 1)), IsOk());
}

TEST(WriteSliceTest, WritesTextsByteForByte) {
  testing::TempDir dir;
  ClientSlice slice{0, "wol", {}, {}};
  for (std::string t : {"  leading and trailing spaces  ", "quotes \" and \\ backslash",
                        "two\nlines\r\nand a tab\t", "Ñu jàpp — ëmb"}) {
    slice.train.push_back({t, "", 0, "wol"});
  }
  ASSERT_THAT(WriteSlice(slice, dir.path() / "client-0"), IsOk());
  absl::StatusOr<text::Corpus> corpus =
      text::LoadCorpus(dir.path() / "client-0", {.held_out_fraction = 0});
  ASSERT_THAT(corpus, IsOk());
  EXPECT_EQ(Texts(corpus->train), Texts(slice.train));
  for (const text::Document& d : corpus->train) EXPECT_EQ(d.group, "wol");
}

// The property `simulate` relies on: a document held out of the pooled language directory is
// held out of whichever client slice holds it, so clients and simulate agree on the split.
TEST(WriteSliceTest, EachClientsOwnSplitKeepsExactlyItsShareOfTheHeldOutDocuments) {
  const fs::path community = SourceDir() / kBundledCommunityData;
  for (double fraction : {0.1, 0.3}) {
    absl::StatusOr<std::vector<LanguageData>> languages =
        LoadLanguages(community, {"wol", "yor", "bre"}, fraction);
    ASSERT_THAT(languages, IsOk());
    ASSERT_FALSE((*languages)[0].held_out.empty());
    testing::TempDir dir;
    const std::vector<ClientSlice> slices = SliceByLanguage(*languages, 8, 1);
    ASSERT_THAT(CheckSlices(slices), IsOk());
    std::map<std::string, std::vector<std::string>> held_out_by_language;
    for (const ClientSlice& slice : slices) {
      const fs::path client_dir = dir.path() / absl::StrCat("client-", slice.client);
      ASSERT_THAT(WriteSlice(slice, client_dir), IsOk());
      absl::StatusOr<text::Corpus> own =
          text::LoadCorpus(client_dir, {.held_out_fraction = fraction});
      ASSERT_THAT(own, IsOk());
      EXPECT_EQ(Texts(own->held_out), Texts(slice.held_out)) << "client " << slice.client;
      EXPECT_EQ(Texts(own->train), Texts(slice.train)) << "client " << slice.client;
      for (const std::string& t : Texts(own->held_out)) held_out_by_language[slice.language].push_back(t);
    }
    for (const LanguageData& language : *languages) {
      EXPECT_THAT(held_out_by_language[language.language],
                  UnorderedElementsAreArray(Texts(language.held_out)))
          << language.language << " at " << fraction;
    }
  }
}

TEST(LoadLanguagesTest, GroupsEveryDocumentByItsLanguageAndPoolsThem) {
  absl::StatusOr<std::vector<LanguageData>> languages =
      LoadLanguages(SourceDir() / kBundledCommunityData, {"hau", "mri"}, 0.1);
  ASSERT_THAT(languages, IsOk());
  ASSERT_EQ(languages->size(), 2u);
  std::set<std::string> groups;
  for (const text::Document& d : Pooled(*languages, true)) groups.insert(d.group);
  EXPECT_THAT(groups, ElementsAre("hau", "mri"));
  EXPECT_EQ(Pooled(*languages, false).size(),
            (*languages)[0].train.size() + (*languages)[1].train.size());
  EXPECT_THAT(LoadLanguages(SourceDir() / kBundledCommunityData, {"xho"}, 0.1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("xho")));
}

TEST(LoadSimulatedLanguagesTest, LeavesOutLanguagesBeyondTheClients) {
  config::SimulateConfig simulate;
  simulate.clients = 2;
  absl::StatusOr<std::vector<LanguageData>> languages =
      LoadSimulatedLanguages(SourceDir() / kBundledCommunityData, simulate, 0.1);
  ASSERT_THAT(languages, IsOk());
  ASSERT_EQ(languages->size(), 2u);
  EXPECT_EQ((*languages)[0].language, "bre");  // all eight, in name order, cut to two
  EXPECT_EQ((*languages)[1].language, "hau");
}

TEST(LoadSimulatedLanguagesTest, RefusesALanguageWithoutHeldOutDocuments) {
  config::SimulateConfig simulate;
  simulate.languages = {"wol"};
  EXPECT_THAT(LoadSimulatedLanguages(SourceDir() / kBundledCommunityData, simulate, 1e-12),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("wol: no document falls in the held-out split")));
}

}  // namespace
}  // namespace tontine::cli
