#include "client/record_accumulator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "record/batch_format.h"

namespace strata::client {

namespace {
// Upper bound of a Kafka v2 record's framing: length, attributes, timestamp delta, offset delta,
// key and value lengths, header count (varints of at most 5 or 10 bytes).
constexpr size_t kRecordOverheadBytes = 5 + 1 + 10 + 5 + 5 + 5 + 5;
constexpr size_t kHeaderOverheadBytes = 5 + 5;
}  // namespace

RecordAccumulator::RecordAccumulator(Options options) : options_(options) {}

size_t RecordAccumulator::EstimateBytes(const record::RecordInput& record) {
  size_t bytes = kRecordOverheadBytes;
  if (record.key) bytes += record.key->size();
  if (record.value) bytes += record.value->size();
  for (const record::RecordHeader& h : record.headers) {
    bytes += kHeaderOverheadBytes + h.key.size() + (h.value ? h.value->size() : 0);
  }
  return bytes;
}

absl::StatusOr<RecordAccumulator::AppendResult> RecordAccumulator::Append(
    const TopicPartition& tp, const record::RecordInput& record, SendCallback callback,
    SendDeadline deadline, bool caller_sends) {
  const size_t need = EstimateBytes(record);
  const size_t most = std::min<size_t>(options_.buffer_bytes, limits::batch_bytes_max);
  if (need + record::batch_format::kHeaderBytes > most) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a record of about ", need, " bytes is larger than ",
        most == options_.buffer_bytes ? "the producer's buffer_bytes (" : "the largest batch (",
        most, " bytes); send smaller records or raise buffer_bytes"));
  }
  if (record.headers.size() > size_t(limits::record_headers_max)) {
    return absl::InvalidArgumentError(absl::StrCat("a record has ", record.headers.size(),
                                                   " headers; at most ",
                                                   limits::record_headers_max, " are allowed"));
  }
  absl::MutexLock lock(&mu_);
  AppendResult result;
  for (;;) {
    if (closed_) {
      return absl::FailedPreconditionError("the producer is closed; create a new one to send");
    }
    auto& queue = batches_[tp];
    ProducerBatch* open = queue.empty() || queue.back()->full ? nullptr : queue.back().get();
    if (open != nullptr && open->record_count() > 0 &&
        (open->builder->size_bytes() + need > options_.batch_bytes ||
         open->record_count() >= limits::batch_records_max)) {
      open->full = true;  // the record does not fit: this batch is done
      result.batch_full = true;
      open = nullptr;
    }
    const size_t reserve = need + (open == nullptr ? record::batch_format::kHeaderBytes : 0);
    if (used_bytes_ + reserve <= options_.buffer_bytes) {
      if (open == nullptr) {
        auto batch = std::make_unique<ProducerBatch>();
        batch->id = next_batch_id_++;
        batch->tp = tp;
        record::BatchOptions batch_options;
        batch_options.compression = options_.compression;
        batch->builder = std::make_unique<record::BatchBuilder>(batch_options);
        batch->created = absl::Now();
        incomplete_.insert(batch->id);
        ++opened_since_wait_;
        open = batch.get();
        queue.push_back(std::move(batch));
      }
      used_bytes_ += reserve;
      open->reserved_bytes += reserve;
      open->builder->Add(record);
      open->callbacks.push_back(std::move(callback));
      open->timestamps_ms.push_back(record.timestamp_ms);
      if (open->builder->size_bytes() >= options_.batch_bytes) {
        open->full = true;
        result.batch_full = true;
      }
      // Counted in the same critical section as the append, so the sender is never woken for it.
      if (caller_sends) ++callers_sending_;
      return result;
    }
    if (queue.empty()) batches_.erase(tp);  // do not leave an empty entry while waiting
    // Full: wait for the sender to free memory. The queue may change meanwhile, so start over.
    auto has_room = [this, reserve]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || used_bytes_ + reserve <= options_.buffer_bytes;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&has_room), deadline.Get())) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the producer's buffer (", options_.buffer_bytes,
          " bytes) stayed full until max_block_ms passed: the broker is slower than the records "
          "arrive, or unreachable; slow down, or raise buffer_bytes or max_block_ms"));
    }
  }
}

