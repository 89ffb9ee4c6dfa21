#include "common/text/corpus.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::text {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::StatusIs;

void Write(const fs::path& path, absl::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

CorpusOptions AllTrain() { return {.held_out_fraction = 0.0}; }
CorpusOptions Skipping() { return {.held_out_fraction = 0.0, .skip_bad_documents = true}; }

// (file, line, group, text) of each document, for compact comparisons.
using Row = std::tuple<std::string, int, std::string, std::string>;
std::vector<Row> Rows(const std::vector<Document>& docs) {
  std::vector<Row> rows;
  for (const Document& d : docs) rows.emplace_back(d.file, d.line, d.group, d.text);
  return rows;
}

TEST(GroupOfTest, UsesTheFirstDirectoryElseTheFileStem) {
  EXPECT_EQ(GroupOf("wol/udhr.jsonl"), "wol");
  EXPECT_EQ(GroupOf("wol.jsonl"), "wol");
  EXPECT_EQ(GroupOf("mri/2024/news.txt"), "mri");
  EXPECT_EQ(GroupOf("notes.v2.txt"), "notes.v2");
}

TEST(CorpusTest, LoadsTxtAndJsonlInSortedPathOrder) {
  testing::TempDir dir;
  // Written out of order; the load order must not depend on the directory's order.
  Write(dir.path() / "sub/z.txt", "zed");
  Write(dir.path() / "b.txt", "bee\nsecond line\n");
  Write(dir.path() / "sub/a/x.jsonl", "{\"text\": \"deep\", \"id\": 7}\n");
  Write(dir.path() / "a.jsonl", "{\"text\": \"one\"}\n\n   \n{\"id\": \"x\", \"text\": \"two\"}");
  Write(dir.path() / "readme.md", "not a document");
  Write(dir.path() / "data.json", "{\"text\": \"not jsonl\"}");
  Write(dir.path() / ".hidden.txt", "hidden");
  Write(dir.path() / ".git/objects.txt", "hidden too");
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
  ASSERT_THAT(corpus, IsOk());
  EXPECT_THAT(
      Rows(corpus->train),
      ElementsAre(Row{"a.jsonl", 1, "a", "one"}, Row{"a.jsonl", 4, "a", "two"},
                  Row{"b.txt", 0, "b", "bee\nsecond line\n"},
                  Row{"sub/a/x.jsonl", 1, "sub", "deep"}, Row{"sub/z.txt", 0, "sub", "zed"}));
  EXPECT_THAT(corpus->held_out, IsEmpty());
  EXPECT_EQ(corpus->skipped, 0);
  EXPECT_THAT(corpus->warnings, IsEmpty());
}

TEST(CorpusTest, KeepsTextVerbatimButDropsALeadingBom) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "\xEF\xBB\xBF  caf\xC3\xA9\r\n");
  Write(dir.path() / "b.jsonl", "\xEF\xBB\xBF{\"text\": \" x\\ny \"}\r\n");
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
  ASSERT_THAT(corpus, IsOk());
  ASSERT_EQ(corpus->train.size(), 2u);
  EXPECT_EQ(corpus->train[0].text, "  caf\xC3\xA9\r\n");
  EXPECT_EQ(corpus->train[1].text, " x\ny ");
}

TEST(CorpusTest, DropsEmptyDocumentsSilently) {
  testing::TempDir dir;
  Write(dir.path() / "empty.txt", "");
  Write(dir.path() / "blank.txt", " \n\t\r\n");
  Write(dir.path() / "c.jsonl", "{\"text\": \"\"}\n{\"text\": \" \\n \"}\n{\"text\": \"kept\"}\n");
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
  ASSERT_THAT(corpus, IsOk());
  EXPECT_THAT(Rows(corpus->train), ElementsAre(Row{"c.jsonl", 3, "c", "kept"}));
  EXPECT_EQ(corpus->skipped, 0);
  EXPECT_THAT(corpus->warnings, IsEmpty());
}

TEST(CorpusTest, DescendsIntoADirectoryNamedLikeADocument) {
  testing::TempDir dir;
  Write(dir.path() / "notes.txt/inner.txt", "inside");
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
  ASSERT_THAT(corpus, IsOk());
  EXPECT_THAT(Rows(corpus->train),
              ElementsAre(Row{"notes.txt/inner.txt", 0, "notes.txt", "inside"}));
}

