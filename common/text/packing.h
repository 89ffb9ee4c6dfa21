// Packing documents into fixed-length training rows, kept apart by group so that evaluation
// can attribute loss (and bits per byte) to each group.
//
// Within a group, each document becomes BOS + tokens + EOS and the documents are concatenated
// into one stream S. Row k holds S[kL … kL+L] (L + 1 tokens, L = sequence_length): the model
// reads row[0, L) and predicts row[1, L]. Consecutive rows share one token (the last of row k
// is the first of row k+1), so every stream position after the first is a target exactly once.
// The last row of a group is filled up with PAD. Targets that count in the loss are the
// document tokens and EOS; PAD and BOS targets are masked (BOS always follows EOS, so
// predicting it says nothing about the text). A row never mixes groups.
#ifndef TONTINE_COMMON_TEXT_PACKING_H_
#define TONTINE_COMMON_TEXT_PACKING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/text/corpus.h"
#include "common/text/tokenizer.h"

namespace tontine::text {

// Immutable once built. Safe for concurrent reads.
struct PackedSequences {
  int sequence_length = 0;      // L: model inputs per row
  std::vector<int32_t> tokens;  // [rows, L + 1]
  // [rows, L + 1]: 1 where token i of the row is a target that counts (i ≥ 1, a document
  // token or EOS); 0 for i = 0, PAD and BOS.
  std::vector<uint8_t> loss_mask;
  std::vector<int32_t> groups;           // [rows]: index into group_names
  std::vector<std::string> group_names;  // sorted; only groups that have documents
  std::vector<uint64_t> group_bytes;     // [groups]: UTF-8 bytes of the group's documents

  int64_t rows() const { return static_cast<int64_t>(groups.size()); }
  // Token i ∈ [0, L] of `row`.
  int32_t Token(int64_t row, int64_t i) const { return tokens[Index(row, i)]; }
  // Whether the target at input position i ∈ [0, L) (token i + 1 of the row) counts.
  bool TargetCounts(int64_t row, int64_t i) const { return loss_mask[Index(row, i + 1)] != 0; }
  // The index into group_names of `row`'s group.
  int32_t RowGroup(int64_t row) const { return groups[static_cast<size_t>(row)]; }

 private:
  size_t Index(int64_t row, int64_t i) const {
    return static_cast<size_t>(row * (sequence_length + 1) + i);
  }
};

// Packs `documents` (in their order within each group) with `tokenizer`.
// INVALID_ARGUMENT when sequence_length is outside [2, 2^20] or there are no documents;
// INTERNAL when the tokenizer returns an id outside [0, vocab_size()).
absl::StatusOr<PackedSequences> Pack(const std::vector<Document>& documents,
                                     const Tokenizer& tokenizer, int sequence_length);

// A permutation of [0, rows) determined by (seed, epoch) alone: a Fisher–Yates shuffle driven
// by xoshiro256**, identical on every machine.
std::vector<int64_t> ShuffledRowOrder(size_t rows, uint64_t seed, uint64_t epoch);

}  // namespace tontine::text

#endif  // TONTINE_COMMON_TEXT_PACKING_H_
