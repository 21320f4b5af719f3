// DataPlane: the broker's produce, fetch and list-offsets, independent of any wire protocol.
//
// Each operation takes and returns plain structs. A listener's handlers decode their protocol into
// these, call, and encode the answer (data_handlers.cc does it for Strata's FlatBuffers protocol);
// a second protocol is a second adapter over the same calls, never a copy of the data path.
// docs/architecture.md draws the produce and fetch paths through it.
//
// What lives here: finding each partition, refusing writes to internal topics, the partition's
// typed append errors turned into error codes, the acks policy (Partition::WhenCommitted with the
// request's deadline), metrics and fetch wake-ups after an append, reads bounded by the high
// watermark with the byte budgets, and the fetch long poll.
//
// Error codes are Strata's own vocabulary (protocol/schemas/errors.fbs): a Kafka adapter maps them
// to Kafka's codes.
//
// Thread-safety: a DataPlane is immutable and may be used from any number of io threads at once;
// a coroutine resumes on the executor it was started on (a connection's strand).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/asio.h"
#include "broker/services.h"
#include "log/segment.h"
#include "partition/partition.h"
#include "protocol/errors_generated.h"
#include "replication/leader_state.h"

namespace strata::broker {

using ErrorCode = protocol::fb::ErrorCode;

struct Error {
  ErrorCode code = ErrorCode::NONE;
  std::string message;  // empty when code is NONE
  bool ok() const { return code == ErrorCode::NONE; }
};

// --- Produce ----------------------------------------------------------------------------------

struct ProducePartition {
  int32_t index = 0;
  // One record batch, owned by the caller for the whole call: the append stamps its offsets into
  // it in place. Empty: refused as CORRUPT_MESSAGE.
  std::span<std::byte> batch;
};

struct ProduceTopic {
  std::string name;
  std::vector<ProducePartition> partitions;
};

struct ProduceRequest {
  partition::Acks acks = partition::Acks::kAll;
  // How long to wait for the acks policy; clamped to limits::produce_timeout_ms_max.
  std::chrono::milliseconds timeout{0};
  std::vector<ProduceTopic> topics;
};

struct ProducePartitionResult {
  int32_t index = 0;
  Error error;
  int32_t leader_id = -1;  // with NOT_LEADER: the leader as this broker knows it
  int32_t leader_epoch = -1;
  int64_t base_offset = -1;
  int64_t log_start_offset = -1;
  bool duplicate = false;  // a retry of an appended batch: nothing was appended again
};

struct ProduceTopicResult {
  std::string name;
  std::vector<ProducePartitionResult> partitions;
};

struct ProduceResponse {
  std::vector<ProduceTopicResult> topics;  // in request order
};

// --- Fetch ------------------------------------------------------------------------------------

struct FetchPartition {
  int32_t index = 0;
  int64_t fetch_offset = 0;
  size_t max_bytes = 0;
  int32_t current_leader_epoch = -1;  // -1: unchecked (KIP-320)
  int32_t last_fetched_epoch = -1;    // replicas: the epoch of their last batch
};

struct FetchTopic {
  std::string name;
  std::vector<FetchPartition> partitions;
};

struct FetchRequest {
  // -1: a consumer (reads below the high watermark); a broker's node id: a follower replica
  // (reads up to the log end; docs/cluster.md#replication).
  int32_t replica_id = -1;
  std::chrono::milliseconds max_wait{0};  // clamped to limits::fetch_wait_ms_max
  size_t min_bytes = 0;
  size_t max_bytes = 0;  // the whole response; capped so a response fits in a frame
  std::vector<FetchTopic> topics;
};

struct FetchPartitionResult {
  int32_t index = 0;
  Error error;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::optional<log::ReadResult> read;  // whole batches, zero-copy views into the segments
  int32_t diverging_epoch = -1;  // replicas: truncate first (docs/cluster.md#truncation)
  int64_t diverging_end_offset = -1;
  int32_t leader_id = -1;  // with NOT_LEADER and FENCED_LEADER_EPOCH
  int32_t leader_epoch = -1;
};

struct FetchTopicResult {
  std::string name;
  std::vector<FetchPartitionResult> partitions;
};

struct FetchResponse {
  std::vector<FetchTopicResult> topics;  // in request order
  size_t max_bytes = 0;                  // the cap applied to the request's max_bytes
  size_t records_bytes() const;
  bool has_error() const;
};

// --- ListOffsets ------------------------------------------------------------------------------

inline constexpr int64_t kEarliestTimestamp = -2;
inline constexpr int64_t kLatestTimestamp = -1;

struct ListOffsetsPartition {
  int32_t index = 0;
  int64_t timestamp = kLatestTimestamp;  // or kEarliestTimestamp, or ms since the epoch
};

struct ListOffsetsTopic {
  std::string name;
  std::vector<ListOffsetsPartition> partitions;
};

struct ListOffsetsRequest {
  std::vector<ListOffsetsTopic> topics;
};

struct ListOffsetsPartitionResult {
  int32_t index = 0;
  Error error;
  int64_t offset = -1;
  // A timestamp lookup: whether a record at or after the timestamp exists (offset is the latest
  // when none does), and if so its timestamp and its batch's leader epoch (Kafka's ListOffsets
  // answers both; -1 when they cannot be read back).
  bool found = false;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

struct ListOffsetsTopicResult {
  std::string name;
  std::vector<ListOffsetsPartitionResult> partitions;
};

struct ListOffsetsResponse {
  std::vector<ListOffsetsTopicResult> topics;
  bool has_error() const;
};

class DataPlane {
 public:
  explicit DataPlane(Services services) : s_(services) {}

  // Appends each batch, then waits (all under one deadline) until each is committed under the
  // request's acks. Every partition gets its own result; nothing fails the request as a whole.
  asio::awaitable<ProduceResponse> Produce(ProduceRequest request) const;
  // Reads each partition from its offset up to the high watermark within the byte budgets; when
  // fewer than min_bytes are there, waits for appends until max_wait.
  asio::awaitable<FetchResponse> Fetch(FetchRequest request) const;
  // The earliest or latest offset of each partition, or the first with a timestamp at or after
  // the one asked (the latest when none is).
  ListOffsetsResponse ListOffsets(const ListOffsetsRequest& request) const;

 private:
  // The partition a request may be served from, or why not. On a single broker: the local
  // partition. In a cluster: the local replica, if this broker leads it.
  struct Served {
    std::shared_ptr<partition::Partition> partition;
    std::shared_ptr<replication::LeaderState> leader;  // in a cluster
    Error error;
    int32_t leader_id = -1;
    int32_t leader_epoch = -1;
  };
  Served Serve(const std::string& topic, int32_t index, bool stopping) const;

  Services s_;  // set once, at construction
};

}  // namespace strata::broker
