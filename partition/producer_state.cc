#include "partition/producer_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "log/batch_scan.h"
#include "log/log.h"

namespace strata::partition {
namespace {

namespace bf = record::batch_format;

}  // namespace

ProducerState::ProducerState(size_t producer_ids_max)
    : producer_ids_max_(std::max<size_t>(producer_ids_max, 1)) {}

int32_t ProducerState::LastSequence(int32_t base_sequence, int32_t last_offset_delta) {
  if (base_sequence > INT32_MAX - last_offset_delta) {
    return last_offset_delta - (INT32_MAX - base_sequence) - 1;
  }
  return base_sequence + last_offset_delta;
}

int32_t ProducerState::NextSequence(int32_t last_sequence) {
  return last_sequence == INT32_MAX ? 0 : last_sequence + 1;
}

absl::StatusOr<ProducerCheck> ProducerState::Check(const record::BatchHeader& header) const {
  const int64_t pid = header.producer_id;
  if (pid == bf::kNoProducerId) return ProducerCheck{};
  if (pid < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("producer id ", pid, " is invalid (must be >= 0, or -1 for none)"));
  }
  if (header.producer_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "producer ", pid, ": epoch ", header.producer_epoch, " is invalid (must be >= 0)"));
  }
  if (header.base_sequence < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "producer ", pid, ": base sequence ", header.base_sequence, " is invalid (must be >= 0)"));
  }
  if (header.last_offset_delta < 0) {
    return absl::InvalidArgumentError(absl::StrCat("producer ", pid, ": last_offset_delta ",
                                                   header.last_offset_delta, " is negative"));
  }
  auto it = producers_.find(pid);
  if (it == producers_.end()) return ProducerCheck{};
  const Entry& entry = it->second;
  const int32_t first = header.base_sequence;
  const int32_t last = LastSequence(first, header.last_offset_delta);

  if (header.producer_epoch == entry.epoch) {
    for (const ProducerBatch& b : entry.batches) {
      if (b.base_sequence == first && b.last_sequence == last) {
        return ProducerCheck{ProducerDecision::kDuplicate, b.base_offset, b.last_offset};
      }
    }
  }
  if (header.producer_epoch < entry.epoch) {
    return absl::FailedPreconditionError(
        absl::StrCat("producer ", pid, " is fenced: epoch ", header.producer_epoch,
                     " is older than the current epoch ", entry.epoch,
                     " (a newer instance of this producer took over; this one must stop)"));
  }
  if (header.producer_epoch > entry.epoch) {
    if (first != 0) {
      return absl::OutOfRangeError(absl::StrCat(
          "producer ", pid, ": out-of-order sequence ", first, " for new epoch ",
          header.producer_epoch, " (was ", entry.epoch, "); a new epoch must start at sequence 0"));
    }
    return ProducerCheck{};
  }
  const ProducerBatch& newest = entry.batches.back();
  const int32_t expected = NextSequence(newest.last_sequence);
  if (first != expected) {
    return absl::OutOfRangeError(absl::StrCat(
        "producer ", pid, " epoch ", entry.epoch, ": out-of-order sequence ", first, " (expected ",
        expected, " after the last appended batch ", newest.base_sequence, "..",
        newest.last_sequence, "); earlier batches must be appended first"));
  }
  return ProducerCheck{};
}

void ProducerState::Update(const record::BatchHeader& header, int64_t base_offset,
                           int64_t last_offset) {
  const int64_t pid = header.producer_id;
  if (pid < 0) return;
  auto it = producers_.find(pid);
  if (it == producers_.end()) {
    if (producers_.size() >= producer_ids_max_) {
      producers_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(pid);
    it = producers_.emplace(pid, Entry{}).first;
    it->second.epoch = header.producer_epoch;
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& entry = it->second;
  if (entry.epoch != header.producer_epoch) {
    entry.epoch = header.producer_epoch;
    entry.batches.clear();
  }
  if (entry.batches.size() >= limits::producer_batches_retained_max) {
    entry.batches.erase(entry.batches.begin());
  }
  entry.batches.push_back(ProducerBatch{
      header.base_sequence, LastSequence(header.base_sequence, header.last_offset_delta),
      base_offset, last_offset});
}

absl::Status ProducerState::RebuildFrom(const log::Log& log) {
  Clear();
  return log::ForEachBatchHeader(log, log.log_start_offset(), [&](const record::BatchHeader& h) {
    Update(h, h.base_offset, h.last_offset());
  });
}

void ProducerState::Clear() {
  producers_.clear();
  lru_.clear();
}

void ProducerState::RemoveFrom(int64_t offset) {
  for (auto it = producers_.begin(); it != producers_.end();) {
    auto& batches = it->second.batches;
    std::erase_if(batches, [&](const ProducerBatch& b) { return b.base_offset >= offset; });
    if (batches.empty()) {
      lru_.erase(it->second.lru);
      it = producers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ProducerState::RemoveBelow(int64_t log_start_offset) {
  for (auto it = producers_.begin(); it != producers_.end();) {
    auto& batches = it->second.batches;
    std::erase_if(batches,
                  [&](const ProducerBatch& b) { return b.base_offset < log_start_offset; });
    if (batches.empty()) {
      lru_.erase(it->second.lru);
      it = producers_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<ProducerState::ProducerInfo> ProducerState::Find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return std::nullopt;
  return ProducerInfo{it->second.epoch, it->second.batches};
}

}  // namespace strata::partition
