// Consumer: reads records from assigned partitions of a Strata broker.
//
//   auto consumer = Consumer::Create({.bootstrap = "127.0.0.1:9292"});
//   (*consumer)->Assign("orders");                        // every partition
//   (*consumer)->Seek("orders", 0, SeekTarget::Earliest());
//   auto records = (*consumer)->Poll(500);
//
// Each partition has a position: the offset of the next record to return. A partition without one
// (just assigned, or reset after OFFSET_OUT_OF_RANGE) gets it from `auto_offset_reset` (earliest
// or latest) or, with kNone, makes Poll fail with FailedPrecondition until Seek sets it.
// Poll sends one Fetch to each broker that leads assigned partitions (all written before any
// answer is read; max_wait_ms = the poll timeout, min_bytes 1), each partition with the leader
// epoch the metadata gave (current_leader_epoch). With one leader it returns as soon as any
// record arrives or the timeout passes; with several it returns when all have answered, each as
// soon as it has data or at the timeout. A partition whose leader moved (NOT_LEADER,
// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE) or whose leader could not be
// reached keeps its position: the consumer takes the answer's leader hint or refreshes its
// metadata (at most once per retry_backoff_ms) and fetches it again from the new leader within
// the same Poll, until the timeout. ListOffsets (Seek, auto_offset_reset, EndOffsets) also goes
// to each partition's leader. Every batch whose
// records are returned is verified (structure and checksum, once, by record::BatchReader::Open)
// before they are read; a batch that fails is DataLoss. The broker returns whole batches starting with the one holding the fetch
// offset, so records below the position inside the first batch are skipped.
// Nothing is committed: positions live only in this object (GroupConsumer, group_consumer.h,
// adds consumer groups and committed offsets on top of it).
//
// Not thread-safe: one thread at a time, like Kafka's consumer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "client/cluster_client.h"
#include "client/connection.h"
#include "client/metadata.h"
#include "client/types.h"
#include "common/status.h"
#include "protocol/fetch_body.h"
#include "record/batch.h"

namespace strata::client {

enum class OffsetReset {
  kEarliest,  // start at the log start
  kLatest,    // start at the log end: only records produced from now on
  kNone,      // no automatic position: Poll fails until Seek sets one
};

// Where Seek moves a partition's position.
struct SeekTarget {
  enum class Kind { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;  // the offset, or the timestamp in ms since epoch

  static SeekTarget Earliest() { return {Kind::kEarliest, 0}; }
  static SeekTarget Latest() { return {Kind::kLatest, 0}; }
  static SeekTarget Offset(int64_t offset) { return {Kind::kOffset, offset}; }
  static SeekTarget Timestamp(int64_t timestamp_ms) { return {Kind::kTimestamp, timestamp_ms}; }
  bool operator==(const SeekTarget&) const = default;
};

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;    // nullopt: null key
  std::optional<std::string> value;  // nullopt: null value (a tombstone)
  std::vector<Header> headers;
};

// A record as PollEach hands it over: views into the Fetch answer, valid during the call only.
struct RecordView {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;    // nullopt: null key
  std::optional<std::string_view> value;  // nullopt: null value (a tombstone)
  std::span<const record::RecordHeader> headers;
};
using RecordVisitor = absl::FunctionRef<void(const RecordView&)>;

struct ConsumerConfig {
  std::string bootstrap = kDefaultBootstrap;  // "host:port", or several: "h1:p1,h2:p2"
  std::string client_name = "strata-cpp-consumer";
  OffsetReset auto_offset_reset = OffsetReset::kEarliest;
  int32_t fetch_max_bytes = 50 << 20;     // per Fetch response (at least one batch comes anyway)
  int32_t partition_max_bytes = 1 << 20;  // per partition per Fetch
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 30000;     // beyond a Fetch's own wait
  // After a leader error or a lost broker: the pause before fetching the partition again, and
  // the shortest time between two metadata refreshes.
  int64_t retry_backoff_ms = 100;
};

class Consumer {
 public:
  // Connects and checks the broker serves Fetch, ListOffsets and Metadata.
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerConfig config);

  // Adds partitions of `topic` to the assignment (empty: every partition it has now). NotFound
  // for a topic or partition that does not exist. New partitions start without a position.
  absl::Status Assign(const std::string& topic, std::vector<int32_t> partitions = {});
  std::vector<TopicPartition> Assignment() const;
  // Removes partitions from the assignment (and forgets their positions). Absent ones are ignored.
  void Unassign(const std::vector<TopicPartition>& partitions);

  // Moves the position of an assigned partition (Earliest, Latest and Timestamp ask the broker).
  // FailedPrecondition if the partition is not assigned; OutOfRange for a negative offset.
  absl::Status Seek(const std::string& topic, int32_t partition, SeekTarget target);

  // Records from the assigned partitions, waiting up to `timeout_ms` for the first one. An empty
  // vector means none arrived in time. Positions advance past what is returned.
  //   DataLoss            a batch failed verification (the data or the broker is damaged)
  //   OutOfRange          OFFSET_OUT_OF_RANGE with auto_offset_reset = kNone
  //   FailedPrecondition  nothing assigned, or a partition without a position and kNone
  //   Unavailable         no leader of an assigned partition could be reached (the next Poll
  //                       reconnects)
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(int64_t timeout_ms);

  // Poll without copies: hands each record to `visit` as views into the fetched bytes, valid only
  // during the call, and returns how many it visited. Every batch is verified before the first
  // record is visited, so the errors are Poll's and, on one, nothing is visited and no position
  // moves. `visit` must not call this consumer.
  absl::StatusOr<size_t> PollEach(int64_t timeout_ms, RecordVisitor visit);

  // The offset of the next record Poll returns for an assigned partition (resolving
  // auto_offset_reset if it has none yet).
  absl::StatusOr<int64_t> Position(const std::string& topic, int32_t partition);

  // The log end (next offset to be written) of each given partition, asked now.
  absl::StatusOr<std::vector<PartitionOffset>> EndOffsets(const std::string& topic,
                                                          const std::vector<int32_t>& partitions);

  // The high watermark seen in the last Fetch answer for this partition, if any.
  std::optional<int64_t> HighWatermark(const std::string& topic, int32_t partition) const;

 private:
  struct PartitionState {
    std::optional<int64_t> position;
    std::optional<int64_t> high_watermark;
  };

  explicit Consumer(ConsumerConfig config);
  // One Fetch to each leader of assigned partitions, waiting up to wait_ms. Sets *retry when a
  // partition could not be fetched for a reason a metadata refresh and a retry should cure.
  absl::StatusOr<size_t> FetchOnce(int64_t wait_ms, RecordVisitor visit, bool* retry);
  // Decodes one leader's Fetch answer into `states` (positions) and decoded_.
  absl::Status DecodeAnswer(const protocol::FetchResponseView& view,
                            std::map<TopicPartition, PartitionState>& states, bool* retry);
  // Gives every assigned partition without a position one, by auto_offset_reset.
  absl::Status ResolvePositions();
  absl::Status SeekBy(const TopicPartition& tp, int64_t timestamp);

  const ConsumerConfig config_;
  ClusterClient cluster_;  // leaders, and a connection per broker
  // One poll's batches and the records they return (views into them and into the answer), kept
  // between polls so that their memory is reused.
  struct Decoded {
    std::string_view topic;
    int32_t partition = 0;
    record::Record record;
  };
  std::vector<record::BatchReader> readers_;
  std::vector<Decoded> decoded_;
  std::map<TopicPartition, PartitionState> assigned_;
};

}  // namespace strata::client
