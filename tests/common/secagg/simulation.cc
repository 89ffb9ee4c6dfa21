#include "tests/common/secagg/simulation.h"

#include <random>

#include "absl/time/clock.h"

namespace tontine::secagg::testing {

v1::SecAggParameters MakeParameters(uint32_t n, uint32_t k, uint32_t t, uint64_t words) {
  v1::SecAggParameters p;
  p.set_cohort_size(n);
  p.set_neighbours(k);
  p.set_reconstruction_threshold(t);
  p.set_quantisation_bits(16);
  p.set_clip_l2(1.0f);
  p.set_clip_linf(0.1f);
  p.set_vector_words(words);
  p.set_delta_words(words - 2);
  p.set_metric_words(1);
  p.set_prg(v1::PRG_ALGORITHM_AES256_CTR);
  return p;
}

std::vector<std::vector<uint32_t>> RandomInputs(const v1::SecAggParameters& params,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint32_t>> inputs(params.cohort_size(),
                                            std::vector<uint32_t>(params.vector_words()));
  for (auto& v : inputs) {
    for (uint32_t& w : v) w = static_cast<uint32_t>(rng());
  }
  return inputs;
}

std::vector<uint32_t> PlainSum(const std::vector<std::vector<uint32_t>>& inputs,
                               const std::vector<uint32_t>& included) {
  std::vector<uint32_t> sum(inputs.front().size(), 0);
  for (uint32_t i : included) {
    for (size_t w = 0; w < sum.size(); ++w) sum[w] += inputs[i][w];
  }
  return sum;
}

namespace {

// Takes the one message of `index`'s inbox (the request of the phase just closed).
v1::ServerMessage Take(QueueSender& sender, uint32_t index) {
  std::vector<v1::ServerMessage>& box = sender.inbox[index];
  v1::ServerMessage m = box.front();
  box.erase(box.begin());
  return m;
}

}  // namespace

RoundOutcome RunRound(uint64_t round_id, const v1::SecAggParameters& params,
                      const std::vector<std::vector<uint32_t>>& inputs, const Dropouts& dropouts,
                      int server_threads) {
  return RunRound(
      round_id, params, [&inputs](uint32_t i) { return inputs[i]; }, dropouts, server_threads);
}

RoundOutcome RunRound(uint64_t round_id, const v1::SecAggParameters& params, const InputFn& input,
                      const Dropouts& dropouts, int server_threads) {
  RoundOutcome out;
  const uint32_t n = params.cohort_size();
  out.client_status.assign(n, absl::OkStatus());
  out.mask_seconds.assign(n, 0);
  out.bytes_sent.assign(n, 0);
  out.bytes_received.assign(n, 0);
  QueueSender sender;
  absl::StatusOr<std::unique_ptr<SecAggServer>> server =
      SecAggServer::Create(round_id, params, &sender, server_threads);
  if (!server.ok()) {
    out.status = server.status();
    return out;
  }
  std::vector<std::unique_ptr<SecAggClient>> clients(n);
  std::set<uint32_t> alive;
  for (uint32_t i = 0; i < n; ++i) {
    clients[i] = *SecAggClient::Create(round_id, i, params);
    if (!dropouts.before_advertise.contains(i)) alive.insert(i);
  }
  auto fail = [&](uint32_t i, absl::Status s) {
    out.client_status[i] = std::move(s);
    alive.erase(i);
  };
  auto drop = [&](const std::set<uint32_t>& set) {
    for (uint32_t i : set) alive.erase(i);
  };

  auto take = [&](uint32_t i) {
    v1::ServerMessage m = Take(sender, i);
    out.bytes_received[i] += m.ByteSizeLong();
    return m;
  };
  auto sent = [&](uint32_t i, const google::protobuf::Message& m) {
    out.bytes_sent[i] += m.ByteSizeLong();
  };

  // Phase 1.
  for (uint32_t i : alive) {
    v1::AdvertiseKeys keys = *clients[i]->AdvertiseKeys();
    sent(i, keys);
    absl::Status s = (*server)->HandleAdvertiseKeys(i, keys);
    if (!s.ok()) out.client_status[i] = s;
  }
  if (out.status = (*server)->CloseAdvertiseKeys(); !out.status.ok()) return out;
  out.session_id = (*server)->session_id();
  drop(dropouts.after_advertise);

  // Phase 2.
  for (uint32_t i : std::set<uint32_t>(alive)) {
    absl::StatusOr<v1::ShareKeys> shares =
        clients[i]->HandleShareKeysRequest(take(i).share_keys_request());
    if (!shares.ok()) {
      fail(i, shares.status());
      continue;
    }
    sent(i, *shares);
    if (absl::Status s = (*server)->HandleShareKeys(i, *shares); !s.ok()) fail(i, s);
  }
  if (out.status = (*server)->CloseShareKeys(60000); !out.status.ok()) return out;
  drop(dropouts.after_share_keys);

  // Phase 3. A participant the server left out gets no request and cannot go on.
  for (uint32_t i : std::set<uint32_t>(alive)) {
    if (sender.inbox[i].empty()) {
      fail(i, absl::AbortedError("left out of the masked-input phase"));
      continue;
    }
    absl::Status s =
        clients[i]->HandleMaskedInputRequest(take(i).masked_input_request());
    if (!s.ok()) {
      fail(i, s);
      continue;
    }
    const std::vector<uint32_t> vector = input(i);
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<uint32_t>> masked = clients[i]->MaskInput(vector);
    out.mask_seconds[i] = absl::ToDoubleSeconds(absl::Now() - start);
    if (!masked.ok()) {
      fail(i, masked.status());
      continue;
    }
    if (s = (*server)->HandleMaskedInput(i, *masked); !s.ok()) fail(i, s);
  }
  if (out.status = (*server)->CloseMaskedInput(60000); !out.status.ok()) return out;
  drop(dropouts.after_masked_input);

  // Phase 4.
  for (uint32_t i : std::set<uint32_t>(alive)) {
    absl::StatusOr<v1::UnmaskResponse> response =
        clients[i]->HandleUnmaskRequest(take(i).unmask_request());
    if (!response.ok()) {
      fail(i, response.status());
      continue;
    }
    sent(i, *response);
    if (dropouts.during_unmask.contains(i)) continue;
    if (absl::Status s = (*server)->HandleUnmaskResponse(i, *response); !s.ok()) fail(i, s);
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<SecAggAggregate> aggregate = (*server)->Finish();
  out.finish_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  out.status = aggregate.status();
  if (aggregate.ok()) out.aggregate = *std::move(aggregate);
  return out;
}

}  // namespace tontine::secagg::testing
