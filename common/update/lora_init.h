// The initial LoRA A matrix, reproducible bit for bit on any machine and without LibTorch.
//
// PEFT initialises A with kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in), and B with zeros.
// Under FFA-LoRA A stays frozen, so the coordinator (which has no LibTorch) and every client
// must hold the identical A, derived from the experiment's seed. Each element comes from a
// counter-based generator (SplitMix64, common/base/splitmix.h) keyed by the seed and the module's
// name, so it does not depend on evaluation order or thread count.
#ifndef TONTINE_COMMON_UPDATE_LORA_INIT_H_
#define TONTINE_COMMON_UPDATE_LORA_INIT_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace tontine::update {

// A [rank, in_features] row-major, for the module `module_name` (e.g.
// "model.layers.0.self_attn.q_proj"): U(−1/√in, 1/√in) with 24-bit resolution.
// REQUIRES: rank > 0, in_features > 0.
std::vector<float> InitLoraA(uint64_t seed, absl::string_view module_name, int64_t rank,
                             int64_t in_features);

}  // namespace tontine::update

#endif  // TONTINE_COMMON_UPDATE_LORA_INIT_H_
