// The admin APIs as a broker of a cluster answers them (docs/cluster.md): Metadata from the
// cluster's view, CreateTopics and DeleteTopics through etcd (the controller then places and
// elects), and DescribeCluster (either mode). The single-broker versions are in
// admin_handlers.cc; RequestHandler::Handle picks by Services::cluster.
#include <map>

#include "absl/strings/str_cat.h"
#include "broker/await_callback.h"
#include "broker/request_handler.h"
#include "cluster/member.h"
#include "partition/topic_config.h"
#include "protocol/groups_generated.h"
#include "protocol/message.h"
#include "record/partitioner.h"
#include "protocol/metadata_generated.h"
#include "protocol/topics_generated.h"
#include "replication/replica_manager.h"

namespace strata::broker {

namespace fb = protocol::fb;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

}  // namespace

Response RequestHandler::ClusterMetadata(const protocol::Frame& frame,
                                         const fb::MetadataRequest* req) {
  auto view = s_.cluster->view();
  ResponseBuilder b;
  bool has_error = false;
  std::vector<std::string> names;
  if (req->topics() == nullptr || req->topics()->size() == 0) {
    for (const auto& [name, topic] : view->topics) names.push_back(name);
  } else {
    for (const auto* t : *req->topics()) names.push_back(Str(t));
  }
  std::vector<flatbuffers::Offset<fb::TopicMetadata>> topics;
  for (const std::string& name : names) {
    auto topic = view->topics.find(name);
    if (topic == view->topics.end()) {
      has_error = true;
      topics.push_back(fb::CreateTopicMetadata(
          b, b.CreateString(name), fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
          b.CreateString(absl::StrCat("topic `", name, "` does not exist in the cluster"))));
      continue;
    }
    std::vector<flatbuffers::Offset<fb::PartitionMetadata>> parts;
    for (int32_t p = 0; p < topic->second.partitions(); ++p) {
      const cluster::PartitionState* state = view->Find({name, p});
      if (state == nullptr) {
        has_error = true;
        parts.push_back(fb::CreatePartitionMetadata(
            b, p, fb::ErrorCode::LEADER_NOT_AVAILABLE,
            b.CreateString("the partition is being created; retry shortly")));
        continue;
      }
      // Offsets are known here only for a local replica; a client asks the leader for them.
      int64_t log_start = -1, high_watermark = -1;
      if (auto local = s_.replicas->Lookup({name, p}); local.partition != nullptr) {
        log_start = local.partition->log_start_offset();
        high_watermark = local.partition->high_watermark();
      }
      const bool offline = state->leader == cluster::kNoLeader;
      has_error |= offline;
      parts.push_back(fb::CreatePartitionMetadata(
          b, p, offline ? fb::ErrorCode::LEADER_NOT_AVAILABLE : fb::ErrorCode::NONE,
          offline ? b.CreateString("no in-sync replica can lead it now; it comes back when one "
                                   "of its ISR brokers does")
                  : 0,
          state->leader, state->leader_epoch, log_start, high_watermark,
          b.CreateVector(state->replicas), b.CreateVector(state->isr)));
    }
    topics.push_back(fb::CreateTopicMetadata(b, b.CreateString(name), fb::ErrorCode::NONE, 0,
                                             b.CreateVector(parts),
                                             topic->second.replication_factor,
                                             topic->second.min_insync_replicas));
  }
  std::vector<flatbuffers::Offset<fb::BrokerInfo>> brokers;
  for (const auto& [id, broker] : view->brokers) {
    brokers.push_back(fb::CreateBrokerInfo(b, id, b.CreateString(broker.host), broker.port));
  }
  b.Finish(fb::CreateMetadataResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(brokers),
                                      view->controller ? view->controller->broker_id : -1,
                                      b.CreateVector(topics)));
  return FinishResponse(frame, b, has_error);
}

