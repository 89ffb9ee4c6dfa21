#include "common/secagg/masking.h"

#include <algorithm>
#include <thread>

#include "common/base/status_macros.h"

namespace tontine::secagg {
namespace {

// Words of the vector updated by every stream before moving on: 32 KiB stays in the L1/L2
// cache while all k + 1 keystreams are added to it, so the vector crosses the memory bus once
// rather than once per stream.
constexpr uint64_t kTileWords = 8192;

absl::Status ApplyOverRange(crypto::PrgAlgorithm algorithm, std::span<const MaskStream> streams,
                            std::span<uint32_t> vector, uint64_t begin, uint64_t end) {
  std::vector<crypto::Prg> prgs;
  prgs.reserve(streams.size());
  for (const MaskStream& stream : streams) {
    TONTINE_ASSIGN_OR_RETURN(crypto::Prg prg, crypto::Prg::Create(algorithm, stream.seed, begin));
    prgs.push_back(std::move(prg));
  }
  for (uint64_t tile = begin; tile < end; tile += kTileWords) {
    std::span<uint32_t> words = vector.subspan(tile, std::min(kTileWords, end - tile));
    for (size_t i = 0; i < streams.size(); ++i) {
      TONTINE_RETURN_IF_ERROR(streams[i].sign > 0 ? prgs[i].AddTo(words)
                                                  : prgs[i].SubtractFrom(words));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMasks(crypto::PrgAlgorithm algorithm, std::span<const MaskStream> streams,
                        std::span<uint32_t> vector, int threads) {
  const uint64_t words = vector.size();
  constexpr uint64_t kAlign = crypto::Prg::kPrgAlignWords;
  // Ranges of whole PRG blocks; the last takes the remainder.
  const uint64_t blocks = (words + kAlign - 1) / kAlign;
  const uint64_t workers = std::clamp<uint64_t>(threads, 1, std::max<uint64_t>(blocks, 1));
  if (workers == 1) return ApplyOverRange(algorithm, streams, vector, 0, words);

  std::vector<absl::Status> results(workers);
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  auto range = [&](uint64_t w) {
    uint64_t begin = std::min(words, blocks * w / workers * kAlign);
    uint64_t end = std::min(words, blocks * (w + 1) / workers * kAlign);
    results[w] = ApplyOverRange(algorithm, streams, vector, begin, end);
  };
  for (uint64_t w = 1; w < workers; ++w) pool.emplace_back(range, w);
  range(0);
  for (std::thread& t : pool) t.join();
  for (const absl::Status& s : results) TONTINE_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

}  // namespace tontine::secagg
