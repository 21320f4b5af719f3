// Segment: one contiguous run of a partition's log, as three files named by the base offset:
//   <base>.log        batches back to back (batch_format.h)
//   <base>.index      sparse offset index (index.h)
//   <base>.timeindex  sparse time index
//
// The active segment takes appends. Its file grows in preallocated steps (LogConfig's
// Preallocation, reserved by Reserve before the append that needs them), so disk use follows the
// data. An append writes a batch (by pwrite, or by copying into a writable mapping) and then
// publishes the new end with a release store, so readers (which load the end with acquire) never
// see a partial batch. Sealing writes the index files and trims the file to its data.
//
// A segment holds neither a file descriptor nor a mapping of its own: it asks the process-wide
// FileCache and MapCache (handle_cache.h) each time it needs one, and they open it again after an
// eviction, so a broker with thousands of segments keeps both bounded. Once its files are deleted
// (DeleteFiles) a segment can no longer be opened by name; it keeps a mapping of its last bytes
// for readers still holding it.
//
// Thread-safety: one writer at a time (the owning Log serializes Reserve, Append, TruncateTo,
// Seal, OpenForAppend, DeleteFiles) and any number of concurrent readers (Read,
// FindOffsetByTimestamp, accessors).
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
#include "record/batch.h"
#include "log/index.h"
#include "log/log_config.h"
#include "log/handle_cache.h"
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
  FileCache* file_cache = nullptr;
  uint32_t index_interval_bytes = 4096;
  uint64_t segment_bytes = 1ull << 30;  // capacity of an active segment
  Preallocation preallocation;
  AppendPath append_path = AppendPath::kWrite;
  Prefaulter* prefaulter = nullptr;     // kMapping; null: prefault on the append path
};

// "00000000000000000042" for 42.
std::string SegmentFileStem(int64_t base_offset);

class Segment {
 public:
  ~Segment();

  // Creates an empty active segment. Its file reserves nothing until the first Reserve.
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
  // docs/format.md), which the caller then renames to this segment's .log before it reads or
  // writes the segment (which opens its file by its final name, log_path()).
  static absl::StatusOr<std::pair<std::unique_ptr<Segment>, ScanReport>> OpenScannedAt(
      const SegmentEnv& env, int64_t base_offset, const std::string& file_path);

  // Scans a .log image: validates each batch (structure, checksum, offsets increasing) from
  // position 0 and stops at the first bad batch or at trailing zeros. `on_batch` sees each valid
  // batch with its position.
  using BatchVisitor = std::function<void(const record::BatchHeader&, uint64_t position)>;
  static ScanReport Scan(std::span<const std::byte> image, int64_t base_offset,
                         const BatchVisitor& on_batch = nullptr);

  // Makes this segment the active one: cuts the file at its valid data (dropping a torn tail or a
  // crash's leftovers past it); the caller syncs. Space for appends is reserved by Reserve.
  absl::Status OpenForAppend();
  // Writes the index files, syncs the .log, trims it to its data and makes the segment read-only.
  // If the index files cannot be written (a full disk), they are removed instead, which only
  // costs a scan when the segment is next opened.
  // `data_synced`: the caller has just synced the file (a close flushes first).
  absl::Status Seal(bool data_synced = false);
  // Writes the .index/.timeindex files from the in-memory indexes and syncs them.
  absl::Status WriteIndexFiles();

  bool writable() const;
  bool HasRoomFor(uint64_t bytes) const;

  // Makes sure the file has room for `bytes` more after the end, growing it by preallocation
  // steps. Writes nothing: on failure (IsNoSpace for a full disk) the segment is as it was and
  // takes appends once space returns.
  absl::Status Reserve(uint64_t bytes);
  // Copies one already-checked and stamped batch to the end and publishes it. Reserve must have
  // made room for it.
  absl::Status Append(std::span<const std::byte> batch, const record::BatchHeader& header);
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
  // The file's size: the data plus, while active, the space reserved past it.
  uint64_t file_bytes() const { return file_bytes_.load(std::memory_order_acquire); }
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
  // The segment's file from the FileCache, opened by name when it is not there.
  absl::StatusOr<std::shared_ptr<io::File>> File() const;
  // A mapping of the file from the MapCache that covers at least [0, need_bytes) (writable while
  // active under AppendPath::kMapping). After DeleteFiles, the mapping kept then.
  absl::StatusOr<std::shared_ptr<io::Mapping>> Mapping(uint64_t need_bytes) const;
  // Maps the whole file as it is now.
  absl::StatusOr<std::shared_ptr<io::Mapping>> MapFile() const;
  // Records the index entries for a batch appended (or found by a scan) at `position`.
  void IndexBatch(const record::BatchHeader& header, uint64_t position, uint64_t size);
  void ResetIndexes(uint64_t capacity_bytes);
  absl::Status ZeroRange(io::File& file, uint64_t from, uint64_t to);
  absl::Status RemoveIndexFiles();
  // Position of the batch containing `offset`, scanning from the sparse index entry.
  absl::StatusOr<std::optional<uint64_t>> FindPosition(std::span<const std::byte> data,
                                                       int64_t offset) const;

  SegmentEnv env_;
  const int64_t base_offset_;
  static void RecordSyncedForTests(const std::string& log_path, uint64_t bytes);

  const std::string log_path_, index_path_, time_index_path_;

  // Serializes mapping the file with changing its size, so a mapping never covers bytes the
  // file no longer has.
  mutable absl::Mutex mu_;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  // Set by DeleteFiles: the file can no longer be opened by name.
  std::shared_ptr<io::Mapping> detached_mapping_ ABSL_GUARDED_BY(mu_);
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;

  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  uint64_t capacity_bytes_ = 0;           // writer only: the most bytes the segment may hold
  uint64_t bytes_since_index_entry_ = 0;  // writer only
  uint64_t prefault_requested_to_ = 0;    // writer only: end of the prefault window asked for
  uint64_t max_end_published_ = 0;        // writer only: the highest end_ readers ever saw

  std::atomic<uint64_t> end_{0};
  std::atomic<uint64_t> file_bytes_{0};
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{INT64_MIN};
  std::atomic<int64_t> first_batch_timestamp_{INT64_MIN};
};

}  // namespace strata::log
