// Tests of the client against a FakeCluster of several nodes whose partition leaders move: the
// metadata cache never goes back to an older leader epoch (from a stale broker's answer or a stale
// hint); a bootstrap list whose first address is dead still connects; the producer delivers every
// record exactly once and in order across leader moves (NOT_LEADER with hints, a fail-over right
// after an append whose answer is lost, a partition without a leader, a stopped broker); the
// consumer follows the leader without skipping or repeating an offset.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cluster_client.h"
#include "client/consumer.h"
#include "client/fake_broker.h"
#include "client/metadata_cache.h"
#include "client/producer.h"

namespace strata::client {
namespace {

using Catch::Matchers::Contains;

uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ClusterMetadata OnePartition(int32_t leader, int32_t epoch) {
  ClusterMetadata md;
  md.brokers = {{0, "127.0.0.1", 1}, {1, "127.0.0.1", 2}, {2, "127.0.0.1", 3}};
  TopicInfo t;
  t.name = "t";
  PartitionInfo p;
  p.index = 0;
  p.leader = leader;
  p.leader_epoch = epoch;
  t.partitions.push_back(p);
  md.topics.push_back(t);
  return md;
}

// Waits (polling, with a deadline) until `condition` holds.
template <typename Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds within = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_CASE("the metadata cache never goes back to an older leader epoch") {
  MetadataCache cache;
  const TopicPartition tp{"t", 0};
  cache.Update(OnePartition(1, 5));
  REQUIRE(cache.Leader(tp).has_value());
  CHECK(cache.Leader(tp)->node_id == 1);
  CHECK(cache.Leader(tp)->epoch == 5);
  CHECK(cache.Address(2) == "127.0.0.1:3");
  CHECK(cache.PartitionCount("t") == 1);

  cache.Update(OnePartition(0, 3));  // a broker that has not heard of epochs 4 and 5
  CHECK(cache.Leader(tp)->node_id == 1);
  CHECK(cache.Leader(tp)->epoch == 5);

  CHECK_FALSE(cache.ApplyHint(tp, 0, 4));  // an older hint
  CHECK_FALSE(cache.ApplyHint(tp, 0, 5));  // not newer
  CHECK_FALSE(cache.ApplyHint(tp, -1, 9)); // an unknown leader is no hint
  CHECK(cache.Leader(tp)->node_id == 1);
  CHECK(cache.ApplyHint(tp, 2, 6));
  CHECK(cache.Leader(tp)->node_id == 2);
  CHECK(cache.Leader(tp)->epoch == 6);

  cache.Update(OnePartition(-1, 6));  // the same epoch may say the leader went offline
  CHECK(cache.Leader(tp)->node_id == -1);
  cache.Update(OnePartition(0, 7));
  CHECK(cache.Leader(tp)->node_id == 0);
  CHECK(cache.Leader(tp)->epoch == 7);
}

TEST_CASE("a stale broker's metadata does not undo a newer leader") {
  FakeCluster cluster(3, {{"t", 1}});
  cluster.node(1).FreezeMetadata();  // node 1 keeps saying: leader 0, epoch 0
  cluster.MoveLeader("t", 0, 2);     // epoch 1
  ClusterClientOptions options;
  options.bootstrap = cluster.node(1).address();
  options.refresh_backoff_ms = 0;
  ClusterClient client(options);
  REQUIRE(client.Refresh({"t"}).ok());
  CHECK(client.Leader({"t", 0})->node_id == 0);
  CHECK(client.ApplyHint({"t", 0}, 2, 1));  // e.g. from node 0's NOT_LEADER answer
  client.MarkStale();
  REQUIRE(client.RefreshIfStale().ok());
  CHECK(client.Leader({"t", 0})->node_id == 2);
  CHECK(client.Leader({"t", 0})->epoch == 1);
  // ListOffsets goes to the leader (node 0 would answer NOT_LEADER).
  auto offsets = client.ListOffsets("t", {0}, kLatestTimestamp);
  REQUIRE(offsets.ok());
  CHECK((*offsets)[0].status.ok());
  CHECK((*offsets)[0].offset == 0);
}

TEST_CASE("a bootstrap list whose first broker is down still connects") {
  FakeCluster cluster(2, {{"t", 1}});
  const std::string dead = "127.0.0.1:" + std::to_string(ClosedPort());
  ProducerConfig config;
  config.bootstrap = dead + ", " + cluster.node(1).address();
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  auto md = (*producer)->SendSync(ProducerRecord{"t", std::nullopt, "hello", {}, -1, 0});
  REQUIRE(md.ok());
  CHECK(md->offset == 0);
  CHECK(cluster.node(0).produce_requests() == 1);  // the leader, learnt from node 1's metadata

  ConsumerConfig cc;
  cc.bootstrap = dead + "," + cluster.node(1).address();
  auto consumer = Consumer::Create(cc);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign("t").ok());
  auto records = (*consumer)->Poll(1000);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK(records->at(0).value == "hello");

