// Kafka's Produce, Fetch and ListOffsets: adapters over DataPlane (data_plane.h), like the native
// ones in data_handlers.cc. Batches cross between the formats here (record/kafka_batch.h): a
// produced Kafka batch is checked and stored as a Strata batch, and a stored batch is served with
// a Kafka header in front of its unchanged records section (docs/kafka.md#batches).
#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "broker/kafka_handler.h"
#include "common/endian.h"
#include "common/limits.h"
#include "common/logging.h"
#include "record/batch_format.h"

namespace strata::broker {

namespace {

// A produced Kafka batch the broker refuses before the data plane sees it, as Kafka's code.
int16_t BatchErrorCode(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return static_cast<int16_t>(KafkaError::kUnsupportedForMessageFormat);
    case absl::StatusCode::kUnimplemented:
      return static_cast<int16_t>(KafkaError::kUnsupportedCompressionType);
    case absl::StatusCode::kResourceExhausted:
      return static_cast<int16_t>(KafkaError::kMessageTooLarge);
    default:
      return static_cast<int16_t>(KafkaError::kCorruptMessage);
  }
}

}  // namespace

asio::awaitable<KafkaResponse> KafkaHandler::Produce(const kafka::RequestHeader& h,
                                                     const kafka::ProduceRequest& req) {
  kafka::ProduceResponse resp;
  // Where each partition's answer comes from: an error found here, or the data plane's result.
  struct Slot {
    int16_t error = 0;
    bool refused = false;
    size_t topic = 0;      // in `request`
    size_t partition = 0;  // in request.topics[topic]
  };
  std::vector<std::vector<Slot>> slots;
  std::vector<std::vector<std::byte>> batches;  // Strata batches; the data plane stamps them
  batches.reserve([&] {
    size_t n = 0;
    for (const auto& t : req.topic_data) n += t.partition_data.size();
    return n;
  }());
  ProduceRequest request;
  const bool acks_valid = req.acks == 0 || req.acks == 1 || req.acks == -1;
  request.acks = acks_valid ? static_cast<partition::Acks>(req.acks) : partition::Acks::kAll;
  request.timeout = std::chrono::milliseconds(std::max(req.timeout_ms, 0));
  for (const auto& t : req.topic_data) {
    auto& topic_slots = slots.emplace_back();
    ProduceTopic& topic = request.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partition_data) {
      Slot slot;
      if (!acks_valid) {
        slot = {static_cast<int16_t>(KafkaError::kInvalidRequiredAcks), true};
      } else if (req.transactional_id.has_value()) {
        // Transactions are not served (docs/kafka.md).
        slot = {static_cast<int16_t>(KafkaError::kInvalidRequest), true};
      } else if (!p.records.has_value() || p.records->pieces.empty()) {
        slot = {static_cast<int16_t>(KafkaError::kCorruptMessage), true};
      } else {
        auto converted = record::KafkaBatchToStrata(p.records->pieces.front());
        if (!converted.ok()) {
          LogEvent(LogLevel::kDebug, absl::StrCat("Kafka produce to ", t.name, "-", p.index,
                                                  " refused: ", converted.status().message()));
          slot = {BatchErrorCode(converted.status()), true};
        } else {
          batches.push_back(std::move(*converted));
          slot.topic = request.topics.size() - 1;
          slot.partition = topic.partitions.size();
          topic.partitions.push_back({p.index, batches.back()});
        }
      }
      topic_slots.push_back(slot);
    }
  }

  const ProduceResponse result = co_await data_.Produce(std::move(request));

  for (size_t i = 0; i < req.topic_data.size(); ++i) {
    const auto& t = req.topic_data[i];
    auto& out = resp.responses.emplace_back();
    out.name = t.name;
    for (size_t j = 0; j < t.partition_data.size(); ++j) {
      const Slot& slot = slots[i][j];
      auto& p = out.partition_responses.emplace_back();
      p.index = t.partition_data[j].index;
      if (slot.refused) {
        p.error_code = slot.error;
        p.base_offset = -1;
        continue;
      }
      const ProducePartitionResult& r = result.topics[slot.topic].partitions[slot.partition];
      p.error_code = KafkaErrorCode(r.error.code);
      // A retry of an appended batch answers with the offset it got the first time, as Kafka
      // does (duplicate: nothing was appended again).
      p.base_offset = r.error.ok() ? r.base_offset : -1;
      p.log_start_offset = r.log_start_offset;
    }
  }
  if (req.acks == 0) {
    // No answer to carry an error: like Kafka, a failed acks=0 produce closes the connection, so
    // the client notices, refreshes its metadata and reconnects.
    KafkaResponse none;
    none.send = false;
    for (const auto& t : resp.responses) {
      for (const auto& p : t.partition_responses) {
        if (p.error_code != 0 && !none.close) {
          none.close = true;
          none.close_reason = absl::StrCat("an acks=0 produce to ", t.name, "-", p.index,
                                           " failed with Kafka error ", p.error_code);
        }
      }
    }
    co_return none;
  }
  co_return EncodeResponse(h, resp);
}

namespace {

bool HasRecords(std::span<const std::byte> strata_batch) {
  return GetU32(strata_batch.data() + record::batch_format::kRecordCountPos) > 0;
}

// The whole Strata batches of a read, back to back.
std::vector<std::span<const std::byte>> SplitBatches(std::span<const std::byte> rest) {
  std::vector<std::span<const std::byte>> batches;
  while (rest.size() >= record::batch_format::kHeaderBytes) {
    const size_t size = record::batch_format::kLogOverheadBytes +
                        GetU32(rest.data() + record::batch_format::kBatchLengthPos);
    if (size > rest.size()) break;
    batches.push_back(rest.first(size));
    rest = rest.subspan(size);
  }
  return batches;
}

// A read that holds batches but not one record: only batches compaction emptied.
bool OnlyEmptyBatches(const std::optional<log::ReadResult>& read) {
  if (!read.has_value() || read->bytes.empty()) return false;
  for (const auto& batch : SplitBatches(read->bytes)) {
    if (HasRecords(batch)) return false;
  }
  return true;
}

}  // namespace

