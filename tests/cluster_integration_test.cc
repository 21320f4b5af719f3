// A real cluster on loopback: a real etcd (tests/etcd_process.h) and three stratad processes
// (tests/broker_process.h), driven through the client library, with real faults: kill -9,
// SIGSTOP/SIGCONT, SIGTERM. Every process is stopped by pid when a test ends, pass or fail.
// docs/cluster.md is what these tests hold the cluster to.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/group_consumer.h"
#include "client/producer.h"
#include "cluster/etcd_http.h"
#include "cluster/metadata.h"
#include "record/partitioner.h"
#include "tests/broker_process.h"
#include "tests/etcd_process.h"

namespace strata::test {
namespace {

using namespace std::chrono_literals;

// Short enough for tests to see failovers quickly, long enough not to flap on a busy machine.
constexpr int kLeaseTtlS = 2;
constexpr int kReplicaLagMaxMs = 3000;

template <typename F>
bool Eventually(F done, std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class Cluster {
 public:
  explicit Cluster(int brokers) {
    for (int id = 1; id <= brokers; ++id) {
      brokers_.push_back(std::make_unique<BrokerProcess>(
          absl::StrCat(dir_.path(), "/broker-", id),
          std::vector<std::string>{"--etcd", etcd_.endpoint(), "--node-id", std::to_string(id),
                                   "--cluster-name", "test", "--broker-lease-ttl-s",
                                   std::to_string(kLeaseTtlS), "--replica-lag-max-ms",
                                   std::to_string(kReplicaLagMaxMs)}));
    }
    REQUIRE(Eventually([&] {
      auto status = Admin()->DescribeCluster();
      return status.ok() && status->controller_id >= 0 && LiveBrokers() == brokers;
    }));
  }

  BrokerProcess& broker(int id) { return *brokers_.at(id - 1); }
  EtcdProcess& etcd() { return etcd_; }
  const std::string& dir() const { return dir_.path(); }

  // Every broker's address but `avoid`'s (a paused broker accepts connections and answers
  // nothing, so a client must not start there).
  std::string bootstrap(int avoid = -1) const {
    std::string out;
    for (size_t i = 0; i < brokers_.size(); ++i) {
      if (static_cast<int>(i) + 1 == avoid) continue;
      absl::StrAppend(&out, out.empty() ? "" : ",", brokers_[i]->bootstrap());
    }
    return out;
  }

  // A fresh admin client that does not start at broker `avoid`.
  std::unique_ptr<client::Admin> Admin(int avoid = -1) {
    auto admin = client::Admin::Connect(bootstrap(avoid));
    REQUIRE(admin.ok());
    return std::move(*admin);
  }

  int LiveBrokers() {
    auto status = Admin()->DescribeCluster();
    if (!status.ok()) return -1;
    int alive = 0;
    for (const auto& b : status->brokers) alive += b.alive ? 1 : 0;
    return alive;
  }

  void CreateTopic(const std::string& name, int partitions, int rf = 3, int min_isr = 2) {
    REQUIRE(Admin()->CreateTopic(client::NewTopic{name, partitions, rf, min_isr, {}}).ok());
  }

  // The partition's metadata as the cluster now sees it.
  client::PartitionInfo Partition(const std::string& topic, int32_t index, int avoid = -1) {
    client::PartitionInfo out;
    REQUIRE(Eventually([&] {
      auto info = Admin(avoid)->DescribeTopic(topic);
      if (!info.ok() || static_cast<int32_t>(info->partitions.size()) <= index) return false;
      out = info->partitions[index];
      return true;
    }));
    return out;
  }

  // Waits until the partition is led by someone other than `old` (and not offline).
  int32_t WaitForNewLeader(const std::string& topic, int32_t index, int32_t old) {
    int32_t leader = -1;
    REQUIRE(Eventually([&] {
      client::PartitionInfo p = Partition(topic, index, old);
      leader = p.leader;
      return p.leader >= 0 && p.leader != old;
    }));
    return leader;
  }

  // The partition's high watermark, from its leader (ListOffsets latest; Metadata's figure is
  // the answering broker's own replica's, which trails on a follower).
  int64_t HighWatermark(const std::string& topic, int32_t index, int avoid = -1) {
    int64_t hw = -1;
    REQUIRE(Eventually([&] {
      auto offsets = Admin(avoid)->ListOffsets(topic, {index}, client::kLatestTimestamp);
      if (!offsets.ok()) return false;
      for (const auto& p : *offsets) {
        if (p.partition == index && p.status.ok()) hw = p.offset;
      }
      return hw >= 0;
    }));
    return hw;
  }

  void WaitForFullIsr(const std::string& topic, int32_t index) {
    REQUIRE(Eventually([&] {
      client::PartitionInfo p = Partition(topic, index);
      return p.leader >= 0 && p.isr.size() == p.replicas.size();
    }));
  }

  // `strata log compare` of two replicas' directories below `below`; true if identical.
  bool ReplicasIdentical(int a, int b, const std::string& partition_dir, int64_t below) {
    const std::string cmd = absl::StrCat(
        STRATA_CLI_PATH, " log compare ", broker(a).data_dir(), "/", partition_dir, " ",
        broker(b).data_dir(), "/", partition_dir, " --below ", below);
    INFO(cmd);
    return std::system(cmd.c_str()) == 0;
  }

 private:
  TempDir dir_;
  EtcdProcess etcd_;
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
};

// What a producer learned: the values acknowledged, in the order they were sent.
struct Acked {
  absl::Mutex mu;
  std::vector<std::string> values;  // in ack order
  std::map<std::string, int64_t> offsets;
  int failures = 0;
  std::string last_failure;
};

// Sends "v-<i>" for i in [from, to) to partition 0 of `topic` with acks=all, recording each ack.
void Stream(client::Producer& producer, const std::string& topic, int from, int to, Acked& acked,
            std::chrono::milliseconds pause = 0ms) {
  for (int i = from; i < to; ++i) {
    std::string value = absl::StrCat("v-", i);
    absl::Status st = producer.Send(
        client::ProducerRecord{topic, std::nullopt, value, {}, -1, 0},
        [&acked, value](absl::StatusOr<client::RecordMetadata> md) {
          absl::MutexLock lock(&acked.mu);
          if (md.ok()) {
            acked.values.push_back(value);
            acked.offsets[value] = md->offset;
          } else {
            acked.failures++;
            acked.last_failure = md.status().ToString();
          }
        });
    REQUIRE(st.ok());
    if (pause > 0ms) std::this_thread::sleep_for(pause);
  }
}

std::vector<client::ConsumerRecord> ReadAll(const std::string& bootstrap, const std::string& topic,
                                            size_t expected) {
  client::ConsumerConfig config;
  config.bootstrap = bootstrap;
  auto consumer = client::Consumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign(topic).ok());
  std::vector<client::ConsumerRecord> out;
  auto last_progress = std::chrono::steady_clock::now();
  while (out.size() < expected && std::chrono::steady_clock::now() - last_progress < 10s) {
    auto records = (*consumer)->Poll(200);
    REQUIRE(records.ok());
    if (!records->empty()) last_progress = std::chrono::steady_clock::now();
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

// Every acknowledged value is read back exactly once, and the values read are in send order.
void CheckAckedReadBackOnce(Acked& acked, const std::vector<client::ConsumerRecord>& read) {
  absl::MutexLock lock(&acked.mu);
  std::map<std::string, int> seen;
  int64_t previous = -1;
  for (const auto& r : read) {
    seen[*r.value]++;
    const int64_t sequence = std::stoll(r.value->substr(2));
    CHECK(sequence > previous);  // in send order
    previous = sequence;
  }
  int lost = 0, duplicated = 0;
  for (const std::string& v : acked.values) {
    if (seen[v] == 0) lost++;
    if (seen[v] > 1) duplicated++;
  }
  CHECK(lost == 0);
  CHECK(duplicated == 0);
  for (const auto& [v, n] : seen) CHECK(n == 1);
}

client::ProducerConfig AcksAllProducer(const std::string& bootstrap) {
  client::ProducerConfig config;
  config.bootstrap = bootstrap;
  config.acks = -1;
  config.linger_ms = 1;
  config.request_timeout_ms = 5000;
  config.retry_backoff_ms = 50;
  config.retry_backoff_max_ms = 500;
  return config;
}

TEST_CASE("acks=all, RF 3, min ISR 2: the leader is killed mid-stream and nothing acknowledged "
          "is lost or duplicated", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("stream", 1);
  auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
  REQUIRE(producer.ok());
  Acked acked;
  Stream(**producer, "stream", 0, 2000, acked, 1ms / 4);
  const int32_t leader = cluster.Partition("stream", 0).leader;
  // Writes continue while the leader dies; the producer finds the new one by itself.
  std::thread writer([&] { Stream(**producer, "stream", 2000, 6000, acked, 1ms); });
  std::this_thread::sleep_for(500ms);
  cluster.broker(leader).Kill();
  const int32_t next = cluster.WaitForNewLeader("stream", 0, leader);
  writer.join();
  (*producer)->Flush();
  {
    absl::MutexLock lock(&acked.mu);
    INFO("failures: " << acked.failures << ", last: " << acked.last_failure);
    CHECK(acked.values.size() == 6000);  // every record was acknowledged in the end
  }
  auto read = ReadAll(cluster.bootstrap(), "stream", 6000);
  CheckAckedReadBackOnce(acked, read);
  CHECK(read.size() == 6000);
  // The new leader's log holds the old leader's, offsets and epochs included.
  cluster.broker(leader).Restart();
  cluster.WaitForFullIsr("stream", 0);
  const int64_t hw = cluster.HighWatermark("stream", 0);
  cluster.broker(leader).Terminate();
  cluster.broker(next).Terminate();
  CHECK(cluster.ReplicasIdentical(leader, next, "stream-0", hw));
}

TEST_CASE("a leader paused past the lag limit acknowledges nothing it should not, and rejoins "
          "as a follower", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("paused", 1);
  auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
  REQUIRE(producer.ok());
  Acked acked;
  Stream(**producer, "paused", 0, 500, acked);
  (*producer)->Flush();
  const int32_t leader = cluster.Partition("paused", 0).leader;
  std::thread writer([&] { Stream(**producer, "paused", 500, 3000, acked, 2ms); });
  std::this_thread::sleep_for(200ms);
  ::kill(cluster.broker(leader).pid(), SIGSTOP);
  const int32_t next = cluster.WaitForNewLeader("paused", 0, leader);
  std::this_thread::sleep_for(std::chrono::milliseconds(kReplicaLagMaxMs));
  ::kill(cluster.broker(leader).pid(), SIGCONT);
  writer.join();
  (*producer)->Flush();
  // It rejoins as a follower: back in the ISR, not the leader (until the preferred-leader move,
  // which waits for it to have caught up).
  cluster.WaitForFullIsr("paused", 0);
  auto read = ReadAll(cluster.bootstrap(), "paused", 3000);
  CheckAckedReadBackOnce(acked, read);
  {
    absl::MutexLock lock(&acked.mu);
    CHECK(acked.values.size() == 3000);
  }
  const int64_t hw = cluster.HighWatermark("paused", 0);
  for (int b = 1; b <= 3; ++b) cluster.broker(b).Terminate();
  CHECK(cluster.ReplicasIdentical(leader, next, "paused-0", hw));
}

TEST_CASE("with two of three brokers down acks=all is refused with NOT_ENOUGH_REPLICAS, the high "
          "watermark stands still, and acks=1 is still taken", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("few", 1);
  {
    auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
    REQUIRE(producer.ok());
    Acked acked;
    Stream(**producer, "few", 0, 100, acked);
    (*producer)->Flush();
  }
  const client::PartitionInfo before = cluster.Partition("few", 0);
  REQUIRE(cluster.HighWatermark("few", 0) == 100);
  for (int b = 1; b <= 3; ++b) {
    if (b != before.leader) cluster.broker(b).Kill();
  }
  // The controller drops the dead followers from the ISR once their leases expire.
  REQUIRE(Eventually([&] { return cluster.Partition("few", 0).isr.size() == 1; }));

  auto config = AcksAllProducer(cluster.broker(before.leader).bootstrap());
  config.delivery_timeout_ms = 3000;
  config.request_timeout_ms = 1000;
  auto producer = client::Producer::Create(config);
  REQUIRE(producer.ok());
  const auto start = std::chrono::steady_clock::now();
  auto refused = (*producer)->SendSync(client::ProducerRecord{"few", std::nullopt, "x", {}, -1, 0});
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(refused.ok());
  INFO(refused.status().ToString());
  CHECK(refused.status().message().find("min_insync_replicas") != std::string::npos);
  CHECK(took < 10s);

  auto acks1_config = config;
  acks1_config.acks = 1;
  auto acks1 = client::Producer::Create(acks1_config);
  REQUIRE(acks1.ok());
  auto taken = (*acks1)->SendSync(client::ProducerRecord{"few", std::nullopt, "y", {}, -1, 0});
  REQUIRE(taken.ok());
  CHECK(taken->offset == 100);
  // KIP-966: below min ISR nothing new becomes committed, not even acks=1 writes.
  std::this_thread::sleep_for(500ms);
  CHECK(cluster.HighWatermark("few", 0) == 100);
}

TEST_CASE("KIP-101: a follower restarted before it learns the high watermark keeps what the "
          "leader acknowledged, and leads with it", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("kip101", 1);
  auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
  REQUIRE(producer.ok());
  Acked acked;
  Stream(**producer, "kip101", 0, 300, acked);
  (*producer)->Flush();
  const client::PartitionInfo p = cluster.Partition("kip101", 0);
  std::vector<int32_t> followers;
  for (int32_t r : p.replicas) {
    if (r != p.leader) followers.push_back(r);
  }
  // Acknowledged means every ISR member had it; kill one follower right after the last ack, so
  // its high watermark may trail, and bring it back at once.
  cluster.broker(followers[0]).Kill();
  cluster.broker(followers[0]).Restart();
  cluster.WaitForFullIsr("kip101", 0);
  // Now the leader and the other follower die: the restarted follower must lead with everything.
  cluster.broker(p.leader).Kill();
  cluster.broker(followers[1]).Kill();
  REQUIRE(Eventually([&] { return cluster.Partition("kip101", 0).leader == followers[0]; }));
  cluster.broker(p.leader).Restart();
  cluster.broker(followers[1]).Restart();
  cluster.WaitForFullIsr("kip101", 0);
  auto read = ReadAll(cluster.bootstrap(), "kip101", 300);
  CheckAckedReadBackOnce(acked, read);
  CHECK(read.size() == 300);
  const int64_t hw = cluster.HighWatermark("kip101", 0);
  for (int b = 1; b <= 3; ++b) cluster.broker(b).Terminate();
  CHECK(cluster.ReplicasIdentical(p.leader, followers[0], "kip101-0", hw));
  CHECK(cluster.ReplicasIdentical(followers[1], followers[0], "kip101-0", hw));
}

TEST_CASE("KIP-279: after two failovers in a row the replicas are identical below the high "
          "watermark", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("kip279", 1, 3, 1);  // min ISR 1: writes go on with one replica left
  auto config = AcksAllProducer(cluster.bootstrap());
  auto producer = client::Producer::Create(config);
  REQUIRE(producer.ok());
  Acked acked;
  Stream(**producer, "kip279", 0, 200, acked);
  (*producer)->Flush();
  const int32_t first = cluster.Partition("kip279", 0).leader;
  // Failover 1: the leader dies with a stream in flight.
  std::thread writer([&] { Stream(**producer, "kip279", 200, 1200, acked, 1ms); });
  std::this_thread::sleep_for(200ms);
  cluster.broker(first).Kill();
  const int32_t second = cluster.WaitForNewLeader("kip279", 0, first);
  // Failover 2, right after: the new leader dies too.
  std::this_thread::sleep_for(200ms);
  cluster.broker(second).Kill();
  const int32_t third = cluster.WaitForNewLeader("kip279", 0, second);
  writer.join();
  (*producer)->Flush();
  // Both come back as followers of the third and truncate where their logs diverge.
  cluster.broker(first).Restart();
  cluster.broker(second).Restart();
  cluster.WaitForFullIsr("kip279", 0);
  auto read = ReadAll(cluster.bootstrap(), "kip279", 1200);
  CheckAckedReadBackOnce(acked, read);
  const int64_t hw = cluster.HighWatermark("kip279", 0);
  for (int b = 1; b <= 3; ++b) cluster.broker(b).Terminate();
  CHECK(cluster.ReplicasIdentical(third, first, "kip279-0", hw));
  CHECK(cluster.ReplicasIdentical(third, second, "kip279-0", hw));
}

TEST_CASE("a consumer group keeps consuming through its coordinator's death, at least once, "
          "with its committed offsets intact", "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("work", 3);
  auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
  REQUIRE(producer.ok());
  Acked acked;
  for (int i = 0; i < 3000; ++i) {
    REQUIRE((*producer)
                ->Send(client::ProducerRecord{"work", absl::StrCat("k", i % 30),
                                              absl::StrCat("v-", i), {}, -1, std::nullopt},
                       [](auto) {})
                .ok());
  }
  (*producer)->Flush();

  client::GroupConsumerConfig config;
  config.bootstrap = cluster.bootstrap();
  config.group_id = "billing";
  config.auto_offset_reset = client::OffsetReset::kEarliest;
  config.enable_auto_commit = false;
  config.session_timeout_ms = 6000;
  config.heartbeat_interval_ms = 500;
  config.request_timeout_ms = 10000;
  auto consumer = client::GroupConsumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Subscribe({"work"}).ok());
  std::set<std::string> seen;
  auto consume_until = [&](size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (seen.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto records = (*consumer)->Poll(200);
      if (!records.ok()) continue;  // a moving coordinator: the next Poll rejoins
      for (const auto& r : *records) seen.insert(*r.value);
      (void)(*consumer)->CommitSync();
    }
  };
  consume_until(1000);
  REQUIRE((*consumer)->CommitSync().ok());
  // The coordinator is the leader of the group's partition of __consumer_offsets.
  const int32_t offsets_partition = record::PartitionForKey("billing", 8);
  const int32_t coordinator = cluster.Partition("__consumer_offsets", offsets_partition).leader;
  REQUIRE(coordinator >= 1);
  auto committed_before = cluster.Admin()->GroupOffsets("billing");
  REQUIRE(committed_before.ok());
  cluster.broker(coordinator).Kill();
  cluster.WaitForNewLeader("__consumer_offsets", offsets_partition, coordinator);
  consume_until(3000);
  CHECK(seen.size() == 3000);  // every record, at least once
  REQUIRE(Eventually([&] { return (*consumer)->CommitSync().ok(); }));
  // Offsets committed before the death survived it (and only moved forward since).
  auto committed_after = cluster.Admin()->GroupOffsets("billing");
  REQUIRE(committed_after.ok());
  int64_t total = 0;
  for (const auto& [tp, before] : *committed_before) {
    REQUIRE(committed_after->contains(tp));
    CHECK(committed_after->at(tp).offset >= before.offset);
  }
  for (const auto& [tp, c] : *committed_after) total += c.offset;
  CHECK(total == 3000);
  CHECK((*consumer)->Close().ok());
}

TEST_CASE("a controller paused past its lease writes nothing to etcd after a new one is elected",
          "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("ctl", 6);
  auto status = cluster.Admin()->DescribeCluster();
  REQUIRE(status.ok());
  const int32_t old_controller = status->controller_id;
  const int64_t old_epoch = status->controller_epoch;
  auto etcd = cluster::EtcdHttpClient::Create({cluster.etcd().endpoint()}, 2000ms);
  REQUIRE(etcd.ok());
  cluster::Keys keys("test");

  ::kill(cluster.broker(old_controller).pid(), SIGSTOP);
  // Something for a controller to do while the old one sleeps: a broker dies.
  int32_t victim = old_controller % 3 + 1;
  cluster.broker(victim).Kill();
  REQUIRE(Eventually([&] {
    auto s = cluster.Admin(old_controller)->DescribeCluster();
    return s.ok() && s->controller_id >= 0 && s->controller_epoch > old_epoch;
  }));
  // From here on, every write to a partition record must come from a newer controller, or from a
  // leader's ISR change (which keeps the controller epoch of the record it changed).
  auto since = (*etcd)->Range(cluster::KeyRange::Exactly(keys.controller()));
  REQUIRE(since.ok());
  const int64_t from_revision = since->revision + 1;
  absl::Mutex mu;
  std::vector<cluster::PartitionState> written;
  auto watch = (*etcd)->Watch(cluster::KeyRange::Prefix(keys.root() + "partitions/"),
                              from_revision, [&](cluster::WatchUpdate u) {
                                absl::MutexLock lock(&mu);
                                for (const auto& e : u.events) {
                                  if (e.type != cluster::WatchEvent::Type::kPut) continue;
                                  auto s = cluster::DecodePartition(e.kv.value);
                                  if (s.ok()) written.push_back(*s);
                                }
                              });
  REQUIRE(watch.ok());
  // The old controller wakes up with a stale view, and the dead broker comes back (more work).
  ::kill(cluster.broker(old_controller).pid(), SIGCONT);
  cluster.broker(victim).Restart();
  for (int p = 0; p < 6; ++p) cluster.WaitForFullIsr("ctl", p);
  std::this_thread::sleep_for(2s);  // preferred-leader moves, if any, come one per second
  watch->reset();
  absl::MutexLock lock(&mu);
  CHECK_FALSE(written.empty());  // the watch saw the cluster at work
  for (const auto& s : written) CHECK(s.controller_epoch != old_epoch);
  // The old controller is a broker again, registered anew.
  auto after = cluster.Admin()->DescribeCluster();
  REQUIRE(after.ok());
  CHECK(after->controller_epoch > old_epoch);
}

TEST_CASE("the cluster rides out an etcd restart: writes go on, and failover still works after",
          "[cluster]") {
  Cluster cluster(3);
  cluster.CreateTopic("etcd", 1);
  auto producer = client::Producer::Create(AcksAllProducer(cluster.bootstrap()));
  REQUIRE(producer.ok());
  Acked acked;
  Stream(**producer, "etcd", 0, 100, acked);
  (*producer)->Flush();
  // etcd dies and comes back on its data: leases and records survive; brokers' watches end and
  // are read again, keepalives fail and then succeed.
  cluster.etcd().Kill();
  Stream(**producer, "etcd", 100, 200, acked);  // the data path does not need etcd
  (*producer)->Flush();
  std::this_thread::sleep_for(500ms);
  cluster.etcd().Restart();
  REQUIRE(Eventually([&] { return cluster.LiveBrokers() == 3; }));
  // The cluster still reacts: a leader's death is noticed and its partition fails over.
  const int32_t leader = cluster.Partition("etcd", 0).leader;
  cluster.broker(leader).Kill();
  cluster.WaitForNewLeader("etcd", 0, leader);
  Stream(**producer, "etcd", 200, 300, acked);
  (*producer)->Flush();
  {
    absl::MutexLock lock(&acked.mu);
    CHECK(acked.values.size() == 300);
  }
  auto read = ReadAll(cluster.bootstrap(leader), "etcd", 300);
  CheckAckedReadBackOnce(acked, read);
  CHECK(read.size() == 300);
}

}  // namespace
}  // namespace strata::test
