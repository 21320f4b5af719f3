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

std::vector<int32_t> Ints(const flatbuffers::Vector<int32_t>* v) {
  if (v == nullptr) return {};
  return {v->begin(), v->end()};
}
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
      topic.replication_factor = t->replication_factor();
      topic.min_insync_replicas = t->min_insync_replicas();
      if (t->partitions() != nullptr) {
        for (const fb::PartitionMetadata* p : *t->partitions()) {
          PartitionInfo info;
          info.index = p->index();
          info.leader = p->leader();
          info.leader_epoch = p->leader_epoch();
          info.log_start_offset = p->log_start_offset();
          info.high_watermark = p->high_watermark();
          info.replicas = Ints(p->replicas());
          info.isr = Ints(p->isr());
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
  return TopicFrom(md, topic);
}

absl::StatusOr<TopicInfo> TopicFrom(const ClusterMetadata& md, const std::string& topic) {
  for (const TopicInfo& t : md.topics) {
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
    return t;
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
          po.error_code = pr->error_code();
          po.status = ErrorToStatus(pr->error_code(), pr->error_message(),
                                    absl::StrCat("ListOffsets ", topic, "-", p));
        }
      }
    }
    out.push_back(std::move(po));
  }
  return out;
}

absl::StatusOr<ClusterStatus> DescribeCluster(Connection& conn, int32_t issues_max) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::CreateDescribeClusterRequest(fbb, issues_max));
  STRATA_ASSIGN_OR_RETURN(Response response, conn.Call(protocol::ApiKey::kDescribeCluster,
                                                       protocol::BuilderBytes(fbb)));
  STRATA_ASSIGN_OR_RETURN(const fb::DescribeClusterResponse* body,
                          CheckResponse<fb::DescribeClusterResponse>(
                              response.body, "DescribeClusterResponse", "DescribeCluster"));
  ClusterStatus out;
  out.cluster_name = Str(body->cluster_name());
  out.controller_id = body->controller_id();
  out.controller_epoch = body->controller_epoch();
  if (body->brokers() != nullptr) {
    for (const fb::ClusterBroker* b : *body->brokers()) {
      out.brokers.push_back({b->node_id(), Str(b->host()), b->port(), b->alive(),
                             b->shutting_down(), b->epoch()});
    }
  }
  std::sort(out.brokers.begin(), out.brokers.end(),
            [](const ClusterBrokerStatus& a, const ClusterBrokerStatus& b) {
              return a.node_id < b.node_id;
            });
  out.partitions = body->partitions();
  out.under_replicated = body->under_replicated();
  out.below_min_isr = body->below_min_isr();
  out.offline = body->offline();
  if (body->issues() != nullptr) {
    for (const fb::PartitionIssue* i : *body->issues()) {
      out.issues.push_back({Str(i->topic()), i->index(), Str(i->state()), i->leader(),
                            i->leader_epoch(), Ints(i->replicas()), Ints(i->isr())});
    }
  }
  return out;
}

}  // namespace strata::client
