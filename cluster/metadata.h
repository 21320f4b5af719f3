// What Strata keeps in etcd, as C++ values, and the keys it keeps them under (docs/cluster.md is
// the specification; keep the two in step).
//
// Under a prefix `/strata/<cluster name>/`:
//   brokers/<id>                BrokerInfo, attached to the broker's lease
//   controller                  ControllerInfo, attached to the controller's lease
//   topics/<topic>              TopicRecord (partition count, replication, config, assignment)
//   partitions/<topic>/<index>  PartitionState (leader, leader epoch, ISR, partition epoch)
//   producer_ids                the next free idempotent-producer id, a decimal number
//
// Values are JSON objects. Epochs come from etcd's revisions where they must be unique across
// restarts: a broker's epoch is its registration key's create_revision, the controller epoch is
// the controller key's create_revision.
//
// Plain values and free functions: safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "common/status.h"

namespace strata::cluster {

inline constexpr int32_t kNoLeader = -1;

struct BrokerInfo {
  int32_t id = 0;
  std::string host;
  uint16_t port = 0;
  // Set from etcd, not stored in the value: the registration's create_revision. A restarted
  // broker registers anew, so its epoch grows.
  int64_t epoch = 0;
  // Set by a broker that is shutting down cleanly: the controller moves its leaderships away
  // and does not elect it.
  bool shutting_down = false;
  // The broker's Kafka-compatible listener as Kafka clients dial it (docs/kafka.md); port 0: it
  // has none.
  std::string kafka_host;
  uint16_t kafka_port = 0;

  bool operator==(const BrokerInfo&) const = default;
};

struct ControllerInfo {
  int32_t broker_id = -1;
  int64_t epoch = 0;  // the controller key's create_revision
};

struct TopicRecord {
  std::string name;
  int32_t replication_factor = 1;
  int32_t min_insync_replicas = 1;
  // The topic's settings as `strata topic create --config` takes them (partition/topic_config.h).
  std::map<std::string, std::string> config;
  // replicas[p]: partition p's replicas, the preferred leader first.
  std::vector<std::vector<int32_t>> replicas;

  int32_t partitions() const { return static_cast<int32_t>(replicas.size()); }
  bool operator==(const TopicRecord&) const = default;
};

struct PartitionState {
  std::vector<int32_t> replicas;  // as in the topic record; the first is the preferred leader
  int32_t leader = kNoLeader;
  // Grows with every change of leader (and with every election, even of the same broker).
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  // Grows with every change of this record; a leader's ISR change names the epoch it read.
  int32_t partition_epoch = 0;
  // Set from etcd, not stored in the value: the key's mod_revision, for compare-and-set.
  int64_t mod_revision = 0;
  // The epoch of the controller that last wrote the record (a leader's ISR change keeps it), so
  // that anyone reading etcd can tell which controller made each decision (-1: none yet).
  int64_t controller_epoch = -1;
  // Each ISR member's broker epoch (BrokerInfo::epoch, its registration's revision) when it was
  // admitted: a member whose broker has registered again since (it restarted, perhaps after a
  // power loss that took writes it had acknowledged to the leader) is stale, leaves the ISR and
  // is not elected until a leader admits it again, caught up (Kafka's KIP-903 and KIP-966).
  // Members without an entry (records written before it existed) are taken as current.
  std::map<int32_t, int64_t> isr_epochs;
  // The leader before the partition went offline (kNoLeader while it has one, or never had). It
  // fsynced every acks=all record it acknowledged, so it may lead again even after a restart when
  // no current ISR member is left.
  int32_t last_leader = kNoLeader;

  bool InIsr(int32_t broker) const;
  // Sets the ISR to `members`, keeping the recorded epoch of those already in it and taking
  // `epoch_of(broker)` (the broker's current registration; 0 if unknown) for those added.
  template <typename EpochOf>
  void SetIsr(std::vector<int32_t> members, EpochOf epoch_of) {
    std::map<int32_t, int64_t> epochs;
    for (int32_t b : members) {
      auto it = isr_epochs.find(b);
      epochs[b] = it != isr_epochs.end() && InIsr(b) ? it->second : epoch_of(b);
    }
    isr = std::move(members);
    isr_epochs = std::move(epochs);
  }
  void RemoveFromIsr(int32_t broker) {
    std::erase(isr, broker);
    isr_epochs.erase(broker);
  }
  bool operator==(const PartitionState& o) const {
    return replicas == o.replicas && leader == o.leader && leader_epoch == o.leader_epoch &&
           isr == o.isr && isr_epochs == o.isr_epochs && last_leader == o.last_leader &&
           partition_epoch == o.partition_epoch && controller_epoch == o.controller_epoch;
  }
};

struct TopicPartitionId {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartitionId&) const = default;
  std::string ToString() const { return topic + "/" + std::to_string(partition); }
};

// The keys under one cluster's prefix.
class Keys {
 public:
  explicit Keys(absl::string_view cluster_name);

  const std::string& root() const { return root_; }  // "/strata/<name>/"
  std::string broker(int32_t id) const;
  std::string brokers() const;  // the prefix of every broker key
  std::string controller() const;
  std::string topic(absl::string_view name) const;
  std::string topics() const;
  std::string partition(absl::string_view topic, int32_t index) const;
  std::string partitions(absl::string_view topic) const;  // one topic's partitions
  std::string producer_ids() const;  // the next free idempotent-producer id (a decimal)

  // What a key under root() names. nullopt for keys Strata does not write.
  struct Parsed {
    enum class Kind { kBroker, kController, kTopic, kPartition };
    Kind kind = Kind::kBroker;
    int32_t broker_id = 0;
    TopicPartitionId partition;  // topic name for kTopic too
  };
  std::optional<Parsed> Parse(absl::string_view key) const;

 private:
  std::string root_;
};

std::string EncodeBroker(const BrokerInfo& broker);
absl::StatusOr<BrokerInfo> DecodeBroker(absl::string_view json);
std::string EncodeController(const ControllerInfo& controller);
absl::StatusOr<ControllerInfo> DecodeController(absl::string_view json);
std::string EncodeTopic(const TopicRecord& topic);
absl::StatusOr<TopicRecord> DecodeTopic(absl::string_view json);
std::string EncodePartition(const PartitionState& state);
absl::StatusOr<PartitionState> DecodePartition(absl::string_view json);

// Places `partitions` partitions of `replication_factor` replicas each over `brokers` (ids,
// any order): every broker leads (is first in) about as many partitions as any other, and holds
// about as many replicas. `start` rotates the placement (a hash of the topic name, so that many
// small topics do not all start on the lowest id). InvalidArgument when the replication factor
// exceeds the number of brokers, saying both.
absl::StatusOr<std::vector<std::vector<int32_t>>> AssignReplicas(std::vector<int32_t> brokers,
                                                                 int32_t partitions,
                                                                 int32_t replication_factor,
                                                                 uint32_t start);

}  // namespace strata::cluster
