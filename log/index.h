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
// Entries live in chunks that double in size as entries arrive (ChunkedArray), so an index's
// memory follows its entries (an idle partition's index holds a few hundred bytes) and an entry
// never moves. They are accessed through std::atomic_ref and published by an atomic count, so a
// reader never sees a torn entry. A reader racing a truncation may see a stale entry; lookups are
// only a starting point for a scan that parses each batch it visits.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
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

// An array that grows by whole chunks, the first of kFirstChunk elements and each next one twice
// the size of the one before, so elements never move and memory is at most twice what is used.
// One writer; readers read elements below a count the writer published (with release) after
// writing them. Not copyable.
template <typename T>
class ChunkedArray {
 public:
  static constexpr size_t kFirstChunk = 32;
  static constexpr size_t kChunks = 32;  // kFirstChunk * (2^32 - 1) elements: beyond any index

  ChunkedArray() = default;
  ChunkedArray(const ChunkedArray&) = delete;
  ChunkedArray& operator=(const ChunkedArray&) = delete;
  ~ChunkedArray() {
    for (auto& c : chunks_) delete[] c.load(std::memory_order_relaxed);
  }

  T Load(size_t i) const {
    auto [chunk, at] = Locate(i);
    return std::atomic_ref<T>(chunks_[chunk].load(std::memory_order_acquire)[at])
        .load(std::memory_order_relaxed);
  }
  // Writer only. Allocates the chunk holding `i` if it is the first element written there.
  void Store(size_t i, T value) {
    auto [chunk, at] = Locate(i);
    T* c = chunks_[chunk].load(std::memory_order_relaxed);
    if (c == nullptr) {
      c = new T[kFirstChunk << chunk];  // default-init: not zeroed
      chunks_[chunk].store(c, std::memory_order_release);
    }
    std::atomic_ref<T>(c[at]).store(value, std::memory_order_relaxed);
  }

 private:
  // Chunk c starts at element kFirstChunk * (2^c - 1).
  static std::pair<size_t, size_t> Locate(size_t i) {
    const size_t chunk = std::bit_width(i / kFirstChunk + 1) - 1;
    return {chunk, i - kFirstChunk * ((size_t{1} << chunk) - 1)};
  }
  std::atomic<T*> chunks_[kChunks] = {};
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
  ChunkedArray<uint64_t> entries_;  // relative_offset << 32 | position
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
  ChunkedArray<int64_t> timestamps_;
  ChunkedArray<uint32_t> offsets_;
  std::atomic<size_t> count_{0};
};

}  // namespace strata::log
