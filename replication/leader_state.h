// LeaderState: what the leader of one partition knows about its followers, and the decisions
// Kafka's replication rules make from it (docs/cluster.md#replication):
//
//  - each follower's log end, learned from its fetch offset (a follower fetching from offset N
//    holds every offset below N);
//  - the high watermark: the smallest log end over the ISR (the leader's own included), moved
//    only forward, and only while the ISR has at least min_insync_replicas members (Kafka's
//    KIP-966: below that, nothing new becomes committed, not even acks=1 writes);
//  - ISR expansion: a follower outside the ISR whose fetch shows its log end has reached the high
//    watermark and the start of the current leader epoch is proposed for the ISR (only on a
//    fetch: what a follower reported before it left the ISR is forgotten when it leaves);
//  - ISR shrink: a follower in the ISR that has not caught up with the leader's log end within
//    replica_lag_max_ms is proposed for removal. "Caught up" is Kafka's: its fetch reached the
//    leader's log end as of that fetch, or as of its previous fetch.
//
// Proposals go to the cluster (ClusterMember::AlterIsr, a compare-and-set on the partition's
// record); the ISR used here changes only when the cluster's record does (UpdateState), except
// that a proposed addition already counts for the high watermark (the larger set is the safe
// one while the change is in flight). One proposal is in flight at a time.
//
// Thread-safe: follower fetches arrive on any io thread, appends on others, the lag check on a
// timer, and cluster changes on the coordination thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/metadata.h"
#include "partition/partition.h"

namespace strata::replication {

// Milliseconds of the monotonic clock: the time base of lag and caught-up times (never the wall
// clock, which may jump).
int64_t SteadyNowMs();

struct FollowerLag {
  int32_t broker = 0;
  bool in_isr = false;
  int64_t log_end = -1;     // -1 until its first fetch under this leadership
  int64_t lag_records = 0;  // the leader's log end minus the follower's
  int64_t lag_ms = 0;       // since it was last caught up
};

class LeaderState : public std::enable_shared_from_this<LeaderState> {
 public:
  // Called (without locks held) with the ISR the leader wants; `expected` is the record the
  // change is made from (its mod revision is the compare). Must call `done` with the outcome.
  using ProposeIsr = std::function<void(const cluster::PartitionState& expected,
                                        std::vector<int32_t> isr,
                                        std::function<void(absl::Status)> done)>;
  // Called (without locks held) after the high watermark moved, to wake consumers.
  using OnHighWatermark = std::function<void()>;

  // Made with std::make_shared (proposals hold a weak_ptr to it).
  LeaderState(std::shared_ptr<partition::Partition> partition, int32_t self,
              cluster::PartitionState state, int32_t min_insync_replicas,
              int64_t replica_lag_max_ms, int64_t now_ms, ProposeIsr propose,
              OnHighWatermark on_high_watermark);

  // The cluster's record changed under the same leader epoch (an ISR change by this leader or
  // the controller). Followers that left the ISR keep their progress.
  void UpdateState(const cluster::PartitionState& state, int32_t min_insync_replicas);
  // A follower fetched from `fetch_offset`.
  void OnFollowerFetch(int32_t replica, int64_t fetch_offset, int64_t now_ms);
  // The leader appended (its own log end moved).
  void OnLeaderAppend();
  // Proposes dropping the followers that lag past replica_lag_max_ms (call every lag/2).
  void CheckLag(int64_t now_ms);

  // acks=all may be taken: the ISR has at least min_insync_replicas members.
  bool EnoughReplicas() const;
  int32_t isr_size() const;
  int32_t min_insync_replicas() const;
  std::vector<FollowerLag> Followers(int64_t now_ms) const;
  int64_t isr_shrinks() const;
  int64_t isr_expands() const;

 private:
  struct Follower {
    int64_t log_end = -1;
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_leader_end = -1;
    int64_t last_fetch_ms = 0;
  };
  // The high watermark the ISR allows, if it is past the partition's.
  std::optional<int64_t> HighWatermarkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ISR with `replica` added, if its fetch just showed it belongs (and no proposal is in
  // flight). Only a fetch can add a follower: progress it reported before leaving the ISR does
  // not count, so a dead broker the controller dropped is not added straight back.
  std::optional<std::vector<int32_t>> ExpansionLocked(int32_t replica)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Propose(std::vector<int32_t> isr, bool shrink) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the partition's high watermark to `hw`, if set, and tells on_high_watermark_.
  void Advance(std::optional<int64_t> hw) ABSL_LOCKS_EXCLUDED(mu_);

  const std::shared_ptr<partition::Partition> partition_;
  const int32_t self_;
  const int64_t replica_lag_max_ms_;
  const ProposeIsr propose_;
  const OnHighWatermark on_high_watermark_;
  // Where this leadership's epoch began: a follower joins the ISR only past it.
  const int64_t epoch_start_offset_;

  mutable absl::Mutex mu_;
  cluster::PartitionState state_ ABSL_GUARDED_BY(mu_);
  int32_t min_insync_replicas_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, Follower> followers_ ABSL_GUARDED_BY(mu_);
  bool proposal_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int32_t> proposed_additions_ ABSL_GUARDED_BY(mu_);
  int64_t isr_shrinks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t isr_expands_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace strata::replication
