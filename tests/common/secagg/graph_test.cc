#include "common/secagg/graph.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace tontine::secagg {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using tontine::testing::IsOk;
using tontine::testing::IsOkAndHolds;
using tontine::testing::StatusIs;

// A deterministic 32-byte session id: `seed` big-endian, then a fixed pattern.
std::string SessionId(uint32_t seed) {
  std::string id(32, '\0');
  for (int i = 0; i < 4; ++i) id[i] = static_cast<char>(seed >> (24 - 8 * i));
  for (int i = 4; i < 32; ++i) id[i] = static_cast<char>(0x5a ^ i);
  return id;
}

// Every third index from 7: sorted, not contiguous, so indices and slots differ.
std::vector<uint32_t> Members(uint32_t m) {
  std::vector<uint32_t> members;
  for (uint32_t i = 0; i < m; ++i) members.push_back(7 + 3 * i);
  return members;
}

std::map<uint32_t, std::vector<uint32_t>> Adjacency(const NeighbourGraph& graph) {
  std::map<uint32_t, std::vector<uint32_t>> adjacency;
  for (uint32_t u : graph.members()) adjacency[u] = *graph.NeighboursOf(u);
  return adjacency;
}

size_t ReachableFrom(const std::map<uint32_t, std::vector<uint32_t>>& adjacency, uint32_t from) {
  std::set<uint32_t> seen = {from};
  std::queue<uint32_t> queue;
  queue.push(from);
  while (!queue.empty()) {
    for (uint32_t v : adjacency.at(queue.front())) {
      if (seen.insert(v).second) queue.push(v);
    }
    queue.pop();
  }
  return seen.size();
}

TEST(NeighbourGraphTest, HararyGraphIsSymmetricRegularLoopFreeAndConnected) {
  for (auto [m, k] : {std::pair{101u, 16u}, std::pair{10u, 8u}, std::pair{1000u, 36u},
                      std::pair{5u, 2u}}) {
    SCOPED_TRACE(::testing::PrintToString(std::pair{m, k}));
    absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(m), k, SessionId(1));
    ASSERT_THAT(graph, IsOk());
    EXPECT_FALSE(graph->full_graph());
    auto adjacency = Adjacency(*graph);
    for (const auto& [u, neighbours] : adjacency) {
      EXPECT_EQ(neighbours.size(), k) << u;
      EXPECT_TRUE(std::is_sorted(neighbours.begin(), neighbours.end())) << u;
      EXPECT_EQ(std::adjacent_find(neighbours.begin(), neighbours.end()), neighbours.end());
      EXPECT_FALSE(std::binary_search(neighbours.begin(), neighbours.end(), u)) << u;
      for (uint32_t v : neighbours) {
        ASSERT_TRUE(graph->Contains(v)) << v;
        EXPECT_TRUE(std::binary_search(adjacency[v].begin(), adjacency[v].end(), u))
            << u << " → " << v << " but not back";
      }
    }
    EXPECT_EQ(ReachableFrom(adjacency, graph->members().front()), m);
  }
}

TEST(NeighbourGraphTest, RingNeighboursAreTheNearestHalfDegreeOnEachSide) {
  absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(50), 6, SessionId(2));
  ASSERT_THAT(graph, IsOk());
  const std::vector<uint32_t>& ring = graph->ring_order();
  ASSERT_EQ(ring.size(), 50u);
  EXPECT_TRUE(std::is_permutation(ring.begin(), ring.end(), graph->members().begin()));
  for (size_t p = 0; p < ring.size(); ++p) {
    std::vector<uint32_t> expected;
    for (size_t d = 1; d <= 3; ++d) {
      expected.push_back(ring[(p + d) % 50]);
      expected.push_back(ring[(p + 50 - d) % 50]);
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_THAT(graph->NeighboursOf(ring[p]), IsOkAndHolds(ElementsAreArray(expected)));
  }
}

// Expected values from an independent Python implementation of the derivation in graph.h
// (hashlib.sha256, session id bytes 0x00…0x1f).
TEST(NeighbourGraphTest, RingOrderMatchesAnIndependentImplementation) {
  std::string session_id;
  for (int i = 0; i < 32; ++i) session_id.push_back(static_cast<char>(i));
  absl::StatusOr<NeighbourGraph> graph =
      NeighbourGraph::Create({3, 5, 8, 13, 21, 34, 55, 89, 144, 233}, 4, session_id);
  ASSERT_THAT(graph, IsOk());
  EXPECT_THAT(graph->ring_order(), ElementsAre(233, 55, 8, 5, 34, 144, 13, 89, 3, 21));
  EXPECT_THAT(graph->NeighboursOf(144), IsOkAndHolds(ElementsAre(5, 13, 34, 89)));
  EXPECT_THAT(graph->NeighboursOf(3), IsOkAndHolds(ElementsAre(13, 21, 89, 233)));
}

TEST(NeighbourGraphTest, SameSessionIdGivesTheSameGraphAndOthersDiffer) {
  absl::StatusOr<NeighbourGraph> a = NeighbourGraph::Create(Members(200), 20, SessionId(7));
  absl::StatusOr<NeighbourGraph> b = NeighbourGraph::Create(Members(200), 20, SessionId(7));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(Adjacency(*a), Adjacency(*b));
  // Two of these ids giving one graph would take a 1-in-(200!/400) coincidence.
  std::vector<std::map<uint32_t, std::vector<uint32_t>>> graphs;
  for (uint32_t seed : {7u, 8u, 9u, 10u, 0x80000000u}) {
    absl::StatusOr<NeighbourGraph> g = NeighbourGraph::Create(Members(200), 20, SessionId(seed));
    ASSERT_THAT(g, IsOk());
    graphs.push_back(Adjacency(*g));
  }
  for (size_t i = 0; i < graphs.size(); ++i) {
    for (size_t j = i + 1; j < graphs.size(); ++j) EXPECT_NE(graphs[i], graphs[j]) << i << j;
  }
}

