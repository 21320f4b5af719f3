// The controller's decisions, as pure functions of a ClusterView: which partitions need a new
// leader or a smaller ISR, and what a new topic's records are. The member that holds the
// controller key (cluster/member.h) writes them to etcd, each as a compare-and-set on the
// partition's key that also compares the controller epoch, so a stale controller writes nothing.
// docs/cluster.md#the-controller gives the rules and where each comes from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/view.h"

namespace strata::cluster {

struct PartitionChange {
  TopicPartitionId id;
  PartitionState before;  // as read (its mod_revision is the compare)
  PartitionState after;
  std::string reason;  // for the log: "leader 2 is gone", "preferred leader 1 is back"
};

// Elections and ISR removals the view calls for:
//  - a partition of a topic whose record exists but whose state does not yet gets its first
//    state: every replica in the ISR, the first replica that can lead as leader, epoch 0;
//  - a partition whose leader cannot lead (its lease is gone, or it is shutting down) gets the
//    first replica, in preference order, that is in the ISR and can lead; the old leader leaves
//    the ISR. When no ISR member can lead, the partition goes offline (leader -1) with its ISR
//    unchanged: there is no unclean election, and the last ISR members are the ones to wait for;
//  - an offline partition is led again as soon as one of its ISR members can lead;
//  - a follower whose lease is gone leaves the ISR (the leader would drop it after
//    replica_lag_max_ms anyway; this is sooner), unless it is the last member;
//  - when a partition's preferred replica (the first) can lead, is in the ISR and is not the
//    leader, leadership moves back to it, for at most `preferred_moves_max` partitions per call,
//    so that a returning broker takes its leaderships back gradually.
// Every change bumps the partition epoch, and every change of leader the leader epoch.
std::vector<PartitionChange> PlanPartitionChanges(const ClusterView& view, int preferred_moves_max);

// The transaction that writes `changes` as controller `controller_epoch`: it succeeds only if
// the controller key still has that create_revision and every partition key still has the mod
// revision its change was planned from (0 for a partition state not written yet). The caller
// keeps `changes` within limits::etcd_txn_changes_max.
Txn ControllerTxn(const Keys& keys, int64_t controller_epoch,
                  const std::vector<PartitionChange>& changes);

struct NewTopic {
  std::string name;
  int32_t partitions = 1;
  int32_t replication_factor = 0;   // 0: the cluster default
  int32_t min_insync_replicas = 0;  // 0: the cluster default
  std::map<std::string, std::string> config;
};

// Kafka's defaults, scaled to the cluster: replication factor min(3, live brokers) and
// min_insync_replicas 2 when the factor is 3 or more, else 1.
int32_t DefaultReplicationFactor(size_t live_brokers);
int32_t DefaultMinInsyncReplicas(int32_t replication_factor);

// The transaction that creates `topic` over the view's live brokers: it succeeds only if the
// topic does not exist yet and `controller_epoch` still holds the controller key. It writes the
// topic record (with the replica assignment) only; the controller then writes each partition's
// first state (PlanPartitionChanges). InvalidArgument for a replication factor above the live
// brokers or a min_insync_replicas above the replication factor, each saying what to change.
absl::StatusOr<Txn> CreateTopicTxn(const Keys& keys, const ClusterView& view,
                                   int64_t controller_epoch, NewTopic topic);

// Deletes the topic record and its partitions' records (fenced by the controller epoch).
Txn DeleteTopicTxn(const Keys& keys, int64_t controller_epoch, const std::string& topic);

}  // namespace strata::cluster
