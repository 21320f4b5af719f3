#include "cluster/controller.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"

namespace strata::cluster {
namespace {

// The broker's current registration epoch; 0 when it is not registered.
int64_t EpochOf(const ClusterView& view, int32_t broker) {
  auto it = view.brokers.find(broker);
  return it == view.brokers.end() ? 0 : it->second.epoch;
}

// A partition that has never had a leader holds no data anywhere: whichever run of a replica
// comes, it misses nothing.
bool NeverLed(const PartitionState& state) {
  return state.leader == kNoLeader && state.leader_epoch == 0 && state.last_leader == kNoLeader;
}

// The first replica, in preference order, that is a current ISR member and can lead.
int32_t ChooseLeader(const ClusterView& view, const PartitionState& state) {
  for (int32_t replica : state.replicas) {
    if (state.InIsr(replica) && view.CanLead(replica) &&
        (NeverLed(state) || !view.StaleInIsr(state, replica))) {
      return replica;
    }
  }
  return kNoLeader;
}

PartitionState WithLeader(PartitionState state, int32_t leader) {
  if (leader == kNoLeader && state.leader != kNoLeader) state.last_leader = state.leader;
  if (leader != kNoLeader) state.last_leader = kNoLeader;
  state.leader = leader;
  state.leader_epoch++;
  state.partition_epoch++;
  return state;
}

}  // namespace

std::vector<PartitionChange> PlanPartitionChanges(const ClusterView& view,
                                                  int preferred_moves_max) {
  std::vector<PartitionChange> changes;
  // A new topic's partitions: the topic record is written first (by whichever broker took the
  // request), their states here, so a topic of any size fits etcd's per-transaction limit.
  for (const auto& [name, topic] : view.topics) {
    for (int32_t p = 0; p < topic.partitions(); p++) {
      TopicPartitionId id{name, p};
      if (view.partitions.contains(id)) continue;
      PartitionState initial;
      initial.replicas = topic.replicas[p];
      // Every log is empty: all are in sync.
      initial.SetIsr(initial.replicas, [&](int32_t b) { return EpochOf(view, b); });
      initial.leader = ChooseLeader(view, initial);
      changes.push_back({id, PartitionState{}, initial, "new partition"});
    }
  }
  int preferred_moves = 0;
  for (const auto& [id, state] : view.partitions) {
    const bool leader_restarted = state.leader != kNoLeader && view.StaleInIsr(state, state.leader);
    if (state.leader != kNoLeader && (!view.CanLead(state.leader) || leader_restarted)) {
      int32_t old_leader = state.leader;
      PartitionState after = state;
      after.RemoveFromIsr(old_leader);
      int32_t next = ChooseLeader(view, after);
      const std::string why = leader_restarted ? " restarted" : " is gone";
      if (next == kNoLeader) {
        // Nobody else holds everything: keep the ISR as it is (with the old leader, who may come
        // back) and wait offline. No unclean election.
        after = WithLeader(state, kNoLeader);
        changes.push_back({id, state, after,
                           absl::StrCat("leader ", old_leader, why,
                                        " and no other current ISR member can lead: offline")});
      } else {
        changes.push_back(
            {id, state, WithLeader(after, next), absl::StrCat("leader ", old_leader, why)});
      }
      continue;
    }
    if (state.leader == kNoLeader) {
      int32_t next = ChooseLeader(view, state);
      std::string why = absl::StrCat("ISR member ", next, " is back");
      if (next == kNoLeader && state.InIsr(state.last_leader) && view.CanLead(state.last_leader)) {
        // Every ISR member that can lead has restarted since it was admitted. The last leader
        // fsynced every acks=all record it acknowledged, so it holds them all even after a power
        // loss: it leads again (admitted at its new epoch), and the others catch up from it.
        next = state.last_leader;
        why = absl::StrCat("last leader ", next, " is back (restarted; it fsynced what it acknowledged)");
      }
      if (next != kNoLeader) {
        PartitionState after = WithLeader(state, next);
        after.isr_epochs[next] = EpochOf(view, next);
        changes.push_back({id, state, after, why});
      }
      continue;
    }
    // The leader is fine. Followers whose lease is gone, or that restarted since they were
    // admitted, leave the ISR (a dead one never as the last member).
    PartitionState after = state;
    const int32_t leader = state.leader;
    std::vector<int32_t> dead, restarted;
    for (int32_t b : state.isr) {
      if (b == leader) continue;
      if (!view.brokers.contains(b)) dead.push_back(b);
      else if (view.StaleInIsr(state, b)) restarted.push_back(b);
    }
    for (int32_t b : restarted) after.RemoveFromIsr(b);
    for (int32_t b : dead) after.RemoveFromIsr(b);
    if (after.isr.empty()) {
      after = state;
      for (int32_t b : restarted) after.RemoveFromIsr(b);
    }
    if (after.isr != state.isr) {
      after.partition_epoch++;
      changes.push_back({id, state, after,
                         restarted.empty() ? "followers whose lease is gone leave the ISR"
                                           : "followers that restarted, or whose lease is gone, "
                                             "leave the ISR"});
      continue;
    }
    int32_t preferred = state.replicas.empty() ? kNoLeader : state.replicas.front();
    if (preferred != state.leader && preferred != kNoLeader && state.InIsr(preferred) &&
        view.CanLead(preferred) && !view.StaleInIsr(state, preferred) &&
        preferred_moves < preferred_moves_max) {
      preferred_moves++;
      changes.push_back({id, state, WithLeader(state, preferred),
                         absl::StrCat("preferred leader ", preferred, " is back in the ISR")});
    }
  }
  return changes;
}

Txn ControllerTxn(const Keys& keys, int64_t controller_epoch,
                  const std::vector<PartitionChange>& changes) {
  Txn txn;
  txn.compares.push_back(Compare::CreateRevision(keys.controller(), controller_epoch));
  for (const PartitionChange& change : changes) {
    std::string key = keys.partition(change.id.topic, change.id.partition);
    txn.compares.push_back(Compare::ModRevision(key, change.before.mod_revision));
    PartitionState after = change.after;
    after.controller_epoch = controller_epoch;
    txn.success.push_back(Op::Put(key, EncodePartition(after)));
  }
  return txn;
}

int32_t DefaultReplicationFactor(size_t live_brokers) {
  return static_cast<int32_t>(std::clamp<size_t>(live_brokers, 1, 3));
}

int32_t DefaultMinInsyncReplicas(int32_t replication_factor) {
  return replication_factor >= 3 ? 2 : 1;
}

absl::StatusOr<Txn> CreateTopicTxn(const Keys& keys, const ClusterView& view,
                                   int64_t controller_epoch, NewTopic topic) {
  std::vector<int32_t> live;
  for (const auto& [id, broker] : view.brokers) {
    if (!broker.shutting_down) live.push_back(id);
  }
  if (topic.replication_factor == 0)
    topic.replication_factor = DefaultReplicationFactor(live.size());
  if (topic.min_insync_replicas == 0) {
    topic.min_insync_replicas = DefaultMinInsyncReplicas(topic.replication_factor);
  }
  if (topic.min_insync_replicas < 1 || topic.min_insync_replicas > topic.replication_factor) {
    return absl::InvalidArgumentError(absl::StrCat("min_insync_replicas ",
                                                   topic.min_insync_replicas,
                                                   " must be between 1 and the "
                                                   "replication factor (",
                                                   topic.replication_factor, ")"));
  }
  STRATA_ASSIGN_OR_RETURN(
      auto replicas, AssignReplicas(live, topic.partitions, topic.replication_factor,
                                    static_cast<uint32_t>(std::hash<std::string>{}(topic.name))));
  TopicRecord record{topic.name, topic.replication_factor, topic.min_insync_replicas,
                     std::move(topic.config), replicas};
  Txn txn;
  txn.compares.push_back(Compare::CreateRevision(keys.controller(), controller_epoch));
  txn.compares.push_back(Compare::Absent(keys.topic(topic.name)));
  txn.success.push_back(Op::Put(keys.topic(topic.name), EncodeTopic(record)));
  return txn;
}

Txn DeleteTopicTxn(const Keys& keys, int64_t controller_epoch, const std::string& topic) {
  Txn txn;
  txn.compares.push_back(Compare::CreateRevision(keys.controller(), controller_epoch));
  txn.success.push_back(Op::Delete(KeyRange::Exactly(keys.topic(topic))));
  txn.success.push_back(Op::Delete(KeyRange::Prefix(keys.partitions(topic))));
  return txn;
}

}  // namespace strata::cluster
