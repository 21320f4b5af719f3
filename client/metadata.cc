#include "client/metadata.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/error_status.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/metadata_generated.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {
std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }
}  // namespace

absl::StatusOr<ClusterMetadata> FetchMetadata(Connection& conn,
                                              const std::vector<std::string>& topics) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<flatbuffers::String>> names;
  for (const std::string& t : topics) names.push_back(fbb.CreateString(t));
  fbb.Finish(fb::CreateMetadataRequest(fbb, fbb.CreateVector(names)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kMetadata, protocol::BuilderBytes(fbb)));
  STRATA_ASSIGN_OR_RETURN(const fb::MetadataResponse* body,
                          CheckResponse<fb::MetadataResponse>(response.body, "MetadataResponse",
                                                              "Metadata"));
  ClusterMetadata md;
  md.controller_id = body->controller_id();
  if (body->brokers() != nullptr) {
    for (const fb::BrokerInfo* b : *body->brokers()) {
      md.brokers.push_back({b->node_id(), Str(b->host()), b->port()});
    }
  }
  if (body->topics() != nullptr) {
    for (const fb::TopicMetadata* t : *body->topics()) {
      TopicInfo topic;
      topic.name = Str(t->name());
      topic.status = ErrorToStatus(t->error_code(), t->error_message(),
                                   absl::StrCat("topic '", topic.name, "'"));
      if (t->partitions() != nullptr) {
        for (const fb::PartitionMetadata* p : *t->partitions()) {
          PartitionInfo info;
          info.index = p->index();
          info.leader = p->leader();
          info.leader_epoch = p->leader_epoch();
          info.log_start_offset = p->log_start_offset();
          info.high_watermark = p->high_watermark();
          info.status = ErrorToStatus(p->error_code(), p->error_message(),
                                      absl::StrCat("partition ", topic.name, "-", p->index()));
          topic.partitions.push_back(std::move(info));
        }
      }
      std::sort(topic.partitions.begin(), topic.partitions.end(),
                [](const PartitionInfo& a, const PartitionInfo& b) { return a.index < b.index; });
      md.topics.push_back(std::move(topic));
    }
  }
  return md;
}

absl::StatusOr<TopicInfo> FetchTopicMetadata(Connection& conn, const std::string& topic) {
  STRATA_ASSIGN_OR_RETURN(ClusterMetadata md, FetchMetadata(conn, {topic}));
  for (TopicInfo& t : md.topics) {
    if (t.name != topic) continue;
    if (absl::IsNotFound(t.status)) {
      return absl::NotFoundError(absl::StrCat("topic '", topic,
                                              "' does not exist. Create it with: strata topic "
                                              "create ",
                                              topic, " --partitions N"));
    }
    STRATA_RETURN_IF_ERROR(t.status);
    if (t.partitions.empty()) {
      return absl::UnavailableError(absl::StrCat("topic '", topic, "' has no partitions yet"));
    }
    return std::move(t);
  }
  return absl::DataLossError(
      absl::StrCat("the broker's Metadata answer does not mention topic '", topic, "'"));
}

absl::StatusOr<std::vector<PartitionOffset>> ListOffsets(Connection& conn, const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         int64_t timestamp_ms) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::ListOffsetsPartition>> parts;
  for (int32_t p : partitions) parts.push_back(fb::CreateListOffsetsPartition(fbb, p, timestamp_ms));
  auto t = fb::CreateListOffsetsTopicDirect(fbb, topic.c_str(), &parts);
  std::vector<flatbuffers::Offset<fb::ListOffsetsTopic>> topics{t};
  fbb.Finish(fb::CreateListOffsetsRequestDirect(fbb, &topics));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kListOffsets, protocol::BuilderBytes(fbb)));
  STRATA_ASSIGN_OR_RETURN(const fb::ListOffsetsResponse* body,
                          CheckResponse<fb::ListOffsetsResponse>(
                              response.body, "ListOffsetsResponse", "ListOffsets"));
  std::vector<PartitionOffset> out;
  for (int32_t p : partitions) {
    PartitionOffset po;
    po.partition = p;
    po.status = absl::DataLossError(
        absl::StrCat("the ListOffsets answer does not mention partition ", topic, "-", p));
    if (body->topics() != nullptr) {
      for (const fb::ListOffsetsTopicResponse* tr : *body->topics()) {
        if (tr->name() == nullptr || tr->name()->string_view() != topic ||
            tr->partitions() == nullptr) {
          continue;
        }
        for (const fb::ListOffsetsPartitionResponse* pr : *tr->partitions()) {
          if (pr->index() != p) continue;
          po.offset = pr->offset();
          po.status = ErrorToStatus(pr->error_code(), pr->error_message(),
                                    absl::StrCat("ListOffsets ", topic, "-", p));
        }
      }
    }
    out.push_back(std::move(po));
  }
  return out;
}

}  // namespace strata::client