TEST(CorpusTest, InvalidUtf8InTxtGivesLineAndFileOffset) {
  testing::TempDir dir;
  Write(dir.path() / "ok.txt", "fine");
  Write(dir.path() / "bad.txt", "ab\nc\xC3\xA9\nd\xFF");  // 0xFF at byte 8, line 3
  EXPECT_THAT(LoadCorpus(dir.path(), AllTrain()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad.txt:3: invalid UTF-8 at byte offset 8")));
}

TEST(CorpusTest, InvalidUtf8InJsonlGivesLineAndOffsetWithinTheFile) {
  testing::TempDir dir;
  const std::string line1 = "{\"text\": \"caf\xC3\xA9\"}\n";  // 18 bytes
  const std::string line2 = "\n";
  const std::string line3 = "{\"text\": \"x\xC3(\"}\n";  // bad lead byte at 11 in line
  Write(dir.path() / "g.jsonl", line1 + line2 + line3);
  const size_t offset = line1.size() + line2.size() + 11;
  ASSERT_EQ(offset, 30u);
  EXPECT_THAT(LoadCorpus(dir.path(), AllTrain()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("g.jsonl:3: invalid UTF-8 at byte offset 30")));
}

TEST(CorpusTest, RejectsEachKindOfIllFormedUtf8) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* expected;
  };
  const Case cases[] = {
      {"truncated sequence", "abc\xE6\x97", "x.txt:1: invalid UTF-8 at byte offset 3"},
      {"overlong encoding of '/'", "a\nb\xC0\xAF", "x.txt:2: invalid UTF-8 at byte offset 3"},
      {"overlong 3-byte", "\xE0\x80\xAF", "x.txt:1: invalid UTF-8 at byte offset 0"},
      {"surrogate U+D800", "ok \xED\xA0\x80", "x.txt:1: invalid UTF-8 at byte offset 3"},
      {"above U+10FFFF", "\n\n\xF4\x90\x80\x80", "x.txt:3: invalid UTF-8 at byte offset 2"},
  };
  for (const Case& c : cases) {
    testing::TempDir dir;
    Write(dir.path() / "x.txt", c.bytes);
    EXPECT_THAT(LoadCorpus(dir.path(), AllTrain()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expected)))
        << c.name;
  }
}

TEST(CorpusTest, BadJsonLinesSayWhatIsWrong) {
  struct Case {
    const char* line;
    const char* expected;
  };
  const Case cases[] = {
      {"{\"text\": ", "bad.jsonl:2: not valid JSON"},
      {"text: hello", "bad.jsonl:2: not valid JSON"},
      {"{\"text\": 1e999}", "bad.jsonl:2: not valid JSON"},
      {"{\"text\": \"\\ud800\"}", "bad.jsonl:2: not valid JSON"},  // lone surrogate escape
      {"[\"text\"]", "bad.jsonl:2: not a JSON object"},
      {"\"text\"", "bad.jsonl:2: not a JSON object"},
      {"{\"body\": \"hello\"}", "bad.jsonl:2: no \"text\" field"},
      {"{\"text\": 5}", "bad.jsonl:2: \"text\" is not a string"},
      {"{\"text\": null}", "bad.jsonl:2: \"text\" is not a string"},
      {"{\"text\": [\"a\"]}", "bad.jsonl:2: \"text\" is not a string"},
  };
  for (const Case& c : cases) {
    testing::TempDir dir;
    Write(dir.path() / "bad.jsonl", absl::StrCat("{\"text\": \"good\"}\n", c.line, "\n"));
    EXPECT_THAT(LoadCorpus(dir.path(), AllTrain()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expected)))
        << c.line;
  }
}

