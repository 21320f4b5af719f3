// Producer: sends records to a Strata broker asynchronously, in batches, with idempotent retries.
//
//   auto producer = Producer::Create({.bootstrap = "127.0.0.1:9292"});
//   (*producer)->Send({.topic = "orders", .key = "k1", .value = "hello"},
//                     [](absl::StatusOr<RecordMetadata> md) { ... });
//   (*producer)->Close();  // flushes
//
// Send picks the partition (an explicit one; else XXH3(key) mod partitions; a null key sticks to
// one partition per batch), appends the record to that partition's batch in a bounded
// RecordAccumulator and returns. A background sender thread sends ready batches (full at
// batch_bytes, or linger_ms old) in rounds: each round takes at most one batch per partition,
// groups them by the partition's leader (ClusterClient's metadata cache), writes one Produce
// request to each leader and only then reads the answers. The next round starts when every
// answer of this one is in, so there is at most ONE request in flight per partition (and per
// connection). That keeps each partition's batches in order without extra bookkeeping, at the
// cost of throughput over long round trips.
//
// Idempotence (default, with acks=1 or -1): Create gets a producer id (InitProducerId); each
// partition's batches carry consecutive sequence numbers, assigned on the first send. A batch that
// fails retriably (REQUEST_TIMED_OUT, BROKER_BUSY, SHUTTING_DOWN, STORAGE_ERROR, a lost
// connection, a timeout, and in a cluster NOT_LEADER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH,
// UNKNOWN_LEADER_EPOCH, NOT_ENOUGH_REPLICAS) is resent with the same id, epoch and sequence
// after an exponential backoff, so the broker appends it once and answers a duplicate with the
// original offsets. A new leader rebuilds the producers' state from its log, so it deduplicates
// a batch the old leader appended. The leader errors and lost connections also make the
// producer refresh its metadata (at most once per retry_backoff_ms) before the retry.
// Retries stop after delivery_timeout_ms. After a batch fails in a way that leaves the broker's
// view of the sequences unknown (OUT_OF_ORDER_SEQUENCE, PRODUCER_FENCED, or a batch that expired
// after being sent), the producer takes a new producer id and starts its sequences over.
//
// Thread-safe: Send, SendSync, Flush and Close may be called from any threads. Callbacks run on
// the sender thread (or a SendSync caller's, see there), in order per partition; they must be
// quick and must not call SendSync, Flush or Close.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/cluster_client.h"
#include "client/connection.h"
#include "client/record_accumulator.h"
#include "client/types.h"
#include "common/status.h"
#include "record/batch.h"
#include "record/partitioner.h"

namespace strata::client {

struct ProducerRecord {
  std::string topic;
  std::optional<std::string> key;    // nullopt: null key (sticky partitioning)
  std::optional<std::string> value;  // nullopt: null value (a tombstone)
  std::vector<Header> headers;
  int64_t timestamp_ms = -1;         // -1: now
  std::optional<int32_t> partition;  // set: this partition, whatever the key
};

// A record by reference, for Send without building strings: every field is copied into the
// record's batch during the call, so the views need only live until Send returns. A
// ProducerRecord converts to one implicitly.
struct ProducerRecordView {
  ProducerRecordView() = default;
  ProducerRecordView(const ProducerRecord& r)  // NOLINT(google-explicit-constructor)
      : topic(r.topic),
        key(r.key),
        value(r.value),
        headers(r.headers),
        timestamp_ms(r.timestamp_ms),
        partition(r.partition) {}

  std::string_view topic;
  std::optional<std::string_view> key;    // nullopt: null key (sticky partitioning)
  std::optional<std::string_view> value;  // nullopt: null value (a tombstone)
  std::span<const Header> headers;
  int64_t timestamp_ms = -1;              // -1: now
  std::optional<int32_t> partition;       // set: this partition, whatever the key
};

// What ProducerConfig::on_retry is told when a batch is scheduled to be sent again.
struct RetryNotice {
  TopicPartition tp;
  absl::Status cause;    // why the last attempt failed (Unavailable when the broker is down)
  int attempts = 0;      // attempts so far
  absl::Time give_up_at;  // when delivery_timeout_ms runs out for this batch
};

struct ProducerConfig {
  std::string bootstrap = kDefaultBootstrap;  // "host:port", or several: "h1:p1,h2:p2"
  std::string client_name = "strata-cpp-producer";
  int acks = -1;            // 0: no answer; 1: after the leader's append; -1: durable (all)
  bool idempotent = true;   // ignored (off) with acks=0, which cannot retry
  size_t batch_bytes = 128 << 10;
  int64_t linger_ms = 1;
  record::Compression compression = record::Compression::kNone;
  size_t buffer_bytes = 32 << 20;
  int64_t max_block_ms = 60000;         // how long Send waits for buffer space or metadata
  int64_t request_timeout_ms = 30000;   // Produce timeout_ms; the client waits a little longer
  int64_t connect_timeout_ms = 5000;
  int64_t delivery_timeout_ms = 120000; // give up on a batch this long after its first record
  int64_t retry_backoff_ms = 100;       // first retry; doubles per attempt
  int64_t retry_backoff_max_ms = 1000;
  // Called on the sender thread each time a batch is scheduled for a retry; must be quick and must
  // not call the producer. For telling a user that delivery is stalled (strata produce does).
  std::function<void(const RetryNotice&)> on_retry;
  // Test hook: discard the next N Produce responses as if the connection dropped before they
  // arrived (the connection is closed and the batches retried).
  int TEST_drop_responses = 0;
};

class Producer {
 public:
  // Connects, checks the broker serves Produce, and (idempotent) gets a producer id. Unavailable
  // when the broker cannot be reached, InvalidArgument for a bad config.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(ProducerConfig config);
  // Closes (flushing) if Close was not called.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues `record`; `callback` later gets where it landed or why it failed. Blocks up to
  // max_block_ms for buffer space (and, on a topic's first use, its metadata). If Send returns an
  // error the record was not queued and the callback is not called:
  //   NotFound (no such topic or partition), InvalidArgument (record too large, bad partition),
  //   ResourceExhausted (buffer full for max_block_ms), FailedPrecondition (closed),
  //   Unavailable (the broker could not be reached for metadata).
  absl::Status Send(const ProducerRecordView& record, SendCallback callback);
  // The same, with the outcome as a future (an immediate error makes it ready at once).
  std::future<absl::StatusOr<RecordMetadata>> Send(const ProducerRecordView& record);
  // Sends `record` at once (no linger) and waits for its outcome. When no other thread is sending,
  // the calling thread sends the request and reads the answer itself: handing the record to the
  // sender thread and the answer back costs two thread wake-ups, which on a small VM is as much
  // as the broker's whole part of a round trip. Other ready batches may share the request; their
  // callbacks then run on this thread. Retries are left to the sender thread. Must not be called
  // from a callback.
  absl::StatusOr<RecordMetadata> SendSync(const ProducerRecordView& record);

