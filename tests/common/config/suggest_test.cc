#include "common/config/suggest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::config {
namespace {

using ::testing::Eq;
using ::testing::Optional;

TEST(SuggestTest, EditDistanceCountsTranspositionsAsOneEdit) {
  EXPECT_EQ(EditDistance("rank", "rank"), 0);
  EXPECT_EQ(EditDistance("rnak", "rank"), 1);
  EXPECT_EQ(EditDistance("rnk", "rank"), 1);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("", "abc"), 3);
}

TEST(SuggestTest, SuggestsOnlyPlausibleTypos) {
  std::vector<std::string> keys = {"rank", "alpha", "dropout", "target_modules"};
  EXPECT_THAT(NearestCandidate("rnak", keys), Optional(Eq("rank")));
  EXPECT_THAT(NearestCandidate("dropuot", keys), Optional(Eq("dropout")));
  EXPECT_THAT(NearestCandidate("ALPHA", keys), Optional(Eq("alpha")));
  EXPECT_THAT(NearestCandidate("target_module", keys), Optional(Eq("target_modules")));
  EXPECT_EQ(NearestCandidate("learning_rate", keys), std::nullopt);
}

}  // namespace
}  // namespace tontine::config
