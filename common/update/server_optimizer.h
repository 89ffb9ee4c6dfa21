// Server optimisers (Reddi et al., "Adaptive Federated Optimization", ICLR 2021): how the
// coordinator moves the global adapter given a cohort's averaged delta. DESIGN.md §6.
//
// The averaged delta Δ (Σ w_i·Δ_i / Σ w_i, the direction participants moved) plays the role
// of a negative gradient. Per element, with server learning rate η:
//   fedavg    x ← x + η·Δ
//   fedavgm   m ← β·m + Δ;                         x ← x + η·m
//   fedadam   m ← β1·m + (1−β1)·Δ;  v ← β2·v + (1−β2)·Δ²;                    x ← x + η·m/(√v + τ)
//   fedyogi   m ← β1·m + (1−β1)·Δ;  v ← v − (1−β2)·Δ²·sign(v − Δ²);          x ← x + η·m/(√v + τ)
// m and v start at zero (v at τ² for fedadam/fedyogi, as in the paper's initialisation) and
// are kept per tensor, so a tensor trained only every other round (the alternating rule)
// keeps its own moments. No bias correction, as in the paper.
#ifndef TONTINE_COMMON_UPDATE_SERVER_OPTIMIZER_H_
#define TONTINE_COMMON_UPDATE_SERVER_OPTIMIZER_H_

#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/config/experiment_config.h"

namespace tontine::update {

// Moments by tensor name; a tensor appears once the optimiser has stepped it.
struct ServerOptimizerState {
  std::map<std::string, std::vector<float>> first_moment;   // m
  std::map<std::string, std::vector<float>> second_moment;  // v (fedadam, fedyogi)
};

// Applies one server step to tensor `name`: `weights` (its elements) move by `mean_delta`
// (the same length) under `config`'s optimiser, updating `state`. INVALID_ARGUMENT when the
// lengths differ, or the state holds moments of another length for `name`.
absl::Status ApplyServerOptimizer(const config::AggregationConfig& config,
                                  const std::string& name, std::span<float> weights,
                                  std::span<const double> mean_delta,
                                  ServerOptimizerState& state);

}  // namespace tontine::update

#endif  // TONTINE_COMMON_UPDATE_SERVER_OPTIMIZER_H_
