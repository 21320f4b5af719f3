#include "log/index.h"

#include "absl/strings/str_cat.h"
#include "common/endian.h"

namespace strata::log {

// --- OffsetIndex ------------------------------------------------------------------------------

OffsetIndex::OffsetIndex(size_t capacity) : capacity_(capacity) {}

OffsetIndexEntry OffsetIndex::Get(size_t i) const {
  uint64_t v = entries_.Load(i);
  return {uint32_t(v >> 32), uint32_t(v)};
}

bool OffsetIndex::Append(OffsetIndexEntry e) {
  size_t n = count_.load(std::memory_order_relaxed);
  if (n == capacity_) return false;
  entries_.Store(n, uint64_t(e.relative_offset) << 32 | e.position);
  count_.store(n + 1, std::memory_order_release);
  return true;
}

OffsetIndexEntry OffsetIndex::Lookup(uint32_t target) const {
  size_t lo = 0, hi = size();  // find the first entry with relative_offset > target
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (Get(mid).relative_offset <= target) lo = mid + 1; else hi = mid;
  }
  return lo == 0 ? OffsetIndexEntry{} : Get(lo - 1);
}

OffsetIndexEntry OffsetIndex::Last() const {
  size_t n = size();
  return n == 0 ? OffsetIndexEntry{} : Get(n - 1);
}

void OffsetIndex::TruncateTo(uint32_t relative_offset) {
  size_t n = size();
  while (n > 0 && Get(n - 1).relative_offset >= relative_offset) --n;
  count_.store(n, std::memory_order_release);
}

std::vector<std::byte> OffsetIndex::Encode() const {
  size_t n = size();
  std::vector<std::byte> out(n * kOffsetIndexEntryBytes);
  for (size_t i = 0; i < n; ++i) {
    auto e = Get(i);
    PutU32(&out[i * kOffsetIndexEntryBytes], e.relative_offset);
    PutU32(&out[i * kOffsetIndexEntryBytes + 4], e.position);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<OffsetIndex>> OffsetIndex::Decode(std::span<const std::byte> bytes,
                                                                 size_t capacity,
                                                                 uint64_t log_bytes) {
  if (bytes.size() % kOffsetIndexEntryBytes != 0) {
    return absl::DataLossError(absl::StrCat("offset index size ", bytes.size(),
                                            " is not a multiple of ", kOffsetIndexEntryBytes));
  }
  size_t n = bytes.size() / kOffsetIndexEntryBytes;
  auto index = std::make_unique<OffsetIndex>(std::max(capacity, n));
  OffsetIndexEntry prev{};
  for (size_t i = 0; i < n; ++i) {
    OffsetIndexEntry e{GetU32(&bytes[i * kOffsetIndexEntryBytes]),
                       GetU32(&bytes[i * kOffsetIndexEntryBytes + 4])};
    if (i > 0 && (e.relative_offset <= prev.relative_offset || e.position <= prev.position)) {
      return absl::DataLossError(absl::StrCat("offset index entry ", i, " (", e.relative_offset,
                                              ", ", e.position, ") does not increase"));
    }
    if (e.position >= log_bytes) {
      return absl::DataLossError(absl::StrCat("offset index entry ", i, " points at position ",
                                              e.position, " past the log's ", log_bytes, " bytes"));
    }
    index->Append(e);
    prev = e;
  }
  return index;
}

// --- TimeIndex --------------------------------------------------------------------------------

TimeIndex::TimeIndex(size_t capacity) : capacity_(capacity) {}

TimeIndexEntry TimeIndex::Get(size_t i) const { return {timestamps_.Load(i), offsets_.Load(i)}; }

bool TimeIndex::MaybeAppend(TimeIndexEntry e) {
  size_t n = count_.load(std::memory_order_relaxed);
  if (n > 0) {
    auto last = Get(n - 1);
    if (e.timestamp_ms <= last.timestamp_ms || e.relative_offset <= last.relative_offset) {
      return true;
    }
  }
  if (n == capacity_) return false;
  timestamps_.Store(n, e.timestamp_ms);
  offsets_.Store(n, e.relative_offset);
  count_.store(n + 1, std::memory_order_release);
  return true;
}

std::optional<TimeIndexEntry> TimeIndex::LastBefore(int64_t target_ms) const {
  size_t lo = 0, hi = size();  // first entry with timestamp >= target
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (Get(mid).timestamp_ms < target_ms) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return std::nullopt;
  return Get(lo - 1);
}

void TimeIndex::TruncateTo(uint32_t relative_offset) {
  size_t n = size();
  while (n > 0 && Get(n - 1).relative_offset >= relative_offset) --n;
  count_.store(n, std::memory_order_release);
}

std::vector<std::byte> TimeIndex::Encode() const {
  size_t n = size();
  std::vector<std::byte> out(n * kTimeIndexEntryBytes);
  for (size_t i = 0; i < n; ++i) {
    auto e = Get(i);
    PutI64(&out[i * kTimeIndexEntryBytes], e.timestamp_ms);
    PutU32(&out[i * kTimeIndexEntryBytes + 8], e.relative_offset);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TimeIndex>> TimeIndex::Decode(std::span<const std::byte> bytes,
                                                             size_t capacity) {
  if (bytes.size() % kTimeIndexEntryBytes != 0) {
    return absl::DataLossError(absl::StrCat("time index size ", bytes.size(),
                                            " is not a multiple of ", kTimeIndexEntryBytes));
  }
  size_t n = bytes.size() / kTimeIndexEntryBytes;
  auto index = std::make_unique<TimeIndex>(std::max(capacity, n));
  for (size_t i = 0; i < n; ++i) {
    TimeIndexEntry e{GetI64(&bytes[i * kTimeIndexEntryBytes]),
                     GetU32(&bytes[i * kTimeIndexEntryBytes + 8])};
    if (index->size() > 0) {
      auto last = index->Get(index->size() - 1);
      if (e.timestamp_ms <= last.timestamp_ms || e.relative_offset <= last.relative_offset) {
        return absl::DataLossError(absl::StrCat("time index entry ", i, " does not increase"));
      }
    }
    index->MaybeAppend(e);
  }
  return index;
}

}  // namespace strata::log