TEST(CorpusTest, DirectoryWithoutDocumentsIsFailedPrecondition) {
  testing::TempDir empty;
  EXPECT_THAT(
      LoadCorpus(empty.path(), AllTrain()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no .txt or .jsonl documents")));
  testing::TempDir others;
  Write(others.path() / "notes.md", "text");
  Write(others.path() / "sub/data.csv", "a,b");
  Write(others.path() / "only_blank.txt", "   \n");
  EXPECT_THAT(
      LoadCorpus(others.path(), AllTrain()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr(others.path().string()), HasSubstr("no .txt or .jsonl documents"))));
}

TEST(CorpusTest, MissingDirectoryIsNotFoundAndAFileIsNotADirectory) {
  testing::TempDir dir;
  EXPECT_THAT(LoadCorpus(dir.path() / "nope", AllTrain()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  Write(dir.path() / "file.txt", "text");
  EXPECT_THAT(LoadCorpus(dir.path() / "file.txt", AllTrain()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a directory")));
}

TEST(CorpusTest, HeldOutFractionOutsideZeroToOneIsRejected) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "text");
  for (double fraction : {-0.1, 1.5, std::nan("")}) {
    EXPECT_THAT(LoadCorpus(dir.path(), {.held_out_fraction = fraction}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("held_out_fraction")));
  }
}

// Run in a death-test child: loads `dir` (in skip mode, which must not hide an unreadable
// file) without the capabilities, prints the status and exits 0 iff it is PERMISSION_DENIED.
[[noreturn]] void LoadWithoutFileAccessCapabilities(const fs::path& dir) {
  if (!testing::DropFileAccessCapabilities()) std::_Exit(2);
  absl::Status status = LoadCorpus(dir, Skipping()).status();
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  std::_Exit(absl::IsPermissionDenied(status) ? 0 : 1);
}

TEST(CorpusTest, UnreadableFileIsPermissionDeniedNamingIt) {
  testing::TempDir dir;
  Write(dir.path() / "open.txt", "readable");
  const fs::path secret = dir.path() / "secret.txt";
  Write(secret, "mode 000");
  ASSERT_EQ(chmod(secret.c_str(), 0), 0);
  const int fd = open(secret.c_str(), O_RDONLY);
  if (fd >= 0) {
    // This process may read any file (root with CAP_DAC_OVERRIDE): the mode does not stop it,
    // so the file loads. The error path is checked in a child without that capability.
    close(fd);
    absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
    ASSERT_THAT(corpus, IsOk());
    EXPECT_EQ(corpus->train.size(), 2u);
    EXPECT_EXIT(LoadWithoutFileAccessCapabilities(dir.path()), ::testing::ExitedWithCode(0),
                "PERMISSION_DENIED: .*secret\\.txt: cannot open: Permission denied");
  } else {
    EXPECT_THAT(LoadCorpus(dir.path(), Skipping()),
                StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("secret.txt")));
  }
}

TEST(CorpusTest, DanglingSymlinkIsAnErrorNamingIt) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "fine");
  fs::create_symlink(dir.path() / "gone.txt", dir.path() / "link.txt");
  // Even root cannot read through a dangling link; skip mode does not hide it either.
  for (const CorpusOptions& options : {AllTrain(), Skipping()}) {
    EXPECT_THAT(LoadCorpus(dir.path(), options),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr("link.txt: cannot read"),
                               HasSubstr("No such file or directory"))));
  }
}

TEST(CorpusTest, SocketNamedLikeADocumentIsNotARegularFile) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "fine");
  const fs::path socket_path = dir.path() / "s.jsonl";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.string().size(), sizeof(address.sun_path));
  std::strcpy(address.sun_path, socket_path.c_str());
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_THAT(
      LoadCorpus(dir.path(), AllTrain()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("s.jsonl: not a regular file")));
  close(fd);
}

TEST(CorpusTest, FollowsFileSymlinksButNotDirectorySymlinks) {
  testing::TempDir dir;
  testing::TempDir elsewhere;
  Write(elsewhere.path() / "far.txt", "far away");
  Write(elsewhere.path() / "inside/doc.txt", "inside");
  Write(dir.path() / "a.txt", "local");
  fs::create_symlink(elsewhere.path() / "far.txt", dir.path() / "b.txt");
  fs::create_symlink(elsewhere.path() / "inside", dir.path() / "linked");
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), AllTrain());
  ASSERT_THAT(corpus, IsOk());
  EXPECT_THAT(Rows(corpus->train),
              ElementsAre(Row{"a.txt", 0, "a", "local"}, Row{"b.txt", 0, "b", "far away"}));
  EXPECT_THAT(corpus->warnings, ElementsAre(AllOf(HasSubstr("linked"), HasSubstr("not followed"))));
}

TEST(CorpusTest, SkipModeCountsAndWarnsWithTheSameMessages) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "bad \xC0\xAF byte");
  Write(dir.path() / "b.jsonl",
        "{\"text\": \"one\"}\n{\"text\": 3}\n{\"text\": \"x\xED\xA0\x80\"}\n{oops\n"
        "{\"text\": \"five\"}\n");
  Write(dir.path() / "c.txt", "good");

  // Without skipping, the first bad document stops the load.
  absl::Status first = LoadCorpus(dir.path(), AllTrain()).status();
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("a.txt:1: invalid UTF-8 at byte offset 4")));

  absl::StatusOr<Corpus> corpus = LoadCorpus(dir.path(), Skipping());
  ASSERT_THAT(corpus, IsOk());
  EXPECT_EQ(corpus->skipped, 4);
  EXPECT_THAT(Rows(corpus->train),
              ElementsAre(Row{"b.jsonl", 1, "b", "one"}, Row{"b.jsonl", 5, "b", "five"},
                          Row{"c.txt", 0, "c", "good"}));
  const std::string b = (dir.path() / "b.jsonl").string();
  // b.jsonl: line 1 is 16 bytes, line 2 is 12, so line 3 starts at 28 and its bad byte is
  // at 28 + 11 = 39.
  EXPECT_THAT(corpus->warnings,
              ElementsAre(std::string(first.message()),
                          absl::StrCat(b, ":2: \"text\" is not a string (found number)"),
                          absl::StrCat(b, ":3: invalid UTF-8 at byte offset 39"),
                          AllOf(HasSubstr(b + ":4: not valid JSON"))));
}

