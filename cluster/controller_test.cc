#include "cluster/controller.h"

#include <catch2/catch.hpp>

#include "cluster/etcd_memory.h"

namespace strata::cluster {
namespace {

ClusterView ThreeBrokers() {
  ClusterView view;
  for (int32_t id : {1, 2, 3}) view.brokers[id] = BrokerInfo{id, "127.0.0.1", 0, id * 10};
  view.controller = ControllerInfo{1, 5};
  return view;
}

PartitionState State(std::vector<int32_t> replicas, int32_t leader, std::vector<int32_t> isr) {
  PartitionState s;
  s.replicas = std::move(replicas);
  s.leader = leader;
  s.isr = std::move(isr);
  s.leader_epoch = 4;
  s.partition_epoch = 8;
  s.mod_revision = 100;
  return s;
}

const TopicPartitionId kP{"t", 0};

TEST_CASE("A dead leader is replaced by the next ISR member, never by an out-of-sync one") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = State({1, 2, 3}, 1, {1, 3});
  view.brokers.erase(1);
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 3);  // 2 is not in the ISR
  CHECK(changes[0].after.isr == std::vector<int32_t>{3});
  CHECK(changes[0].after.leader_epoch == 5);
  CHECK(changes[0].after.partition_epoch == 9);
  CHECK(changes[0].before.mod_revision == 100);
}

// KIP-966's case: a replica that restarted (perhaps after a power loss that took writes it had
// acknowledged to the leader) must not be elected until a leader admits it again, caught up.
PartitionState Admitted(PartitionState s, const ClusterView& view) {
  for (int32_t b : s.isr) s.isr_epochs[b] = view.brokers.at(b).epoch;
  return s;
}

TEST_CASE("A follower that restarted since it was admitted leaves the ISR and is never elected") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = Admitted(State({1, 2, 3}, 1, {1, 2, 3}), view);
  view.brokers[2].epoch = 99;  // broker 2 registered again: a new run
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 1);
  CHECK(changes[0].after.isr == std::vector<int32_t>{1, 3});
  CHECK(changes[0].after.isr_epochs == std::map<int32_t, int64_t>{{1, 10}, {3, 30}});
  CHECK(changes[0].after.partition_epoch == 9);

  // Before that change is written the leader dies: 3 is elected, not the restarted 2 (first in
  // preference after 1).
  view.brokers.erase(1);
  changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 3);
  CHECK(changes[0].after.isr == std::vector<int32_t>{2, 3});  // 2 leaves on the next plan

  // A leader admitting 2 again (caught up) records its new epoch; it may then lead.
  PartitionState readmitted = Admitted(State({1, 2, 3}, 3, {3}), view);
  readmitted.SetIsr({3, 2}, [&](int32_t b) { return view.brokers.at(b).epoch; });
  CHECK(readmitted.isr_epochs == std::map<int32_t, int64_t>{{2, 99}, {3, 30}});
  view.partitions[kP] = readmitted;
  view.brokers.erase(3);
  changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 2);
}

TEST_CASE("A leader that restarted within its lease is replaced by a current ISR member") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = Admitted(State({1, 2, 3}, 1, {1, 2, 3}), view);
  view.brokers[1].epoch = 55;
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 2);
  CHECK(changes[0].after.isr == std::vector<int32_t>{2, 3});
  CHECK(changes[0].after.leader_epoch == 5);
  CHECK_THAT(changes[0].reason, Catch::Contains("restarted"));
  CHECK(view.StaleInIsr(view.partitions[kP], 1));
  CHECK_FALSE(view.StaleInIsr(view.partitions[kP], 2));
}

TEST_CASE("With only restarted ISR members left, the partition waits for its last leader") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = Admitted(State({1, 2, 3}, 1, {1, 2}), view);
  view.brokers.erase(1);
  view.brokers[2].epoch = 99;  // the only other ISR member restarted: it may lack acked records
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == kNoLeader);
  CHECK(changes[0].after.last_leader == 1);
  CHECK(changes[0].after.isr == std::vector<int32_t>{1, 2});

  view.partitions[kP] = changes[0].after;
  CHECK(PlanPartitionChanges(view, 0).empty());  // 2 is alive but stale: still offline

  // The last leader fsynced everything it acknowledged: back, even after a restart, it leads.
  view.brokers[1] = BrokerInfo{1, "127.0.0.1", 0, 77};
  changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 1);
  CHECK(changes[0].after.last_leader == kNoLeader);
  CHECK(changes[0].after.isr_epochs.at(1) == 77);
}

TEST_CASE("A new partition's ISR records each replica's broker epoch") {
  ClusterView view = ThreeBrokers();
  view.topics["t"] = TopicRecord{"t", 3, 2, {}, {{2, 3, 1}}};
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 2);
  CHECK(changes[0].after.isr_epochs == std::map<int32_t, int64_t>{{1, 10}, {2, 20}, {3, 30}});
}

