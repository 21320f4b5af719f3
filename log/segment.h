// Segment: one contiguous run of a partition's log, as three files named by the base offset:
//   <base>.log        batches back to back (batch_format.h)
//   <base>.index      sparse offset index (index.h)
//   <base>.timeindex  sparse time index
//
// The active segment is preallocated to its capacity and memory-mapped for writing; appends copy
// a batch into the mapping and then publish the new end with a release store, so readers (which
// load the end with acquire) never see a partial batch. A sealed segment's .log is trimmed to its
// data and mapped read-only on demand through the MapCache.
//
// Thread-safety: one writer at a time (the owning Log serializes Append, TruncateTo, Seal,
// OpenForAppend) and any number of concurrent readers (Read, FindOffsetByTimestamp, accessors).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "io/file_system.h"
#include "log/batch.h"
#include "log/index.h"
#include "log/log_config.h"
#include "log/map_cache.h"
#include "log/prefaulter.h"

namespace strata::log {

// Whole batches read from one segment, as a view into its mapping.
struct ReadResult {
  std::shared_ptr<const io::Mapping> keepalive;  // keeps `bytes` mapped while held
  std::span<const std::byte> bytes;               // whole batches, back to back
  int64_t first_offset = 0;                       // base offset of the first batch
  int64_t next_offset = 0;                        // offset after the last batch
  size_t batch_count = 0;
};

// What a scan of a segment's .log found. `problem` is set when the scan stopped at bytes that are
// neither a valid batch nor preallocated zeros; whether that is corruption or a crash's torn tail
// depends on the recovery point (Log::Recover decides).
struct ScanReport {
  uint64_t valid_bytes = 0;   // end of the last whole, valid batch
  int64_t next_offset = 0;    // offset after the last valid batch (base offset when empty)
  int64_t max_timestamp = INT64_MIN;
  int64_t batches = 0;
  std::optional<absl::Status> problem;  // what is wrong at position valid_bytes
};

struct SegmentEnv {
  io::FileSystem* fs = nullptr;
  std::string dir;
  MapCache* map_cache = nullptr;
  uint32_t index_interval_bytes = 4096;
  uint64_t segment_bytes = 1ull << 30;  // capacity of an active segment
  AppendPath append_path = AppendPath::kWrite;
  Prefaulter* prefaulter = nullptr;     // kMapping; null: prefault on the append path
};

// "00000000000000000042" for 42.
std::string SegmentFileStem(int64_t base_offset);

class Segment {
 public:
  ~Segment();

  // Creates an empty active segment, preallocated and mapped for writing.
  static absl::StatusOr<std::unique_ptr<Segment>> Create(const SegmentEnv& env,
                                                         int64_t base_offset);
  // Opens an existing segment trusting its index files (clean shutdown, or below the recovery
  // point). Falls back to a scan when the index files are missing or invalid.
  static absl::StatusOr<std::unique_ptr<Segment>> OpenTrusted(const SegmentEnv& env,
                                                              int64_t base_offset);
  // Opens an existing segment by scanning and validating every batch and rebuilding the indexes.
  // The report says where valid data ends and what stopped the scan, if anything; the caller
  // decides whether that is a torn tail (truncate) or corruption (fail).
  static absl::StatusOr<std::pair<std::unique_ptr<Segment>, ScanReport>> OpenScanned(
      const SegmentEnv& env, int64_t base_offset);
  // OpenScanned of a segment image at another path: compaction's output (`<base>.log.cleaned`,
  // docs/format.md), which the caller then renames to this segment's .log. The open file follows
  // the renames; the paths the segment reports (log_path, DeleteFiles) are the final ones.
  static absl::StatusOr<std::pair<std::unique_ptr<Segment>, ScanReport>> OpenScannedAt(
      const SegmentEnv& env, int64_t base_offset, const std::string& file_path);

  // Scans a .log image: validates each batch (structure, checksum, offsets increasing) from
  // position 0 and stops at the first bad batch or at trailing zeros. `on_batch` sees each valid
  // batch with its position.
  using BatchVisitor = std::function<void(const BatchHeader&, uint64_t position)>;
  static ScanReport Scan(std::span<const std::byte> image, int64_t base_offset,
                         const BatchVisitor& on_batch = nullptr);

