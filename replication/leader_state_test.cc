#include "replication/leader_state.h"

#include <catch2/catch.hpp>

#include "io/memory_file_system.h"
#include "partition/test_util.h"

namespace strata::replication {
namespace {

using partition::testing::MakeProducerBatch;

struct Proposal {
  cluster::PartitionState expected;
  std::vector<int32_t> isr;
  std::function<void(absl::Status)> done;
};

struct Fixture {
  io::MemoryFileSystem fs;
  std::shared_ptr<partition::Partition> leader;
  std::vector<Proposal> proposals;
  int hw_moves = 0;

  Fixture() {
    partition::TopicConfig config;
    config.log.flush.bytes = 0;
    config.log.flush.interval_ms = 0;
    auto p = partition::Partition::Open(&fs, "/d", "t", 0, config);
    REQUIRE(p.ok());
    leader = std::move(*p);
    REQUIRE(leader->BecomeLeader(1).ok());
  }
  std::shared_ptr<LeaderState> Make(std::vector<int32_t> isr, int32_t min_isr) {
    cluster::PartitionState state{{1, 2, 3}, 1, 1, std::move(isr), 0, 10, -1, {}, cluster::kNoLeader};
    return std::make_shared<LeaderState>(
        leader, 1, state, min_isr, /*replica_lag_max_ms=*/1000, /*now_ms=*/0,
        [this](const cluster::PartitionState& expected, std::vector<int32_t> isr,
               std::function<void(absl::Status)> done) {
          proposals.push_back({expected, std::move(isr), std::move(done)});
        },
        [this] { hw_moves++; });
  }
  void Append(int records) {
    auto batch = MakeProducerBatch(-1, 0, 0, records);
    REQUIRE(leader->Append(batch).ok());
  }
};

TEST_CASE("The high watermark is the smallest log end over the ISR") {
  Fixture f;
  auto state = f.Make({1, 2, 3}, 2);
  f.Append(10);
  state->OnLeaderAppend();
  CHECK(f.leader->high_watermark() == 0);  // followers not heard from yet
  state->OnFollowerFetch(2, 10, 5);
  CHECK(f.leader->high_watermark() == 0);
  state->OnFollowerFetch(3, 4, 5);
  CHECK(f.leader->high_watermark() == 4);
  state->OnFollowerFetch(3, 10, 6);
  CHECK(f.leader->high_watermark() == 10);
  CHECK(f.hw_moves == 2);
  // Never backwards, whatever a follower reports.
  state->OnFollowerFetch(3, 2, 7);
  CHECK(f.leader->high_watermark() == 10);
}

TEST_CASE("Below min_insync_replicas the high watermark does not move (KIP-966)") {
  Fixture f;
  auto state = f.Make({1}, 2);
  CHECK_FALSE(state->EnoughReplicas());
  f.Append(5);
  state->OnLeaderAppend();
  CHECK(f.leader->high_watermark() == 0);
  // With min ISR 1 and the leader alone, every append is committed at once.
  state->UpdateState(cluster::PartitionState{{1, 2, 3}, 1, 1, {1}, 1, 11, -1, {}, cluster::kNoLeader}, 1);
  CHECK(f.leader->high_watermark() == 5);
}

TEST_CASE("A follower that catches up is proposed for the ISR, once at a time") {
  Fixture f;
  auto state = f.Make({1, 2}, 1);
  f.Append(8);
  state->OnFollowerFetch(2, 8, 1);
  CHECK(f.leader->high_watermark() == 8);
  state->OnFollowerFetch(3, 3, 1);  // behind the high watermark: not yet
  CHECK(f.proposals.empty());
  state->OnFollowerFetch(3, 8, 2);
  REQUIRE(f.proposals.size() == 1);
  CHECK(f.proposals[0].isr == std::vector<int32_t>{1, 2, 3});
  CHECK(f.proposals[0].expected.mod_revision == 10);
  state->OnFollowerFetch(3, 8, 3);
  CHECK(f.proposals.size() == 1);  // in flight
  // While it is in flight the newcomer already counts for the high watermark.
  f.Append(2);
  state->OnFollowerFetch(2, 10, 4);
  CHECK(f.leader->high_watermark() == 8);
  f.proposals[0].done(absl::OkStatus());
  state->UpdateState(cluster::PartitionState{{1, 2, 3}, 1, 1, {1, 2, 3}, 1, 12, -1, {}, cluster::kNoLeader}, 1);
  CHECK(state->isr_expands() == 1);
  state->OnFollowerFetch(3, 10, 5);
  CHECK(f.leader->high_watermark() == 10);
}

TEST_CASE("A follower that stops catching up is proposed out of the ISR after the lag limit") {
  Fixture f;
  auto state = f.Make({1, 2, 3}, 2);
  f.Append(4);
  state->OnFollowerFetch(2, 4, 100);
  state->OnFollowerFetch(3, 4, 100);
  state->CheckLag(900);
  CHECK(f.proposals.empty());
  f.Append(4);
  state->OnFollowerFetch(2, 8, 1000);  // 2 keeps up; 3 fetches no more
  state->CheckLag(1100);                // 3 is exactly at the limit
  CHECK(f.proposals.empty());
  state->CheckLag(1101);
  REQUIRE(f.proposals.size() == 1);
  CHECK(f.proposals[0].isr == std::vector<int32_t>{1, 2});
  // A refused change (the record moved meanwhile) frees the slot for the next try.
  f.proposals[0].done(absl::AbortedError("changed"));
  state->CheckLag(1300);
  CHECK(f.proposals.size() == 2);
}

TEST_CASE("A follower fetching behind, but reaching the leader's end of its previous fetch, "
          "counts as caught up then") {
  Fixture f;
  auto state = f.Make({1, 2}, 1);
  f.Append(5);
  state->OnFollowerFetch(2, 0, 100);  // leader end 5 at this fetch
  f.Append(5);
  state->OnFollowerFetch(2, 5, 1050);  // reached 5: caught up as of t=100
  state->CheckLag(1099);
  CHECK(f.proposals.empty());
  state->CheckLag(1101);
  CHECK(f.proposals.size() == 1);
}

TEST_CASE("A follower dropped from the ISR is not added back until it fetches again") {
  Fixture f;
  auto state = f.Make({1, 2, 3}, 2);
  f.Append(5);
  state->OnFollowerFetch(2, 5, 1);
  state->OnFollowerFetch(3, 5, 1);
  CHECK(f.leader->high_watermark() == 5);
  // The controller drops 3 (its broker's lease is gone). Its old progress must not bring it back.
  state->UpdateState(cluster::PartitionState{{1, 2, 3}, 1, 1, {1, 2}, 1, 11, -1, {}, cluster::kNoLeader}, 2);
  state->OnFollowerFetch(2, 5, 2);
  CHECK(f.proposals.empty());
  state->OnFollowerFetch(3, 5, 3);  // it is back and caught up
  REQUIRE(f.proposals.size() == 1);
  CHECK(f.proposals[0].isr == std::vector<int32_t>{1, 2, 3});
}

}  // namespace
}  // namespace strata::replication
