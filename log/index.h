// The sparse indexes of one segment.
//
// OffsetIndex maps a relative offset to the file position of the batch that starts there; one
// entry is added every index_interval_bytes of appended data. TimeIndex maps "every record at or
// below this relative offset has a timestamp <= T" so a timestamp lookup can skip ahead.
// Both are in memory while the segment is open and are written to the .index / .timeindex files
// when the segment is sealed or the log closes; recovery rebuilds them from the .log file. The
// on-disk layout is in docs/format.md.
//
// Thread-safety: one writer (Append/TruncateTo) and any number of concurrent readers (Lookup).
// Entries live in a fixed-capacity array accessed through std::atomic_ref and are published by an
// atomic count, so a reader never sees a torn entry. The array is not zero-filled, so capacity
// that is never written costs address space, not memory. A reader racing a truncation may see a
// stale entry; lookups are only a starting point for a scan that parses each batch it visits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/status.h"

namespace strata::log {

inline constexpr size_t kOffsetIndexEntryBytes = 8;   // u32 relative offset, u32 position
inline constexpr size_t kTimeIndexEntryBytes = 12;    // i64 timestamp, u32 relative offset

struct OffsetIndexEntry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
};

struct TimeIndexEntry {
  int64_t timestamp_ms = 0;
  uint32_t relative_offset = 0;
};

class OffsetIndex {
 public:
  explicit OffsetIndex(size_t capacity);

  size_t size() const { return count_.load(std::memory_order_acquire); }
  size_t capacity() const { return capacity_; }
  // Appends an entry; relative offsets and positions must increase. False when full.
  bool Append(OffsetIndexEntry e);
  // The last entry with relative_offset <= target, or {0, 0} when there is none.
  OffsetIndexEntry Lookup(uint32_t target_relative_offset) const;
  OffsetIndexEntry Last() const;
  // Drops entries with relative_offset >= relative_offset.
  void TruncateTo(uint32_t relative_offset);

  std::vector<std::byte> Encode() const;
  // Parses a .index file. DataLoss if its size is not a multiple of the entry size or entries
  // do not increase or point past `log_bytes`.
  static absl::StatusOr<std::unique_ptr<OffsetIndex>> Decode(std::span<const std::byte> bytes,
                                                             size_t capacity, uint64_t log_bytes);

 private:
  OffsetIndexEntry Get(size_t i) const;
  size_t capacity_;
  std::unique_ptr<uint64_t[]> entries_;  // relative_offset << 32 | position; via atomic_ref
  std::atomic<size_t> count_{0};
};

class TimeIndex {
 public:
  explicit TimeIndex(size_t capacity);

  size_t size() const { return count_.load(std::memory_order_acquire); }
  // Appends an entry when timestamp_ms is greater than the last one's. False when full.
  bool MaybeAppend(TimeIndexEntry e);
  // The last entry with timestamp_ms < target, or nullopt when there is none.
  std::optional<TimeIndexEntry> LastBefore(int64_t target_ms) const;
  void TruncateTo(uint32_t relative_offset);

  std::vector<std::byte> Encode() const;
  static absl::StatusOr<std::unique_ptr<TimeIndex>> Decode(std::span<const std::byte> bytes,
                                                           size_t capacity);

 private:
  TimeIndexEntry Get(size_t i) const;
  size_t capacity_;
  std::unique_ptr<int64_t[]> timestamps_;  // via atomic_ref
  std::unique_ptr<uint32_t[]> offsets_;
  std::atomic<size_t> count_{0};
};

}  // namespace strata::log