asio::awaitable<KafkaResponse> KafkaHandler::Fetch(const kafka::RequestHeader& h,
                                                   const kafka::FetchRequest& req) {
  FetchRequest request;
  request.replica_id = -1;  // a Kafka client is always a consumer, never a Strata replica
  request.min_bytes = static_cast<size_t>(std::max(req.min_bytes, 0));
  request.max_bytes = static_cast<size_t>(std::max(req.max_bytes, 0));
  for (const auto& t : req.topics) {
    FetchTopic& topic = request.topics.emplace_back();
    topic.name = t.topic;
    for (const auto& p : t.partitions) {
      topic.partitions.push_back({p.partition, p.fetch_offset,
                                  static_cast<size_t>(std::max(p.partition_max_bytes, 0)),
                                  p.current_leader_epoch, -1});
    }
  }

  // Compaction can leave batches with no records (they keep a producer's last sequence). They are
  // never served: some clients loop on them (kafkajs). When every batch a read found is empty and
  // no partition has records, the read goes on past them, within the request's max_wait, so the
  // long poll waits for real records instead of answering at once with nothing; the client keeps
  // its position and moves past the empty batches with the first record after them.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
  FetchResponse result;
  int reads_past_empty = 0;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    request.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(left, std::chrono::steady_clock::duration::zero()));
    result = co_await data_.Fetch(request);
    bool any_records = false, any_only_empty = false;
    for (const auto& topic : result.topics) {
      for (const auto& r : topic.partitions) {
        if (OnlyEmptyBatches(r.read)) {
          any_only_empty = true;
        } else if (r.read.has_value() && !r.read->bytes.empty()) {
          any_records = true;
        }
      }
    }
    // Past the deadline the broker still reads on a few times (a run of empty batches longer
    // than one read covers, with max_wait_ms 0), so a client that never waits still moves.
    if (any_records || !any_only_empty) break;
    if (++reads_past_empty > limits::kafka_fetch_empty_reads_max &&
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    for (size_t i = 0; i < result.topics.size(); ++i) {
      for (size_t j = 0; j < result.topics[i].partitions.size(); ++j) {
        const auto& read = result.topics[i].partitions[j].read;
        if (OnlyEmptyBatches(read)) request.topics[i].partitions[j].fetch_offset = read->next_offset;
      }
    }
  }

  KafkaResponse out;
  kafka::FetchResponse resp;
  resp.session_id = 0;  // no fetch session: every fetch is a full one
  for (auto& topic : result.topics) {
    auto& t = resp.responses.emplace_back();
    t.topic = topic.name;
    for (auto& r : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = r.index;
      p.error_code = KafkaErrorCode(r.error.code);
      p.high_watermark = r.high_watermark;
      p.last_stable_offset = r.high_watermark;  // no transactions: everything below is stable
      p.log_start_offset = r.log_start_offset;
      p.records = kafka::Records{};
      if (!r.read.has_value() || r.read->bytes.empty()) continue;
      for (const auto& batch : SplitBatches(r.read->bytes)) {
        if (!HasRecords(batch)) continue;
        auto header = record::StrataToKafkaHeader(batch);
        if (!header.ok()) {
          // Verified when stored: a failure here is damage found on the way out.
          LogEvent(LogLevel::kError, absl::StrCat("serving ", topic.name, "-", r.index,
                                                  " to a Kafka client: ",
                                                  header.status().ToString()));
          p.error_code = static_cast<int16_t>(KafkaError::kKafkaStorageError);
          p.records->pieces.clear();
          break;
        }
        out.batch_headers.push_back(*header);
        p.records->pieces.emplace_back(out.batch_headers.back());
        p.records->pieces.push_back(record::StrataRecordsSection(batch));
      }
      out.keepalive.push_back(std::move(*r.read));
    }
  }
  out.out = kafka::StartResponse(h);
  resp.Encode(out.out, h.api_version);
  kafka::FinishResponse(out.out);
  co_return out;
}

KafkaResponse KafkaHandler::ListOffsets(const kafka::RequestHeader& h,
                                        const kafka::ListOffsetsRequest& req) {
  ListOffsetsRequest request;
  for (const auto& t : req.topics) {
    ListOffsetsTopic& topic = request.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions) topic.partitions.push_back({p.partition_index, p.timestamp});
  }
  const ListOffsetsResponse result = data_.ListOffsets(request);
  kafka::ListOffsetsResponse resp;
  for (size_t i = 0; i < req.topics.size(); ++i) {
    auto& t = resp.topics.emplace_back();
    t.name = req.topics[i].name;
    for (size_t j = 0; j < req.topics[i].partitions.size(); ++j) {
      const bool by_time = req.topics[i].partitions[j].timestamp >= 0;
      const auto& r = result.topics[i].partitions[j];
      auto& p = t.partitions.emplace_back();
      p.partition_index = r.index;
      p.error_code = KafkaErrorCode(r.error.code);
      p.offset = r.error.ok() ? r.offset : -1;
      if (r.error.ok() && by_time) {
        // Kafka answers a timestamp with no record at or after it with offset -1.
        p.offset = r.found ? r.offset : -1;
        p.timestamp = r.found ? r.timestamp : -1;
        p.leader_epoch = r.found ? r.leader_epoch : -1;
      }
    }
  }
  return EncodeResponse(h, resp);
}

}  // namespace strata::broker
