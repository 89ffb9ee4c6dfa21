#include "common/text/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine::text {
namespace {

using ::testing::ElementsAre;

TEST(ByteTokenizerTest, EncodesEachUtf8ByteAsItsValue) {
  ByteTokenizer tokenizer;
  EXPECT_THAT(tokenizer.Encode("A\xC3\xA9"), ElementsAre(0x41, 0xC3, 0xA9));  // "Aé"
  EXPECT_THAT(tokenizer.Encode("\xF0\x9F\x98\x80"), ElementsAre(0xF0, 0x9F, 0x98, 0x80));
  EXPECT_TRUE(tokenizer.Encode("").empty());
}

TEST(ByteTokenizerTest, RoundTripsMultiByteText) {
  ByteTokenizer tokenizer;
  const std::vector<std::string> texts = {"Ñu jàpp te nangu", "Māori", "日本語のテキスト",
                                          "emoji 😀", std::string("NUL\x00 and \xFF", 10)};
  for (const std::string& text : texts) {
    std::vector<int32_t> ids = tokenizer.Encode(text);
    EXPECT_EQ(ids.size(), text.size());
    EXPECT_EQ(tokenizer.Decode(ids), text);
  }
}

TEST(ByteTokenizerTest, DecodeSkipsSpecialAndOutOfRangeIds) {
  ByteTokenizer tokenizer;
  std::vector<int32_t> ids = {
      ByteTokenizer::kBos, 'h', ByteTokenizer::kPad, 'i', ByteTokenizer::kEos, -1, 259, 100000};
  EXPECT_EQ(tokenizer.Decode(ids), "hi");
}

TEST(ByteTokenizerTest, SpecialIdsFollowTheBytes) {
  ByteTokenizer tokenizer;
  const Tokenizer& base = tokenizer;
  EXPECT_EQ(base.bos_id(), 256);
  EXPECT_EQ(base.eos_id(), 257);
  EXPECT_EQ(base.pad_id(), 258);
  EXPECT_EQ(base.vocab_size(), 259);
}

}  // namespace
}  // namespace tontine::text
