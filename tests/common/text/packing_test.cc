#include "common/text/packing.h"

#include <algorithm>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace tontine::text {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

constexpr int32_t B = ByteTokenizer::kBos;
constexpr int32_t E = ByteTokenizer::kEos;
constexpr int32_t P = ByteTokenizer::kPad;

Document Doc(std::string group, std::string text) {
  return {std::move(text), absl::StrCat(group, ".txt"), 0, std::move(group)};
}

TEST(PackTest, LaysOutATinyGroupExactly) {
  // Stream: B h i E B x E (7 tokens, 6 targets); L = 4 gives rows S[0..4] and S[4..8].
  absl::StatusOr<PackedSequences> packed =
      Pack({Doc("a", "hi"), Doc("a", "x")}, ByteTokenizer(), 4);
  ASSERT_THAT(packed, IsOk());
  EXPECT_EQ(packed->sequence_length, 4);
  EXPECT_EQ(packed->rows(), 2);
  EXPECT_THAT(packed->tokens, ElementsAre(B, 'h', 'i', E, B,  //
                                          B, 'x', E, P, P));
  EXPECT_THAT(packed->loss_mask, ElementsAre(0, 1, 1, 1, 0,    // BOS target masked
                                             0, 1, 1, 0, 0));  // PAD targets masked
  EXPECT_THAT(packed->groups, ElementsAre(0, 0));
  EXPECT_THAT(packed->group_names, ElementsAre("a"));
  EXPECT_THAT(packed->group_bytes, ElementsAre(3u));
  // The accessors read the same layout: inputs row[0, L), targets row[1, L].
  EXPECT_EQ(packed->Token(1, 0), B);
  EXPECT_EQ(packed->Token(1, 2), E);
  EXPECT_TRUE(packed->TargetCounts(0, 0));   // h after B
  EXPECT_TRUE(packed->TargetCounts(0, 2));   // E after i
  EXPECT_FALSE(packed->TargetCounts(0, 3));  // B after E
  EXPECT_FALSE(packed->TargetCounts(1, 2));  // P after E
  EXPECT_EQ(packed->RowGroup(1), 0);
}

TEST(PackTest, AStreamThatFillsRowsExactlyNeedsNoPadding) {
  // B a b E: 3 targets, L = 3 → one full row.
  absl::StatusOr<PackedSequences> packed = Pack({Doc("g", "ab")}, ByteTokenizer(), 3);
  ASSERT_THAT(packed, IsOk());
  EXPECT_THAT(packed->tokens, ElementsAre(B, 'a', 'b', E));
  EXPECT_THAT(packed->loss_mask, ElementsAre(0, 1, 1, 1));
}

TEST(PackTest, GroupsAreSortedCountedInBytesAndNeverMixed) {
  // Each group writes only its own letter, so any mixing shows as a foreign byte in a row.
  std::vector<Document> docs = {Doc("yor", "yyyyyyy"), Doc("bre", "bbb"),
                                Doc("yor", "y\xC3\xA9y"),  // é counts 2 bytes
                                Doc("bre", "bbbbbbbbbbbb"), Doc("mri", "m")};
  absl::StatusOr<PackedSequences> packed = Pack(docs, ByteTokenizer(), 5);
  ASSERT_THAT(packed, IsOk());
  EXPECT_THAT(packed->group_names, ElementsAre("bre", "mri", "yor"));
  EXPECT_THAT(packed->group_bytes, ElementsAre(15u, 1u, 11u));
  const std::set<int32_t> allowed[] = {{'b'}, {'m'}, {'y', 0xC3, 0xA9}};
  EXPECT_TRUE(std::is_sorted(packed->groups.begin(), packed->groups.end()));
  std::set<int32_t> seen_groups;
  for (int64_t row = 0; row < packed->rows(); ++row) {
    const int32_t g = packed->RowGroup(row);
    seen_groups.insert(g);
    for (int64_t i = 0; i <= packed->sequence_length; ++i) {
      const int32_t t = packed->Token(row, i);
      if (t == B || t == E || t == P) continue;
      EXPECT_TRUE(allowed[g].count(t))
          << "row " << row << " of group " << packed->group_names[g] << " holds byte " << t;
    }
  }
  EXPECT_EQ(seen_groups.size(), 3u);
}

TEST(PackTest, PaddingOnlyEndsAGroupAndIsNeverATarget) {
  std::vector<Document> docs = {Doc("a", "abcdefg"), Doc("b", "hij"), Doc("c", "klmnopqrstu")};
  absl::StatusOr<PackedSequences> packed = Pack(docs, ByteTokenizer(), 4);
  ASSERT_THAT(packed, IsOk());
  const int64_t width = packed->sequence_length + 1;
  for (int64_t row = 0; row < packed->rows(); ++row) {
    const bool last_of_group =
        row + 1 == packed->rows() || packed->RowGroup(row + 1) != packed->RowGroup(row);
    bool padding = false;
    for (int64_t i = 0; i < width; ++i) {
      const size_t at = static_cast<size_t>(row * width + i);
      if (packed->tokens[at] == P) {
        padding = true;
        EXPECT_EQ(packed->loss_mask[at], 0) << "row " << row << " token " << i;
      } else {
        EXPECT_FALSE(padding) << "PAD before a real token in row " << row;
      }
    }
    EXPECT_TRUE(!padding || last_of_group)
        << "padding in row " << row << ", not the last of its group";
  }
}