TEST(CorpusTest, SkipModeStillFailsWhenNothingIsLeft) {
  testing::TempDir dir;
  Write(dir.path() / "a.txt", "\xFF");
  EXPECT_THAT(
      LoadCorpus(dir.path(), Skipping()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no .txt or .jsonl documents")));
}

// SHA-256("abc") begins ba7816bf8f01cfea (FIPS 180-4), which is 0.72839491… of 2^64.
TEST(SplitTest, UsesTheBigEndianDigestPrefix) {
  EXPECT_TRUE(IsHeldOut("abc", 0.7284));
  EXPECT_FALSE(IsHeldOut("abc", 0.7283));
  EXPECT_FALSE(IsHeldOut("abc", 0.0));
  EXPECT_TRUE(IsHeldOut("abc", 1.0));
}

TEST(SplitTest, SameTextLandsOnTheSameSideWhereverItIs) {
  testing::TempDir one;
  testing::TempDir two;
  std::string jsonl;
  for (int i = 0; i < 40; ++i) {
    const std::string text = absl::StrCat("document number ", i);
    Write(one.path() / absl::StrCat("doc", i, ".txt"), text);
    jsonl = absl::StrCat("{\"text\": \"", text, "\"}\n", jsonl);  // reversed order
  }
  Write(two.path() / "all.jsonl", jsonl);
  absl::StatusOr<Corpus> a = LoadCorpus(one.path(), {.held_out_fraction = 0.3});
  absl::StatusOr<Corpus> b = LoadCorpus(two.path(), {.held_out_fraction = 0.3});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto texts = [](const std::vector<Document>& docs) {
    std::set<std::string> out;
    for (const Document& d : docs) out.insert(d.text);
    return out;
  };
  EXPECT_FALSE(a->held_out.empty());
  EXPECT_FALSE(a->train.empty());
  EXPECT_EQ(texts(a->held_out), texts(b->held_out));
  EXPECT_EQ(texts(a->train), texts(b->train));
  for (const Document& d : a->held_out) EXPECT_TRUE(IsHeldOut(d.text, 0.3)) << d.text;
  for (const Document& d : a->train) EXPECT_FALSE(IsHeldOut(d.text, 0.3)) << d.text;
}

// The hash behaves as a uniform draw per document, so the held-out count over n documents is
// Binomial(n, f): for n = 2000 and f = 0.1, σ = √(n·f·(1−f)) ≈ 13.4 documents (0.0067 of n).
// A tolerance of 0.03 is 4.5σ. The texts are fixed, so the outcome is too.
TEST(SplitTest, HeldOutShareIsCloseToTheFraction) {
  for (double fraction : {0.1, 0.25, 0.5}) {
    int held_out = 0;
    for (int i = 0; i < 2000; ++i) {
      held_out += IsHeldOut(absl::StrCat("synthetic document ", i, " of the split test"), fraction);
    }
    EXPECT_NEAR(held_out / 2000.0, fraction, 0.03) << "fraction " << fraction;
  }
}

TEST(CorpusTest, LoadsTheBundledCommunityCorpus) {
  const fs::path dir = testing::SourceDir() / "examples/data/community";
  absl::StatusOr<Corpus> corpus = LoadCorpus(dir, CorpusOptions());
  ASSERT_THAT(corpus, IsOk());
  std::map<std::string, int> per_group;
  for (const auto* side : {&corpus->train, &corpus->held_out}) {
    for (const Document& d : *side) ++per_group[d.group];
  }
  EXPECT_EQ(per_group.size(), 8u);
  for (const auto& [group, count] : per_group) EXPECT_EQ(count, 31) << group;
  EXPECT_FALSE(corpus->held_out.empty());
  EXPECT_EQ(corpus->skipped, 0);
  EXPECT_THAT(corpus->warnings, IsEmpty());
}

}  // namespace
}  // namespace tontine::text
