// An in-process SecAgg+ round for tests and benchmarks: one SecAggServer, n SecAggClients,
// the server's messages carried by a queue (the fake transport of STYLE.md), and dropouts
// injected at each phase by leaving participants out of the exchange from then on.
#ifndef TONTINE_TESTS_COMMON_SECAGG_SIMULATION_H_
#define TONTINE_TESTS_COMMON_SECAGG_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secagg/client.h"
#include "common/secagg/server.h"
#include "tontine/v1/secagg.pb.h"

namespace tontine::secagg::testing {

// Who drops out, and when. A participant in one set takes no part from that point on.
struct Dropouts {
  std::set<uint32_t> before_advertise;  // never advertises keys
  std::set<uint32_t> after_advertise;   // advertises, sends no shares
  std::set<uint32_t> after_share_keys;  // sends shares, uploads nothing
  std::set<uint32_t> after_masked_input;  // uploads, never sees the unmask request
  std::set<uint32_t> during_unmask;     // receives the unmask request, its answer is lost
};

class QueueSender : public ParticipantSender {
 public:
  void Send(uint32_t index, v1::ServerMessage message) override {
    inbox[index].push_back(std::move(message));
  }
  std::map<uint32_t, std::vector<v1::ServerMessage>> inbox;
};

// Parameters for n participants, k neighbours, threshold t and d words (1 metric word).
v1::SecAggParameters MakeParameters(uint32_t n, uint32_t k, uint32_t t, uint64_t words);

// n random vectors of params.vector_words words from `seed`.
std::vector<std::vector<uint32_t>> RandomInputs(const v1::SecAggParameters& params,
                                                uint64_t seed);

struct RoundOutcome {
  absl::Status status;          // OK, or the first ABORTED / error of the server
  SecAggAggregate aggregate;    // when OK
  std::vector<absl::Status> client_status;  // the last error each client returned (OK if none)
  // For benchmarks: wall time of each client's MaskInput (0 if it did not mask) and of the
  // server's Finish; serialised bytes of every protocol message each participant sent and
  // received, the masked vector itself excepted.
  std::vector<double> mask_seconds;
  std::string session_id;  // once AdvertiseKeys closed
  double finish_seconds = 0;
  std::vector<uint64_t> bytes_sent;
  std::vector<uint64_t> bytes_received;
};

// Participant i's vector of params.vector_words words.
using InputFn = std::function<std::vector<uint32_t>(uint32_t index)>;

// Runs one round. The first non-OK status of a server Close/Finish ends it. Vectors are made
// when a participant masks and dropped once uploaded, so memory stays O(d).
RoundOutcome RunRound(uint64_t round_id, const v1::SecAggParameters& params, const InputFn& input,
                      const Dropouts& dropouts, int server_threads = 1);
RoundOutcome RunRound(uint64_t round_id, const v1::SecAggParameters& params,
                      const std::vector<std::vector<uint32_t>>& inputs, const Dropouts& dropouts,
                      int server_threads = 1);

// Σ inputs[i] mod 2^32 over `included`.
std::vector<uint32_t> PlainSum(const std::vector<std::vector<uint32_t>>& inputs,
                               const std::vector<uint32_t>& included);

}  // namespace tontine::secagg::testing

#endif  // TONTINE_TESTS_COMMON_SECAGG_SIMULATION_H_
