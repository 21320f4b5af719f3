// Fetcher: a follower's copy loop from one leader broker, for every partition this broker
// follows there (Kafka's replica fetcher thread).
//
// One thread per leader broker. Each round sends one fetch for all its partitions, from each
// one's log end with its leader epoch and the epoch of its last batch, and applies the answer:
//  - diverging_epoch set: truncate to min(the leader's end of that epoch, our own end of it) and
//    fetch again (docs/cluster.md#truncation; KIP-101 and KIP-279 as newer Kafka does it);
//  - records: append each batch with its offsets (Partition::AppendReplica), then set the high
//    watermark to min(the leader's, our log end);
//  - an epoch error or "not leader": the partition waits for the cluster's next word about it
//    (the replica manager re-adds it with the new leader and epoch);
//  - the leader unreachable: back off and try again.
// A partition removed or re-added (new epoch) while a fetch is out has that fetch's answer
// ignored.
//
// Thread-safe: Add and Remove from any thread; the fetch loop on its own.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <span>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/metadata.h"
#include "partition/partition.h"
#include "replication/channel.h"

namespace strata::replication {

struct FetcherOptions {
  int32_t self = 0;
  // How long the leader may hold a fetch with nothing new. Short, because a partition added to
  // this fetcher (a new leadership) waits for the fetch in flight to come back before it is
  // fetched: this bounds how long a new leader waits for its followers, and so acks=all after a
  // failover (docs/cluster.md#failover-and-leaving).
  int32_t max_wait_ms = 100;
  int32_t max_bytes = 8 << 20;
  int32_t partition_max_bytes = 1 << 20;
  int64_t backoff_ms = 100;
  // After "not leader" or "unknown epoch": the follower learned of the new leadership before
  // the leader did, which catches up within milliseconds.
  int64_t leader_change_backoff_ms = 10;
};

struct FetcherStats {
  int64_t rounds = 0;
  int64_t batches = 0;
  int64_t truncations = 0;
  int64_t errors = 0;
};

// Where a follower fetches `partition` from: its log end, the epoch it follows, and the epoch of
// its last batch.
ReplicaFetchPartition FetchPosition(const cluster::TopicPartitionId& id,
                                    const partition::Partition& partition, int32_t leader_epoch);

// What one partition's answer did to the follower's replica.
struct ApplyOutcome {
  absl::Status status;  // not OK: the partition pauses (the message says why)
  int64_t batches = 0;
  bool truncated = false;
};
// Applies one partition's answer (without an error code) to the follower's replica: truncation
// at a diverging epoch, or the answer's batches and the high watermark. What each fetch round
// does per partition; tests call it to step replication deterministically.
ApplyOutcome ApplyFetchResult(partition::Partition& partition, const ReplicaFetchResult& result,
                              std::span<std::byte> records);

class Fetcher {
 public:
  Fetcher(int32_t leader_id, std::unique_ptr<ReplicaChannel> channel, FetcherOptions options);
  ~Fetcher();  // stops and joins the thread
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Follows `id` from this leader at `leader_epoch` (again, if it was followed at another epoch).
  void Add(const cluster::TopicPartitionId& id, std::shared_ptr<partition::Partition> partition,
           int32_t leader_epoch);
  void Remove(const cluster::TopicPartitionId& id);
  bool empty() const;
  int32_t leader_id() const { return leader_id_; }
  FetcherStats stats() const;

 private:
  struct Followed {
    std::shared_ptr<partition::Partition> partition;
    int32_t leader_epoch = 0;
    uint64_t generation = 0;  // bumped by every Add, to drop answers to an older one
    std::chrono::steady_clock::time_point paused_until{};
  };
  void Run();
  // Applies one partition's answer; returns false if the partition should pause.
  bool Apply(const cluster::TopicPartitionId& id, const Followed& followed,
             const ReplicaFetchResult& result, ReplicaFetchResponse& response);

  const int32_t leader_id_;
  const std::unique_ptr<ReplicaChannel> channel_;
  const FetcherOptions options_;

  mutable absl::Mutex mu_;
  std::map<cluster::TopicPartitionId, Followed> partitions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  FetcherStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace strata::replication
