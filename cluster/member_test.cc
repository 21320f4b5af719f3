#include "cluster/member.h"

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "cluster/etcd_memory.h"

namespace strata::cluster {
namespace {

using namespace std::chrono_literals;

// Polls `done` for up to 10 s (the member works on its own thread).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; i++) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::unique_ptr<ClusterMember> StartMember(MemoryEtcd& etcd, int32_t id) {
  MemberOptions options;
  options.cluster_name = "test";
  options.self = BrokerInfo{id, "127.0.0.1", static_cast<uint16_t>(9000 + id)};
  options.leader_rebalance_interval_ms = 50;
  auto member = std::make_unique<ClusterMember>(etcd, options, [](auto) {});
  REQUIRE(member->Start(5s).ok());
  return member;
}

// A copy of the member's current partition states (a view snapshot may be replaced meanwhile).
std::map<TopicPartitionId, PartitionState> Partitions(const ClusterMember& member) {
  return member.view()->partitions;
}

int64_t LeaseOf(MemoryEtcd& etcd, const Keys& keys, int32_t broker) {
  auto range = etcd.Range(KeyRange::Exactly(keys.broker(broker)));
  REQUIRE(range->kvs.size() == 1);
  return range->kvs[0].lease;
}

absl::Status CreateTopic(ClusterMember& member, NewTopic topic) {
  absl::Notification done;
  absl::Status status;
  member.CreateTopic(std::move(topic), 5s, [&](absl::Status s) {
    status = s;
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

TEST_CASE("Three members elect one controller and create a replicated topic") {
  MemoryEtcd etcd;
  auto a = StartMember(etcd, 1);
  auto b = StartMember(etcd, 2);
  auto c = StartMember(etcd, 3);
  REQUIRE(Eventually([&] {
    for (ClusterMember* m : {a.get(), b.get(), c.get()}) {
      auto v = m->view();
      if (v->brokers.size() != 3 || !v->controller.has_value()) return false;
    }
    return true;
  }));
  REQUIRE(CreateTopic(*b, NewTopic{"orders", 3, 0, 0, {}}).ToString() == "OK");
  auto view = a->view();
  REQUIRE(Eventually([&] { return a->view()->partitions.size() == 3; }));
  view = a->view();
  std::set<int32_t> leaders;
  for (const auto& [id, state] : view->partitions) {
    CHECK(state.isr.size() == 3);
    leaders.insert(state.leader);
  }
  CHECK(leaders.size() == 3);
  CHECK(absl::IsAlreadyExists(CreateTopic(*c, NewTopic{"orders", 1, 0, 0, {}})));
  CHECK(absl::IsInvalidArgument(CreateTopic(*c, NewTopic{"big", 1, 4, 0, {}})));
}

TEST_CASE("A broker whose lease expires loses its leaderships to ISR members") {
  MemoryEtcd etcd;
  Keys keys("test");
  auto a = StartMember(etcd, 1);
  auto b = StartMember(etcd, 2);
  auto c = StartMember(etcd, 3);
  // Creating a topic needs a controller in the creating member's view.
  REQUIRE(Eventually([&] {
    auto v = a->view();
    return v->brokers.size() == 3 && v->controller.has_value();
  }));
  REQUIRE(CreateTopic(*a, NewTopic{"t", 3, 3, 2, {}}).ToString() == "OK");
  const TopicPartitionId led_by_2 = [&] {
    for (const auto& [id, s] : Partitions(*a)) {
      if (s.leader == 2) return id;
    }
    FAIL("broker 2 leads nothing");
    return TopicPartitionId{};
  }();
  const int32_t epoch_before = a->view()->Find(led_by_2)->leader_epoch;

  // Broker 2 stops renewing (killed): its lease runs out.
  b->Stop();
  etcd.ExpireLease(LeaseOf(etcd, keys, 2));
  REQUIRE(Eventually([&] {
    const PartitionState* s = a->view()->Find(led_by_2);
    return s->leader != 2 && s->leader != kNoLeader;
  }));
  const PartitionState* after = a->view()->Find(led_by_2);
  CHECK(after->leader_epoch == epoch_before + 1);
  CHECK_FALSE(after->InIsr(2));
  // Its followerships end too: no partition keeps the dead broker in its ISR.
  REQUIRE(Eventually([&] {
    for (const auto& [id, s] : Partitions(*a)) {
      if (s.InIsr(2)) return false;
    }
    return true;
  }));
}

TEST_CASE("A new controller takes over when the controller's lease expires") {
  MemoryEtcd etcd;
  Keys keys("test");
  auto a = StartMember(etcd, 1);
  REQUIRE(Eventually([&] { return a->view()->controller.has_value(); }));
  auto b = StartMember(etcd, 2);
  const ControllerInfo first = *a->view()->controller;
  CHECK(first.broker_id == 1);
  a->Stop();
  etcd.ExpireLease(LeaseOf(etcd, keys, 1));
  REQUIRE(Eventually([&] {
    auto v = b->view();
    return v->controller && v->controller->broker_id == 2;
  }));
  CHECK(b->view()->controller->epoch > first.epoch);
}

TEST_CASE("A member reads the cluster again after its watch is compacted away") {
  MemoryEtcd etcd;
  auto a = StartMember(etcd, 1);
  REQUIRE(Eventually([&] { return a->view()->controller.has_value(); }));
  // Every watch ends with a compaction-like loss; the member reads and watches again.
  etcd.SetAvailable(false);
  std::this_thread::sleep_for(50ms);
  etcd.Compact(etcd.revision());
  etcd.SetAvailable(true);
  auto b = StartMember(etcd, 2);
  REQUIRE(Eventually([&] { return a->view()->brokers.size() == 2; }));
}

TEST_CASE("Leaving moves the leaver's leaderships away before its lease goes") {
  MemoryEtcd etcd;
  auto a = StartMember(etcd, 1);
  auto b = StartMember(etcd, 2);
  auto c = StartMember(etcd, 3);
  // Creating a topic needs a controller in the creating member's view.
  REQUIRE(Eventually([&] {
    auto v = a->view();
    return v->brokers.size() == 3 && v->controller.has_value();
  }));
  REQUIRE(CreateTopic(*a, NewTopic{"t", 6, 3, 2, {}}).ToString() == "OK");
  c->Leave(5s);
  auto view = a->view();
  REQUIRE(Eventually([&] { return a->view()->brokers.size() == 2; }));
  for (const auto& [id, s] : Partitions(*a)) {
    CHECK(s.leader != 3);
    CHECK(s.leader != kNoLeader);
  }
}

TEST_CASE("A returning broker gets its preferred leaderships back") {
  MemoryEtcd etcd;
  Keys keys("test");
  auto a = StartMember(etcd, 1);
  auto b = StartMember(etcd, 2);
  auto c = StartMember(etcd, 3);
  // Creating a topic needs a controller in the creating member's view.
  REQUIRE(Eventually([&] {
    auto v = a->view();
    return v->brokers.size() == 3 && v->controller.has_value();
  }));
  REQUIRE(CreateTopic(*a, NewTopic{"t", 3, 3, 2, {}}).ToString() == "OK");
  c->Stop();
  etcd.ExpireLease(LeaseOf(etcd, keys, 3));
  REQUIRE(Eventually([&] {
    for (const auto& [id, s] : Partitions(*a)) {
      if (s.leader == 3 || s.InIsr(3)) return false;
    }
    return true;
  }));
  c = StartMember(etcd, 3);
  // Broker 3 is back but not in any ISR (it has not caught up): it leads nothing.
  std::this_thread::sleep_for(200ms);
  for (const auto& [id, s] : Partitions(*a)) CHECK(s.leader != 3);
  // Its leaders take it back into the ISR once it has caught up (here: at once), at the broker
  // epoch they see; an addition naming the epoch of an earlier run of broker 3 is refused.
  REQUIRE(Eventually([&] { return a->view()->brokers.contains(3); }));
  const int64_t epoch3 = a->view()->brokers.at(3).epoch;
  auto alter = [&](const TopicPartitionId& id, const PartitionState& s, int64_t epoch) {
    std::vector<int32_t> isr = s.isr;
    isr.push_back(3);
    std::map<int32_t, int64_t> epochs;
    for (int32_t b : isr) epochs[b] = b == 3 ? epoch : a->view()->brokers.at(b).epoch;
    absl::Notification done;
    absl::Status result;
    a->AlterIsr(id, s, isr, epochs, [&](absl::Status status) {
      result = status;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  };
  for (const auto& [id, s] : Partitions(*a)) {
    CHECK(absl::IsAborted(alter(id, s, epoch3 - 1)));
    CHECK(alter(id, s, epoch3).ToString() == "OK");
  }
  REQUIRE(Eventually([&] {
    for (const auto& [id, s] : Partitions(*a)) {
      if (!s.isr_epochs.contains(3) || s.isr_epochs.at(3) != epoch3) return false;
    }
    return true;
  }));
  REQUIRE(Eventually([&] {
    for (const auto& [id, s] : Partitions(*a)) {
      if (s.leader != s.replicas.front()) return false;
    }
    return true;
  }));
}

}  // namespace
}  // namespace strata::cluster
