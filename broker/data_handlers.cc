// The data path: Produce (append, deduplicate, wait for durability per acks) and Fetch (long-poll,
// whole batches sent straight from the segment mappings). docs/protocol.md specifies both.
#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "broker/durable_wait.h"
#include "broker/request_handler.h"
#include "io/file_system.h"
#include "common/limits.h"
#include "protocol/fetch_body.h"
#include "protocol/message.h"
#include "protocol/request_size.h"
#include "protocol/produce_generated.h"

namespace strata::broker {

namespace fb = protocol::fb;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

struct ErrorValue {
  fb::ErrorCode code = fb::ErrorCode::NONE;
  std::string message;
};

// The code for a failed Partition::Append (partition.h lists what each status means).
ErrorValue AppendError(const absl::Status& st, const partition::Partition& part, bool stopping,
                       size_t batch_bytes, int32_t node_id) {
  std::string message(st.message());
  if (io::IsNoSpace(st) && part.log().health().ok()) {
    return {fb::ErrorCode::STORAGE_FULL,
            absl::StrCat("broker ", node_id, " has no disk space left for partition ",
                         partition::Partition::DirName(part.topic(), part.index()),
                         "; nothing was written, and the partition still serves reads (",
                         message, ")")};
  }
  if (absl::IsDataLoss(st)) return {fb::ErrorCode::CORRUPT_MESSAGE, message};
  if (absl::IsOutOfRange(st)) return {fb::ErrorCode::OUT_OF_ORDER_SEQUENCE, message};
  if (absl::IsUnavailable(st)) {
    return {stopping ? fb::ErrorCode::SHUTTING_DOWN : fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            message};
  }
  if (absl::IsFailedPrecondition(st)) {
    if (!part.log().health().ok()) return {fb::ErrorCode::STORAGE_ERROR, message};
    return {fb::ErrorCode::PRODUCER_FENCED, message};
  }
  if (absl::IsInvalidArgument(st)) {
    if (batch_bytes > part.log().config().segment_bytes) {
      return {fb::ErrorCode::MESSAGE_TOO_LARGE,
              absl::StrCat("batch of ", batch_bytes, " bytes is larger than the topic's "
                           "segment_bytes (", part.log().config().segment_bytes,
                           "); send smaller batches")};
    }
    return {fb::ErrorCode::INVALID_REQUEST, message};
  }
  if (absl::IsResourceExhausted(st)) return {fb::ErrorCode::BROKER_BUSY, message};
  return {fb::ErrorCode::UNKNOWN, st.ToString()};
}

ErrorValue DurableError(const absl::Status& st) {
  if (absl::IsDeadlineExceeded(st)) {
    return {fb::ErrorCode::REQUEST_TIMED_OUT,
            "the batch was appended but not yet fsynced when timeout_ms passed; retry (an "
            "idempotent producer's retry is deduplicated)"};
  }
  if (absl::IsResourceExhausted(st)) return {fb::ErrorCode::BROKER_BUSY, std::string(st.message())};
  return {fb::ErrorCode::STORAGE_ERROR, st.ToString()};
}

}  // namespace

