// ClusterView: one broker's picture of the cluster, as read from etcd: the live brokers, the
// controller, the topics and every partition's state, as of one etcd revision.
//
// Built from a range read of the cluster's prefix and kept current by the watch that follows it
// (cluster/member.h). A value: copy it, hand out shared_ptr<const ClusterView> snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "cluster/etcd_client.h"
#include "cluster/metadata.h"

namespace strata::cluster {

struct ClusterView {
  int64_t revision = 0;
  std::map<int32_t, BrokerInfo> brokers;  // registered (their lease is alive)
  std::optional<ControllerInfo> controller;
  std::map<std::string, TopicRecord> topics;
  std::map<TopicPartitionId, PartitionState> partitions;

  // From a range read of keys.root(). A record that does not decode is skipped and reported in
  // `*errors` (it cannot be acted on, and must not stop the broker from seeing the rest).
  static ClusterView FromRange(const Keys& keys, const RangeResult& range,
                               std::vector<std::string>* errors);
  // Applies one watched change.
  void Apply(const Keys& keys, const WatchEvent& event, std::vector<std::string>* errors);

  // A broker that is registered and not shutting down: one that may lead.
  bool CanLead(int32_t broker) const;
  // An ISR member of `state` whose broker has registered again since it was admitted (its
  // isr_epochs entry is not its registration's epoch): it restarted, and may have lost writes it
  // had acknowledged to the leader. It leaves the ISR and is not elected (docs/cluster.md). An
  // entry of 0 (admitted while its registration was unknown) is stale once it is registered.
  bool StaleInIsr(const PartitionState& state, int32_t broker) const;
  const PartitionState* Find(const TopicPartitionId& id) const;

 private:
  void Put(const Keys& keys, const KeyValue& kv, std::vector<std::string>* errors);
};

}  // namespace strata::cluster