TEST(NeighbourGraphTest, DegreeOfAtLeastMembersMinusOneIsTheFullGraph) {
  for (uint32_t k : {5u, 6u, 1000u}) {  // m − 1 (odd is fine), m, far beyond
    absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(6), k, SessionId(3));
    ASSERT_THAT(graph, IsOk()) << k;
    EXPECT_TRUE(graph->full_graph());
    EXPECT_THAT(graph->NeighboursOf(13), IsOkAndHolds(ElementsAre(7, 10, 16, 19, 22)));
    EXPECT_THAT(graph->ShareXOf(13, 7), IsOkAndHolds(1u));
    EXPECT_THAT(graph->ShareXOf(13, 16), IsOkAndHolds(3u));
    EXPECT_THAT(graph->ShareXOf(13, 22), IsOkAndHolds(5u));
  }
  absl::StatusOr<NeighbourGraph> alone = NeighbourGraph::Create({42}, 1, SessionId(3));
  ASSERT_THAT(alone, IsOk());
  EXPECT_THAT(alone->NeighboursOf(42), IsOkAndHolds(ElementsAre()));
}

TEST(NeighbourGraphTest, ShareXIsOnePlusTheHoldersPositionInTheOwnersNeighbourList) {
  for (auto [m, k] : {std::pair{60u, 8u}, std::pair{10u, 8u}, std::pair{7u, 6u}}) {
    absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(m), k, SessionId(4));
    ASSERT_THAT(graph, IsOk());
    for (uint32_t owner : graph->members()) {
      std::vector<uint32_t> neighbours = *graph->NeighboursOf(owner);
      for (size_t i = 0; i < neighbours.size(); ++i) {
        EXPECT_THAT(graph->ShareXOf(owner, neighbours[i]), IsOkAndHolds(i + 1))
            << "m = " << m << ", owner " << owner << ", holder " << neighbours[i];
      }
      for (uint32_t other : graph->members()) {
        if (std::find(neighbours.begin(), neighbours.end(), other) != neighbours.end()) continue;
        EXPECT_THAT(graph->ShareXOf(owner, other),
                    StatusIs(absl::StatusCode::kNotFound, HasSubstr("not neighbours")));
      }
    }
  }
  absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(60), 8, SessionId(4));
  ASSERT_THAT(graph, IsOk());
  // 8 is not a member; a member is never its own neighbour.
  EXPECT_THAT(graph->ShareXOf(8, 7), StatusIs(absl::StatusCode::kNotFound, HasSubstr("8")));
  EXPECT_THAT(graph->ShareXOf(7, 8), StatusIs(absl::StatusCode::kNotFound, HasSubstr("8")));
  EXPECT_THAT(graph->ShareXOf(7, 7),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not neighbours")));
}

TEST(NeighbourGraphTest, NonMembersAreNotFound) {
  absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(Members(20), 4, SessionId(5));
  ASSERT_THAT(graph, IsOk());
  EXPECT_TRUE(graph->Contains(10));
  EXPECT_FALSE(graph->Contains(11));
  EXPECT_THAT(graph->NeighboursOf(11),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("11 is not in the graph")));
}

TEST(NeighbourGraphTest, CreateRejectsMalformedInput) {
  auto rejects = [](std::vector<uint32_t> members, uint32_t k, std::string id,
                    const char* message) {
    EXPECT_THAT(NeighbourGraph::Create(std::move(members), k, id),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)));
  };
  rejects({}, 2, SessionId(0), "no members");
  rejects({1, 3, 2, 4, 5}, 2, SessionId(0), "2 follows 3");
  rejects({1, 2, 2, 4, 5}, 2, SessionId(0), "2 follows 2");
  rejects(Members(10), 3, SessionId(0), "k = 3 must be even");
  rejects(Members(10), 0, SessionId(0), "k must be");
  rejects(Members(10), 2, SessionId(0).substr(0, 31), "32 bytes, got 31");
  rejects(Members(10), 2, SessionId(0) + "x", "32 bytes, got 33");
}

// Over 2000 deterministic session ids each of 10 members lands on each ring position about
// 200 times. Pearson's statistic per member has 9 degrees of freedom; 33.72 is its 1e-4
// critical value. The ids are fixed, so the test cannot flake.
TEST(NeighbourGraphTest, RingPositionsAreUniformOverSessionIds) {
  constexpr uint32_t kMembers = 10, kIds = 2000;
  std::vector<uint32_t> members = Members(kMembers);
  std::map<uint32_t, std::vector<int>> counts;
  for (uint32_t u : members) counts[u].assign(kMembers, 0);
  for (uint32_t seed = 0; seed < kIds; ++seed) {
    absl::StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(members, 2, SessionId(seed));
    ASSERT_THAT(graph, IsOk());
    for (uint32_t p = 0; p < kMembers; ++p) ++counts[graph->ring_order()[p]][p];
  }
  const double expected = static_cast<double>(kIds) / kMembers;
  for (const auto& [u, by_position] : counts) {
    double chi_square = 0;
    for (int observed : by_position) {
      chi_square += (observed - expected) * (observed - expected) / expected;
    }
    EXPECT_LT(chi_square, 33.72) << "member " << u;
  }
}

}  // namespace
}  // namespace tontine::secagg
