// FakeBroker: a tiny in-process stand-in for stratad, for client tests that need no real broker.
// It serves ApiVersions, Metadata, InitProducerId, Produce (with idempotent deduplication by
// producer id and base sequence), Fetch (no long-poll: it answers at once) and ListOffsets for
// topics given at construction, keeping batches in memory. Test-only.
//
// FakeCluster runs several FakeBrokers (nodes 0..n-1) over one shared FakeClusterState: one copy
// of each partition's log, standing for the replicated log every replica agrees on, and a
// leader with a leader epoch per partition. A node that does not lead a partition answers
// Produce and Fetch for it with NOT_LEADER and the leader as a hint, a partition without a
// leader gets LEADER_NOT_AVAILABLE, and a Fetch with an older current_leader_epoch
// FENCED_LEADER_EPOCH (a newer one UNKNOWN_LEADER_EPOCH), as a real cluster's brokers do. The
// producers' deduplication state is shared too, as a new leader rebuilds it from its log. Tests
// move leaders, stop nodes, drop connections and freeze a node's metadata (a broker that has
// not heard of later leader changes).
//
// Thread-safe: one thread accepts, one thread per connection serves; state is under a mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace strata::client {

struct FakeClusterState;

class FakeBroker {
 public:
  // A single broker (node 0) leading every partition; `topics` maps names to partition counts.
  // Listens on 127.0.0.1 at a free port.
  explicit FakeBroker(std::map<std::string, int32_t> topics);
  // Node `node_id` of a fake cluster.
  FakeBroker(std::shared_ptr<FakeClusterState> state, int32_t node_id);
  ~FakeBroker();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int32_t node_id() const { return node_id_; }

  // Records appended to a partition, by value, in offset order.
  std::vector<std::string> Values(const std::string& topic, int32_t partition);
  // Flips a bit in the last byte of a partition's last batch (a record byte, under the checksum),
  // so that a consumer reading it gets DataLoss.
  void TEST_CorruptLastBatch(const std::string& topic, int32_t partition);
  int64_t produce_requests() const { return produce_requests_; }
  int64_t fetch_requests() const { return fetch_requests_; }
  int64_t duplicates() const;

  // Closes every connection it has accepted, as a network failure would; it keeps listening.
  void DropConnections();
  // Stops listening and drops its connections; it leaves the cluster's live list. Not undone.
  void Stop();
  // From now on answers Metadata with the leaders and epochs as they are now: a broker that has
  // not heard of later leader changes.
  void FreezeMetadata();

 private:
  void Start();
  void Accept();
  void Serve(int fd);
  std::vector<std::byte> Handle(uint16_t api_key, std::span<const std::byte> body, bool* respond,
                                bool* drop);

  const std::shared_ptr<FakeClusterState> state_;
  const int32_t node_id_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<std::thread> servers_ ABSL_GUARDED_BY(mu_);
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> produce_requests_{0};
  std::atomic<int64_t> fetch_requests_{0};
};

class FakeCluster {
 public:
  // `nodes` brokers; every partition starts led by node 0 at leader epoch 0.
  FakeCluster(int32_t nodes, std::map<std::string, int32_t> topics);
  ~FakeCluster();

  FakeBroker& node(int32_t id) { return *nodes_.at(size_t(id)); }
  // Every node's address, comma separated (a bootstrap list).
  std::string bootstrap() const;

  // Makes `leader` lead the partition at the next leader epoch; -1: no leader (offline).
  void MoveLeader(const std::string& topic, int32_t partition, int32_t leader);
  // The partition's leader and epoch now.
  std::pair<int32_t, int32_t> Leader(const std::string& topic, int32_t partition);
  // The next Produce to the partition at its leader is appended, then `leader` takes over (next
  // epoch) and the connection drops before the answer is sent: the producer must resend the
  // same batch to the new leader, which deduplicates it.
  void FailOverAfterNextAppend(const std::string& topic, int32_t partition, int32_t leader);

  std::vector<std::string> Values(const std::string& topic, int32_t partition) {
    return node(0).Values(topic, partition);
  }
  int64_t duplicates() const { return nodes_.at(0)->duplicates(); }

 private:
  std::shared_ptr<FakeClusterState> state_;
  std::vector<std::unique_ptr<FakeBroker>> nodes_;
};

}  // namespace strata::client
