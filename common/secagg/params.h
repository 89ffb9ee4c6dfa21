// SecAgg+ parameters: the neighbour count k and Shamir threshold t of a round, and the ring
// bound of the quantised sum (DESIGN.md §5, §7).
//
// Conditions, after Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure Single-Server
// Aggregation with (Poly)Logarithmic Overhead", CCS 2020 (SecAgg+). The graph is a k-regular
// Harary graph over a uniformly random ring order (graph.h). With c = ⌈γ·n⌉ corrupt and
// d = ⌈δ·n⌉ dropped participants, placed independently of that order:
//   security (≤ 2^−σ):    the honest survivors' graph stays connected, and no honest
//                          participant has ≥ t corrupt neighbours (else the server with them
//                          could rebuild both its self-mask seed and its masking key);
//   correctness (≤ 2^−η): every participant keeps ≥ t surviving neighbours, so that its
//                          self-mask seed (survivor) or masking key (dropout) can be rebuilt.
// Each failure probability is bounded by a union bound over the n participants with exact
// hypergeometric tails (a participant's k neighbours are k of the other n − 1, drawn without
// replacement; all c corrupt and d dropped are counted among those n − 1), plus, for
// connectivity, a union bound over pairs of disjoint runs of k/2 consecutive removed ring
// positions (two such runs are necessary to split a Harary graph).
// The finder takes the smallest even k < n − 1 for which some t in [1, k] meets both bounds,
// else the full graph k = n − 1 (where both conditions are exact: c < t ≤ n − 1 − d); among
// the t that qualify it takes the one with the largest min(σ-margin, η-margin) in bits, the
// middle one (rounded up) of equally good ones. This reproduces the reference values for
// γ = 5 %, δ = 10 %, σ = 40, η = 20: n = 100 → k = 16, t = 6; n = 1000 → k = 36, t = 19.
//
// δ counts as ⌈δ·n⌉ dropouts: choose it with headroom over the typical dropout fraction.
#ifndef TONTINE_COMMON_SECAGG_PARAMS_H_
#define TONTINE_COMMON_SECAGG_PARAMS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tontine::secagg {

// What a round must guarantee.
struct SecAggRequirements {
  uint32_t cohort_size = 0;        // n, participants invited; at least 3
  double dropout_rate = 0.1;       // δ in [0, 1), fraction dropping during a round
  double corrupt_fraction = 0.05;  // γ in [0, 1), fraction colluding with the server
  int security_bits = 40;          // σ in [1, 128]: privacy fails with probability ≤ 2^−σ
  int correctness_bits = 20;       // η in [1, 128]: the round fails with probability ≤ 2^−η
};

// The graph of a round.
struct SecAggGraphParams {
  uint32_t neighbours = 0;                // k; n − 1 is the full graph
  uint32_t reconstruction_threshold = 0;  // t, shares needed to rebuild a secret
  bool full_graph = false;                // k == n − 1
};

// The (k, t) described at the top of this file. INVALID_ARGUMENT for malformed requirements
// (n < 3, a rate outside [0, 1), bits outside [1, 128]); FAILED_PRECONDITION when not even the
// full graph works (⌈γ·n⌉ + ⌈δ·n⌉ > n − 2).
absl::StatusOr<SecAggGraphParams> FindSecAggParams(const SecAggRequirements& requirements);

// The ring bound: n·(2^(B−1)−1) < 2^31 for B quantisation bits, so that the sum of n clipped
// values in two's complement uint32 cannot wrap. INVALID_ARGUMENT naming n, B and the largest
// n that fits otherwise, or when B is outside [1, 31].
absl::Status CheckRingBound(uint32_t cohort_size, uint32_t quantisation_bits);

// Validates an explicit configuration (used by the server before a round): k even or n − 1
// (full_graph set exactly then), 1 ≤ t ≤ k, and t large enough for security against γ / small
// enough for δ under the same analysis; FAILED_PRECONDITION with the reason otherwise.
// INVALID_ARGUMENT for malformed requirements, as FindSecAggParams.
absl::Status CheckSecAggParams(const SecAggRequirements& requirements,
                               const SecAggGraphParams& params);

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_PARAMS_H_
