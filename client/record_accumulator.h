// RecordAccumulator: the producer's bounded buffer of records waiting to be sent, grouped into
// one batch per partition (plus any already-full batches queued behind it).
//
// Append adds a record to its partition's open batch, opening a new one when the record would
// push the batch past `batch_bytes`. A batch is ready to send when it is full, when it is older
// than `linger_ms`, or while a Flush or Close is in progress. The sender thread takes ready
// batches with Drain, at most one per partition per call and none from "muted" partitions (those
// with a batch still being retried: a partition's batches must reach the broker in order, for
// idempotent sequence numbers), and gives each back with Deallocate once its callbacks have run.
//
// Memory is bounded: every record reserves an estimate of its encoded size (key, value, headers
// and record overhead; the first record of a batch also the batch header) out of `buffer_bytes`
// until its batch is deallocated. Append blocks while the buffer is full, up to its deadline, and
// then fails with ResourceExhausted: the buffer never grows past its bound.
//
// Thread-safe: Append, Flush and Close from any threads, Drain/Deallocate from the sender thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/types.h"
#include "common/status.h"
#include "record/batch.h"

namespace strata::client {

// Called once per record with where it landed or why it failed. Runs on the producer's sender
// thread: it must be quick and must not call Flush or Close (which wait for the sender).
using SendCallback = absl::AnyInvocable<void(absl::StatusOr<RecordMetadata>)>;

// The moment a Send gives up waiting (for metadata or buffer space): max_block_ms after it began.
// The clock is read only if the Send has to wait at all, which is rare; a clock read per record
// was a measurable part of Send's cost (absl::Now() in a VM). What runs before the first wait
// takes microseconds, so the deadline is max_block_ms from the Send to within them.
class SendDeadline {
 public:
  explicit SendDeadline(absl::Duration max_block) : max_block_(max_block) {}
  explicit SendDeadline(absl::Time at) : at_(at) {}
  absl::Time Get() {
    if (!at_) at_ = absl::Now() + max_block_;
    return *at_;
  }

 private:
  absl::Duration max_block_ = absl::ZeroDuration();
  std::optional<absl::Time> at_;
};

// A batch of records for one partition, from its first Append to its Deallocate.
struct ProducerBatch {
  uint64_t id = 0;  // increasing in creation order
  TopicPartition tp;
  std::unique_ptr<record::BatchBuilder> builder;
  std::vector<SendCallback> callbacks;  // one per record, in offset-delta order
  std::vector<int64_t> timestamps_ms;   // one per record
  size_t reserved_bytes = 0;            // buffer memory held until Deallocate
  absl::Time created;
  bool full = false;  // closed to more records

  // Set by the sender.
  std::vector<std::byte> bytes;  // the encoded batch, once sealed
  int64_t producer_id = -1;      // the id its bytes carry
  int32_t base_sequence = -1;
  int attempts = 0;           // failed attempts so far
  bool maybe_written = false; // a request with it was sent: the broker may hold it
  absl::Time retry_at;        // when to send it again
  absl::Status last_error;    // why the last attempt failed

  int32_t record_count() const { return int32_t(callbacks.size()); }
};

class RecordAccumulator {
 public:
  struct Options {
    size_t batch_bytes = 128 << 10;
    int64_t linger_ms = 1;
    size_t buffer_bytes = 32 << 20;
    record::Compression compression = record::Compression::kNone;
  };

  explicit RecordAccumulator(Options options);

  // The buffer memory a record reserves (its estimated encoded size).
  static size_t EstimateBytes(const record::RecordInput& record);

  struct AppendResult {
    bool batch_full = false;  // this append filled (closed) tp's batch: a sticky partitioner moves
  };
  // Adds `record` to tp's open batch, waiting until `deadline` for buffer space. The record's
  // views need only live during the call (the builder copies them).
  //   ResourceExhausted   the buffer stayed full until the deadline
  //   InvalidArgument     the record alone is larger than the buffer or than a batch may be
  //   FailedPrecondition  after Close
  // caller_sends (Producer::SendSync): the caller sends this record itself and calls CallerSent
  // after; until then WaitForWork does not wake for any batch, since waking the sender thread
  // only to find nothing to send costs a wake-up on another core.
  absl::StatusOr<AppendResult> Append(const TopicPartition& tp, const record::RecordInput& record,
                                      SendCallback callback, SendDeadline deadline,
                                      bool caller_sends = false);

  // Takes the front batch of each partition that is ready at `now` and not in `muted`, oldest
  // first, until their sizes add up to at least `max_bytes` (always at least one batch).
  std::vector<std::unique_ptr<ProducerBatch>> Drain(absl::Time now,
                                                    const std::set<TopicPartition>& muted,
                                                    size_t max_bytes);

  // Blocks until a batch outside `muted` is ready, a new batch was opened since the last call,
  // Close was called, or `until` passes (the sender passes its next retry time).
  void WaitForWork(absl::Time until, const std::set<TopicPartition>& muted);
  // Makes the current or next WaitForWork return at once (the sender has work it cannot see).
  void WakeSender();
  // Ends an Append made with caller_sends: its caller has sent the record itself.
  void CallerSent();

  // Releases a batch's memory and marks it complete for Flush. Call after its callbacks ran.
  void Deallocate(const ProducerBatch& batch);

  // Makes every batch ready and waits until all batches opened before the call are deallocated.
  void Flush();
  // Refuses further Appends and makes every batch ready.
  void Close();
  bool closed() const;
  // True once closed and every batch has been drained.
  bool ClosedAndDrained() const;

  size_t buffered_bytes() const;  // memory reserved now
  size_t queued_batches() const;  // batches not yet drained

 private:
  bool ReadyLocked(const ProducerBatch& batch, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AnyReadyLocked(absl::Time now, const std::set<TopicPartition>& muted) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextLingerLocked(const std::set<TopicPartition>& muted) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  std::map<TopicPartition, std::deque<std::unique_ptr<ProducerBatch>>> batches_
      ABSL_GUARDED_BY(mu_);
  std::set<uint64_t> incomplete_ ABSL_GUARDED_BY(mu_);  // ids of batches not yet deallocated
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t opened_since_wait_ ABSL_GUARDED_BY(mu_) = 0;  // batches opened since WaitForWork
  size_t used_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int flushes_ ABSL_GUARDED_BY(mu_) = 0;  // Flush calls in progress
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool close_noticed_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // WakeSender called since the last WaitForWork
  int callers_sending_ ABSL_GUARDED_BY(mu_) = 0;  // Appends with caller_sends not yet CallerSent  // WaitForWork woke once for the Close
};

}  // namespace strata::client