  // With every address down the error names each one.
  const std::string dead2 = "127.0.0.1:" + std::to_string(ClosedPort());
  auto none = Connection::ConnectAny(dead + "," + dead2);
  REQUIRE(absl::IsUnavailable(none.status()));
  CHECK_THAT(std::string(none.status().message()), Contains("cannot reach any of the 2"));
  CHECK_THAT(std::string(none.status().message()), Contains(dead2));
  CHECK(absl::IsInvalidArgument(ParseBootstrap(" , ").status()));
}

TEST_CASE("the producer delivers every record exactly once, in order, while the leader moves") {
  FakeCluster cluster(3, {{"t", 1}});
  ProducerConfig config;
  config.bootstrap = cluster.bootstrap();
  config.retry_backoff_ms = 5;
  config.retry_backoff_max_ms = 20;
  config.batch_bytes = 256;  // several batches per phase
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  std::vector<std::string> values;
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i) {
      values.push_back("v" + std::to_string(values.size()));
      futures.push_back((*producer)->Send(ProducerRecord{"t", std::nullopt, values.back(), {}, -1, 0}));
    }
  };

  // 1. Node 0 appends a batch, then node 1 takes over and the answer is lost with node 0's
  //    connection: the same batch goes to node 1, which deduplicates it.
  cluster.FailOverAfterNextAppend("t", 0, 1);
  send(40);
  (*producer)->Flush();
  CHECK(cluster.duplicates() == 1);
  CHECK(cluster.node(1).produce_requests() > 0);

  // 2. Node 2 takes over; node 1 answers NOT_LEADER with node 2 as the hint.
  cluster.MoveLeader("t", 0, 2);
  const int64_t node2_before = cluster.node(2).produce_requests();
  send(40);
  (*producer)->Flush();
  CHECK(cluster.node(2).produce_requests() > node2_before);

  // 3. No leader for a while (LEADER_NOT_AVAILABLE), then node 0 again.
  cluster.MoveLeader("t", 0, -1);
  const int64_t refused_before = cluster.node(2).produce_requests();
  send(40);
  REQUIRE(WaitFor([&] { return cluster.node(2).produce_requests() > refused_before; }));
  cluster.MoveLeader("t", 0, 0);
  (*producer)->Flush();

  // 4. Node 1 leads and node 0 stops: the connection to it drops and it leaves the live list.
  cluster.MoveLeader("t", 0, 1);
  cluster.node(0).Stop();
  send(40);
  (*producer)->Close();

  for (size_t i = 0; i < futures.size(); ++i) {
    auto md = futures[i].get();
    REQUIRE(md.ok());
    CHECK(md->offset == int64_t(i));  // the offsets of the one copy, in send order
  }
  CHECK(cluster.Values("t", 0) == values);  // each record exactly once, in order
}

TEST_CASE("the consumer follows the leader and never skips or repeats an offset") {
  FakeCluster cluster(3, {{"t", 1}});
  ProducerConfig pc;
  pc.bootstrap = cluster.node(0).address();
  pc.retry_backoff_ms = 5;
  pc.retry_backoff_max_ms = 20;
  auto producer = Producer::Create(pc);
  REQUIRE(producer.ok());
  std::atomic<int> failed{0};  // counted on the sender thread, checked here
  auto produce = [&](int from, int n) {
    for (int i = from; i < from + n; ++i) {
      REQUIRE((*producer)->Send(ProducerRecord{"t", std::nullopt, "v" + std::to_string(i), {}, -1, 0},
                                [&failed](absl::StatusOr<RecordMetadata> md) {
                                  if (!md.ok()) ++failed;
                                })
                  .ok());
    }
    (*producer)->Flush();
    REQUIRE(failed == 0);
  };
  ConsumerConfig cc;
  cc.bootstrap = cluster.bootstrap();
  cc.retry_backoff_ms = 5;
  auto consumer = Consumer::Create(cc);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign("t").ok());
  REQUIRE((*consumer)->Seek("t", 0, SeekTarget::Earliest()).ok());
  std::vector<int64_t> offsets;
  std::vector<std::string> got;
  auto poll_until = [&](size_t count) {
    return WaitFor([&] {
      auto records = (*consumer)->Poll(50);
      REQUIRE(records.ok());
      for (const auto& r : *records) {
        offsets.push_back(r.offset);
        got.push_back(*r.value);
      }
      return offsets.size() >= count;
    });
  };

  produce(0, 10);
  REQUIRE(poll_until(10));
  // Node 1 leads at epoch 1: node 0 answers NOT_LEADER with the hint.
  cluster.MoveLeader("t", 0, 1);
  produce(10, 10);
  const int64_t node1_fetches = cluster.node(1).fetch_requests();
  REQUIRE(poll_until(20));
  CHECK(cluster.node(1).fetch_requests() > node1_fetches);

  // No leader: polls return nothing, and no error, until node 2 leads and node 1 is gone.
  cluster.MoveLeader("t", 0, -1);
  auto nothing = (*consumer)->Poll(30);
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
  cluster.MoveLeader("t", 0, 2);
  cluster.node(1).Stop();
  produce(20, 10);
  REQUIRE(poll_until(30));

  // A stale epoch is fenced: node 2 moves on to epoch 5 behind the consumer's back (no NOT_LEADER,
  // it still leads), so the consumer's epoch-3 fetch gets FENCED_LEADER_EPOCH and its hint.
  cluster.MoveLeader("t", 0, 2);
  cluster.MoveLeader("t", 0, 2);
  produce(30, 10);
  REQUIRE(poll_until(40));

  REQUIRE(offsets.size() == 40);
  for (size_t i = 0; i < offsets.size(); ++i) {
    CHECK(offsets[i] == int64_t(i));
    CHECK(got[i] == "v" + std::to_string(i));
  }
  CHECK((*consumer)->Position("t", 0).value() == 40);
}

}  // namespace
}  // namespace strata::client
