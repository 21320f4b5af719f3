#include "broker/data_plane.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/commit_wait.h"
#include "broker/request_handler.h"
#include "common/limits.h"

namespace strata::broker {

namespace {

// The code for a refused append, by what the producer should do (partition.h AppendErrorCode).
Error AppendErrorToError(const partition::AppendError& e, bool stopping, int32_t node_id) {
  using partition::AppendErrorCode;
  switch (e.code) {
    case AppendErrorCode::kCorruptBatch:
      return {ErrorCode::CORRUPT_MESSAGE, e.message};
    case AppendErrorCode::kInvalidBatch:
    case AppendErrorCode::kInvalidProducerFields:
      return {ErrorCode::INVALID_REQUEST, e.message};
    case AppendErrorCode::kBatchTooLarge:
      return {ErrorCode::MESSAGE_TOO_LARGE, e.message};
    case AppendErrorCode::kOutOfOrderSequence:
      return {ErrorCode::OUT_OF_ORDER_SEQUENCE, e.message};
    case AppendErrorCode::kProducerFenced:
      return {ErrorCode::PRODUCER_FENCED, e.message};
    case AppendErrorCode::kNoSpace:
      return {ErrorCode::STORAGE_FULL, absl::StrCat("broker ", node_id, " has ", e.message)};
    case AppendErrorCode::kStorageFailed:
      return {ErrorCode::STORAGE_ERROR, e.message};
    case AppendErrorCode::kClosed:
      // Closed, not broken (topic deleted, broker stopping): a client refreshes metadata and
      // retries.
      return {stopping ? ErrorCode::SHUTTING_DOWN : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
              e.message};
  }
  return {ErrorCode::UNKNOWN, e.message};
}

Error CommitWaitError(const absl::Status& st) {
  if (absl::IsDeadlineExceeded(st)) {
    return {ErrorCode::REQUEST_TIMED_OUT,
            "the batch was appended but not yet committed (fsynced) when timeout_ms passed; retry "
            "(an idempotent producer's retry is deduplicated)"};
  }
  if (absl::IsResourceExhausted(st)) return {ErrorCode::BROKER_BUSY, std::string(st.message())};
  return {ErrorCode::STORAGE_ERROR, st.ToString()};
}

// Whether any partition of any topic in a response carries an error.
template <typename TopicResult>
bool AnyError(const std::vector<TopicResult>& topics) {
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) {
      if (!p.error.ok()) return true;
    }
  }
  return false;
}

Error LookupError(const absl::Status& st, bool stopping) {
  return {PartitionLookupError(st, stopping), std::string(st.message())};
}

}  // namespace

size_t FetchResponse::records_bytes() const {
  size_t total = 0;
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) total += p.read.has_value() ? p.read->bytes.size() : 0;
  }
  return total;
}

bool FetchResponse::has_error() const { return AnyError(topics); }

bool ListOffsetsResponse::has_error() const { return AnyError(topics); }

asio::awaitable<ProduceResponse> DataPlane::Produce(ProduceRequest request) const {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::clamp(request.timeout, std::chrono::milliseconds(0),
                 std::chrono::milliseconds(limits::produce_timeout_ms_max));
  const bool stopping = s_.stopping->load(std::memory_order_acquire);

  struct CommitWait {
    ProducePartitionResult* result;
    std::shared_ptr<partition::Partition> partition;
    int64_t last_offset;
  };
  std::vector<CommitWait> waits;
  ProduceResponse response;
  response.topics.reserve(request.topics.size());
  for (const ProduceTopic& t : request.topics) {
    ProduceTopicResult& topic = response.topics.emplace_back();
    topic.name = t.name;
    topic.partitions.reserve(t.partitions.size());
    for (const ProducePartition& p : t.partitions) {
      ProducePartitionResult& r = topic.partitions.emplace_back();
      r.index = p.index;
      if (p.batch.empty()) {
        r.error = {ErrorCode::CORRUPT_MESSAGE, "no record batch in `records`"};
        continue;
      }
      if (IsInternalTopic(topic.name)) {
        r.error = {ErrorCode::INVALID_REQUEST,
                   absl::StrCat(topic.name, " is an internal topic; only the broker writes it")};
        continue;
      }
      auto part = s_.topics->GetPartition(topic.name, r.index);
      if (!part.ok()) {
        r.error = LookupError(part.status(), stopping);
        continue;
      }
      auto appended = (*part)->Append(p.batch);
      if (!appended.ok()) {
        r.error = AppendErrorToError(appended.error(), stopping, s_.node_id);
        continue;
      }
      r.base_offset = appended->base_offset;
      r.duplicate = appended->duplicate;
      r.log_start_offset = (*part)->log_start_offset();
      if (!appended->duplicate) {
        s_.metrics->records_bytes_in.fetch_add(p.batch.size(), std::memory_order_relaxed);
        s_.fetch_waiters->Notify(topic.name, r.index);
      }
      // A duplicate waits too: its first append may not be committed yet.
      if (request.acks != partition::Acks::kNone &&
          !(*part)->IsCommitted(appended->last_offset, request.acks)) {
        waits.push_back({&r, std::move(*part), appended->last_offset});
      }
    }
  }
  // Waited for one after another, all under the one deadline. With one node every wait is an
  // fsync, and the flusher's group commit folds the partitions' fsyncs into one pass.
  for (const CommitWait& w : waits) {
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    absl::Status st = co_await AsyncWhenCommitted(*w.partition, w.last_offset, request.acks, left);
    if (!st.ok()) w.result->error = CommitWaitError(st);
  }
  co_return response;
}

