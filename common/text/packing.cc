#include "common/text/packing.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/text/rng.h"

namespace tontine::text {
namespace {

constexpr int kMaxSequenceLength = 1 << 20;

// One group's concatenated documents.
struct Stream {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> counts;  // 1 for document tokens and EOS, 0 for BOS
  uint64_t bytes = 0;
};

absl::Status Append(const Document& doc, const Tokenizer& tokenizer, Stream& stream) {
  std::vector<int32_t> ids = tokenizer.Encode(doc.text);
  for (int32_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) {
      return absl::InternalError(absl::StrCat(doc.file, ":", doc.line, ": tokenizer returned id ",
                                              id, " outside [0, ", tokenizer.vocab_size(), ")"));
    }
  }
  stream.tokens.push_back(tokenizer.bos_id());
  stream.counts.push_back(0);
  stream.tokens.insert(stream.tokens.end(), ids.begin(), ids.end());
  stream.counts.insert(stream.counts.end(), ids.size(), 1);
  stream.tokens.push_back(tokenizer.eos_id());
  stream.counts.push_back(1);
  stream.bytes += doc.text.size();
  return absl::OkStatus();
}

// Cuts one group's stream into rows of L + 1 tokens, each overlapping the previous by one.
void CutRows(const Stream& stream, int32_t group, int32_t pad, PackedSequences& out) {
  const size_t length = static_cast<size_t>(out.sequence_length);
  const size_t n = stream.tokens.size();  // ≥ 2: every document adds BOS and EOS
  for (size_t start = 0; start + 1 < n; start += length) {
    for (size_t i = 0; i <= length; ++i) {
      const size_t pos = start + i;
      const bool inside = pos < n;
      out.tokens.push_back(inside ? stream.tokens[pos] : pad);
      out.loss_mask.push_back(inside && i > 0 ? stream.counts[pos] : 0);
    }
    out.groups.push_back(group);
  }
}

}  // namespace

absl::StatusOr<PackedSequences> Pack(const std::vector<Document>& documents,
                                     const Tokenizer& tokenizer, int sequence_length) {
  if (sequence_length < 2 || sequence_length > kMaxSequenceLength) {
    return absl::InvalidArgumentError(absl::StrCat("sequence_length must be in [2, ",
                                                   kMaxSequenceLength, "], got ", sequence_length));
  }
  if (documents.empty()) return absl::InvalidArgumentError("no documents to pack");
  std::map<std::string, Stream> streams;  // sorted by group name
  for (const Document& doc : documents) {
    if (absl::Status s = Append(doc, tokenizer, streams[doc.group]); !s.ok()) return s;
  }
  PackedSequences out;
  out.sequence_length = sequence_length;
  for (auto& [name, stream] : streams) {
    const auto group = static_cast<int32_t>(out.group_names.size());
    out.group_names.push_back(name);
    out.group_bytes.push_back(stream.bytes);
    CutRows(stream, group, tokenizer.pad_id(), out);
    stream = Stream();  // release the group's memory early
  }
  return out;
}

std::vector<int64_t> ShuffledRowOrder(size_t rows, uint64_t seed, uint64_t epoch) {
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), int64_t{0});
  // Each (seed, epoch) pair gets its own stream: both are hashed into the generator's seed.
  Xoshiro256StarStar rng(SplitMix64(seed).Next() ^ SplitMix64(~epoch).Next());
  for (size_t i = rows; i > 1; --i) {
    std::swap(order[i - 1], order[rng.Below(i)]);
  }
  return order;
}

}  // namespace tontine::text
