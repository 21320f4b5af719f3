// Topic metadata and offset lookups shared by Admin, Producer and Consumer: Metadata,
// ListOffsets and DescribeCluster requests on a Connection, decoded into plain structs.
//
// Plain functions over a caller-owned Connection; they are as thread-safe as that connection
// (i.e. the caller serialises).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/connection.h"
#include "common/status.h"
#include "protocol/errors_generated.h"

namespace strata::client {

// ListOffsets timestamps with a special meaning (docs/protocol.md, ListOffsets).
inline constexpr int64_t kEarliestTimestamp = -2;  // the log start
inline constexpr int64_t kLatestTimestamp = -1;    // the log end: the next record's offset

struct PartitionInfo {
  int32_t index = 0;
  int32_t leader = -1;  // node id; -1 when there is none
  int32_t leader_epoch = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  // In a cluster: the replicas (the preferred leader first) and the in-sync ones. Both empty on
  // a single broker, which leads every partition itself.
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  // Not OK when the partition is offline: STORAGE_ERROR on one broker, LEADER_NOT_AVAILABLE in a
  // cluster (leader -1).
  absl::Status status;
};

struct TopicInfo {
  std::string name;
  absl::Status status;  // NotFound for a requested topic that does not exist
  std::vector<PartitionInfo> partitions;  // by index
  int32_t replication_factor = 1;
  int32_t min_insync_replicas = 1;
};

struct BrokerInfo {
  int32_t node_id = 0;
  std::string host;
  uint16_t port = 0;
};

struct ClusterMetadata {
  std::vector<BrokerInfo> brokers;
  int32_t controller_id = -1;
  std::vector<TopicInfo> topics;
};

// Metadata for `topics` (empty: every topic). A topic that does not exist is listed with a
// NotFound status; the call itself fails only if the request does.
absl::StatusOr<ClusterMetadata> FetchMetadata(Connection& conn,
                                              const std::vector<std::string>& topics);

// Metadata of one topic; NotFound (saying how to create it) if it does not exist.
absl::StatusOr<TopicInfo> FetchTopicMetadata(Connection& conn, const std::string& topic);

// `topic` out of a Metadata answer, with FetchTopicMetadata's errors.
absl::StatusOr<TopicInfo> TopicFrom(const ClusterMetadata& metadata, const std::string& topic);

struct PartitionOffset {
  int32_t partition = 0;
  int64_t offset = -1;
  absl::Status status;
  protocol::fb::ErrorCode error_code = protocol::fb::ErrorCode::NONE;  // the broker's, for retries
};

// For each of `partitions` of `topic`, the offset for `timestamp_ms` (kEarliestTimestamp,
// kLatestTimestamp or ms since epoch: the first offset at or after it, else the log end).
// Results are in the order of `partitions`.
absl::StatusOr<std::vector<PartitionOffset>> ListOffsets(Connection& conn, const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         int64_t timestamp_ms);

// DescribeCluster (`strata cluster status`): the cluster as the answering broker sees it.
struct ClusterBrokerStatus {
  int32_t node_id = 0;
  std::string host;  // empty for a broker that holds replicas but is not registered
  uint16_t port = 0;
  bool alive = false;
  bool shutting_down = false;
  int64_t epoch = 0;  // its registration's revision: grows with every restart
};

struct PartitionIssue {
  std::string topic;
  int32_t index = 0;
  std::string state;  // "offline", "below-min-isr" or "under-replicated"
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

struct ClusterStatus {
  std::string cluster_name;  // empty on a single broker
  int32_t controller_id = -1;
  int64_t controller_epoch = -1;
  std::vector<ClusterBrokerStatus> brokers;  // by node id
  int32_t partitions = 0;
  int32_t under_replicated = 0;
  int32_t below_min_isr = 0;
  int32_t offline = 0;
  std::vector<PartitionIssue> issues;  // at most issues_max; the counts above cover them all
};

absl::StatusOr<ClusterStatus> DescribeCluster(Connection& conn, int32_t issues_max);

}  // namespace strata::client