  // Makes this segment the active one: preallocates to env.segment_bytes, maps it for writing,
  // and zeroes (and syncs) everything past the valid data, such as a torn tail.
  absl::Status OpenForAppend();
  // Writes the index files, syncs the .log, trims it to its data and drops the write mapping.
  absl::Status Seal();
  // Writes the .index/.timeindex files from the in-memory indexes and syncs them.
  absl::Status WriteIndexFiles();

  bool writable() const;
  uint64_t capacity_bytes() const { return capacity_bytes_; }
  bool HasRoomFor(uint64_t bytes) const;

  // Copies one already-checked and stamped batch to the end and publishes it.
  absl::Status Append(std::span<const std::byte> batch, const BatchHeader& header);
  absl::Status Sync();
  // Drops the batch containing `offset` and every batch after it, zeroing their bytes, so the
  // segment then ends at that batch's base offset. The segment must be writable.
  absl::Status TruncateTo(int64_t offset);
  // Removes the files. The object stays readable for readers still holding it.
  absl::Status DeleteFiles();

  // Whole batches from the one containing `offset`, at most max_bytes (but at least one batch),
  // and only batches that end below `end_offset` (the log end or high watermark the caller
  // publishes). nullopt when there is no such batch.
  absl::StatusOr<std::optional<ReadResult>> Read(int64_t offset, size_t max_bytes,
                                                 int64_t end_offset) const;
  // The first offset whose record timestamp is >= ts_ms, or nullopt.
  absl::StatusOr<std::optional<int64_t>> FindOffsetByTimestamp(int64_t ts_ms) const;

  int64_t base_offset() const { return base_offset_; }
  int64_t next_offset() const { return next_offset_.load(std::memory_order_acquire); }
  uint64_t size_bytes() const { return end_.load(std::memory_order_acquire); }
  int64_t max_timestamp() const { return max_timestamp_.load(std::memory_order_acquire); }
  // Max timestamp of the first batch (INT64_MIN when empty); roll-by-age counts from it.
  int64_t first_batch_timestamp() const {
    return first_batch_timestamp_.load(std::memory_order_acquire);
  }
  bool empty() const { return size_bytes() == 0; }
  const std::string& log_path() const { return log_path_; }
  size_t index_entries() const { return offset_index_->size(); }
  size_t time_index_entries() const { return time_index_->size(); }

 private:
  Segment(const SegmentEnv& env, int64_t base_offset);
  absl::StatusOr<std::shared_ptr<io::Mapping>> ReadMapping() const;
  // Records the index entries for a batch appended (or found by a scan) at `position`.
  void IndexBatch(const BatchHeader& header, uint64_t position, uint64_t size);
  void ResetIndexes(uint64_t capacity_bytes);
  // Rebuilds indexes, end and timestamps from the valid prefix of `image`.
  void AdoptScan(std::span<const std::byte> image, uint64_t from_position, int64_t from_offset);
  absl::Status ZeroRange(uint64_t from, uint64_t to);
  // Position of the batch containing `offset`, scanning from the sparse index entry.
  absl::StatusOr<std::optional<uint64_t>> FindPosition(std::span<const std::byte> data,
                                                       int64_t offset) const;

  SegmentEnv env_;
  const int64_t base_offset_;
  const std::string log_path_, index_path_, time_index_path_;
  std::unique_ptr<io::File> file_;
  uint64_t capacity_bytes_ = 0;

  mutable absl::Mutex mapping_mu_;
  // The active segment's mapping of its whole capacity, readers' view of it (writable under
  // AppendPath::kMapping); null once sealed.
  std::shared_ptr<io::Mapping> write_mapping_ ABSL_GUARDED_BY(mapping_mu_);

  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  uint64_t bytes_since_index_entry_ = 0;  // writer only
  uint64_t prefault_requested_to_ = 0;    // writer only: end of the prefault window asked for
  uint64_t max_end_published_ = 0;        // writer only: the highest end_ readers ever saw

  std::atomic<uint64_t> end_{0};
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{INT64_MIN};
  std::atomic<int64_t> first_batch_timestamp_{INT64_MIN};
};

}  // namespace strata::log
