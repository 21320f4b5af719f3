// Replication in one process: leaders and followers on in-memory file systems, fetches stepped
// by hand (the KIP-101 and KIP-279 cases, deterministically) and by ReplicaManagers with their
// fetcher threads over an in-process channel.
#include <catch2/catch.hpp>
#include <thread>

#include "io/memory_file_system.h"
#include "log/test_util.h"
#include "partition/test_util.h"
#include "replication/replica_manager.h"
#include "replication/serve.h"

namespace strata::replication {
namespace {

using namespace std::chrono_literals;
using partition::testing::MakeProducerBatch;

const cluster::TopicPartitionId kId{"t", 0};

struct Replica {
  io::MemoryFileSystem fs;
  std::shared_ptr<partition::Partition> p;
  std::string dir;

  explicit Replica(std::string d) : dir(std::move(d)) { Open(); }
  void Open() {
    partition::TopicConfig config;
    config.log.flush.bytes = 0;
    config.log.flush.interval_ms = 0;
    auto opened = partition::Partition::Open(&fs, dir, "t", 0, config);
    REQUIRE(opened.ok());
    p = std::move(*opened);
  }
  // A restart: the log is reopened from its files (kill -9 loses nothing the page cache holds).
  void Restart() {
    REQUIRE(p->Close().ok());
    p.reset();
    Open();
  }
  void Append(const std::string& tag, int records = 1) {
    auto batch = MakeProducerBatch(-1, 0, 0, records, tag);
    auto r = p->Append(batch);
    REQUIRE(r.ok());
  }
};

// The raw bytes of every batch below `end` (base offsets and epochs included).
std::vector<std::byte> BatchesBelow(const partition::Partition& p, int64_t end) {
  std::vector<std::byte> out;
  int64_t offset = p.log_start_offset();
  while (offset < end) {
    auto read = p.Read(offset, 1 << 20);
    REQUIRE(read.ok());
    if (read->bytes.empty()) break;
    out.insert(out.end(), read->bytes.begin(), read->bytes.end());
    offset = read->next_offset;
  }
  return out;
}

// The leader's side as the broker serves it, stepped by hand.
struct Leader {
  Replica& r;
  int32_t id;
  int32_t epoch;
  std::shared_ptr<LeaderState> state;
  Leader(Replica& replica, int32_t broker, int32_t leader_epoch, std::vector<int32_t> isr)
      : r(replica), id(broker), epoch(leader_epoch) {
    REQUIRE(r.p->BecomeLeader(epoch).ok());
    cluster::PartitionState ps{{1, 2, 3}, broker, epoch, std::move(isr), 0, 1, -1, {}, cluster::kNoLeader};
    state = std::make_shared<LeaderState>(
        r.p, broker, ps, 1, 30'000, 0,
        [](const auto&, auto, std::function<void(absl::Status)> done) {
          done(absl::AbortedError("not in this test"));
        },
        nullptr);
  }
  Leadership leadership() const {
    return {Leadership::Kind::kLeader, id, epoch, r.p, state};
  }
};

// One fetch round of `follower` (broker `replica`) from `leader`; returns what it did.
ApplyOutcome FetchOnce(const Leader& leader, Replica& follower, int32_t replica) {
  ReplicaFetchPartition asked = FetchPosition(kId, *follower.p, leader.epoch);
  ReplicaFetchResult result;
  result.topic = kId.topic;
  CheckReplicaFetch(leader.leadership(), replica, asked, 0, result);
  REQUIRE(result.error == ReplicaFetchError::kNone);
  std::vector<std::byte> records;
  if (result.diverging_epoch < 0 && asked.fetch_offset < leader.r.p->log_end_offset()) {
    auto read = leader.r.p->Read(asked.fetch_offset, 1 << 20);
    REQUIRE(read.ok());
    records.assign(read->bytes.begin(), read->bytes.end());
  }
  return ApplyFetchResult(*follower.p, result, records);
}

// Fetches until the follower has everything and the leader's high watermark is its log end.
void CatchUp(const Leader& leader, Replica& follower, int32_t replica) {
  for (int i = 0; i < 10; i++) {
    ApplyOutcome outcome = FetchOnce(leader, follower, replica);
    REQUIRE(outcome.status.ok());
    if (!outcome.truncated && outcome.batches == 0 &&
        follower.p->log_end_offset() == leader.r.p->log_end_offset()) {
      return;
    }
  }
  FAIL("the follower did not catch up");
}

TEST_CASE("KIP-101: a follower restarted before learning the high watermark keeps its records") {
  Replica a("/a"), b("/b");
  REQUIRE(b.p->BecomeFollower(1).ok());
  {
    Leader leader(a, 1, 1, {1, 2});
    a.Append("m1");
    a.Append("m2");
    CatchUp(leader, b, 2);  // b holds both; its high watermark may trail
    CHECK(b.p->log_end_offset() == 2);
  }
  // b restarts. Truncating to its high watermark would drop m2, which the leader acknowledged;
  // asking by epoch, it keeps it.
  b.Restart();
  REQUIRE(b.p->BecomeFollower(1).ok());
  Leader still(a, 1, 1, {1, 2});
  CHECK(FetchOnce(still, b, 2).status.ok());
  CHECK(b.p->log_end_offset() == 2);
  // a dies; b leads at epoch 2; a returns as a follower and agrees.
  Leader b_leads(b, 2, 2, {2});
  b.Append("m3");
  a.Restart();
  REQUIRE(a.p->BecomeFollower(2).ok());
  CatchUp(b_leads, a, 1);
  CHECK(BatchesBelow(*a.p, 3) == BatchesBelow(*b.p, 3));
}

TEST_CASE("KIP-279: after two failovers in a row the replicas converge") {
  Replica a("/a"), b("/b");
  REQUIRE(b.p->BecomeFollower(1).ok());
  {
    Leader leader(a, 1, 1, {1, 2});
    a.Append("x0");
    a.Append("x1");
    CatchUp(leader, b, 2);
    a.Append("a2");  // epoch 1, never replicated
  }
  {
    // a is cut off; b leads at epoch 2 and appends, then is cut off in turn.
    REQUIRE(b.p->BecomeFollower(1).ok());
    Leader leader(b, 2, 2, {2});
    b.Append("b2");
    b.Append("b3");
  }
  // a leads again at epoch 3 (in this test we skip the election rules that would prevent it).
  Leader a_leads(a, 1, 3, {1});
  a.Append("a3");
  REQUIRE(b.p->BecomeFollower(3).ok());
  // b asks about epoch 2, which a never had: a answers with epoch 1 ending at 3, and b
  // truncates to min(3, its own end of epoch 1 = 2).
  ApplyOutcome first = FetchOnce(a_leads, b, 2);
  REQUIRE(first.status.ok());
  CHECK(first.truncated);
  CHECK(b.p->log_end_offset() == 2);
  CatchUp(a_leads, b, 2);
  CHECK(b.p->log_end_offset() == a.p->log_end_offset());
  CHECK(BatchesBelow(*a.p, a.p->log_end_offset()) == BatchesBelow(*b.p, b.p->log_end_offset()));
  CHECK(log::testing::ReadAllValues(*b.p, -1, 1 << 20) ==
        std::vector<std::string>{"x0-0", "x1-0", "a2-0", "a3-0"});
}

TEST_CASE("A fetch naming a stale or unknown epoch is fenced (KIP-320)") {
  CHECK(CheckLeaderEpoch(-1, 5) == ReplicaFetchError::kNone);
  CHECK(CheckLeaderEpoch(5, 5) == ReplicaFetchError::kNone);
  CHECK(CheckLeaderEpoch(4, 5) == ReplicaFetchError::kFencedEpoch);
  CHECK(CheckLeaderEpoch(6, 5) == ReplicaFetchError::kUnknownEpoch);
}

// --- ReplicaManagers with their fetcher threads -----------------------------------------------

struct Broker;

class InProcessChannel final : public ReplicaChannel {
 public:
  explicit InProcessChannel(Broker* target) : target_(target) {}
  absl::StatusOr<ReplicaFetchResponse> Fetch(const ReplicaFetchRequest& request) override;
  void Interrupt() override { interrupted_ = true; }

