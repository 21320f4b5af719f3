#include "client/cluster_client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/error_status.h"

namespace strata::client {

ClusterClient::ClusterClient(ClusterClientOptions options) : options_(std::move(options)) {}

absl::Status ClusterClient::Connect() {
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::ConnectAny(options_.bootstrap, options_.connection);
  if (conn.ok()) {
    any_ = std::move(*conn);
    return absl::OkStatus();
  }
  // The bootstrap brokers may all be gone while others, learnt from metadata, still serve.
  for (int32_t node : cache_.Nodes()) {
    const std::optional<std::string> address = cache_.Address(node);
    absl::StatusOr<std::unique_ptr<Connection>> other =
        Connection::Connect(*address, options_.connection);
    if (other.ok()) {
      nodes_[node] = std::move(*other);
      node_addresses_[node] = *address;
      return absl::OkStatus();
    }
  }
  return conn.status();
}

absl::StatusOr<Connection*> ClusterClient::Any() {
  if (any_ != nullptr && any_->ok()) return any_.get();
  any_.reset();
  for (auto& [node, conn] : nodes_) {
    if (conn != nullptr && conn->ok()) return conn.get();
  }
  STRATA_RETURN_IF_ERROR(Connect());
  if (any_ != nullptr) return any_.get();
  for (auto& [node, conn] : nodes_) {
    if (conn != nullptr && conn->ok()) return conn.get();
  }
  return absl::InternalError("ClusterClient::Connect succeeded without a connection");
}

absl::StatusOr<Connection*> ClusterClient::Node(int32_t node_id) {
  auto it = nodes_.find(node_id);
  if (it != nodes_.end() && it->second != nullptr && it->second->ok()) return it->second.get();
  const std::optional<std::string> address = cache_.Address(node_id);
  if (!address) {
    MarkStale();
    return absl::UnavailableError(absl::StrCat(
        "broker ", node_id, " is not among the live brokers this client knows; refreshing the "
        "cluster's metadata"));
  }
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Connect(*address, options_.connection);
  if (!conn.ok()) {
    MarkStale();
    return absl::Status(conn.status().code(),
                        absl::StrCat("broker ", node_id, ": ", conn.status().message()));
  }
  nodes_[node_id] = std::move(*conn);
  node_addresses_[node_id] = *address;
  return nodes_[node_id].get();
}

void ClusterClient::ConnectionFailed(int32_t node_id) {
  auto it = nodes_.find(node_id);
  if (it != nodes_.end()) {
    if (it->second != nullptr) it->second->Close();
    nodes_.erase(it);
    node_addresses_.erase(node_id);
  }
  MarkStale();
}

void ClusterClient::AdoptConnections(const ClusterMetadata& metadata) {
  // Connections to brokers that left the live list, or moved, are closed.
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const std::optional<std::string> address = cache_.Address(it->first);
    if (!address || *address != node_addresses_[it->first]) {
      node_addresses_.erase(it->first);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  if (any_ == nullptr || !any_->ok()) return;
  int32_t node = -1;
  if (metadata.brokers.size() == 1) {
    // The broker that answered is live, and only one is: it is that one, whatever address it
    // advertises (it may sit behind a port forward or answer to another name).
    node = metadata.brokers[0].node_id;
  } else {
    auto ours = ParseHostPort(any_->address());
    for (const BrokerInfo& b : metadata.brokers) {
      if (ours.ok() && ours->host == b.host && ours->port == b.port) node = b.node_id;
    }
  }
  if (node < 0 || nodes_.contains(node)) return;
  node_addresses_[node] = *cache_.Address(node);
  nodes_[node] = std::move(any_);
}

absl::StatusOr<ClusterMetadata> ClusterClient::Refresh(const std::vector<std::string>& topics) {
  topics_.insert(topics.begin(), topics.end());
  const std::vector<std::string> all(topics_.begin(), topics_.end());
  absl::StatusOr<ClusterMetadata> md;
  // Twice: a connection that turns out broken is dropped and another broker asked.
  for (int attempt = 0; attempt < 2; ++attempt) {
    STRATA_ASSIGN_OR_RETURN(Connection * conn, Any());
    md = FetchMetadata(*conn, all);
    if (md.ok() || conn->ok()) break;
    for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
      if (it->second.get() == conn) {
        node_addresses_.erase(it->first);
        nodes_.erase(it);
        break;
      }
    }
  }
  last_refresh_ = absl::Now();
  STRATA_RETURN_IF_ERROR(md.status());
  stale_ = false;
  cache_.Update(*md);
  AdoptConnections(*md);
  return md;
}

absl::Status ClusterClient::RefreshIfStale() {
  if (!stale_) return absl::OkStatus();
  if (absl::Now() - last_refresh_ < absl::Milliseconds(options_.refresh_backoff_ms)) {
    return absl::OkStatus();
  }
  return Refresh({}).status();
}

bool ClusterClient::ApplyHint(const TopicPartition& tp, int32_t leader_id, int32_t leader_epoch) {
  return cache_.ApplyHint(tp, leader_id, leader_epoch) && cache_.Address(leader_id).has_value();
}

absl::StatusOr<std::vector<PartitionOffset>> ClusterClient::ListOffsets(
    const std::string& topic, const std::vector<int32_t>& partitions, int64_t timestamp_ms) {
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(options_.connection.request_timeout_ms);
  if (!cache_.PartitionCount(topic)) STRATA_RETURN_IF_ERROR(Refresh({topic}).status());
  std::map<int32_t, PartitionOffset> results;
  std::vector<int32_t> pending = partitions;
  for (;;) {
    // Group the partitions still to do by their leader.
    std::map<int32_t, std::vector<int32_t>> by_leader;
    std::vector<int32_t> retry;
    for (int32_t p : pending) {
      const std::optional<LeaderInfo> leader = cache_.Leader({topic, p});
      if (!leader || leader->node_id < 0) {
        MarkStale();
        results[p] = {p, -1,
                      absl::UnavailableError(absl::StrCat("partition ", topic, "-", p,
                                                          " has no leader now; see `strata "
                                                          "cluster status`"))};
        retry.push_back(p);
        continue;
      }
      by_leader[leader->node_id].push_back(p);
    }
    for (const auto& [node, list] : by_leader) {
      absl::StatusOr<Connection*> conn = Node(node);
      absl::StatusOr<std::vector<PartitionOffset>> got =
          conn.ok() ? client::ListOffsets(**conn, topic, list, timestamp_ms)
                    : absl::StatusOr<std::vector<PartitionOffset>>(conn.status());
      if (!got.ok()) {
        if (conn.ok() && (*conn)->ok()) return got.status();  // an answer, but a bad one
        ConnectionFailed(node);
        for (int32_t p : list) {
          results[p] = {p, -1, got.status()};
          retry.push_back(p);
        }
        continue;
      }
      for (PartitionOffset& po : *got) {
        // ListOffsets answers carry no leader hints: a leader error means refresh and retry.
        if (IsLeaderError(po.error_code)) {
          MarkStale();
          retry.push_back(po.partition);
        }
        results[po.partition] = std::move(po);
      }
    }
    if (retry.empty() || absl::Now() >= deadline) break;
    pending = std::move(retry);
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.refresh_backoff_ms));
    absl::Status refreshed = RefreshIfStale();
    if (!refreshed.ok() && absl::Now() >= deadline) return refreshed;
  }
  std::vector<PartitionOffset> out;
  for (int32_t p : partitions) out.push_back(results[p]);
  return out;
}

}  // namespace strata::client
