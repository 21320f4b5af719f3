#include "client/metadata_cache.h"

#include "absl/strings/str_cat.h"

namespace strata::client {

std::string FormatAddress(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

void MetadataCache::Update(const ClusterMetadata& metadata) {
  addresses_.clear();
  for (const BrokerInfo& b : metadata.brokers) addresses_[b.node_id] = FormatAddress(b.host, b.port);
  for (const TopicInfo& topic : metadata.topics) {
    if (!topic.status.ok()) continue;
    partition_counts_[topic.name] = int32_t(topic.partitions.size());
    for (const PartitionInfo& p : topic.partitions) {
      const TopicPartition tp{topic.name, p.index};
      auto [it, added] = leaders_.try_emplace(tp, LeaderInfo{p.leader, p.leader_epoch});
      // Older than what is known: this broker has not heard of the last leader change yet.
      if (!added && p.leader_epoch >= it->second.epoch) {
        it->second = LeaderInfo{p.leader, p.leader_epoch};
      }
    }
  }
}

bool MetadataCache::ApplyHint(const TopicPartition& tp, int32_t leader_id, int32_t leader_epoch) {
  if (leader_id < 0 || leader_epoch < 0) return false;
  auto [it, added] = leaders_.try_emplace(tp, LeaderInfo{leader_id, leader_epoch});
  if (added) return true;
  if (leader_epoch <= it->second.epoch) return false;
  it->second = LeaderInfo{leader_id, leader_epoch};
  return true;
}

std::optional<LeaderInfo> MetadataCache::Leader(const TopicPartition& tp) const {
  auto it = leaders_.find(tp);
  if (it == leaders_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> MetadataCache::Address(int32_t node_id) const {
  auto it = addresses_.find(node_id);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> MetadataCache::Nodes() const {
  std::vector<int32_t> out;
  for (const auto& [id, address] : addresses_) out.push_back(id);
  return out;
}

std::optional<int32_t> MetadataCache::PartitionCount(const std::string& topic) const {
  auto it = partition_counts_.find(topic);
  if (it == partition_counts_.end()) return std::nullopt;
  return it->second;
}

}  // namespace strata::client
