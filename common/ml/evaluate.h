// Held-out evaluation: token-weighted NLL, perplexity and bits per byte, per group (language
// tag or file) and in total.
#ifndef TONTINE_COMMON_ML_EVALUATE_H_
#define TONTINE_COMMON_ML_EVALUATE_H_

#include <string>
#include <vector>

#include "common/ml/model.h"
#include "common/text/packing.h"

namespace tontine::ml {

struct GroupMetrics {
  std::string group;
  double nll_sum = 0;   // nats, over every scored target token
  int64_t tokens = 0;   // scored target tokens (document tokens and EOS)
  uint64_t bytes = 0;   // UTF-8 bytes of the group's documents
  double MeanNll() const { return tokens > 0 ? nll_sum / tokens : 0; }
  double Perplexity() const;
  // NLL in bits per UTF-8 byte: comparable across tokenizers.
  double BitsPerByte() const;
};

struct EvalResult {
  std::vector<GroupMetrics> groups;  // in the data's group order
  GroupMetrics total;                // token-weighted over all groups
  // The unweighted mean of the groups' perplexities (each language counts the same).
  double MacroPerplexity() const;
};

// Scores every row of `data` without gradients, `batch_size` rows at a time.
EvalResult Evaluate(CausalLm& model, const text::PackedSequences& data, int batch_size = 8);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_EVALUATE_H_