TEST_CASE("With no ISR member able to lead the partition goes offline, ISR kept") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = State({1, 2, 3}, 1, {1});
  view.brokers.erase(1);
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == kNoLeader);
  CHECK(changes[0].after.isr == std::vector<int32_t>{1});
  CHECK(changes[0].after.leader_epoch == 5);

  // Broker 1 returns: it is elected again; brokers 2 and 3 never were.
  view.partitions[kP] = changes[0].after;
  view.brokers[1] = BrokerInfo{1, "127.0.0.1", 0, 99};
  auto back = PlanPartitionChanges(view, 0);
  REQUIRE(back.size() == 1);
  CHECK(back[0].after.leader == 1);
  CHECK(back[0].after.leader_epoch == 6);
}

TEST_CASE("A shutting-down leader hands over; dead followers leave the ISR") {
  ClusterView view = ThreeBrokers();
  view.partitions[kP] = State({1, 2, 3}, 1, {1, 2, 3});
  view.partitions[{"t", 1}] = State({2, 3, 1}, 2, {2, 3, 1});
  view.brokers[1].shutting_down = true;
  view.brokers.erase(3);
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].after.leader == 2);
  CHECK(changes[0].after.isr == std::vector<int32_t>{2, 3});  // 3's removal comes next round
  CHECK(changes[1].id.partition == 1);
  CHECK(changes[1].after.leader == 2);
  CHECK(changes[1].after.isr == std::vector<int32_t>{2, 1});
  CHECK(changes[1].after.leader_epoch == 4);  // same leader: no new leader epoch
}

TEST_CASE("Leadership returns to preferred replicas at the pace asked for") {
  ClusterView view = ThreeBrokers();
  for (int32_t p = 0; p < 3; p++) view.partitions[{"t", p}] = State({1, 2, 3}, 2, {1, 2, 3});
  CHECK(PlanPartitionChanges(view, 0).empty());
  auto changes = PlanPartitionChanges(view, 1);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.leader == 1);
  // Not while the preferred replica is out of the ISR (it has not caught up).
  for (auto& [id, s] : view.partitions) s.isr = {2, 3};
  CHECK(PlanPartitionChanges(view, 3).empty());
}

TEST_CASE("A new topic's partitions get their first state from the controller") {
  ClusterView view = ThreeBrokers();
  Keys keys("c");
  auto txn = CreateTopicTxn(keys, view, 5, NewTopic{"t", 3, 0, 0, {}});
  REQUIRE(txn.ok());
  REQUIRE(txn->success.size() == 1);
  auto record = DecodeTopic(txn->success[0].value);
  REQUIRE(record.ok());
  CHECK(record->replication_factor == 3);
  CHECK(record->min_insync_replicas == 2);
  view.topics["t"] = *record;
  auto changes = PlanPartitionChanges(view, 0);
  REQUIRE(changes.size() == 3);
  for (const auto& c : changes) {
    CHECK(c.before.mod_revision == 0);
    CHECK(c.after.leader == c.after.replicas.front());
    CHECK(c.after.isr == c.after.replicas);
  }
  CHECK(absl::IsInvalidArgument(CreateTopicTxn(keys, view, 5, NewTopic{"u", 1, 4, 0, {}}).status()));
  CHECK(absl::IsInvalidArgument(CreateTopicTxn(keys, view, 5, NewTopic{"u", 1, 2, 3, {}}).status()));
}

TEST_CASE("A controller's write fails once another controller has been elected") {
  MemoryEtcd etcd;
  Keys keys("c");
  auto old_lease = etcd.GrantLease(3);
  Txn campaign;
  campaign.compares.push_back(Compare::Absent(keys.controller()));
  campaign.success.push_back(Op::Put(keys.controller(), EncodeController({1, 0}), old_lease->id));
  auto first = etcd.Commit(campaign);
  REQUIRE(first->succeeded);
  int64_t old_epoch = first->revision;
  REQUIRE(etcd.Put(keys.partition("t", 0), EncodePartition(State({1, 2}, 1, {1, 2}))).ok());
  auto state = *DecodePartition(etcd.Range(KeyRange::Exactly(keys.partition("t", 0)))->kvs[0].value);
  state.mod_revision = etcd.Range(KeyRange::Exactly(keys.partition("t", 0)))->kvs[0].mod_revision;

  // Controller 1 is paused past its lease; broker 2 takes over.
  etcd.ExpireLease(old_lease->id);
  auto new_lease = etcd.GrantLease(3);
  campaign.success[0] = Op::Put(keys.controller(), EncodeController({2, 0}), new_lease->id);
  REQUIRE(etcd.Commit(campaign)->succeeded);

  PartitionState after = state;
  after.leader = 2;
  PartitionChange change;
  change.id = TopicPartitionId{"t", 0};
  change.before = state;
  change.after = after;
  change.reason = "a decision of the old controller";
  auto stale = etcd.Commit(ControllerTxn(keys, old_epoch, {change}));
  REQUIRE(stale.ok());
  CHECK_FALSE(stale->succeeded);
  CHECK(DecodePartition(etcd.Range(KeyRange::Exactly(keys.partition("t", 0)))->kvs[0].value)->leader == 1);
}

}  // namespace
}  // namespace strata::cluster