asio::awaitable<Response> RequestHandler::Produce(const protocol::Frame& frame,
                                                  std::span<std::byte> body) {
  auto req = protocol::VerifyRequest<fb::ProduceRequest>(frame.body, "ProduceRequest");
  if (!req.ok()) {
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         std::string(req.status().message()));
  }
  const int acks = (*req)->acks();
  if (acks != 0 && acks != 1 && acks != -1) {
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         absl::StrCat("acks must be 0, 1 or -1 (all), not ", acks));
  }
  const auto timeout = std::chrono::milliseconds(
      std::clamp((*req)->timeout_ms(), 0, limits::produce_timeout_ms_max));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool stopping = s_.stopping->load(std::memory_order_acquire);

  struct PartitionResult {
    int32_t index = 0;
    ErrorValue error;
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t log_start_offset = -1;
    bool duplicate = false;
    std::shared_ptr<partition::Partition> partition;  // set while a durability wait is due
  };
  struct TopicResult {
    std::string name;
    std::vector<PartitionResult> partitions;
  };
  std::vector<TopicResult> results;
  if ((*req)->topics() != nullptr) {
    for (const auto* t : *(*req)->topics()) {
      TopicResult& topic = results.emplace_back();
      topic.name = Str(t->name());
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) {
        PartitionResult& r = topic.partitions.emplace_back();
        r.index = p->index();
        if (p->records() == nullptr || p->records()->size() == 0) {
          r.error = {fb::ErrorCode::CORRUPT_MESSAGE, "no record batch in `records`"};
          continue;
        }
        if (IsInternalTopic(topic.name)) {
          r.error = {fb::ErrorCode::INVALID_REQUEST,
                     absl::StrCat(topic.name, " is an internal topic; only the broker writes it")};
          continue;
        }
        auto part = s_.topics->GetPartition(topic.name, r.index);
        if (!part.ok()) {
          r.error = {PartitionLookupError(part.status(), stopping),
                     std::string(part.status().message())};
          continue;
        }
        // The batch lies inside the verified body, which the caller owns and lets us modify: the
        // log stamps the base offset and leader epoch into it in place.
        const auto* data = reinterpret_cast<const std::byte*>(p->records()->data());
        std::span<std::byte> batch =
            body.subspan(static_cast<size_t>(data - frame.body.data()), p->records()->size());
        auto appended = (*part)->Append(batch, /*leader_epoch=*/0);
        if (!appended.ok()) {
          r.error = AppendError(appended.status(), **part, stopping, batch.size(), s_.node_id);
          continue;
        }
        r.base_offset = appended->base_offset;
        r.last_offset = appended->last_offset;
        r.duplicate = appended->duplicate;
        r.log_start_offset = (*part)->log_start_offset();
        if (!appended->duplicate) {
          s_.metrics->records_bytes_in.fetch_add(batch.size(), std::memory_order_relaxed);
          s_.fetch_waiters->Notify(topic.name, r.index);
        }
        // acks=all waits for the fsync (one node: durable is all there is); so does acks=1 on a
        // flush=always topic. A duplicate waits too: its first append may not be durable yet.
        if (acks == -1 || (acks == 1 && (*part)->log().config().flush.always)) {
          r.partition = std::move(*part);
        }
      }
    }
  }
  // Every wait shares one group commit, so waiting for them one after another costs one fsync.
  for (auto& topic : results) {
    for (auto& r : topic.partitions) {
      if (r.partition == nullptr) continue;
      const auto left = std::max(std::chrono::milliseconds(0),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
      absl::Status st = co_await AsyncWhenDurable(r.partition->log(), r.last_offset, left);
      if (!st.ok()) r.error = DurableError(st);
      r.partition.reset();
    }
  }

  bool has_error = false;
  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::TopicProduceResponse>> topics;
  for (const auto& topic : results) {
    std::vector<flatbuffers::Offset<fb::PartitionProduceResponse>> parts;
    for (const auto& r : topic.partitions) {
      const bool ok = r.error.code == fb::ErrorCode::NONE;
      has_error |= !ok;
      parts.push_back(fb::CreatePartitionProduceResponse(
          b, r.index, r.error.code, ok ? 0 : b.CreateString(r.error.message),
          ok ? r.base_offset : -1, r.log_start_offset, r.duplicate));
    }
    topics.push_back(
        fb::CreateTopicProduceResponse(b, b.CreateString(topic.name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateProduceResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  Response response = FinishResponse(frame, b, has_error);
  response.send = acks != 0;
  co_return response;
}

asio::awaitable<Response> RequestHandler::Fetch(const protocol::Frame& frame) {
  auto req = protocol::VerifyRequest<fb::FetchRequest>(frame.body, "FetchRequest");
  if (!req.ok()) {
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         std::string(req.status().message()));
  }
  const auto* request = *req;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(std::clamp(request->max_wait_ms(), 0, limits::fetch_wait_ms_max));
  const size_t min_bytes = static_cast<size_t>(std::max(request->min_bytes(), 0));
  // Capped so that even with a maximal first batch the response fits in a frame.
  const size_t max_bytes = std::min(static_cast<size_t>(std::max(request->max_bytes(), 0)),
                                    limits::frame_bytes_max / 2);

  struct PartitionResult {
    int32_t index = 0;
    int64_t fetch_offset = 0;
    size_t max_bytes = 0;
    ErrorValue error;
    int64_t high_watermark = -1;
    int64_t log_start_offset = -1;
    std::optional<log::ReadResult> read;
  };
  struct TopicResult {
    std::string name;
    std::vector<PartitionResult> partitions;
  };
  std::vector<TopicResult> results;
  std::vector<FetchWaiters::PartitionKey> keys;
  if (request->topics() != nullptr) {
    for (const auto* t : *request->topics()) {
      TopicResult& topic = results.emplace_back();
      topic.name = Str(t->name());
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) {
        PartitionResult& r = topic.partitions.emplace_back();
        r.index = p->index();
        r.fetch_offset = p->fetch_offset();
        r.max_bytes = static_cast<size_t>(std::max(p->partition_max_bytes(), 0));
        keys.emplace_back(topic.name, r.index);
      }
    }
  }

  // Reads every partition once; returns the record bytes found.
  const auto gather = [&]() {
    const bool stopping = s_.stopping->load(std::memory_order_acquire);
    size_t total = 0;
    for (auto& topic : results) {
      for (auto& r : topic.partitions) {
        r.read.reset();
        r.error = {};
        auto part = s_.topics->GetPartition(topic.name, r.index);
        if (!part.ok()) {
          r.error = {PartitionLookupError(part.status(), stopping),
                     std::string(part.status().message())};
          continue;
        }
        r.log_start_offset = (*part)->log_start_offset();
        r.high_watermark = (*part)->log_end_offset();  // one node: HW = log end
        if (r.fetch_offset < r.log_start_offset || r.fetch_offset > r.high_watermark) {
          r.error = {fb::ErrorCode::OFFSET_OUT_OF_RANGE,
                     absl::StrCat("offset ", r.fetch_offset, " is outside the log [",
                                  r.log_start_offset, ", ", r.high_watermark,
                                  "]; seek to earliest or latest")};
          continue;
        }
        if (r.fetch_offset == r.high_watermark) continue;
        // After the first data, respect max_bytes strictly; before it, return at least one batch
        // (the log always does) so a large batch cannot stall a consumer.
        const size_t budget = std::min(r.max_bytes, max_bytes > total ? max_bytes - total : 0);
        if (total > 0 && budget == 0) continue;
        auto read = (*part)->Read(r.fetch_offset, std::max<size_t>(budget, 1));
        if (!read.ok()) {
          // Retention or truncation raced the offset check.
          r.error = absl::IsOutOfRange(read.status())
                        ? ErrorValue{fb::ErrorCode::OFFSET_OUT_OF_RANGE,
                                     std::string(read.status().message())}
                        : ErrorValue{fb::ErrorCode::STORAGE_ERROR, read.status().ToString()};
          continue;
        }
        if (total > 0 && read->bytes.size() > budget) continue;
        total += read->bytes.size();
        r.read = std::move(*read);
      }
    }
    return total;
  };

  const auto has_error = [&]() {
    for (const auto& topic : results) {
      for (const auto& r : topic.partitions) {
        if (r.error.code != fb::ErrorCode::NONE) return true;
      }
    }
    return false;
  };

  size_t total = gather();
  if (total < std::max<size_t>(min_bytes, 1) && !has_error() &&
      std::chrono::steady_clock::now() < deadline && !keys.empty()) {
    // Long-poll: register, re-check (a produce may have landed meanwhile), sleep until woken or
    // the deadline.
    auto waiter = std::make_shared<FetchWaiters::Waiter>(co_await asio::this_coro::executor);
    FetchWaiters::Registration registration(s_.fetch_waiters, waiter, keys);
    for (;;) {
      total = gather();
      if (total >= std::max<size_t>(min_bytes, 1) || has_error() ||
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
  }

  ResponseBuilder b;
  Response response;
  std::vector<flatbuffers::Offset<fb::FetchTopicResponse>> topics;
  uint64_t records_bytes = 0;
  for (auto& topic : results) {
    std::vector<flatbuffers::Offset<fb::FetchPartitionResponse>> parts;
    for (auto& r : topic.partitions) {
      const bool ok = r.error.code == fb::ErrorCode::NONE;
      response.has_error |= !ok;
      const uint32_t n = r.read.has_value() ? static_cast<uint32_t>(r.read->bytes.size()) : 0;
      parts.push_back(fb::CreateFetchPartitionResponse(
          b, r.index, r.error.code, ok ? 0 : b.CreateString(r.error.message), r.high_watermark,
          r.log_start_offset, n));
      if (n > 0) {
        records_bytes += n;
        response.records.push_back(std::move(*r.read));
      }
    }
    topics.push_back(
        fb::CreateFetchTopicResponse(b, b.CreateString(topic.name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateFetchResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  const auto head = protocol::EncodeFetchResponseHead(protocol::BuilderBytes(b));
  auto header = protocol::EncodeFrameHeader(frame.correlation_id, frame.api_key,
                                            frame.api_version, head.size() + records_bytes);
  if (!header.ok()) {
    // max_bytes larger than a frame can carry, with that much data available.
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         absl::StrCat("max_bytes ", max_bytes,
                                      " makes a response larger than the frame limit; lower it"));
  }
  response.head.assign(header->begin(), header->end());
  response.head.insert(response.head.end(), head.begin(), head.end());
  s_.metrics->records_bytes_out.fetch_add(records_bytes, std::memory_order_relaxed);
  co_return response;
}

}  // namespace strata::broker
