// MetadataCache: what a client knows of a cluster's layout, from Metadata answers and from the
// leader hints of NOT_LEADER / FENCED_LEADER_EPOCH answers: each partition's leader and leader
// epoch, each topic's partition count, and each live broker's address.
//
// Invariant (Kafka's KIP-320): a partition's leader epoch never goes back. A Metadata answer from
// a broker that has not yet heard of a leader change carries an older epoch; the cache keeps the
// newer leader it already knows for that partition and takes the rest of the answer. A hint is
// taken only when its epoch is newer than the one known. An answer with the same epoch is taken
// (it may say the leader went offline: leader -1).
//
// Not thread-safe: owned by a ClusterClient, whose owner serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/metadata.h"
#include "client/types.h"

namespace strata::client {

struct LeaderInfo {
  int32_t node_id = -1;  // -1: no leader now
  int32_t epoch = -1;
};

class MetadataCache {
 public:
  // Takes a Metadata answer (see the invariant above). Brokers are replaced by the answer's live
  // list; topics the answer does not mention, or reports with an error, keep what was known.
  void Update(const ClusterMetadata& metadata);

  // A leader hint for `tp` (leader_id -1 or epoch -1: unknown, ignored). True if it was newer
  // than what the cache knew and was taken.
  bool ApplyHint(const TopicPartition& tp, int32_t leader_id, int32_t leader_epoch);

  // The leader known for `tp`; nullopt if the partition was never seen.
  std::optional<LeaderInfo> Leader(const TopicPartition& tp) const;
  // "host:port" of a live broker; nullopt for a node not in the last answer's list.
  std::optional<std::string> Address(int32_t node_id) const;
  std::vector<int32_t> Nodes() const;  // the live brokers, by id
  // Partitions of `topic` in the last answer that described it; nullopt if never described.
  std::optional<int32_t> PartitionCount(const std::string& topic) const;

 private:
  std::map<TopicPartition, LeaderInfo> leaders_;
  std::map<std::string, int32_t, std::less<>> partition_counts_;
  std::map<int32_t, std::string> addresses_;
};

// "host:port", with brackets around an IPv6 host.
std::string FormatAddress(const std::string& host, uint16_t port);

}  // namespace strata::client
