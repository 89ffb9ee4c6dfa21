#include "common/secagg/graph.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"

namespace tontine::secagg {
namespace {

constexpr absl::string_view kGraphLabel = "tontine secagg graph v1";
constexpr size_t kSessionIdBytes = 32;

// The deterministic stream of graph.h: SHA-256 in counter mode over label ‖ session id.
// Not thread-safe (one per Create).
class GraphStream {
 public:
  explicit GraphStream(absl::string_view session_id)
      : prefix_(absl::StrCat(kGraphLabel, session_id)) {}

  // A uniform integer in [0, bound), bound ≥ 1, by rejection of the biased top of 2^64.
  absl::StatusOr<uint64_t> Uniform(uint64_t bound) {
    uint64_t rejected_from_top = (0 - bound) % bound;  // 2^64 mod bound
    while (true) {
      TONTINE_ASSIGN_OR_RETURN(uint64_t word, NextWord());
      if (word <= UINT64_MAX - rejected_from_top) return word % bound;
    }
  }

 private:
  absl::StatusOr<uint64_t> NextWord() {
    if (used_ == block_.size()) {
      std::string input = prefix_;
      for (int shift = 56; shift >= 0; shift -= 8) {
        input.push_back(static_cast<char>((counter_ >> shift) & 0xff));
      }
      TONTINE_ASSIGN_OR_RETURN(block_, crypto::Sha256Digest(input));
      ++counter_;
      used_ = 0;
    }
    uint64_t word = 0;
    for (int i = 0; i < 8; ++i) word = (word << 8) | static_cast<uint8_t>(block_[used_++]);
    return word;
  }

  std::string prefix_;
  uint64_t counter_ = 0;
  std::string block_;
  size_t used_ = 0;
};

absl::Status ValidateMembers(const std::vector<uint32_t>& members) {
  if (members.empty()) return absl::InvalidArgumentError("the neighbour graph has no members");
  for (size_t i = 1; i < members.size(); ++i) {
    if (members[i - 1] >= members[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "graph members must be ascending and distinct: ", members[i], " follows ",
          members[i - 1]));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> RingOrder(std::vector<uint32_t> ring,
                                                absl::string_view session_id) {
  GraphStream stream(session_id);
  for (size_t i = ring.size(); i-- > 1;) {
    TONTINE_ASSIGN_OR_RETURN(uint64_t j, stream.Uniform(i + 1));
    std::swap(ring[i], ring[j]);
  }
  return ring;
}

}  // namespace

absl::StatusOr<NeighbourGraph> NeighbourGraph::Create(std::vector<uint32_t> members,
                                                      uint32_t neighbours,
                                                      absl::string_view session_id) {
  if (session_id.size() != kSessionIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the session id must be ", kSessionIdBytes,
                                                   " bytes, got ", session_id.size()));
  }
  TONTINE_RETURN_IF_ERROR(ValidateMembers(members));
  if (neighbours == 0) return absl::InvalidArgumentError("the neighbour count k must be ≥ 1");
  uint64_t m = members.size();
  bool full = uint64_t{neighbours} + 1 >= m;
  if (!full && neighbours % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the neighbour count k = ", neighbours, " must be even for a Harary graph over ", m,
        " members (or ≥ ", m - 1, " for the full graph)"));
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<uint32_t> ring, RingOrder(members, session_id));
  uint32_t degree = full ? static_cast<uint32_t>(m - 1) : neighbours;
  return NeighbourGraph(std::move(members), std::move(ring), degree, full);
}

NeighbourGraph::NeighbourGraph(std::vector<uint32_t> members, std::vector<uint32_t> ring_order,
                               uint32_t degree, bool full_graph)
    : members_(std::move(members)),
      ring_order_(std::move(ring_order)),
      ring_position_(members_.size()),
      degree_(degree),
      full_graph_(full_graph) {
  for (size_t p = 0; p < ring_order_.size(); ++p) {
    ring_position_[SlotOf(ring_order_[p])] = static_cast<uint32_t>(p);
  }
}

size_t NeighbourGraph::SlotOf(uint32_t index) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), index);
  if (it == members_.end() || *it != index) return members_.size();
  return static_cast<size_t>(it - members_.begin());
}

bool NeighbourGraph::Contains(uint32_t index) const { return SlotOf(index) < members_.size(); }

absl::StatusOr<std::vector<uint32_t>> NeighbourGraph::NeighboursOf(uint32_t index) const {
  size_t slot = SlotOf(index);
  if (slot == members_.size()) {
    return absl::NotFoundError(absl::StrCat("participant ", index, " is not in the graph"));
  }
  std::vector<uint32_t> neighbours;
  if (full_graph_) {
    neighbours = members_;
    neighbours.erase(neighbours.begin() + static_cast<ptrdiff_t>(slot));
    return neighbours;
  }
  size_t m = members_.size(), p = ring_position_[slot];
  neighbours.reserve(degree_);
  for (size_t d = 1; d <= degree_ / 2; ++d) {
    neighbours.push_back(ring_order_[(p + d) % m]);
    neighbours.push_back(ring_order_[(p + m - d) % m]);
  }
  std::sort(neighbours.begin(), neighbours.end());
  return neighbours;
}

absl::StatusOr<uint32_t> NeighbourGraph::ShareXOf(uint32_t owner, uint32_t holder) const {
  size_t owner_slot = SlotOf(owner), holder_slot = SlotOf(holder), m = members_.size();
  auto not_neighbours = [&] {
    return absl::NotFoundError(
        absl::StrCat("participants ", owner, " and ", holder, " are not neighbours"));
  };
  if (owner_slot == m || holder_slot == m || owner == holder) return not_neighbours();
  if (full_graph_) {
    // Owner's list is members_ without owner: holder moves down one slot past owner.
    return static_cast<uint32_t>(1 + holder_slot - (holder_slot > owner_slot ? 1 : 0));
  }
  size_t p = ring_position_[owner_slot], q = ring_position_[holder_slot];
  size_t distance = std::min((q + m - p) % m, (p + m - q) % m);
  if (distance > degree_ / 2) return not_neighbours();
  // The holder's rank among the owner's neighbours: how many of them have smaller indices.
  uint32_t smaller = 0;
  for (size_t d = 1; d <= degree_ / 2; ++d) {
    smaller += ring_order_[(p + d) % m] < holder ? 1 : 0;
    smaller += ring_order_[(p + m - d) % m] < holder ? 1 : 0;
  }
  return 1 + smaller;
}

}  // namespace tontine::secagg
