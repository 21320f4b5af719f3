// Topic metadata and offset lookups shared by Admin, Producer and Consumer: Metadata and
// ListOffsets requests on a Connection, decoded into plain structs.
//
// Plain functions over a caller-owned Connection; they are as thread-safe as that connection
// (i.e. the caller serialises).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/connection.h"
#include "common/status.h"

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
  absl::Status status;  // not OK when the partition is offline (STORAGE_ERROR)
};

struct TopicInfo {
  std::string name;
  absl::Status status;  // NotFound for a requested topic that does not exist
  std::vector<PartitionInfo> partitions;  // by index
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

struct PartitionOffset {
  int32_t partition = 0;
  int64_t offset = -1;
  absl::Status status;
};

// For each of `partitions` of `topic`, the offset for `timestamp_ms` (kEarliestTimestamp,
// kLatestTimestamp or ms since epoch: the first offset at or after it, else the log end).
// Results are in the order of `partitions`.
absl::StatusOr<std::vector<PartitionOffset>> ListOffsets(Connection& conn, const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         int64_t timestamp_ms);

}  // namespace strata::client
