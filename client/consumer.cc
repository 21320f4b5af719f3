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


ClusterClientOptions ClusterOptions(const ConsumerConfig& config) {
  ClusterClientOptions options;
  options.bootstrap = config.bootstrap;
  options.connection.client_software_name = config.client_name;
  options.connection.connect_timeout_ms = config.connect_timeout_ms;
  options.connection.request_timeout_ms = config.request_timeout_ms;
  options.connection.required_apis = {protocol::ApiKey::kMetadata, protocol::ApiKey::kFetch,
                                      protocol::ApiKey::kListOffsets};
  options.refresh_backoff_ms = config.retry_backoff_ms;
  return options;
}

}  // namespace

Consumer::Consumer(ConsumerConfig config)
    : config_(std::move(config)), cluster_(ClusterOptions(config_)) {}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerConfig config) {
  std::unique_ptr<Consumer> consumer(new Consumer(std::move(config)));
  STRATA_RETURN_IF_ERROR(consumer->cluster_.Any().status());
  return consumer;
}

absl::Status Consumer::Assign(const std::string& topic, std::vector<int32_t> partitions) {
  STRATA_ASSIGN_OR_RETURN(ClusterMetadata md, cluster_.Refresh({topic}));
  STRATA_ASSIGN_OR_RETURN(TopicInfo info, TopicFrom(md, topic));
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
  STRATA_ASSIGN_OR_RETURN(std::vector<PartitionOffset> offsets,
                          cluster_.ListOffsets(tp.topic, {tp.partition}, timestamp));
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
  for (const auto& [topic, partitions] : missing) {
    STRATA_ASSIGN_OR_RETURN(std::vector<PartitionOffset> offsets,
                            cluster_.ListOffsets(topic, partitions, timestamp));
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
  return cluster_.ListOffsets(topic, partitions, kLatestTimestamp);
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
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  for (;;) {
    STRATA_RETURN_IF_ERROR(ResolvePositions());
    // A failed refresh leaves the leaders as they were; the fetch then says what is wrong.
    (void)cluster_.RefreshIfStale();
    bool retry = false;
    const int64_t wait_ms =
        std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
    STRATA_ASSIGN_OR_RETURN(const size_t visited, FetchOnce(wait_ms, visit, &retry));
    const absl::Duration left = deadline - absl::Now();
    if (visited > 0 || !retry || left <= absl::ZeroDuration()) return visited;
    // Some partition's leader moved or was unreachable: after a backoff (the refresh waits for
    // it too), fetch again from the leader the metadata then names.
    absl::SleepFor(std::min(left, absl::Milliseconds(config_.retry_backoff_ms)));
  }
}

absl::StatusOr<size_t> Consumer::FetchOnce(int64_t wait_ms, RecordVisitor visit, bool* retry) {
  // The assigned partitions by leader; assigned_ is sorted, so each topic's are together.
  std::map<int32_t, std::vector<std::pair<const TopicPartition*, int64_t>>> by_leader;
  std::map<TopicPartition, int32_t> epochs;
  for (const auto& [tp, state] : assigned_) {
    const std::optional<LeaderInfo> leader = cluster_.Leader(tp);
    if (!leader || leader->node_id < 0) {
      cluster_.MarkStale();
      *retry = true;
      continue;
    }
    by_leader[leader->node_id].emplace_back(&tp, *state.position);
    epochs[tp] = leader->epoch;
  }
  struct InFlight {
    int32_t node;
    Connection* conn;
    Connection::Pending pending;
  };
  std::vector<InFlight> in_flight;
  absl::Status unreachable;
  for (const auto& [node, list] : by_leader) {
    absl::StatusOr<Connection*> conn = cluster_.Node(node);
    if (!conn.ok()) {
      unreachable = conn.status();
      *retry = true;
      continue;
    }
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<fb::FetchTopic>> topics;
    for (size_t i = 0; i < list.size();) {
      const std::string& topic = list[i].first->topic;
      std::vector<flatbuffers::Offset<fb::FetchPartition>> parts;
      for (; i < list.size() && list[i].first->topic == topic; ++i) {
        parts.push_back(fb::CreateFetchPartition(fbb, list[i].first->partition, list[i].second,
                                                 config_.partition_max_bytes,
                                                 epochs[*list[i].first]));
      }
      topics.push_back(fb::CreateFetchTopicDirect(fbb, topic.c_str(), &parts));
    }
    fbb.Finish(fb::CreateFetchRequestDirect(fbb, int32_t(wait_ms), 1, config_.fetch_max_bytes,
                                            &topics));
    absl::StatusOr<Connection::Pending> pending =
        (*conn)->Start(protocol::ApiKey::kFetch, protocol::BuilderBytes(fbb),
                       wait_ms + config_.request_timeout_ms);
    if (!pending.ok()) {
      cluster_.ConnectionFailed(node);
      unreachable = pending.status();
      *retry = true;
      continue;
    }
    in_flight.push_back({node, *conn, *pending});
  }
  std::vector<std::pair<Connection*, Response>> responses;
  for (const InFlight& f : in_flight) {
    absl::StatusOr<Response> response = f.conn->Finish(f.pending);
    if (!response.ok()) {
      if (!f.conn->ok()) {
        cluster_.ConnectionFailed(f.node);
        unreachable = response.status();
        *retry = true;
        continue;
      }
      return response.status();
    }
    responses.emplace_back(f.conn, *std::move(response));
  }
  // No leader answered because none could be reached: say so, as a single broker always did.
  if (responses.empty() && !unreachable.ok()) return unreachable;

  // Work on a copy of the states: an error part-way visits nothing and moves no position. Every
  // returned record is decoded (as views) before the first is visited.
  std::map<TopicPartition, PartitionState> states = assigned_;
  readers_.clear();
  decoded_.clear();
  for (const auto& [conn, response] : responses) {
    STRATA_ASSIGN_OR_RETURN(protocol::FetchResponseView view,
                            protocol::ParseFetchResponseBody(response.body));
    STRATA_RETURN_IF_ERROR(ErrorToStatus(view.response->error_code(),
                                         view.response->error_message(), "Fetch"));
    STRATA_RETURN_IF_ERROR(DecodeAnswer(view, states, retry));
  }
  for (const Decoded& d : decoded_) {
    visit(RecordView{d.topic, d.partition, d.record.offset, d.record.timestamp_ms, d.record.key,
                     d.record.value, d.record.headers});
  }
  assigned_ = std::move(states);
  const size_t visited = decoded_.size();
  decoded_.clear();
  readers_.clear();
  for (auto& [conn, response] : responses) conn->Recycle(std::move(response));
  return visited;
}

absl::Status Consumer::DecodeAnswer(const protocol::FetchResponseView& view,
                                    std::map<TopicPartition, PartitionState>& states,
                                    bool* retry) {
  std::vector<Decoded>& decoded = decoded_;
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
        if (IsLeaderError(code)) {
          // The position stays; the partition is fetched again from the leader the hint names
          // (when newer than what is known) or the next metadata refresh finds.
          if (!cluster_.ApplyHint(tp, p->leader_id(), p->leader_epoch())) cluster_.MarkStale();
          *retry = true;
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
  return absl::OkStatus();
}

}  // namespace strata::client
