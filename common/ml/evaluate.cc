#include "common/ml/evaluate.h"

#include <cmath>
#include <numbers>

#include "common/ml/trainer.h"

namespace tontine::ml {
namespace {

// Per-row NLL sums [B] without [B, T, vocab] logits: one row's logits at a time.
torch::Tensor RowNll(CausalLm& model, const Batch& batch) {
  torch::Tensor hidden = model->Hidden(batch.inputs);  // [B, T, H]
  torch::Tensor weight = model->OutputWeight();
  std::vector<torch::Tensor> sums;
  for (int64_t b = 0; b < hidden.size(0); ++b) {
    auto logits = torch::matmul(hidden[b], weight.t());  // [T, V]
    auto nll = torch::logsumexp(logits, -1) -
               logits.gather(1, batch.targets[b].unsqueeze(1)).squeeze(1);
    sums.push_back((nll * batch.mask[b]).sum());
  }
  return torch::stack(sums);
}

}  // namespace

double GroupMetrics::Perplexity() const { return std::exp(MeanNll()); }

double GroupMetrics::BitsPerByte() const {
  return bytes > 0 ? nll_sum / std::numbers::ln2 / static_cast<double>(bytes) : 0;
}

double EvalResult::MacroPerplexity() const {
  if (groups.empty()) return 0;
  double sum = 0;
  for (const GroupMetrics& g : groups) sum += g.Perplexity();
  return sum / static_cast<double>(groups.size());
}

EvalResult Evaluate(CausalLm& model, const text::PackedSequences& data, int batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  EvalResult result;
  for (size_t g = 0; g < data.group_names.size(); ++g) {
    result.groups.push_back({data.group_names[g], 0, 0, data.group_bytes[g]});
  }
  for (int64_t first = 0; first < data.rows(); first += batch_size) {
    std::vector<int64_t> rows;
    for (int64_t r = first; r < std::min<int64_t>(data.rows(), first + batch_size); ++r) {
      rows.push_back(r);
    }
    Batch batch = MakeBatch(data, rows);
    torch::Tensor nll = RowNll(model, batch);
    torch::Tensor counts = batch.mask.sum(1);
    for (size_t i = 0; i < rows.size(); ++i) {
      GroupMetrics& g = result.groups[static_cast<size_t>(data.RowGroup(rows[i]))];
      g.nll_sum += nll[static_cast<int64_t>(i)].item<double>();
      g.tokens += counts[static_cast<int64_t>(i)].item<int64_t>();
    }
  }
  result.total.group = "all";
  for (const GroupMetrics& g : result.groups) {
    result.total.nll_sum += g.nll_sum;
    result.total.tokens += g.tokens;
    result.total.bytes += g.bytes;
  }
  return result;
}

}  // namespace tontine::ml
