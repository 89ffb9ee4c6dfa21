// Records for store tests.
#ifndef TONTINE_TESTS_SERVER_STORE_STORE_FIXTURES_H_
#define TONTINE_TESTS_SERVER_STORE_STORE_FIXTURES_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/store/store.h"

namespace tontine::store {

inline InviteRecord TestInvite(const std::string& id, absl::Time now, absl::Duration valid) {
  return {id, std::string(16, 's'), std::string(32, 'i'), {{"language", "wol"}}, now, now + valid,
          std::nullopt, ""};
}

inline ParticipantRecord TestParticipant(const std::string& id, const std::string& invite_id,
                                         absl::Time now) {
  ParticipantRecord p;
  p.id = id;
  p.credential_salt = std::string(16, 'c');
  p.credential_hash = std::string(32, 'h');
  p.tags = {{"language", "wol"}};
  p.invite_id = invite_id;
  p.enrolled = now;
  return p;
}

// Enrols participants p-000 … p-<n-1> and starts an experiment; returns its id.
inline absl::StatusOr<int64_t> SeedParticipantsAndExperiment(Store& store, const Clock& clock,
                                                             int n) {
  for (int i = 0; i < n; ++i) {
    std::string invite = absl::StrFormat("%016x", i + 1);
    absl::Status st = store.CreateInvite(TestInvite(invite, clock.Now(), absl::Hours(1)));
    if (st.ok()) {
      st = store.RedeemInvite(invite,
                              TestParticipant(absl::StrFormat("p-%03d", i), invite, clock.Now()));
    }
    if (!st.ok()) return st;
  }
  return store.StartExperiment({0, "exp", "kind: experiment\nname: exp\n", 42, clock.Now(),
                                std::nullopt, "running"});
}

inline RoundRecord TestRound(int64_t id, int64_t experiment_id, int cohort, absl::Time now) {
  RoundRecord r;
  r.id = id;
  r.experiment_id = experiment_id;
  r.number = static_cast<int>(id);
  r.outcome = "committed";
  r.started = now;
  r.finished = now + absl::Seconds(30);
  r.participants = cohort;
  r.bytes_up = 1000 * cohort;
  r.bytes_down = 2000 * cohort;
  r.metrics_json = absl::StrCat(R"({"wol":{"nll_sum":)", 10 * id, R"(,"tokens":100}})");
  for (int i = 0; i < cohort; ++i) {
    r.cohort.push_back({absl::StrFormat("p-%03d", i), i, "included"});
  }
  return r;
}

inline AdapterRecord TestAdapter(int64_t version, int64_t experiment_id, int64_t round_id,
                                 absl::Time now) {
  return {version, experiment_id, round_id, absl::StrCat("adapters/v", version),
          std::string(32, static_cast<char>('a' + version % 26)), 4096, now};
}

}  // namespace tontine::store

#endif  // TONTINE_TESTS_SERVER_STORE_STORE_FIXTURES_H_