  // Makes every queued batch ready and waits until every record sent before the call has
  // completed (its callback ran).
  void Flush();
  // Flushes, then stops the sender thread. Later Sends fail. Idempotent.
  void Close();

  // The partition count of `topic` (fetched once, then cached). NotFound if there is no such
  // topic, with how to create it.
  absl::StatusOr<int32_t> PartitionsFor(const std::string& topic);

  int64_t producer_id() const;  // -1 when not idempotent
  // Bytes of buffer_bytes held now by records not yet acknowledged (RecordAccumulator). Send
  // blocks while a record does not fit beside them.
  size_t buffered_bytes() const { return accumulator_.buffered_bytes(); }
  const ProducerConfig& config() const { return config_; }

 private:
  struct TopicMeta {
    int32_t partitions = 0;
    std::unique_ptr<record::StickyPartitioner> sticky;
  };

  explicit Producer(ProducerConfig config);

  bool idempotent() const { return config_.idempotent && config_.acks != 0; }
  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);
  absl::Status InitProducerIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);
  // Fetches `topic`'s metadata unless cached, waiting for the connection until `deadline`.
  absl::Status EnsureMetadata(std::string_view topic, SendDeadline& deadline);
  // The partition for `record`, fetching its topic's metadata on first use (until `deadline`).
  absl::StatusOr<int32_t> ChoosePartition(const ProducerRecordView& record,
                                          SendDeadline& deadline);
  // Send, and SendSync's first half (caller_sends: see RecordAccumulator::Append).
  absl::Status Queue(const ProducerRecordView& record, SendCallback callback, bool caller_sends);
  // Tells the topic's sticky partitioner that tp's batch is complete.
  void StickyBatchCompleted(const TopicPartition& tp);
  absl::Status RefreshMetadataLocked(const std::string& topic)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);

  // Sender thread.
  void Run();
  // One round of sending: the retries due at `now` and the batches ready at `drain_at`, in one
  // request. False if there was nothing to send; `next_retry` and `muted` tell the caller what to
  // wait for.
  bool SendRoundLocked(absl::Time now, absl::Time drain_at, absl::Time* next_retry,
                       std::set<TopicPartition>* muted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(send_mu_);
  void SendBatches(std::vector<std::unique_ptr<ProducerBatch>> batches)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(send_mu_);
  struct Outcome;
  // Reads one leader's answer to a Produce request and decides each of its batches.
  void HandleAnswer(int32_t node, absl::StatusOr<Response> response,
                    std::vector<std::unique_ptr<ProducerBatch>>& batches,
                    std::vector<Outcome>& outcomes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);
  absl::Status Seal(ProducerBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);
  void Complete(std::unique_ptr<ProducerBatch> batch, int64_t base_offset);
  void Fail(std::unique_ptr<ProducerBatch> batch, absl::Status status);
  void Retry(std::unique_ptr<ProducerBatch> batch, absl::Status cause)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(send_mu_);
  // After a failure that leaves the broker's view of our sequences unknown.
  void ResetProducerIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(conn_mu_);

  const ProducerConfig config_;
  RecordAccumulator accumulator_;

  absl::Mutex meta_mu_;
  std::map<std::string, TopicMeta, std::less<>> topics_ ABSL_GUARDED_BY(meta_mu_);

  // The connections are shared by the sender thread and by Send (metadata on a topic's first
  // use).
  mutable absl::Mutex conn_mu_;
  ClusterClient cluster_ ABSL_GUARDED_BY(conn_mu_);
  int64_t producer_id_ ABSL_GUARDED_BY(conn_mu_) = -1;
  int16_t producer_epoch_ ABSL_GUARDED_BY(conn_mu_) = -1;
  std::map<TopicPartition, int32_t> next_sequence_ ABSL_GUARDED_BY(conn_mu_);
  int drop_responses_ ABSL_GUARDED_BY(conn_mu_) = 0;

  // Held by whichever thread runs a send round: the sender thread, or a SendSync caller.
  absl::Mutex send_mu_ ABSL_ACQUIRED_BEFORE(conn_mu_);
  // Batches waiting to be retried, at most one per partition (their partitions are muted in the
  // accumulator so later batches cannot overtake them).
  std::map<TopicPartition, std::unique_ptr<ProducerBatch>> retries_ ABSL_GUARDED_BY(send_mu_);

  absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  std::thread sender_;
};

}  // namespace strata::client
