// ReplicaManager: gives each local partition its role from the cluster's view, and is what the
// data plane asks about leadership.
//
// On every new ClusterView (Apply, from the coordination thread) it goes over the partitions
// this broker holds a replica of:
//  - led here at a new epoch: Partition::BecomeLeader, a fresh LeaderState, no fetcher;
//  - led here at the same epoch: the LeaderState learns the record's new ISR;
//  - led by another broker: Partition::BecomeFollower, and the partition joins the fetcher for
//    that broker (one Fetcher thread per leader broker);
//  - no leader (offline): BecomeFollower (producers are refused) and no fetching.
// Partitions that are no longer replicas here stop being fetched or led. A topic deleted from
// the cluster is deleted locally (the hook); a local topic the cluster never had is left alone
// (and unserved), so pointing a broker at the wrong etcd does not delete its data.
//
// A ticker thread runs each leader's lag check every replica_lag_max_ms / 2.
//
// Thread-safe: Apply from the coordination thread; Lookup, OnAppend and the rest from io
// threads.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/view.h"
#include "partition/partition.h"
#include "replication/channel.h"
#include "replication/fetcher.h"
#include "replication/leader_state.h"

namespace strata::replication {

struct ReplicaManagerOptions {
  int32_t self = 0;
  int64_t replica_lag_max_ms = 30'000;
  FetcherOptions fetcher;  // `self` is filled in
};

struct ReplicaManagerHooks {
  // The local partition `index` of `topic`, created (with the topic's settings) if need be.
  std::function<absl::StatusOr<std::shared_ptr<partition::Partition>>(
      const cluster::TopicRecord& topic, int32_t index)>
      open_partition;
  // The cluster deleted `topic`: delete its local partitions.
  std::function<void(const std::string& topic)> delete_topic;
  // A leader's high watermark moved (wake consumers' long polls).
  std::function<void(const cluster::TopicPartitionId& id)> on_high_watermark;
  // A leader's ISR change, to be written to the cluster (ClusterMember::AlterIsr), with each
  // member's broker epoch as this broker's view had it when the change was proposed (that is,
  // when a follower's fetch showed it caught up): an addition is written only if that broker has
  // not registered again since.
  std::function<void(const cluster::TopicPartitionId& id, const cluster::PartitionState& expected,
                     std::vector<int32_t> isr, std::map<int32_t, int64_t> epochs,
                     std::function<void(absl::Status)> done)>
      propose_isr;
  // This broker became, or stopped being, the leader of `id` (the group coordinator follows
  // the leadership of __consumer_offsets partitions).
  std::function<void(const cluster::TopicPartitionId& id, bool leader, int32_t epoch)>
      on_leadership;
  ChannelFactory channels;
};

// What a request finds about one partition.
struct Leadership {
  enum class Kind {
    kLeader,     // this broker leads it: `partition` and `state` are set
    kFollower,   // another broker leads it: `leader` says which
    kOffline,    // no broker leads it now
    kNotReplica, // the cluster has it, but no replica here: `leader` says who leads
    kUnknown,    // the cluster has no such partition
  };
  Kind kind = Kind::kUnknown;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::shared_ptr<partition::Partition> partition;
  std::shared_ptr<LeaderState> state;
};

struct ReplicaCounts {
  int32_t leaders = 0;
  int32_t followers = 0;
  int32_t under_replicated = 0;  // led here, ISR smaller than the replicas
  int32_t below_min_isr = 0;     // led here, ISR below min_insync_replicas
  int64_t isr_shrinks = 0;
  int64_t isr_expands = 0;
};

struct FollowerLagInfo {
  cluster::TopicPartitionId id;
  FollowerLag lag;
};

class ReplicaManager {
 public:
  ReplicaManager(ReplicaManagerOptions options, ReplicaManagerHooks hooks);
  ~ReplicaManager();  // stops the fetchers and the ticker
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  void Apply(std::shared_ptr<const cluster::ClusterView> view);

  Leadership Lookup(const cluster::TopicPartitionId& id) const;
  // The leader of `id` appended: its high watermark may move (a leader alone in its ISR).
  void OnAppend(const cluster::TopicPartitionId& id) const;
  std::shared_ptr<const cluster::ClusterView> view() const;

  ReplicaCounts Counts() const;
  std::vector<FollowerLagInfo> FollowerLags(int64_t now_ms) const;
  FetcherStats FetchStats() const;
  int32_t self() const { return options_.self; }

 private:
  struct Replica {
    partition::Role role = partition::Role::kSingle;
    int32_t leader = -1;
    int32_t leader_epoch = -1;
    std::shared_ptr<partition::Partition> partition;
    std::shared_ptr<LeaderState> state;  // when led here
  };
  void ApplyOne(const cluster::ClusterView& view, const cluster::TopicPartitionId& id,
                const cluster::PartitionState& state, const cluster::TopicRecord& topic)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  Fetcher* FetcherFor(const cluster::ClusterView& view, int32_t leader)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // Removes `id` from every fetcher but the one of broker `except`.
  void StopFollowing(const cluster::TopicPartitionId& id, int32_t except = -1)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  void Tick();

  const ReplicaManagerOptions options_;
  const ReplicaManagerHooks hooks_;

  // Apply runs one at a time; it owns the fetchers.
  mutable absl::Mutex apply_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  struct FetcherEntry {
    std::string host;
    uint16_t port = 0;
    std::unique_ptr<Fetcher> fetcher;
  };
  std::map<int32_t, FetcherEntry> fetchers_ ABSL_GUARDED_BY(apply_mu_);

  // What requests read.
  mutable absl::Mutex mu_;
  std::shared_ptr<const cluster::ClusterView> view_ ABSL_GUARDED_BY(mu_);
  std::map<cluster::TopicPartitionId, Replica> replicas_ ABSL_GUARDED_BY(mu_);

  absl::Mutex ticker_mu_;
  bool stopping_ ABSL_GUARDED_BY(ticker_mu_) = false;
  std::thread ticker_;
};

}  // namespace strata::replication
