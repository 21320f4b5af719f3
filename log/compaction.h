// Compaction (cleanup_policy=compact): Kafka-style log cleaning, the pieces Log::Compact
// (log/log_compaction.cc) is made of.
//
// A pass builds a KeyMap, the newest offset of every key in [log start, map end), then rewrites
// the sealed segments below the map end in groups (GroupSegmentsBySize). A GroupCleaner decides,
// per record, what stays: the newest record of each key, except a tombstone (null value) older
// than delete_retention_ms; records without a key and transactional or control batches stay
// untouched. A batch whose records all stay is copied verbatim, a partly kept one is rebuilt with
// the same offsets (log/batch.h BuildCompactedBatch), and one with nothing left is dropped unless
// it must keep its offsets: the group's last batch (the segment must end where the next begins)
// and each producer's last batch in the group (so a producer state rebuilt from the log still
// knows the producer's sequence) stay as empty batches. On-disk rules: docs/format.md
// ("Compacted batches", ".cleaned and .swap files"); crash rules: docs/recovery.md.
//
// Plain values and single-threaded helpers: a pass owns its KeyMap and GroupCleaners.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/xxh3.h"
#include "record/batch.h"

namespace strata::log {

struct CompactionOptions {
  // A tombstone that is the newest record of its key is removed once its timestamp is more than
  // this much older than now_ms (Kafka's delete.retention.ms, default one day).
  int64_t delete_retention_ms = 86'400'000;
  int64_t now_ms = 0;  // the clock, injected so tests control it
  // Records at or above this offset do not count as newer copies. The log already stops at its
  // durable offset; a replicated broker passes the high watermark, above which a follower may
  // still truncate.
  int64_t newer_offset_limit = INT64_MAX;
  // Distinct keys the pass remembers (tests lower it).
  size_t keys_max = limits::compaction_keys_max;
};

struct CompactionResult {
  int segments_cleaned = 0;       // sealed segments replaced by cleaned ones
  int segments_written = 0;       // cleaned segments that replaced them (one per group)
  uint64_t bytes_before = 0;      // of the segments replaced
  uint64_t bytes_after = 0;       // of the cleaned segments
  int64_t records_removed = 0;    // superseded records and expired tombstones
  int64_t tombstones_removed = 0; // of records_removed, those with a null value
  int64_t map_end_offset = 0;     // the key map covered [log start, map_end_offset)
  size_t keys = 0;                // distinct keys in the map
};

// Where a pass is (Log::TEST_SetCompactionHook): a crash test stops the process at each step.
enum class CompactionStep {
  kCleanedWritten,      // <base>.log.cleaned written, not yet fsynced
  kCleanedSynced,       // ... and fsynced
  kSwapRenamed,         // renamed to <base>.log.swap (the commit point) and the directory synced
  kOldSegmentDeleted,   // after each replaced segment's files are removed
  kSwapRenamedToLog,    // <base>.log.swap renamed to <base>.log, directory synced
  kSwappedInMemory,     // the log serves the cleaned segment
  kIndexFilesWritten,   // the cleaned segment's .index and .timeindex written
};

// The newest offset of each key, by XXH3-128 of the key bytes (a collision, 2^-128 per pair,
// would drop a record). Bounded by keys_max. Records without a key are not tracked.
class KeyMap {
 public:
  explicit KeyMap(size_t keys_max) : keys_max_(keys_max) {}

  // Records `offset` as the newest of `key`; offsets must be offered in increasing order.
  // False (nothing recorded) when `key` is new and the map already holds keys_max keys.
  bool Put(std::string_view key, int64_t offset);
  // The newest offset recorded for `key`, or -1.
  int64_t Newest(std::string_view key) const;
  size_t size() const { return map_.size(); }

 private:
  struct Hasher {
    size_t operator()(const Hash128& h) const { return size_t(h.low); }  // already a hash
  };
  const size_t keys_max_;
  absl::flat_hash_map<Hash128, int64_t, Hasher> map_;
};

// One sealed segment as grouping sees it.
struct SegmentSpan {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  uint64_t size_bytes = 0;
};

// Kafka's groupSegmentsBySize: splits consecutive segments into runs [first, last) whose sizes
// add up to at most max_bytes and whose offsets fit a segment's u32 relative index
// (limits::segment_offsets_max), so each run can become one cleaned segment (cleaning only
// shrinks). A segment larger than max_bytes forms a run of its own.
std::vector<std::pair<size_t, size_t>> GroupSegmentsBySize(std::span<const SegmentSpan> segments,
                                                           uint64_t max_bytes);

// Decides the fate of every batch and record of one group against a KeyMap. Survey every batch
// header of the group first, in order; then Clean every batch, in the same order.
class GroupCleaner {
 public:
  GroupCleaner(const KeyMap& keys, const CompactionOptions& options)
      : keys_(keys), options_(options) {}

  void Survey(const record::BatchHeader& header);

  enum class Action {
    kCopy,     // write the batch unchanged
    kRebuild,  // write Outcome::bytes instead (fewer records, or an empty batch)
    kDrop,     // write nothing
  };
  struct Outcome {
    Action action = Action::kCopy;
    std::vector<std::byte> bytes;  // kRebuild only, and only when Clean was asked to build
    int64_t records_removed = 0;
    int64_t tombstones_removed = 0;
  };
  // `batch` is one whole batch and `header` its parsed header. With build false only the action
  // and counts are worked out (is the group worth rewriting?). DataLoss if the batch does not read
  // back (checksum, records).
  absl::StatusOr<Outcome> Clean(std::span<const std::byte> batch, const record::BatchHeader& header,
                                bool build) const;

  // Batches of transactional or control batches are never cleaned (Strata does not interpret
  // transactions yet), and their keys do not go into the key map.
  static bool Untouchable(const record::BatchHeader& header);

 private:
  bool MustKeepOffsets(const record::BatchHeader& header) const;
  bool Expired(int64_t timestamp_ms) const;

  const KeyMap& keys_;
  const CompactionOptions& options_;
  int64_t last_batch_base_ = -1;
  std::unordered_map<int64_t, int64_t> producer_last_base_;  // producer id -> its last batch
  bool producers_overflowed_ = false;  // past limits::compaction_producer_ids_max
};

}  // namespace strata::log
