// SecAgg+ costs against the raw AES-256-CTR keystream measured in the same run (issue 4):
//   client: masking an update of d words with k neighbours expands (k+1)·d words;
//   server: Finish on n participants with 10 % dropped after ShareKeys expands one stream per
//           survivor plus one per (dropped, surviving neighbour) pair, on 2 threads;
//   bytes:  protocol messages per participant beside the masked vector.
// Each figure is the median over --repeats rounds of real protocol runs in one process
// (tests/common/secagg/simulation.h). Usage: secagg_bench [--repeats N] [--quick]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "absl/time/clock.h"
#include "common/crypto/prg.h"
#include "common/secagg/graph.h"
#include "tests/common/secagg/simulation.h"

namespace tontine::secagg::testing {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// The floor: OpenSSL's AES-256-CTR keystream on one core, in bytes per second, encrypting a
// zeroed 64 KiB buffer in place (the same EVP call our PRG makes), 256 MiB per measurement.
double AesCtrFloorBytesPerSecond(int repeats) {
  std::vector<unsigned char> buf(64 << 10, 0);
  unsigned char key[32] = {1}, iv[16] = {0};
  std::vector<double> rates;
  for (int r = 0; r < std::max(repeats, 3); ++r) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, key, iv);
    const size_t total = size_t{256} << 20;
    int len = 0;
    const absl::Time start = absl::Now();
    for (size_t done = 0; done < total; done += buf.size()) {
      EVP_EncryptUpdate(ctx, buf.data(), &len, buf.data(), static_cast<int>(buf.size()));
    }
    rates.push_back(total / absl::ToDoubleSeconds(absl::Now() - start));
    EVP_CIPHER_CTX_free(ctx);
  }
  return Median(rates);
}

InputFn Zeros(uint64_t words) {
  return [words](uint32_t) { return std::vector<uint32_t>(words, 0); };
}

void ClientBench(double floor, int repeats, bool quick) {
  std::printf("\nclient: MaskInput, one thread (full graph of k+1 participants)\n");
  std::printf("%4s %10s %10s %12s %10s\n", "k", "d", "mask s", "floor s", "x floor");
  struct Case { uint32_t k, t; };
  for (Case c : {Case{16, 6}, Case{36, 19}}) {
    for (uint64_t d : {uint64_t{100000}, uint64_t{1000000}, uint64_t{10000000}}) {
      if (quick && d > 1000000) continue;
      const v1::SecAggParameters params = MakeParameters(c.k + 1, c.k, c.t, d);
      std::vector<double> seconds;
      for (int r = 0; r < repeats; ++r) {
        RoundOutcome o = RunRound(r + 1, params, Zeros(d), {});
        if (!o.status.ok()) std::printf("round failed: %s\n", o.status.ToString().c_str());
        for (double s : o.mask_seconds) seconds.push_back(s);
      }
      const double mask = Median(seconds);
      const double ideal = (c.k + 1.0) * d * 4 / floor;
      std::printf("%4u %10lu %10.4f %12.4f %9.2fx\n", c.k, static_cast<unsigned long>(d), mask,
                  ideal, mask / ideal);
    }
  }
}

// Streams Finish expands: one per survivor, one per (dropped participant that had shared,
// surviving neighbour).
uint64_t StreamsExpanded(const v1::SecAggParameters& params, const RoundOutcome& o,
                         const std::set<uint32_t>& dropped) {
  std::vector<uint32_t> members(params.cohort_size());
  for (uint32_t i = 0; i < members.size(); ++i) members[i] = i;
  NeighbourGraph graph = *NeighbourGraph::Create(members, params.neighbours(), o.session_id);
  const std::set<uint32_t> survivors(o.aggregate.included.begin(), o.aggregate.included.end());
  uint64_t streams = survivors.size();
  for (uint32_t w : dropped) {
    const std::vector<uint32_t> neighbours = graph.NeighboursOf(w).value();
    for (uint32_t v : neighbours) streams += survivors.contains(v);
  }
  return streams;
}

void ServerBench(double floor, int repeats, bool quick) {
  std::printf("\nserver: Finish (rebuild secrets, remove masks), 2 threads, d = 10^6, "
              "10 %% dropped after ShareKeys\n");
  std::printf("%5s %3s %3s %8s %10s %12s %10s %14s %12s %12s\n", "n", "k", "t", "streams",
              "finish s", "floor/2 s", "x floor", "RSS MiB", "sent B/p", "recv B/p");
  struct Case { uint32_t n, k, t; };
  for (Case c : {Case{100, 16, 6}, Case{1000, 36, 19}}) {
    if (quick && c.n > 100) continue;
    const uint64_t d = 1000000;
    const v1::SecAggParameters params = MakeParameters(c.n, c.k, c.t, d);
    std::vector<double> seconds, ratios, sent, received;
    uint64_t streams = 0;
    for (int r = 0; r < repeats; ++r) {
      std::mt19937_64 rng(r);
      Dropouts drop;
      while (drop.after_share_keys.size() < c.n / 10) drop.after_share_keys.insert(rng() % c.n);
      RoundOutcome o = RunRound(100 + r, params, Zeros(d), drop, /*server_threads=*/2);
      if (!o.status.ok()) {
        std::printf("round failed: %s\n", o.status.ToString().c_str());
        continue;
      }
      streams = StreamsExpanded(params, o, drop.after_share_keys);
      const double ideal = streams * d * 4.0 / (2 * floor);
      seconds.push_back(o.finish_seconds);
      ratios.push_back(o.finish_seconds / ideal);
      for (uint32_t i : o.aggregate.included) {
        sent.push_back(o.bytes_sent[i]);
        received.push_back(o.bytes_received[i]);
      }
    }
    std::printf("%5u %3u %3u %8lu %10.3f %12.3f %9.2fx %14.0f %12.0f %12.0f\n", c.n, c.k, c.t,
                static_cast<unsigned long>(streams), Median(seconds),
                streams * d * 4.0 / (2 * floor), Median(ratios), PeakRssMiB(), Median(sent),
                Median(received));
  }
  std::printf("(RSS is the process's peak so far: one O(d) sum of %.1f MiB and one input at a "
              "time, against %.0f MiB for n vectors)\n",
              1000000 * 4 / 1048576.0, 1000.0 * 1000000 * 4 / 1048576.0);
}

}  // namespace
}  // namespace tontine::secagg::testing

int main(int argc, char** argv) {
  int repeats = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else {
      std::fprintf(stderr, "usage: secagg_bench [--repeats N] [--quick]\n");
      return 2;
    }
  }
  using namespace tontine::secagg::testing;
  const double floor = AesCtrFloorBytesPerSecond(repeats);
  std::printf("floor: AES-256-CTR keystream, one core: %.2f GB/s (OpenSSL EVP, 64 KiB buffer); "
              "the rounds use AES-256-CTR; this CPU's default PRG: %s\n",
              floor / 1e9,
              std::string(tontine::crypto::PrgAlgorithmName(
                              tontine::crypto::DefaultPrgAlgorithm())).c_str());
  ClientBench(floor, repeats, quick);
  ServerBench(floor, repeats, quick);
  return 0;
}