Response RequestHandler::DescribeCluster(const protocol::Frame& frame,
                                         const fb::DescribeClusterRequest* req) {
  ResponseBuilder b;
  const int32_t issues_max = std::max(req->issues_max(), 0);
  if (s_.cluster == nullptr) {
    // A single broker: itself, no controller, and every partition led here.
    int32_t partitions = 0, offline = 0;
    std::vector<flatbuffers::Offset<fb::PartitionIssue>> issues;
    for (const std::string& name : s_.topics->List()) {
      auto info = s_.topics->Describe(name);
      if (!info.ok()) continue;
      for (const auto& p : info->partitions) {
        partitions++;
        if (p.status.ok()) continue;
        offline++;
        if (static_cast<int32_t>(issues.size()) < issues_max) {
          issues.push_back(fb::CreatePartitionIssue(b, b.CreateString(name), p.index,
                                                    b.CreateString("offline"), -1,
                                                    p.leader_epoch));
        }
      }
    }
    std::vector<flatbuffers::Offset<fb::ClusterBroker>> brokers{fb::CreateClusterBroker(
        b, s_.node_id, b.CreateString(s_.advertised.host), s_.advertised.port, true, false, 0)};
    b.Finish(fb::CreateDescribeClusterResponse(b, fb::ErrorCode::NONE, 0, 0, -1, -1,
                                               b.CreateVector(brokers), partitions, 0, 0, offline,
                                               b.CreateVector(issues)));
    return FinishResponse(frame, b, false);
  }
  auto view = s_.cluster->view();
  // Brokers: the registered ones, and those that hold replicas but are not registered (dead).
  std::map<int32_t, const cluster::BrokerInfo*> known;
  for (const auto& [id, broker] : view->brokers) known[id] = &broker;
  for (const auto& [id, state] : view->partitions) {
    for (int32_t r : state.replicas) known.emplace(r, nullptr);
  }
  std::vector<flatbuffers::Offset<fb::ClusterBroker>> brokers;
  for (const auto& [id, broker] : known) {
    brokers.push_back(broker != nullptr
                          ? fb::CreateClusterBroker(b, id, b.CreateString(broker->host),
                                                    broker->port, true, broker->shutting_down,
                                                    broker->epoch)
                          : fb::CreateClusterBroker(b, id, b.CreateString(""), 0, false));
  }
  int32_t partitions = 0, under = 0, below = 0, offline = 0;
  std::vector<flatbuffers::Offset<fb::PartitionIssue>> issues;
  for (const auto& [id, state] : view->partitions) {
    partitions++;
    auto topic = view->topics.find(id.topic);
    const int32_t min_isr = topic != view->topics.end() ? topic->second.min_insync_replicas : 1;
    const auto isr = static_cast<int32_t>(state.isr.size());
    const char* problem = nullptr;
    if (state.leader == cluster::kNoLeader) {
      offline++;
      problem = "offline";
    } else if (isr < min_isr) {
      below++;
      problem = "below-min-isr";
    } else if (isr < static_cast<int32_t>(state.replicas.size())) {
      under++;
      problem = "under-replicated";
    }
    // Below min ISR and offline partitions are also under-replicated; counted once, by the
    // worst state.
    if (problem == nullptr || static_cast<int32_t>(issues.size()) >= issues_max) continue;
    issues.push_back(fb::CreatePartitionIssue(b, b.CreateString(id.topic), id.partition,
                                              b.CreateString(problem), state.leader,
                                              state.leader_epoch, b.CreateVector(state.replicas),
                                              b.CreateVector(state.isr)));
  }
  auto cluster_name = b.CreateString(s_.cluster->keys().root());
  b.Finish(fb::CreateDescribeClusterResponse(
      b, fb::ErrorCode::NONE, 0, cluster_name,
      view->controller ? view->controller->broker_id : -1,
      view->controller ? view->controller->epoch : -1, b.CreateVector(brokers), partitions, under,
      below, offline, b.CreateVector(issues)));
  return FinishResponse(frame, b, false);
}

}  // namespace strata::broker