// Reference: for each group, the targets that count must be exactly its documents' tokens
// followed by EOS, in order, each once; and every stream position after the first must be a
// target of exactly one row.
TEST(PackTest, EveryDocumentTokenIsATargetExactlyOnce) {
  std::vector<Document> docs = {Doc("a", "Ñu jàpp"), Doc("b", "x"), Doc("a", "日本語 😀!"),
                                Doc("b", "a longer document in group b"), Doc("a", "z")};
  ByteTokenizer tokenizer;
  for (int length : {2, 3, 4, 7, 16, 64}) {
    absl::StatusOr<PackedSequences> packed = Pack(docs, tokenizer, length);
    ASSERT_THAT(packed, IsOk());
    std::map<std::string, std::vector<int32_t>> expected_scored, expected_targets;
    for (const Document& d : docs) {
      std::vector<int32_t> ids = tokenizer.Encode(d.text);
      auto& scored = expected_scored[d.group];
      scored.insert(scored.end(), ids.begin(), ids.end());
      scored.push_back(E);
      auto& targets = expected_targets[d.group];
      if (!targets.empty()) targets.push_back(B);  // the stream's first BOS is never a target
      targets.insert(targets.end(), ids.begin(), ids.end());
      targets.push_back(E);
    }
    std::map<std::string, std::vector<int32_t>> scored, targets;
    for (int64_t row = 0; row < packed->rows(); ++row) {
      const std::string& group = packed->group_names[packed->RowGroup(row)];
      for (int64_t i = 0; i < length; ++i) {
        const int32_t target = packed->Token(row, i + 1);
        if (target != P) targets[group].push_back(target);
        if (packed->TargetCounts(row, i)) scored[group].push_back(target);
      }
    }
    EXPECT_EQ(scored, expected_scored) << "sequence_length " << length;
    EXPECT_EQ(targets, expected_targets) << "sequence_length " << length;
  }
}

TEST(PackTest, RejectsBadSequenceLengthsAndNoDocuments) {
  ByteTokenizer tokenizer;
  for (int length : {-1, 0, 1, (1 << 20) + 1}) {
    EXPECT_THAT(Pack({Doc("a", "x")}, tokenizer, length),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sequence_length")));
  }
  EXPECT_THAT(Pack({}, tokenizer, 8),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no documents")));
}

// A tokenizer with a bug: one id beyond its vocabulary.
class OutOfRangeTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> Encode(absl::string_view) const override { return {1, 7}; }
  std::string Decode(std::span<const int32_t>) const override { return ""; }
  int32_t vocab_size() const override { return 5; }
  int32_t bos_id() const override { return 2; }
  int32_t eos_id() const override { return 3; }
  int32_t pad_id() const override { return 4; }
};

TEST(PackTest, AnIdOutsideTheVocabularyIsInternal) {
  EXPECT_THAT(Pack({Doc("a", "x")}, OutOfRangeTokenizer(), 8),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("id 7 outside [0, 5)")));
}

TEST(ShuffledRowOrderTest, IsAPermutation) {
  for (size_t rows : {0, 1, 2, 3, 100, 1001}) {
    std::vector<int64_t> order = ShuffledRowOrder(rows, 5, 0);
    std::sort(order.begin(), order.end());
    std::vector<int64_t> identity(rows);
    for (size_t i = 0; i < rows; ++i) identity[i] = static_cast<int64_t>(i);
    EXPECT_EQ(order, identity) << rows << " rows";
  }
}

// Golden orders from an independent Python model of the same algorithm (SplitMix64-seeded
// xoshiro256**, Lemire bounded draws, Fisher–Yates from the top): these must never change,
// or resumed training on another machine would see a different order.
TEST(ShuffledRowOrderTest, IsTheSameOnEveryMachine) {
  EXPECT_THAT(ShuffledRowOrder(10, 42, 0), ElementsAreArray({8, 6, 4, 2, 1, 9, 0, 3, 7, 5}));
  EXPECT_THAT(ShuffledRowOrder(10, 42, 1), ElementsAreArray({9, 0, 5, 6, 7, 2, 4, 8, 3, 1}));
  EXPECT_THAT(ShuffledRowOrder(10, 7, 0), ElementsAreArray({9, 5, 8, 1, 6, 7, 3, 2, 4, 0}));
}

TEST(ShuffledRowOrderTest, DependsOnSeedAndEpoch) {
  const std::vector<int64_t> base = ShuffledRowOrder(1000, 1, 0);
  EXPECT_EQ(ShuffledRowOrder(1000, 1, 0), base);
  EXPECT_NE(ShuffledRowOrder(1000, 1, 1), base);
  EXPECT_NE(ShuffledRowOrder(1000, 2, 0), base);
}

}  // namespace
}  // namespace tontine::text
