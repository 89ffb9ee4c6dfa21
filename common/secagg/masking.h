// Expanding mask seeds into a vector in Z_2^32: the cost of SecAgg+ lives here (DESIGN.md §7:
// PRG expansion and memory bandwidth, not public-key work). One code path for the client,
// which adds its masks, and the server, which removes them from the running sum.
#ifndef TONTINE_COMMON_SECAGG_MASKING_H_
#define TONTINE_COMMON_SECAGG_MASKING_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/crypto/prg.h"
#include "common/crypto/secret.h"

namespace tontine::secagg {

// One keystream to apply: vector += sign · PRG(seed), word by word mod 2^32.
struct MaskStream {
  crypto::Secret32 seed;
  int sign = +1;  // +1 adds the keystream, −1 subtracts it
};

// Applies every stream to `vector`. With threads > 1 the vector is cut into that many word
// ranges (aligned to Prg::kPrgAlignWords) and each thread expands every stream over its own
// range only, starting the stream at the range's offset: the work splits evenly, and no thread
// holds more than its PRG buffer besides the shared vector (O(d) memory in all). threads ≥ 1.
// INTERNAL if OpenSSL fails.
absl::Status ApplyMasks(crypto::PrgAlgorithm algorithm, std::span<const MaskStream> streams,
                        std::span<uint32_t> vector, int threads);

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_MASKING_H_
