// ReplicaChannel: how a follower asks a leader for batches. replication/ defines the exchange;
// the broker provides the transport (broker/replica_channel.h speaks the native protocol's Fetch
// with a replica id over TCP). Tests provide one that calls a leader in-process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace strata::replication {

struct ReplicaFetchPartition {
  std::string topic;
  int32_t index = 0;
  int64_t fetch_offset = 0;          // the follower's log end
  int32_t current_leader_epoch = 0;  // the epoch the follower follows
  int32_t last_fetched_epoch = -1;   // the epoch of its last batch (-1: empty log)
};

struct ReplicaFetchRequest {
  int32_t replica_id = 0;
  int32_t max_wait_ms = 500;
  int32_t max_bytes = 0;
  int32_t partition_max_bytes = 0;
  std::vector<ReplicaFetchPartition> partitions;
};

// What went wrong for one partition, by what the follower does next.
enum class ReplicaFetchError {
  kNone,
  kNotLeader,         // the broker does not lead it (yet, or any more): wait for new metadata
  kFencedEpoch,       // the follower's epoch is stale: wait for new metadata
  kUnknownEpoch,      // the leader has not learned of the epoch yet: retry shortly
  kOffsetOutOfRange,  // below the leader's log start (retention): cannot continue from here
  kOther,             // anything else (a storage error on the leader): retry after a backoff
};

struct ReplicaFetchResult {
  std::string topic;
  int32_t index = 0;
  ReplicaFetchError error = ReplicaFetchError::kNone;
  std::string message;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int32_t diverging_epoch = -1;  // >= 0: truncate first (no records then)
  int64_t diverging_end_offset = -1;
  // Whole batches; a view into ReplicaFetchResponse::buffer.
  size_t records_offset = 0;
  size_t records_size = 0;
};

struct ReplicaFetchResponse {
  std::vector<ReplicaFetchResult> partitions;
  std::vector<std::byte> buffer;  // owns every result's records
};

class ReplicaChannel {
 public:
  virtual ~ReplicaChannel() = default;
  // One fetch, blocking up to max_wait_ms plus the transport's timeout. Unavailable when the
  // leader cannot be reached (the fetcher backs off and the channel reconnects next time).
  virtual absl::StatusOr<ReplicaFetchResponse> Fetch(const ReplicaFetchRequest& request) = 0;
  // Makes a Fetch blocked in another thread return soon (shutdown, a change of leader).
  virtual void Interrupt() = 0;
};

// Makes a channel to the broker `broker_id` at host:port.
using ChannelFactory = std::function<std::unique_ptr<ReplicaChannel>(
    int32_t broker_id, const std::string& host, uint16_t port)>;

}  // namespace strata::replication
