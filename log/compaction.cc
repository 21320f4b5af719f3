// The key map, grouping and per-batch decisions of compaction (compaction.h).
#include "log/compaction.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace strata::log {

namespace bf = record::batch_format;

// --- KeyMap ----------------------------------------------------------------------------------

bool KeyMap::Put(std::string_view key, int64_t offset) {
  Hash128 h = Xxh3_128(key.data(), key.size());
  auto it = map_.find(h);
  if (it != map_.end()) {
    it->second = offset;
    return true;
  }
  if (map_.size() >= keys_max_) return false;
  map_.emplace(h, offset);
  return true;
}

int64_t KeyMap::Newest(std::string_view key) const {
  auto it = map_.find(Xxh3_128(key.data(), key.size()));
  return it == map_.end() ? -1 : it->second;
}

// --- Grouping ----------------------------------------------------------------------------------

std::vector<std::pair<size_t, size_t>> GroupSegmentsBySize(std::span<const SegmentSpan> segments,
                                                           uint64_t max_bytes) {
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t first = 0; first < segments.size();) {
    uint64_t bytes = segments[first].size_bytes;
    size_t last = first + 1;
    while (last < segments.size()) {
      const SegmentSpan& next = segments[last];
      // The cleaned segment's offsets are relative to the first segment's base.
      const bool offsets_fit =
          next.next_offset - 1 - segments[first].base_offset <= limits::segment_offsets_max;
      if (bytes + next.size_bytes > max_bytes || !offsets_fit) break;
      bytes += next.size_bytes;
      ++last;
    }
    groups.emplace_back(first, last);
    first = last;
  }
  return groups;
}

// --- GroupCleaner ------------------------------------------------------------------------------

bool GroupCleaner::Untouchable(const record::BatchHeader& header) {
  return (header.attributes & (bf::kTransactionalBit | bf::kControlBit)) != 0;
}

void GroupCleaner::Survey(const record::BatchHeader& header) {
  last_batch_base_ = header.base_offset;
  if (header.producer_id < 0 || producers_overflowed_) return;
  auto it = producer_last_base_.find(header.producer_id);
  if (it != producer_last_base_.end()) {
    it->second = header.base_offset;
  } else if (producer_last_base_.size() >= limits::compaction_producer_ids_max) {
    // Too many to track: keep every idempotent batch's offsets instead (MustKeepOffsets).
    producers_overflowed_ = true;
    producer_last_base_.clear();
  } else {
    producer_last_base_.emplace(header.producer_id, header.base_offset);
  }
}

bool GroupCleaner::MustKeepOffsets(const record::BatchHeader& header) const {
  // The group's last batch ends the cleaned segment where the next segment begins (recovery
  // checks that segments are contiguous).
  if (header.base_offset == last_batch_base_) return true;
  if (header.producer_id < 0) return false;
  // A producer's last batch carries its epoch and last sequence; Kafka keeps it for the same
  // reason, so a producer state rebuilt from the log lets the producer continue its sequence.
  if (producers_overflowed_) return true;
  auto it = producer_last_base_.find(header.producer_id);
  return it != producer_last_base_.end() && it->second == header.base_offset;
}

bool GroupCleaner::Expired(int64_t timestamp_ms) const {
  int64_t horizon = 0;
  // No horizon that far back: nothing is old enough.
  if (__builtin_sub_overflow(options_.now_ms, options_.delete_retention_ms, &horizon)) {
    return false;
  }
  return timestamp_ms < horizon;
}

absl::StatusOr<GroupCleaner::Outcome> GroupCleaner::Clean(std::span<const std::byte> batch,
                                                          const record::BatchHeader& header,
                                                          bool build) const {
  Outcome out;
  if (Untouchable(header)) return out;
  // Reading verifies the checksum: data is checked again before it is rewritten.
  absl::StatusOr<record::BatchReader> reader = record::BatchReader::Open(batch.first(header.size_bytes()));
  if (!reader.ok()) {
    return absl::DataLossError(absl::StrCat("compaction: batch at offset ", header.base_offset,
                                            ": ", reader.status().message()));
  }
  std::string kept;  // encodings of the kept records, back to back
  int32_t kept_count = 0;
  for (;;) {
    absl::StatusOr<std::optional<record::Record>> next = reader->Next();
    if (!next.ok()) {
      return absl::DataLossError(absl::StrCat("compaction: ", next.status().message()));
    }
    if (!next->has_value()) break;
    const record::Record& r = **next;
    bool keep = true;
    if (r.key.has_value()) {
      const int64_t newest = keys_.Newest(*r.key);
      // A key the map does not hold (or holds an older offset for) cannot happen for a segment
      // the map covered; keeping the record is the safe answer either way.
      if (newest > r.offset) {
        keep = false;  // superseded
      } else if (newest == r.offset && !r.value.has_value() && Expired(r.timestamp_ms)) {
        keep = false;  // a tombstone past delete_retention_ms
      }
    }
    if (keep) {
      ++kept_count;
      if (build) {
        std::span<const std::byte> enc = reader->last_record_encoding();
        kept.append(reinterpret_cast<const char*>(enc.data()), enc.size());
      }
    } else {
      ++out.records_removed;
      if (!r.value.has_value()) ++out.tombstones_removed;
    }
  }

  const bool must_keep = MustKeepOffsets(header);
  if (kept_count == header.record_count) {
    // Nothing removed; an empty batch left by an earlier pass goes once nothing needs it.
    out.action = header.record_count == 0 && !must_keep ? Action::kDrop : Action::kCopy;
    return out;
  }
  if (kept_count == 0 && !must_keep) {
    out.action = Action::kDrop;
    return out;
  }
  out.action = Action::kRebuild;
  if (build) {
    STRATA_ASSIGN_OR_RETURN(
        out.bytes,
        record::BuildCompactedBatch(batch.first(header.size_bytes()),
                            std::span(reinterpret_cast<const std::byte*>(kept.data()), kept.size()),
                            kept_count));
  }
  return out;
}

}  // namespace strata::log
