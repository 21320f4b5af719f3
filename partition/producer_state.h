// ProducerState: idempotent-producer deduplication for one partition, as in Kafka (KIP-98).
//
// An idempotent producer stamps each batch with its producer id, an epoch, and the sequence
// number of its first record (sequences count records, wrapping from INT32_MAX to 0). For each
// producer id the partition remembers the epoch and the producer's last
// limits::producer_batches_retained_max batches (their sequences and the offsets they got).
// Check decides what to do with an incoming batch, in this order:
//
//   producer_id == -1             not idempotent: append, nothing tracked
//   producer id not tracked       append with any sequence (Kafka's rule: the producer may have
//                                 been forgotten by retention or eviction; see below)
//   same epoch, same first and    duplicate: a retry of a batch already appended; the caller
//   last sequence as a retained   acknowledges it with the original offsets and appends nothing
//   batch
//   epoch lower than tracked      FailedPrecondition (fenced): a newer instance of this producer
//                                 has taken over; retrying can never succeed, the old one must stop
//   epoch higher than tracked     append if the sequence is 0 (a new epoch starts over), else
//                                 OutOfRange (out-of-order sequence)
//   same epoch                    append if the sequence follows the last batch's last sequence,
//                                 else OutOfRange (out-of-order sequence)
//   malformed fields              InvalidArgument (producer_id < -1, epoch or sequence < 0)
//
// Why OutOfRange for an out-of-order sequence: the batch is not wrong in itself, it arrived before
// (or long after) the batches that should precede it. As abseil's guide puts it, OutOfRange is a
// problem that goes away if the system state changes: once the producer resends the missing
// batches, this one is accepted. It matches the log's own rule for a follower batch that leaves a
// gap (docs/design-notes.md#status-codes-and-a-full-disk). FailedPrecondition is kept for
// fencing, where STYLE.md maps "stale epoch" and where no resend helps; the two codes let a
// caller tell them apart.
//
// Update records a batch after it was appended. RebuildFrom replays a log's batches through
// Update (used when a partition opens), so the table, including which producers are tracked, is
// what it was before a restart, as long as the same batches are in the log. After retention
// (RemoveBelow) the replay starts later, and one corner can differ: a producer that was evicted
// and came back may be rebuilt with some of its batches from before the eviction (a retry of one
// of those is then a duplicate rather than out of order).
//
// Bounded: at most `producer_ids_max` producer ids are tracked; appending a batch for a new id
// beyond that forgets the id that appended least recently. Consequence: if that producer later
// retries a batch, the retry is not recognised as a duplicate and is appended again, and a gap in
// its sequences is not detected until it is tracked again. Recency counts appends only (Check
// never changes state), so a rebuild reproduces it exactly.
//
// Not thread-safe: Partition serializes Check, append and Update under its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/limits.h"
#include "common/status.h"
#include "record/batch.h"

namespace strata::log {
class Log;
}

namespace strata::partition {

// One appended batch of an idempotent producer.
struct ProducerBatch {
  int32_t base_sequence = 0;
  int32_t last_sequence = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  friend bool operator==(const ProducerBatch&, const ProducerBatch&) = default;
};

enum class ProducerDecision {
  kAppend,     // append the batch, then call Update with its offsets
  kDuplicate,  // do not append; acknowledge with base_offset/last_offset
};

struct ProducerCheck {
  ProducerDecision decision = ProducerDecision::kAppend;
  // For kDuplicate: the offsets the batch got when it was first appended.
  int64_t base_offset = -1;
  int64_t last_offset = -1;
};

class ProducerState {
 public:
  explicit ProducerState(size_t producer_ids_max = limits::producer_ids_max);

  // What to do with an incoming batch (see the table above). Never changes state.
  absl::StatusOr<ProducerCheck> Check(const record::BatchHeader& header) const;
  // Records a batch appended at [base_offset, last_offset]. Trusts its input (Check ran before,
  // or the batch comes from the log): a different epoch replaces the producer's batches.
  void Update(const record::BatchHeader& header, int64_t base_offset, int64_t last_offset);
  // Forgets everything, then replays every batch of `log` from its start to its end through
  // Update. DataLoss if a batch read back is malformed or the log returns nothing below its end.
  absl::Status RebuildFrom(const log::Log& log);
  // Forgets batches whose base offset is below `log_start_offset` (deleted by retention), and
  // producers left with none, so the table matches what a rebuild of the shortened log yields.
  void RemoveBelow(int64_t log_start_offset);
  // Forgets batches at or above `offset` (a follower's log truncated there), and producers left
  // with none. As with RemoveBelow, a producer whose older batches had already left its window
  // may be forgotten although the log still holds some of its batches; its next batch is then
  // taken as it comes (see Check on unknown producers).
  void RemoveFrom(int64_t offset);
  void Clear();

  size_t producer_count() const { return producers_.size(); }
  // The tracked epoch and batches (oldest first) of one producer; nullopt when not tracked.
  struct ProducerInfo {
    int16_t epoch = 0;
    std::vector<ProducerBatch> batches;
  };
  std::optional<ProducerInfo> Find(int64_t producer_id) const;

  // The sequence of a batch's last record: base_sequence + last_offset_delta, wrapping past
  // INT32_MAX to 0 as Kafka does.
  static int32_t LastSequence(int32_t base_sequence, int32_t last_offset_delta);
  // The sequence that must follow `last_sequence` (INT32_MAX is followed by 0).
  static int32_t NextSequence(int32_t last_sequence);

 private:
  struct Entry {
    int16_t epoch = 0;
    std::vector<ProducerBatch> batches;  // oldest first; never empty
    std::list<int64_t>::iterator lru;    // position in lru_
  };

  const size_t producer_ids_max_;
  std::unordered_map<int64_t, Entry> producers_;
  std::list<int64_t> lru_;  // producer ids, most recently appended first
};

}  // namespace strata::partition
