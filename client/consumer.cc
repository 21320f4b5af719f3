#include "client/consumer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/error_status.h"
#include "record/batch.h"
#include "protocol/fetch_body.h"
#include "protocol/fetch_generated.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {

std::string Name(const TopicPartition& tp) { return absl::StrCat(tp.topic, "-", tp.partition); }

std::optional<std::string> Copy(const std::optional<std::string_view>& v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace

Consumer::Consumer(ConsumerConfig config) : config_(std::move(config)) {}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerConfig config) {
  std::unique_ptr<Consumer> consumer(new Consumer(std::move(config)));
  STRATA_RETURN_IF_ERROR(consumer->Conn().status());
  return consumer;
}

absl::StatusOr<Connection*> Consumer::Conn() {
  if (conn_ == nullptr || !conn_->ok()) {
    conn_.reset();
    ConnectionOptions options;
    options.client_software_name = config_.client_name;
    options.connect_timeout_ms = config_.connect_timeout_ms;
    options.request_timeout_ms = config_.request_timeout_ms;
    options.required_apis = {protocol::ApiKey::kMetadata, protocol::ApiKey::kFetch,
                             protocol::ApiKey::kListOffsets};
    STRATA_ASSIGN_OR_RETURN(conn_, Connection::Connect(config_.bootstrap, options));
  }
  return conn_.get();
}

absl::Status Consumer::Assign(const std::string& topic, std::vector<int32_t> partitions) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  STRATA_ASSIGN_OR_RETURN(TopicInfo info, FetchTopicMetadata(*conn, topic));
  const int32_t count = int32_t(info.partitions.size());
  if (partitions.empty()) {
    for (int32_t p = 0; p < count; ++p) partitions.push_back(p);
  }
  for (int32_t p : partitions) {
    if (p < 0 || p >= count) {
      return absl::NotFoundError(absl::StrCat("topic '", topic, "' has partitions 0..", count - 1,
                                              "; there is no partition ", p));
    }
  }
  for (int32_t p : partitions) assigned_.try_emplace(TopicPartition{topic, p});
  return absl::OkStatus();
}

std::vector<TopicPartition> Consumer::Assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : assigned_) out.push_back(tp);
  return out;
}

void Consumer::Unassign(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) assigned_.erase(tp);
}

absl::Status Consumer::SeekBy(const TopicPartition& tp, int64_t timestamp) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  STRATA_ASSIGN_OR_RETURN(std::vector<PartitionOffset> offsets,
                          ListOffsets(*conn, tp.topic, {tp.partition}, timestamp));
  STRATA_RETURN_IF_ERROR(offsets.at(0).status);
  assigned_[tp].position = offsets[0].offset;
  return absl::OkStatus();
}

