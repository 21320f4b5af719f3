#include "broker/data_plane.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/commit_wait.h"
#include "broker/request_handler.h"
#include "common/limits.h"
#include "record/batch.h"
#include "replication/replica_manager.h"
#include "replication/serve.h"

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
    case AppendErrorCode::kNotLeader:
      // The leadership moved between the lookup and the append.
      return {ErrorCode::NOT_LEADER, absl::StrCat(e.message, "; refresh metadata and retry")};
  }
  return {ErrorCode::UNKNOWN, e.message};
}

Error CommitWaitError(const absl::Status& st) {
  if (absl::IsDeadlineExceeded(st)) {
    return {ErrorCode::REQUEST_TIMED_OUT,
            "the batch was appended but not yet committed (in every in-sync replica, and fsynced "
            "on the leader) when timeout_ms passed; retry (an idempotent producer's retry is "
            "deduplicated)"};
  }
  if (absl::IsUnavailable(st)) {
    // partition.h: the leadership moved while the batch waited to be committed.
    return {ErrorCode::NOT_LEADER,
            absl::StrCat(st.message(), "; refresh metadata and retry on the new leader (an "
                         "idempotent producer's retry is deduplicated there)")};
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

Error ReplicaFetchErrorToError(const replication::ReplicaFetchResult& r) {
  using replication::ReplicaFetchError;
  switch (r.error) {
    case ReplicaFetchError::kNone: return {};
    case ReplicaFetchError::kNotLeader: return {ErrorCode::NOT_LEADER, r.message};
    case ReplicaFetchError::kFencedEpoch: return {ErrorCode::FENCED_LEADER_EPOCH, r.message};
    case ReplicaFetchError::kUnknownEpoch: return {ErrorCode::UNKNOWN_LEADER_EPOCH, r.message};
    case ReplicaFetchError::kOffsetOutOfRange: return {ErrorCode::OFFSET_OUT_OF_RANGE, r.message};
    case ReplicaFetchError::kOther: return {ErrorCode::UNKNOWN, r.message};
  }
  return {ErrorCode::UNKNOWN, r.message};
}

}  // namespace

DataPlane::Served DataPlane::Serve(const std::string& topic, int32_t index, bool stopping) const {
  Served served;
  if (s_.replicas == nullptr) {
    auto part = s_.topics->GetPartition(topic, index);
    if (!part.ok()) {
      served.error = LookupError(part.status(), stopping);
    } else {
      served.partition = std::move(*part);
    }
    return served;
  }
  using replication::Leadership;
  Leadership l = s_.replicas->Lookup({topic, index});
  served.leader_id = l.leader;
  served.leader_epoch = l.leader_epoch;
  switch (l.kind) {
    case Leadership::Kind::kLeader:
      served.partition = std::move(l.partition);
      served.leader = std::move(l.state);
      break;
    case Leadership::Kind::kFollower:
    case Leadership::Kind::kNotReplica:
      served.error = {ErrorCode::NOT_LEADER,
                      absl::StrCat("broker ", l.leader, " leads ", topic, "/", index,
                                   " (leader epoch ", l.leader_epoch, "), not broker ",
                                   s_.node_id, "; refresh metadata and retry there")};
      break;
    case Leadership::Kind::kOffline:
      served.error = {ErrorCode::LEADER_NOT_AVAILABLE,
                      absl::StrCat(topic, "/", index, " has no leader now (its in-sync replicas "
                                   "are all down, or an election is under way); retry shortly")};
      break;
    case Leadership::Kind::kUnknown:
      served.error = {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                      absl::StrCat("the cluster has no partition ", topic, "/", index,
                                   "; list topics with `strata topic list`")};
      break;
  }
  return served;
}

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
      Served served = Serve(topic.name, r.index, stopping);
      if (!served.error.ok()) {
        r.error = std::move(served.error);
        r.leader_id = served.leader_id;
        r.leader_epoch = served.leader_epoch;
        continue;
      }
      // Kafka's rule: acks=all is refused up front, with nothing appended, while the ISR is
      // smaller than min_insync_replicas (the append could not be committed anyway).
      if (served.leader != nullptr && request.acks == partition::Acks::kAll &&
          !served.leader->EnoughReplicas()) {
        r.error = {ErrorCode::NOT_ENOUGH_REPLICAS,
                   absl::StrCat(topic.name, "/", r.index, " has ", served.leader->isr_size(),
                                " in-sync replica(s), fewer than min_insync_replicas (",
                                served.leader->min_insync_replicas(), "); nothing was appended. "
                                "Retry once the replicas are back (`strata cluster status`)")};
        continue;
      }
      auto& part = served.partition;
      auto appended = part->Append(p.batch);
      if (!appended.ok()) {
        r.error = AppendErrorToError(appended.error(), stopping, s_.node_id);
        continue;
      }
      r.base_offset = appended->base_offset;
      r.duplicate = appended->duplicate;
      r.log_start_offset = part->log_start_offset();
      if (!appended->duplicate) {
        s_.metrics->records_bytes_in.fetch_add(p.batch.size(), std::memory_order_relaxed);
        // Wakes long-polling consumers (single broker) and followers (cluster).
        s_.fetch_waiters->Notify(topic.name, r.index);
        if (served.leader != nullptr) served.leader->OnLeaderAppend();
      }
      // A duplicate waits too: its first append may not be committed yet.
      if (request.acks != partition::Acks::kNone &&
          !part->IsCommitted(appended->last_offset, request.acks)) {
        waits.push_back({&r, std::move(part), appended->last_offset});
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

  const bool replica = request.replica_id >= 0;
  // A diverging log gets its answer at once, like an error.
  bool answer_now = false;
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
        std::shared_ptr<partition::Partition> part;
        // Consumers read below the high watermark; followers up to the log end. Either is out of
        // range only past the log end (see replication::ClassifyConsumerFetch).
        int64_t readable_end = 0;
        int64_t log_end = 0;
        if (replica) {
          if (s_.replicas == nullptr) {
            r.error = {ErrorCode::INVALID_REQUEST,
                       "replica fetches are for brokers of a cluster; this broker runs alone"};
            continue;
          }
          replication::Leadership l = s_.replicas->Lookup({topic.name, r.index});
          replication::ReplicaFetchResult check;
          replication::CheckReplicaFetch(
              l, request.replica_id,
              {topic.name, r.index, asked.fetch_offset, asked.current_leader_epoch,
               asked.last_fetched_epoch},
              replication::SteadyNowMs(), check);
          r.high_watermark = check.high_watermark;
          r.log_start_offset = check.log_start_offset;
          r.leader_id = l.leader;
          r.leader_epoch = l.leader_epoch;
          if (check.error != replication::ReplicaFetchError::kNone) {
            r.error = ReplicaFetchErrorToError(check);
            continue;
          }
          if (check.diverging_epoch >= 0) {
            r.diverging_epoch = check.diverging_epoch;
            r.diverging_end_offset = check.diverging_end_offset;
            answer_now = true;
            continue;
          }
          part = std::move(l.partition);
          readable_end = part->log_end_offset();
          log_end = readable_end;
        } else {
          Served served = Serve(topic.name, r.index, stopping);
          r.leader_id = served.leader_id;
          r.leader_epoch = served.leader_epoch;
          if (!served.error.ok()) {
            r.error = std::move(served.error);
            continue;
          }
          part = std::move(served.partition);
          if (asked.current_leader_epoch >= 0 && s_.replicas != nullptr) {
            auto fenced = replication::CheckLeaderEpoch(asked.current_leader_epoch,
                                                        part->leader_epoch());
            if (fenced != replication::ReplicaFetchError::kNone) {
              replication::ReplicaFetchResult e{topic.name, r.index, fenced,
                                                absl::StrCat("the fetch names leader epoch ",
                                                             asked.current_leader_epoch, "; ",
                                                             topic.name, "/", r.index,
                                                             " is at epoch ",
                                                             part->leader_epoch(),
                                                             ": refresh metadata")};
              r.error = ReplicaFetchErrorToError(e);
              continue;
            }
          }
          r.log_start_offset = part->log_start_offset();
          r.high_watermark = part->high_watermark();
          readable_end = r.high_watermark;
          log_end = part->log_end_offset();
        }
        using replication::ConsumerFetch;
        const ConsumerFetch where = replication::ClassifyConsumerFetch(
            asked.fetch_offset, r.log_start_offset, readable_end, log_end);
        if (where == ConsumerFetch::kOutOfRange) {
          r.error = {ErrorCode::OFFSET_OUT_OF_RANGE,
                     absl::StrCat("offset ", asked.fetch_offset, " is outside the log [",
                                  r.log_start_offset, ", ", std::max(log_end, readable_end),
                                  "]; seek to earliest or latest")};
          continue;
        }
        if (where == ConsumerFetch::kWait) continue;
        // After the first data, respect max_bytes strictly; before it, return at least one batch
        // (the log always does) so a large batch cannot stall a consumer.
        const size_t budget =
            std::min(asked.max_bytes, max_bytes > total ? max_bytes - total : 0);
        if (total > 0 && budget == 0) continue;
        auto read = part->Read(asked.fetch_offset, std::max<size_t>(budget, 1));
        if (!read.ok()) {
          // Retention or truncation raced the offset check.
          r.error = absl::IsOutOfRange(read.status())
                        ? Error{ErrorCode::OFFSET_OUT_OF_RANGE,
                                std::string(read.status().message())}
                        : Error{ErrorCode::STORAGE_ERROR, read.status().ToString()};
          continue;
        }
        if (total > 0 && read->bytes.size() > budget) continue;
        // A consumer never sees past the high watermark: a batch straddling it waits (the log
        // returns whole batches, and the high watermark moves by whole batches, so this only
        // trims a read that raced an append).
        // On a single broker the high watermark is the log end: nothing to trim.
        if (!replica && s_.replicas != nullptr) {
          size_t keep = 0, batches = 0;
          int64_t next = read->first_offset;
          for (size_t pos = 0; pos < read->bytes.size();) {
            auto header = record::ParseBatchHeader(read->bytes.subspan(pos));
            if (!header.ok() || header->last_offset() >= readable_end) break;
            pos += header->size_bytes();
            keep = pos;
            batches++;
            next = header->last_offset() + 1;
          }
          if (keep == 0) continue;
          read->bytes = read->bytes.first(keep);
          read->batch_count = batches;
          read->next_offset = next;
        }
        total += read->bytes.size();
        r.read = std::move(*read);
      }
    }
    return total;
  };

  size_t total = gather();
  if (total < std::max<size_t>(min_bytes, 1) && !response.has_error() && !answer_now &&
      std::chrono::steady_clock::now() < deadline && !keys.empty()) {
    // Long-poll: register, re-check (a produce may have landed meanwhile), sleep until woken or
    // the deadline.
    auto waiter = std::make_shared<FetchWaiters::Waiter>(co_await asio::this_coro::executor);
    FetchWaiters::Registration registration(s_.fetch_waiters, waiter, keys);
    s_.metrics->fetches_parked.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      total = gather();
      if (total >= std::max<size_t>(min_bytes, 1) || response.has_error() || answer_now ||
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

namespace {

// The timestamp and batch leader epoch of the record at r.offset, read back from the log. A read
// that fails leaves them -1: the offset is the answer that matters.
void FoundRecord(const partition::Partition& partition, ListOffsetsPartitionResult& r) {
  auto read = partition.Read(r.offset, 1);  // the batch holding the offset, whatever its size
  if (!read.ok() || read->bytes.empty()) return;
  auto header = record::ParseBatchHeader(read->bytes);
  if (!header.ok()) return;
  auto reader = record::BatchReader::Open(read->bytes.first(header->size_bytes()));
  if (!reader.ok()) return;
  record::Record rec;
  for (;;) {
    auto more = reader->NextInto(rec);
    if (!more.ok() || !*more) return;
    if (rec.offset >= r.offset) break;
  }
  r.timestamp = rec.timestamp_ms;
  r.leader_epoch = header->leader_epoch;
}

}  // namespace

ListOffsetsResponse DataPlane::ListOffsets(const ListOffsetsRequest& request) const {
  const bool stopping = s_.stopping->load(std::memory_order_acquire);
  ListOffsetsResponse response;
  for (const ListOffsetsTopic& t : request.topics) {
    ListOffsetsTopicResult& topic = response.topics.emplace_back();
    topic.name = t.name;
    for (const ListOffsetsPartition& p : t.partitions) {
      ListOffsetsPartitionResult& r = topic.partitions.emplace_back();
      r.index = p.index;
      Served served = Serve(topic.name, p.index, stopping);
      if (!served.error.ok()) {
        r.error = std::move(served.error);
        continue;
      }
      auto* part = &served.partition;
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
        const int64_t high_watermark = (*part)->high_watermark();
        r.offset = found->value_or(high_watermark);
        r.found = found->has_value() && r.offset < high_watermark;
        if (r.found) FoundRecord(**part, r);
      }
    }
  }
  return response;
}

}  // namespace strata::broker