 private:
  Broker* target_;
  std::atomic<bool> interrupted_{false};
};

struct Broker {
  int32_t id;
  io::MemoryFileSystem fs;
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<partition::Partition>> partitions;
  std::unique_ptr<ReplicaManager> manager;
  std::vector<std::pair<cluster::TopicPartitionId, std::vector<int32_t>>> proposals;
  // Held (shared) by channels while they serve from this broker; Stop takes it to end serving.
  absl::Mutex serving_mu;
  bool serving ABSL_GUARDED_BY(serving_mu) = true;

  // Every broker stops serving before any manager goes: fetchers call other brokers.
  static void StopAll(std::initializer_list<Broker*> brokers) {
    for (Broker* b : brokers) {
      absl::MutexLock lock(&b->serving_mu);
      b->serving = false;
    }
    for (Broker* b : brokers) b->manager.reset();
  }

  explicit Broker(int32_t broker_id) : id(broker_id) {
    ReplicaManagerOptions options;
    options.self = id;
    options.replica_lag_max_ms = 60'000;
    options.fetcher.max_wait_ms = 20;
    options.fetcher.backoff_ms = 10;
    ReplicaManagerHooks hooks;
    hooks.open_partition = [this](const cluster::TopicRecord& topic, int32_t index)
        -> absl::StatusOr<std::shared_ptr<partition::Partition>> {
      absl::MutexLock lock(&mu);
      auto& p = partitions[absl::StrCat(topic.name, "-", index)];
      if (p == nullptr) {
        partition::TopicConfig config;
        config.partitions = topic.partitions();
        config.log.flush.bytes = 0;
        config.log.flush.interval_ms = 0;
        STRATA_ASSIGN_OR_RETURN(p, partition::Partition::Open(&fs, "/d", topic.name, index,
                                                               config));
      }
      return p;
    };
    hooks.propose_isr = [this](const cluster::TopicPartitionId& id, const auto&,
                               std::vector<int32_t> isr, std::map<int32_t, int64_t>,
                               std::function<void(absl::Status)> done) {
      {
        absl::MutexLock lock(&mu);
        proposals.emplace_back(id, std::move(isr));
      }
      done(absl::OkStatus());
    };
    hooks.channels = [](int32_t, const std::string&, uint16_t) -> std::unique_ptr<ReplicaChannel> {
      return nullptr;  // replaced below, once every broker exists
    };
    hooks_ = hooks;
  }
  void Start(std::map<int32_t, Broker*>* all) {
    hooks_.channels = [all](int32_t broker, const std::string&, uint16_t) {
      return std::make_unique<InProcessChannel>(all->at(broker));
    };
    ReplicaManagerOptions options;
    options.self = id;
    options.replica_lag_max_ms = 60'000;
    options.fetcher.max_wait_ms = 20;
    options.fetcher.backoff_ms = 10;
    manager = std::make_unique<ReplicaManager>(options, hooks_);
  }
  ReplicaManagerHooks hooks_;
};

absl::StatusOr<ReplicaFetchResponse> InProcessChannel::Fetch(const ReplicaFetchRequest& request) {
  const auto deadline = std::chrono::steady_clock::now() + 1ms * request.max_wait_ms;
  while (true) {
    absl::ReaderMutexLock serving(&target_->serving_mu);
    if (!target_->serving) return absl::UnavailableError("stopped");
    ReplicaFetchResponse response;
    bool any = false;
    for (const ReplicaFetchPartition& asked : request.partitions) {
      ReplicaFetchResult& result = response.partitions.emplace_back();
      result.topic = asked.topic;
      result.index = asked.index;
      Leadership leadership = target_->manager->Lookup({asked.topic, asked.index});
      CheckReplicaFetch(leadership, request.replica_id, asked, 0, result);
      if (result.error != ReplicaFetchError::kNone || result.diverging_epoch >= 0) {
        any = true;
        continue;
      }
      if (asked.fetch_offset >= leadership.partition->log_end_offset()) continue;
      auto read = leadership.partition->Read(asked.fetch_offset, request.partition_max_bytes);
      if (!read.ok()) return read.status();
      result.records_offset = response.buffer.size();
      result.records_size = read->bytes.size();
      response.buffer.insert(response.buffer.end(), read->bytes.begin(), read->bytes.end());
      any = true;
    }
    if (any || interrupted_ || std::chrono::steady_clock::now() >= deadline) return response;
    target_->serving_mu.ReaderUnlock();
    std::this_thread::sleep_for(2ms);
    target_->serving_mu.ReaderLock();
  }
}

cluster::ClusterView ViewWith(cluster::PartitionState state) {
  cluster::ClusterView view;
  for (int32_t id : {1, 2, 3}) view.brokers[id] = cluster::BrokerInfo{id, "local", 0, id};
  view.topics["t"] = cluster::TopicRecord{"t", 3, 2, {}, {state.replicas}};
  view.partitions[kId] = state;
  return view;
}

template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; i++) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_CASE("Replica managers copy a leader's appends to its followers and commit them") {
  std::map<int32_t, Broker*> all;
  Broker b1(1), b2(2), b3(3);
  all = {{1, &b1}, {2, &b2}, {3, &b3}};
  for (auto* b : {&b1, &b2, &b3}) b->Start(&all);
  auto view = std::make_shared<const cluster::ClusterView>(
      ViewWith(cluster::PartitionState{{1, 2, 3}, 1, 0, {1, 2, 3}, 0, 5, -1, {}, cluster::kNoLeader}));
  for (auto* b : {&b1, &b2, &b3}) b->manager->Apply(view);

  Leadership l = b1.manager->Lookup(kId);
  REQUIRE(l.kind == Leadership::Kind::kLeader);
  CHECK(b2.manager->Lookup(kId).kind == Leadership::Kind::kFollower);
  auto refused_acks_all = [&] { return !l.state->EnoughReplicas(); };
  CHECK_FALSE(refused_acks_all());
  for (int i = 0; i < 20; i++) {
    auto batch = MakeProducerBatch(-1, 0, 0, 5, absl::StrCat("r", i));
    REQUIRE(l.partition->Append(batch).ok());
    b1.manager->OnAppend(kId);
  }
  REQUIRE(Eventually([&] { return l.partition->high_watermark() == 100; }));
  auto f2 = b2.manager->Lookup(kId).partition;
  auto f3 = b3.manager->Lookup(kId).partition;
  REQUIRE(Eventually([&] { return f2->high_watermark() == 100 && f3->high_watermark() == 100; }));
  CHECK(BatchesBelow(*f2, 100) == BatchesBelow(*l.partition, 100));
  CHECK(BatchesBelow(*f3, 100) == BatchesBelow(*l.partition, 100));

  // Leadership moves to broker 2 at epoch 1: 2 leads, 1 follows it, and new appends flow 2 -> 1, 3.
  view = std::make_shared<const cluster::ClusterView>(
      ViewWith(cluster::PartitionState{{1, 2, 3}, 2, 1, {1, 2, 3}, 1, 6, -1, {}, cluster::kNoLeader}));
  for (auto* b : {&b1, &b2, &b3}) b->manager->Apply(view);
  Leadership l2 = b2.manager->Lookup(kId);
  REQUIRE(l2.kind == Leadership::Kind::kLeader);
  auto batch = MakeProducerBatch(-1, 0, 0, 1, "after");
  auto refused = l.partition->Append(batch);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == partition::AppendErrorCode::kNotLeader);
  REQUIRE(l2.partition->Append(batch).ok());
  b2.manager->OnAppend(kId);
  REQUIRE(Eventually([&] { return l.partition->high_watermark() == 101; }));
  CHECK(BatchesBelow(*l.partition, 101) == BatchesBelow(*l2.partition, 101));
  Broker::StopAll({&b1, &b2, &b3});
}


