// OffsetCommit and OffsetFetch: a consumer group's committed offsets (docs/consumer-groups.md).
// A commit is answered only once its record in __consumer_offsets is fsynced.
#include "absl/strings/str_cat.h"
#include "broker/await_callback.h"
#include "broker/request_handler.h"
#include "protocol/message.h"
#include "protocol/request_size.h"
#include "protocol/offsets_generated.h"

namespace strata::broker {

namespace fb = protocol::fb;
using consumer_offsets::GroupResult;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

flatbuffers::Offset<flatbuffers::String> Message(flatbuffers::FlatBufferBuilder& b,
                                                 const GroupResult& r) {
  return r.ok() ? 0 : b.CreateString(r.message);
}

}  // namespace

asio::awaitable<Response> RequestHandler::OffsetCommit(const protocol::Frame& frame, const fb::OffsetCommitRequest* req) {
  const auto* r = req;
  // The request's (topic, partition) pairs in order; entries follow the same order.
  std::vector<std::pair<std::string, std::vector<int32_t>>> shape;
  std::vector<consumer_offsets::CommitEntry> entries;
  if (r->topics() != nullptr) {
    for (const auto* t : *r->topics()) {
      auto& topic = shape.emplace_back(Str(t->name()), std::vector<int32_t>{});
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) {
        topic.second.push_back(p->index());
        entries.push_back({topic.first, p->index(), p->committed_offset(),
                           Str(p->committed_metadata())});
      }
    }
  }
  std::optional<std::string> instance;
  if (r->group_instance_id() != nullptr) instance = r->group_instance_id()->str();
  const std::string group_id = Str(r->group_id());
  const std::string member_id = Str(r->member_id());
  const int32_t generation = r->generation_id();
  auto* groups = s_.groups;
  struct Args {
    const std::string* group_id;
    const std::string* member_id;
    const std::optional<std::string>* instance;
    int32_t generation;
    std::vector<consumer_offsets::CommitEntry>* entries;
  } args{&group_id, &member_id, &instance, generation, &entries};
  consumer_offsets::CommitOutcome outcome =
      co_await AwaitCallback<consumer_offsets::CommitOutcome>([groups, args](auto done) {
        groups->CommitOffsets(*args.group_id, *args.member_id, *args.instance, args.generation,
                              std::move(*args.entries), std::move(done));
      });

  ResponseBuilder b;
  bool has_error = !outcome.group.ok();
  std::vector<flatbuffers::Offset<fb::OffsetCommitTopicResponse>> topics;
  size_t i = 0;
  for (const auto& [name, partitions] : shape) {
    std::vector<flatbuffers::Offset<fb::OffsetCommitPartitionResponse>> parts;
    for (int32_t index : partitions) {
      const GroupResult& e = i < outcome.entries.size() ? outcome.entries[i] : outcome.group;
      ++i;
      has_error |= !e.ok();
      parts.push_back(fb::CreateOffsetCommitPartitionResponse(b, index, GroupErrorCode(e.error),
                                                              Message(b, e)));
    }
    topics.push_back(
        fb::CreateOffsetCommitTopicResponse(b, b.CreateString(name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateOffsetCommitResponse(b, GroupErrorCode(outcome.group.error),
                                          Message(b, outcome.group), b.CreateVector(topics)));
  co_return FinishResponse(frame, b, has_error);
}

Response RequestHandler::OffsetFetch(const protocol::Frame& frame, const fb::OffsetFetchRequest* req) {
  const auto* r = req;
  std::optional<std::vector<consumer_offsets::TopicPartitionId>> wanted;
  if (r->topics() != nullptr) {
    wanted.emplace();
    for (const auto* t : *r->topics()) {
      if (t->partitions() == nullptr) continue;
      for (int32_t p : *t->partitions()) wanted->emplace_back(Str(t->name()), p);
    }
  }
  consumer_offsets::FetchOutcome outcome = s_.groups->FetchOffsets(
      Str(r->group_id()), Str(r->member_id()), r->generation_id(), wanted);

  ResponseBuilder b;
  // Group the answers by topic, in the order they come.
  std::vector<std::pair<std::string, std::vector<flatbuffers::Offset<
                                         fb::OffsetFetchPartitionResponse>>>> topics;
  for (const auto& o : outcome.offsets) {
    if (topics.empty() || topics.back().first != o.topic) topics.emplace_back(o.topic, std::vector<flatbuffers::Offset<fb::OffsetFetchPartitionResponse>>{});
    if (o.value.has_value()) {
      topics.back().second.push_back(fb::CreateOffsetFetchPartitionResponse(
          b, o.partition, o.value->offset, b.CreateString(o.value->metadata),
          o.value->commit_timestamp_ms));
    } else {
      topics.back().second.push_back(fb::CreateOffsetFetchPartitionResponse(b, o.partition));
    }
  }
  std::vector<flatbuffers::Offset<fb::OffsetFetchTopicResponse>> out;
  for (auto& [name, parts] : topics) {
    out.push_back(fb::CreateOffsetFetchTopicResponse(b, b.CreateString(name),
                                                     b.CreateVector(parts)));
  }
  b.Finish(fb::CreateOffsetFetchResponse(b, GroupErrorCode(outcome.group.error),
                                         Message(b, outcome.group), b.CreateVector(out)));
  return FinishResponse(frame, b, !outcome.group.ok());
}

}  // namespace strata::broker
