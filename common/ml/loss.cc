// The language-model loss without materialising [B, T, vocab] logits.
//
// For a vocabulary of 49k and 1k positions the logits, their log-softmax and its gradient
// would take ~600 MB. ChunkedNll computes Σ mask·(logsumexp(h Wᵀ) − (h Wᵀ)[target]) a chunk of
// positions at a time. The loss is a scalar, so its gradient is known up to the incoming
// scale g before backward runs:
//   ∂L/∂h = g · (softmax(h Wᵀ) − onehot(target)) · mask · W,  ∂L/∂W = g · (…)ᵀ h.
// When autograd will need them, forward computes the unscaled gradients from each chunk's
// logits while it has them, and backward only multiplies by g. This saves recomputing the
// logits in backward (for SmolLM2-135M a tenth of a LoRA step's FLOPs); the price is that a
// forward whose loss is never differentiated still pays for the gradient. Two half-chunk
// buffers are reused across chunks: fresh tensors this large come from mmap and are
// page-faulted in every time, and at 64 MB each they would set the peak memory of a LoRA step.
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "common/ml/model.h"

namespace tontine::ml {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Rows per chunk so that a chunk's logits take about 64 MB.
int64_t ChunkRows(int64_t vocab) { return std::max<int64_t>(16, (int64_t{1} << 24) / vocab); }

// logsumexp over the last dimension of `logits` [len, V] into `lse` [len], exactly as
// torch::logsumexp computes it (ATen's logsumexp_out_impl), with `work` [len, V] as scratch.
void LogSumExpInto(const torch::Tensor& logits, torch::Tensor& work, torch::Tensor& lse) {
  auto maxes = at::amax(logits, {-1}, /*keepdim=*/true);  // [len, 1]
  auto maxes_squeezed = maxes.squeeze(-1);
  maxes_squeezed.masked_fill_(maxes_squeezed.abs() == INFINITY, 0);
  at::sub_out(work, logits, maxes).exp_();
  at::sum_out(lse, work, {-1});
  lse.log_().add_(maxes_squeezed);
}

// A chunk is processed in two halves of at least two rows each (a row reduction over a
// single-row tensor is split across threads differently, so a one-row half would change the
// result). Each row's logits, logsumexp and gradient do not depend on which rows share its
// block, and the loss is still summed per chunk, so the results are those of whole chunks.
std::vector<std::pair<int64_t, int64_t>> Halves(int64_t len) {
  if (len < 4) return {{0, len}};
  const int64_t first = (len + 1) / 2;
  return {{0, first}, {first, len - first}};
}

class ChunkedNll : public torch::autograd::Function<ChunkedNll> {
 public:
  // hidden [N, H]; weight [V, H]; targets [N] int64; mask [N] float (0 or 1).
  // need_hidden / need_weight: compute that gradient now, for backward to scale.
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor hidden, torch::Tensor weight,
                               torch::Tensor targets, torch::Tensor mask, bool need_hidden,
                               bool need_weight) {
    const int64_t n = hidden.size(0), vocab = weight.size(0);
    const int64_t rows = std::min(ChunkRows(vocab), n);
    const int64_t block_rows = Halves(rows)[0].second;
    torch::Tensor total = torch::zeros({}, hidden.options());
    torch::Tensor grad_hidden = need_hidden ? torch::empty_like(hidden) : torch::Tensor();
    torch::Tensor grad_weight = need_weight ? torch::zeros_like(weight) : torch::Tensor();
    torch::Tensor logits_buffer = torch::empty({block_rows, vocab}, hidden.options());
    torch::Tensor work_buffer = torch::empty({block_rows, vocab}, hidden.options());
    torch::Tensor lse = torch::empty({rows}, hidden.options());
    torch::Tensor picked = torch::empty({rows}, hidden.options());
    for (int64_t start = 0; start < n; start += rows) {
      const int64_t len = std::min(rows, n - start);
      for (auto [offset, block] : Halves(len)) {
        const int64_t first_row = start + offset;
        auto h = hidden.narrow(0, first_row, block);
        auto t = targets.narrow(0, first_row, block).unsqueeze(1);
        auto logits = logits_buffer.narrow(0, 0, block);  // [block, V]
        auto work = work_buffer.narrow(0, 0, block);
        auto block_lse = lse.narrow(0, offset, block);
        at::mm_out(logits, h, weight.t());
        LogSumExpInto(logits, work, block_lse);
        picked.narrow(0, offset, block).copy_(logits.gather(1, t).squeeze(1));
        if (!need_hidden && !need_weight) continue;
        auto p = at::_softmax_out(work, logits, -1, /*half_to_float=*/false);  // [block, V]
        p.scatter_add_(1, t, -torch::ones({block, 1}, p.options()));
        p.mul_(mask.narrow(0, first_row, block).unsqueeze(1));
        if (need_hidden) {
          torch::Tensor grad_rows = grad_hidden.narrow(0, first_row, block);
          at::mm_out(grad_rows, p, weight);
        }
        if (need_weight) grad_weight.addmm_(p.t(), h);
      }
      total += ((lse.narrow(0, 0, len) - picked.narrow(0, 0, len)) * mask.narrow(0, start, len))
                   .sum();
    }
    // Undefined when not needed; released as soon as backward has used them.
    ctx->save_for_backward({grad_hidden, grad_weight});
    return total;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const torch::Tensor& g = grad_outputs[0];
    const tensor_list saved = ctx->get_saved_variables();
    auto scaled = [&](int input) {
      const torch::Tensor& unscaled = saved[static_cast<size_t>(input)];
      if (!unscaled.defined() || !ctx->needs_input_grad(input)) return torch::Tensor();
      return unscaled * g;
    };
    return {scaled(0), scaled(1), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor CausalLmImpl::NllSum(const torch::Tensor& input_ids, const torch::Tensor& targets,
                                   const torch::Tensor& mask) {
  torch::Tensor hidden = Hidden(input_ids);
  const int64_t h = hidden.size(-1);
  torch::Tensor weight = OutputWeight();
  const bool grad_mode = torch::GradMode::is_enabled();
  return ChunkedNll::apply(hidden.reshape({-1, h}), weight, targets.reshape({-1}),
                           mask.reshape({-1}).to(torch::kFloat32),
                           grad_mode && hidden.requires_grad(), grad_mode && weight.requires_grad());
}

}  // namespace tontine::ml