TEST_CASE("A consumer ahead of a new leader's high watermark waits instead of going out of range") {
  // The fault campaign found it: the old leader's high watermark was 3026 and a consumer had read
  // up to it; the new leader had learned only 3025 (a fetch later it learns 3026), so the
  // consumer's fetch at 3026 was OFFSET_OUT_OF_RANGE and a consumer group reset to earliest.
  CHECK(ClassifyConsumerFetch(3026, 0, 3025, 3030) == ConsumerFetch::kWait);
  CHECK(ClassifyConsumerFetch(3030, 0, 3025, 3030) == ConsumerFetch::kWait);
  CHECK(ClassifyConsumerFetch(3031, 0, 3025, 3030) == ConsumerFetch::kOutOfRange);
  CHECK(ClassifyConsumerFetch(3024, 0, 3025, 3030) == ConsumerFetch::kRead);
  CHECK(ClassifyConsumerFetch(9, 10, 3025, 3030) == ConsumerFetch::kOutOfRange);
  // On one broker the high watermark is the log end: reading at it waits, past it is out of range.
  CHECK(ClassifyConsumerFetch(50, 0, 50, 50) == ConsumerFetch::kWait);
  CHECK(ClassifyConsumerFetch(51, 0, 50, 50) == ConsumerFetch::kOutOfRange);
}

}  // namespace
}  // namespace strata::replication
