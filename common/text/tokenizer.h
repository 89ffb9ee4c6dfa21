// Tokenizers turn document text into model token ids and back.
//
// `Tokenizer` is the seam between the text side and the model: the byte-level model built by
// `tontine pretrain` uses `ByteTokenizer`; a Hugging Face tokenizer.json BPE can implement the
// same interface later (its added tokens supplying BOS/EOS/PAD), and packing, training and
// evaluation need not change.
#ifndef TONTINE_COMMON_TEXT_TOKENIZER_H_
#define TONTINE_COMMON_TEXT_TOKENIZER_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tontine::text {

// Maps text to ids in [0, vocab_size()) and back.
// Implementations are immutable after construction. Safe for concurrent use.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids of `text`, without BOS/EOS (packing adds those). `text` is valid UTF-8 (the
  // corpus loader guarantees it); every returned id is in [0, vocab_size()).
  virtual std::vector<int32_t> Encode(absl::string_view text) const = 0;

  // The text of `ids`. Special ids (BOS, EOS, PAD) and ids outside [0, vocab_size()) are
  // skipped, so decoding model output never fails. The result may be invalid UTF-8 when
  // `ids` cuts a multi-byte character (a sampled sequence can).
  virtual std::string Decode(std::span<const int32_t> ids) const = 0;

  // Number of ids, special ids included (the model's embedding rows).
  virtual int32_t vocab_size() const = 0;
  // Starts every document.
  virtual int32_t bos_id() const = 0;
  // Ends every document.
  virtual int32_t eos_id() const = 0;
  // Fills the tail of the last sequence of a group; never a training target.
  virtual int32_t pad_id() const = 0;
};

// One id per UTF-8 byte: ids 0–255 are the bytes, then BOS = 256, EOS = 257, PAD = 258.
// Safe for concurrent use.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kBos = 256;
  static constexpr int32_t kEos = 257;
  static constexpr int32_t kPad = 258;
  static constexpr int32_t kVocabSize = 259;

  std::vector<int32_t> Encode(absl::string_view text) const override;
  std::string Decode(std::span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return kVocabSize; }
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  int32_t pad_id() const override { return kPad; }
};

}  // namespace tontine::text

#endif  // TONTINE_COMMON_TEXT_TOKENIZER_H_