absl::Status Consumer::Seek(const std::string& topic, int32_t partition, SeekTarget target) {
  const TopicPartition tp{topic, partition};
  if (!assigned_.contains(tp)) {
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", Name(tp), " is not assigned; Assign it before Seek"));
  }
  switch (target.kind) {
    case SeekTarget::Kind::kEarliest:
      return SeekBy(tp, kEarliestTimestamp);
    case SeekTarget::Kind::kLatest:
      return SeekBy(tp, kLatestTimestamp);
    case SeekTarget::Kind::kTimestamp:
      if (target.value < 0) {
        return absl::OutOfRangeError(
            absl::StrCat("cannot seek to timestamp ", target.value, ": it must be >= 0"));
      }
      return SeekBy(tp, target.value);
    case SeekTarget::Kind::kOffset:
      if (target.value < 0) {
        return absl::OutOfRangeError(
            absl::StrCat("cannot seek to offset ", target.value, ": offsets start at 0"));
      }
      assigned_[tp].position = target.value;
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown seek target");
}

absl::Status Consumer::ResolvePositions() {
  std::map<std::string, std::vector<int32_t>> missing;
  for (const auto& [tp, state] : assigned_) {
    if (!state.position) missing[tp.topic].push_back(tp.partition);
  }
  if (missing.empty()) return absl::OkStatus();
  if (config_.auto_offset_reset == OffsetReset::kNone) {
    const auto& [topic, partitions] = *missing.begin();
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", topic, "-", partitions.front(),
                     " has no position and auto_offset_reset is none; Seek it first"));
  }
  const int64_t timestamp = config_.auto_offset_reset == OffsetReset::kEarliest
                                ? kEarliestTimestamp
                                : kLatestTimestamp;
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  for (const auto& [topic, partitions] : missing) {
    STRATA_ASSIGN_OR_RETURN(std::vector<PartitionOffset> offsets,
                            ListOffsets(*conn, topic, partitions, timestamp));
    for (const PartitionOffset& po : offsets) {
      STRATA_RETURN_IF_ERROR(po.status);
      assigned_[TopicPartition{topic, po.partition}].position = po.offset;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::Position(const std::string& topic, int32_t partition) {
  auto it = assigned_.find(TopicPartition{topic, partition});
  if (it == assigned_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", topic, "-", partition, " is not assigned"));
  }
  if (!it->second.position) STRATA_RETURN_IF_ERROR(ResolvePositions());
  return *it->second.position;
}

std::optional<int64_t> Consumer::HighWatermark(const std::string& topic, int32_t partition) const {
  auto it = assigned_.find(TopicPartition{topic, partition});
  if (it == assigned_.end()) return std::nullopt;
  return it->second.high_watermark;
}

absl::StatusOr<std::vector<PartitionOffset>> Consumer::EndOffsets(
    const std::string& topic, const std::vector<int32_t>& partitions) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  return ListOffsets(*conn, topic, partitions, kLatestTimestamp);
}

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(int64_t timeout_ms) {
  std::vector<ConsumerRecord> out;
  STRATA_RETURN_IF_ERROR(PollEach(timeout_ms, [&out](const RecordView& r) {
                           ConsumerRecord cr;
                           cr.topic = std::string(r.topic);
                           cr.partition = r.partition;
                           cr.offset = r.offset;
                           cr.timestamp_ms = r.timestamp_ms;
                           cr.key = Copy(r.key);
                           cr.value = Copy(r.value);
                           for (const record::RecordHeader& h : r.headers) {
                             cr.headers.push_back(Header{std::string(h.key), Copy(h.value)});
                           }
                           out.push_back(std::move(cr));
                         }).status());
  return out;
}

absl::StatusOr<size_t> Consumer::PollEach(int64_t timeout_ms, RecordVisitor visit) {
  if (assigned_.empty()) {
    return absl::FailedPreconditionError("no partitions are assigned; call Assign before Poll");
  }
  timeout_ms = std::clamp<int64_t>(timeout_ms, 0, INT32_MAX);
  STRATA_RETURN_IF_ERROR(ResolvePositions());
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());

  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::FetchTopic>> topics;
  for (auto it = assigned_.begin(); it != assigned_.end();) {
    const std::string& topic = it->first.topic;
    std::vector<flatbuffers::Offset<fb::FetchPartition>> parts;
    for (; it != assigned_.end() && it->first.topic == topic; ++it) {
      parts.push_back(fb::CreateFetchPartition(fbb, it->first.partition, *it->second.position,
                                               config_.partition_max_bytes));
    }
    topics.push_back(fb::CreateFetchTopicDirect(fbb, topic.c_str(), &parts));
  }
  fbb.Finish(fb::CreateFetchRequestDirect(fbb, int32_t(timeout_ms), 1, config_.fetch_max_bytes,
                                          &topics));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kFetch, protocol::BuilderBytes(fbb),
                                     timeout_ms + config_.request_timeout_ms));
  STRATA_ASSIGN_OR_RETURN(protocol::FetchResponseView view,
                          protocol::ParseFetchResponseBody(response.body));
  STRATA_RETURN_IF_ERROR(ErrorToStatus(view.response->error_code(),
                                       view.response->error_message(), "Fetch"));

  // Work on a copy of the states: an error part-way visits nothing and moves no position. Every
  // returned record is decoded (as views) before the first is visited.
  std::map<TopicPartition, PartitionState> states = assigned_;
  readers_.clear();
  std::vector<Decoded>& decoded = decoded_;
  decoded.clear();
  size_t records_pos = 0;
  if (view.response->topics() != nullptr) {
    for (const fb::FetchTopicResponse* t : *view.response->topics()) {
      if (t->partitions() == nullptr) continue;
      const std::string_view topic =
          t->name() == nullptr ? std::string_view() : t->name()->string_view();
      for (const fb::FetchPartitionResponse* p : *t->partitions()) {
        std::span<const std::byte> bytes = view.records.subspan(records_pos, p->records_bytes());
        records_pos += p->records_bytes();
        const TopicPartition tp{std::string(topic), p->index()};
        auto state = states.find(tp);
        if (state == states.end()) continue;  // not ours: ignore
        if (p->high_watermark() >= 0) state->second.high_watermark = p->high_watermark();
        const fb::ErrorCode code = p->error_code();
        if (code == fb::ErrorCode::OFFSET_OUT_OF_RANGE) {
          const int64_t position = state->second.position.value_or(-1);
          if (config_.auto_offset_reset == OffsetReset::kNone) {
            return absl::OutOfRangeError(absl::StrCat(
                "offset ", position, " of ", Name(tp), " is out of range (log start ",
                p->log_start_offset(), ", end ", p->high_watermark(),
                "); Seek to a valid offset, or use auto_offset_reset earliest or latest"));
          }
          const bool earliest = config_.auto_offset_reset == OffsetReset::kEarliest;
          const int64_t reset = earliest ? p->log_start_offset() : p->high_watermark();
          state->second.position = reset >= 0 ? std::optional<int64_t>(reset) : std::nullopt;
          continue;
        }
        if (IsRetriable(code)) continue;  // try again on the next Poll
        STRATA_RETURN_IF_ERROR(
            ErrorToStatus(code, p->error_message(), absl::StrCat("fetching ", Name(tp))));
        int64_t& position = *state->second.position;
        auto damaged = [&](const absl::Status& st) {
          return absl::DataLossError(absl::StrCat(
              "a batch of ", Name(tp), " near offset ", position, " failed verification: ",
              st.message(), ". The broker's copy may be damaged; check it with `strata log verify`"));
        };
        while (!bytes.empty()) {
          // The header says where the batch ends; its checksum is verified once, by
          // BatchReader::Open, and only for a batch whose records are returned.
          absl::StatusOr<record::BatchHeader> header = record::ParseBatchHeader(bytes);
          if (absl::IsOutOfRange(header.status())) break;  // a partial batch at the end
          if (!header.ok()) return damaged(header.status());
          const size_t size = header->size_bytes();
          if (header->last_offset() >= position) {
            absl::StatusOr<record::BatchReader> opened = record::BatchReader::Open(bytes.first(size));
            if (!opened.ok()) return damaged(opened.status());
            // A compressed batch's records point into its reader's buffer, which moving the
            // reader (as the vector grows) keeps in place.
            readers_.push_back(*std::move(opened));
            record::BatchReader& reader = readers_.back();
            for (;;) {
              // Decoded in place, at the end of the list; taken back if not returned.
              Decoded& d = decoded.emplace_back();
              absl::StatusOr<bool> got = reader.NextInto(d.record);
              if (!got.ok() || !*got || d.record.offset < position) {
                decoded.pop_back();
                if (!got.ok()) return damaged(got.status());
                if (!*got) break;
                continue;
              }
              d.topic = topic;
              d.partition = tp.partition;
            }
            position = header->last_offset() + 1;
          }
          bytes = bytes.subspan(size);
        }
      }
    }
  }
  for (const Decoded& d : decoded) {
    visit(RecordView{d.topic, d.partition, d.record.offset, d.record.timestamp_ms, d.record.key,
                     d.record.value, d.record.headers});
  }
  assigned_ = std::move(states);
  const size_t visited = decoded.size();
  decoded.clear();
  readers_.clear();
  conn->Recycle(std::move(response));
  return visited;
}

}  // namespace strata::client
