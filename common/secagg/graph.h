// The SecAgg+ neighbour graph of a round (Bell et al. CCS 2020): a k-regular Harary graph
// H(k, m) over the m participants that advertised keys, laid out on a ring in a pseudo-random
// order that every participant and the server derive from the session id alone.
//
// Ring order, so that other implementations can reproduce it exactly:
//   stream   = block 0 ‖ block 1 ‖ …, block i = SHA-256("tontine secagg graph v1" ‖ session id
//              (32 bytes) ‖ i as 8 bytes big-endian), read as 8-byte big-endian words;
//   uniform  = a word w, rejected while w ≥ 2^64 − (2^64 mod b), then w mod b, for [0, b);
//   shuffle  = Fisher–Yates: ring = the members in ascending order; for i = m − 1 down to 1,
//              swap ring[i] with ring[uniform(i + 1)].
// The member at ring position p neighbours those at positions p ± 1 … p ± k/2 (mod m). When
// k ≥ m − 1 the graph is the full graph (every member neighbours every other).
#ifndef TONTINE_COMMON_SECAGG_GRAPH_H_
#define TONTINE_COMMON_SECAGG_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::secagg {

// Who shares masks and secrets with whom in one round.
// Lifecycle: Create → queries. Constant after construction; safe for concurrent use.
class NeighbourGraph {
 public:
  // `members`: the cohort indices that advertised keys, ascending. `neighbours`: k, even
  // unless ≥ m − 1 (then the full graph). INVALID_ARGUMENT: members empty, unsorted or
  // duplicated; k odd (unless ≥ m − 1); k = 0; session_id not 32 bytes. INTERNAL if SHA-256
  // fails.
  static absl::StatusOr<NeighbourGraph> Create(std::vector<uint32_t> members,
                                               uint32_t neighbours,
                                               absl::string_view session_id);

  bool full_graph() const { return full_graph_; }
  // The members, ascending.
  const std::vector<uint32_t>& members() const { return members_; }
  // The members in ring order: ring_order()[p] sits at ring position p (also computed for
  // the full graph, where it does not matter).
  const std::vector<uint32_t>& ring_order() const { return ring_order_; }
  bool Contains(uint32_t index) const;

  // Sorted cohort indices of index's neighbours (never index itself): k of them, or m − 1 in
  // the full graph. NOT_FOUND if index is not a member. O(k log k).
  absl::StatusOr<std::vector<uint32_t>> NeighboursOf(uint32_t index) const;

  // 1 + the position of `holder` in owner's sorted neighbour list: the Shamir x at which
  // `holder` holds owner's shares. NOT_FOUND unless both are members and neighbours. O(k).
  absl::StatusOr<uint32_t> ShareXOf(uint32_t owner, uint32_t holder) const;

 private:
  NeighbourGraph(std::vector<uint32_t> members, std::vector<uint32_t> ring_order,
                 uint32_t degree, bool full_graph);

  // The slot of `index` in members_, or members_.size() if absent.
  size_t SlotOf(uint32_t index) const;

  // Constant after construction.
  std::vector<uint32_t> members_;        // ascending
  std::vector<uint32_t> ring_order_;     // a permutation of members_
  std::vector<uint32_t> ring_position_;  // ring_position_[s]: where members_[s] sits
  uint32_t degree_ = 0;                  // neighbours per member: k, or m − 1 in the full graph
  bool full_graph_ = false;
  // Rows are computed per query (O(k)), so memory stays O(m) whatever k is.
};

}  // namespace tontine::secagg

#endif  // TONTINE_COMMON_SECAGG_GRAPH_H_
