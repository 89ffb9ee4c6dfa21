#include "common/update/server_optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tontine::update {
namespace {

// The moment vector of `name`, created at `initial` when absent.
absl::StatusOr<std::vector<float>*> Moment(std::map<std::string, std::vector<float>>& moments,
                                           const std::string& name, size_t size, float initial) {
  auto [it, inserted] = moments.try_emplace(name, size, initial);
  if (it->second.size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("server optimiser state for ", name, " holds ", it->second.size(),
                     " elements; the tensor has ", size));
  }
  return &it->second;
}

}  // namespace

absl::Status ApplyServerOptimizer(const config::AggregationConfig& config,
                                  const std::string& name, std::span<float> weights,
                                  std::span<const double> mean_delta,
                                  ServerOptimizerState& state) {
  if (weights.size() != mean_delta.size()) {
    return absl::InvalidArgumentError(absl::StrCat("server step for ", name, ": ",
                                                   weights.size(), " weights but ",
                                                   mean_delta.size(), " deltas"));
  }
  const double lr = config.server_learning_rate;
  const size_t n = weights.size();
  switch (config.server_optimizer) {
    case config::ServerOptimizer::kFedAvg:
      for (size_t i = 0; i < n; ++i) weights[i] += static_cast<float>(lr * mean_delta[i]);
      return absl::OkStatus();
    case config::ServerOptimizer::kFedAvgM: {
      auto m = Moment(state.first_moment, name, n, 0.0f);
      if (!m.ok()) return m.status();
      for (size_t i = 0; i < n; ++i) {
        (**m)[i] = static_cast<float>(config.momentum * (**m)[i] + mean_delta[i]);
        weights[i] += static_cast<float>(lr * (**m)[i]);
      }
      return absl::OkStatus();
    }
    case config::ServerOptimizer::kFedAdam:
    case config::ServerOptimizer::kFedYogi: {
      const double tau = config.epsilon, b1 = config.beta1, b2 = config.beta2;
      auto m = Moment(state.first_moment, name, n, 0.0f);
      if (!m.ok()) return m.status();
      auto v = Moment(state.second_moment, name, n, static_cast<float>(tau * tau));
      if (!v.ok()) return v.status();
      const bool yogi = config.server_optimizer == config::ServerOptimizer::kFedYogi;
      for (size_t i = 0; i < n; ++i) {
        const double d = mean_delta[i], d2 = d * d;
        const double mi = b1 * (**m)[i] + (1 - b1) * d;
        double vi = (**v)[i];
        if (yogi) {
          vi -= (1 - b2) * d2 * (vi > d2 ? 1.0 : vi < d2 ? -1.0 : 0.0);
        } else {
          vi = b2 * vi + (1 - b2) * d2;
        }
        (**m)[i] = static_cast<float>(mi);
        (**v)[i] = static_cast<float>(vi);
        weights[i] += static_cast<float>(lr * mi / (std::sqrt(vi) + tau));
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown server optimiser");
}

}  // namespace tontine::update