asio::awaitable<FetchResponse> DataPlane::Fetch(FetchRequest request) const {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::clamp(request.max_wait, std::chrono::milliseconds(0),
                 std::chrono::milliseconds(limits::fetch_wait_ms_max));
  const size_t min_bytes = request.min_bytes;
  FetchResponse response;
  // Capped so that even with a maximal first batch the response fits in a frame.
  response.max_bytes = std::min(request.max_bytes, limits::frame_bytes_max / 2);
  const size_t max_bytes = response.max_bytes;

  std::vector<FetchWaiters::PartitionKey> keys;
  response.topics.reserve(request.topics.size());
  for (const FetchTopic& t : request.topics) {
    FetchTopicResult& topic = response.topics.emplace_back();
    topic.name = t.name;
    for (const FetchPartition& p : t.partitions) {
      topic.partitions.emplace_back().index = p.index;
      keys.emplace_back(topic.name, p.index);
    }
  }

  // Reads every partition once; returns the record bytes found.
  const auto gather = [&]() {
    const bool stopping = s_.stopping->load(std::memory_order_acquire);
    size_t total = 0;
    for (size_t ti = 0; ti < response.topics.size(); ++ti) {
      FetchTopicResult& topic = response.topics[ti];
      for (size_t pi = 0; pi < topic.partitions.size(); ++pi) {
        FetchPartitionResult& r = topic.partitions[pi];
        const FetchPartition& asked = request.topics[ti].partitions[pi];
        r.read.reset();
        r.error = {};
        auto part = s_.topics->GetPartition(topic.name, r.index);
        if (!part.ok()) {
          r.error = LookupError(part.status(), stopping);
          continue;
        }
        r.log_start_offset = (*part)->log_start_offset();
        r.high_watermark = (*part)->high_watermark();
        if (asked.fetch_offset < r.log_start_offset || asked.fetch_offset > r.high_watermark) {
          r.error = {ErrorCode::OFFSET_OUT_OF_RANGE,
                     absl::StrCat("offset ", asked.fetch_offset, " is outside the log [",
                                  r.log_start_offset, ", ", r.high_watermark,
                                  "]; seek to earliest or latest")};
          continue;
        }
        if (asked.fetch_offset == r.high_watermark) continue;
        // After the first data, respect max_bytes strictly; before it, return at least one batch
        // (the log always does) so a large batch cannot stall a consumer.
        const size_t budget =
            std::min(asked.max_bytes, max_bytes > total ? max_bytes - total : 0);
        if (total > 0 && budget == 0) continue;
        auto read = (*part)->Read(asked.fetch_offset, std::max<size_t>(budget, 1));
        if (!read.ok()) {
          // Retention or truncation raced the offset check.
          r.error = absl::IsOutOfRange(read.status())
                        ? Error{ErrorCode::OFFSET_OUT_OF_RANGE,
                                std::string(read.status().message())}
                        : Error{ErrorCode::STORAGE_ERROR, read.status().ToString()};
          continue;
        }
        if (total > 0 && read->bytes.size() > budget) continue;
        total += read->bytes.size();
        r.read = std::move(*read);
      }
    }
    return total;
  };

  size_t total = gather();
  if (total < std::max<size_t>(min_bytes, 1) && !response.has_error() &&
      std::chrono::steady_clock::now() < deadline && !keys.empty()) {
    // Long-poll: register, re-check (a produce may have landed meanwhile), sleep until woken or
    // the deadline.
    auto waiter = std::make_shared<FetchWaiters::Waiter>(co_await asio::this_coro::executor);
    FetchWaiters::Registration registration(s_.fetch_waiters, waiter, keys);
    s_.metrics->fetches_parked.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      total = gather();
      if (total >= std::max<size_t>(min_bytes, 1) || response.has_error() ||
          std::chrono::steady_clock::now() >= deadline ||
          s_.stopping->load(std::memory_order_acquire)) {
        break;
      }
      if (!waiter->notified.exchange(false)) {
        waiter->timer.expires_at(deadline);
        co_await waiter->timer.async_wait(kUseAwaitableTuple);
        waiter->notified.store(false);
      }
    }
    s_.metrics->fetches_parked.fetch_sub(1, std::memory_order_relaxed);
  }
  s_.metrics->records_bytes_out.fetch_add(total, std::memory_order_relaxed);
  co_return response;
}

ListOffsetsResponse DataPlane::ListOffsets(const ListOffsetsRequest& request) const {
  const bool stopping = s_.stopping->load(std::memory_order_acquire);
  ListOffsetsResponse response;
  for (const ListOffsetsTopic& t : request.topics) {
    ListOffsetsTopicResult& topic = response.topics.emplace_back();
    topic.name = t.name;
    for (const ListOffsetsPartition& p : t.partitions) {
      ListOffsetsPartitionResult& r = topic.partitions.emplace_back();
      r.index = p.index;
      auto part = s_.topics->GetPartition(topic.name, p.index);
      if (!part.ok()) {
        r.error = LookupError(part.status(), stopping);
        continue;
      }
      if (p.timestamp == kEarliestTimestamp) {
        r.offset = (*part)->log_start_offset();
      } else if (p.timestamp == kLatestTimestamp) {
        r.offset = (*part)->high_watermark();
      } else {
        auto found = (*part)->OffsetForTimestamp(p.timestamp);
        if (!found.ok()) {
          r.error = {ErrorCode::STORAGE_ERROR, found.status().ToString()};
          continue;
        }
        r.offset = found->value_or((*part)->high_watermark());
      }
    }
  }
  return response;
}

}  // namespace strata::broker