bool RecordAccumulator::ReadyLocked(const ProducerBatch& batch, absl::Time now) const {
  return batch.full || closed_ || flushes_ > 0 ||
         now - batch.created >= absl::Milliseconds(options_.linger_ms);
}

bool RecordAccumulator::AnyReadyLocked(absl::Time now,
                                       const std::set<TopicPartition>& muted) const {
  for (const auto& [tp, queue] : batches_) {
    if (!queue.empty() && !muted.contains(tp) && ReadyLocked(*queue.front(), now)) return true;
  }
  return false;
}

absl::Time RecordAccumulator::NextLingerLocked(const std::set<TopicPartition>& muted) const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [tp, queue] : batches_) {
    if (queue.empty() || muted.contains(tp)) continue;
    next = std::min(next, queue.front()->created + absl::Milliseconds(options_.linger_ms));
  }
  return next;
}

std::vector<std::unique_ptr<ProducerBatch>> RecordAccumulator::Drain(
    absl::Time now, const std::set<TopicPartition>& muted, size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<uint64_t, TopicPartition>> ready;
  for (const auto& [tp, queue] : batches_) {
    if (!queue.empty() && !muted.contains(tp) && ReadyLocked(*queue.front(), now)) {
      ready.emplace_back(queue.front()->id, tp);
    }
  }
  std::sort(ready.begin(), ready.end());
  std::vector<std::unique_ptr<ProducerBatch>> out;
  size_t bytes = 0;
  for (const auto& [id, tp] : ready) {
    if (!out.empty() && bytes >= max_bytes) break;
    auto it = batches_.find(tp);
    std::unique_ptr<ProducerBatch> batch = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) batches_.erase(it);
    batch->full = true;
    bytes += batch->builder->size_bytes();
    out.push_back(std::move(batch));
  }
  return out;
}

void RecordAccumulator::WaitForWork(absl::Time until, const std::set<TopicPartition>& muted) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = std::min(until, NextLingerLocked(muted));
  auto work = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (wake_ || (closed_ && !close_noticed_)) return true;
    return callers_sending_ == 0 && (opened_since_wait_ > 0 || AnyReadyLocked(absl::Now(), muted));
  };
  mu_.AwaitWithDeadline(absl::Condition(&work), deadline);
  opened_since_wait_ = 0;
  wake_ = false;
  if (closed_) close_noticed_ = true;
}

void RecordAccumulator::CallerSent() {
  absl::MutexLock lock(&mu_);
  --callers_sending_;
  // The caller drained what it opened; only batches still queued (others', or its own behind a
  // retry) need the sender to look at their linger times.
  if (callers_sending_ == 0 && batches_.empty()) opened_since_wait_ = 0;
}

void RecordAccumulator::WakeSender() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void RecordAccumulator::Deallocate(const ProducerBatch& batch) {
  absl::MutexLock lock(&mu_);
  used_bytes_ -= batch.reserved_bytes;
  incomplete_.erase(batch.id);
}

void RecordAccumulator::Flush() {
  absl::MutexLock lock(&mu_);
  ++flushes_;
  const uint64_t target = next_batch_id_;
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return incomplete_.empty() || *incomplete_.begin() >= target;
  };
  mu_.Await(absl::Condition(&done));
  --flushes_;
}

void RecordAccumulator::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool RecordAccumulator::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

bool RecordAccumulator::ClosedAndDrained() const {
  absl::MutexLock lock(&mu_);
  return closed_ && batches_.empty();
}

size_t RecordAccumulator::buffered_bytes() const {
  absl::MutexLock lock(&mu_);
  return used_bytes_;
}

size_t RecordAccumulator::queued_batches() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [tp, queue] : batches_) n += queue.size();
  return n;
}

}  // namespace strata::client
