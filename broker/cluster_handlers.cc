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

// A cluster call's outcome as a wire code, by what the client should do.
std::pair<fb::ErrorCode, std::string> ClusterError(const absl::Status& st) {
  std::string message(st.message());
  switch (st.code()) {
    case absl::StatusCode::kOk: return {fb::ErrorCode::NONE, ""};
    case absl::StatusCode::kAlreadyExists: return {fb::ErrorCode::TOPIC_ALREADY_EXISTS, message};
    case absl::StatusCode::kNotFound: return {fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, message};
    case absl::StatusCode::kInvalidArgument: return {fb::ErrorCode::INVALID_CONFIG, message};
    case absl::StatusCode::kDeadlineExceeded:
      return {fb::ErrorCode::REQUEST_TIMED_OUT,
              absl::StrCat(message, "; the request may still take effect: check with "
                           "`strata topic describe`")};
    default:
      return {fb::ErrorCode::BROKER_BUSY,
              absl::StrCat("the cluster could not take the change now (", message,
                           "); retry shortly, and check etcd and `strata cluster status`")};
  }
}

// How long a topic change may take to show in the cluster's view (etcd, then the controller).
constexpr std::chrono::milliseconds kClusterChangeTimeout{10'000};

// ClusterMember's topic changes, awaited. The member runs them on its thread and calls back
// there; AwaitCallback brings the outcome back to the request's strand. The pointers must live
// until the co_await returns (they are the caller's coroutine locals).
asio::awaitable<absl::Status> AwaitCreateTopic(cluster::ClusterMember* member,
                                               cluster::NewTopic* topic) {
  return AwaitCallback<absl::Status>([member, topic](auto done) {
    auto shared = std::make_shared<decltype(done)>(std::move(done));
    member->CreateTopic(std::move(*topic), kClusterChangeTimeout,
                        [shared](absl::Status s) { (*shared)(std::move(s)); });
  });
}

asio::awaitable<absl::Status> AwaitDeleteTopic(cluster::ClusterMember* member,
                                               const std::string* name) {
  return AwaitCallback<absl::Status>([member, name](auto done) {
    auto shared = std::make_shared<decltype(done)>(std::move(done));
    member->DeleteTopic(*name, kClusterChangeTimeout,
                        [shared](absl::Status s) { (*shared)(std::move(s)); });
  });
}

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

asio::awaitable<Response> RequestHandler::ClusterCreateTopics(const protocol::Frame& frame,
                                                              const fb::CreateTopicsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicResult>> results;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      const std::string name = Str(t->name());
      std::pair<fb::ErrorCode, std::string> result{fb::ErrorCode::NONE, ""};
      cluster::NewTopic topic;
      topic.name = name;
      topic.partitions = t->partitions();
      topic.replication_factor = t->replication_factor();
      topic.min_insync_replicas = t->min_insync_replicas();
      topic.config = ConfigOverrides(t->configs());
      // The same checks as a single broker's: a name, a known config, a partition count.
      if (absl::Status st = partition::ValidateTopicName(name); !st.ok()) {
        result = {fb::ErrorCode::INVALID_TOPIC, std::string(st.message())};
      } else if (IsInternalTopic(name)) {
        result = {fb::ErrorCode::INVALID_TOPIC,
                  "topic names starting with __ are reserved for the broker's internal topics; "
                  "choose another name"};
      } else if (topic.config.count("partitions") != 0) {
        result = {fb::ErrorCode::INVALID_CONFIG,
                  "partitions: set the partition count with the request's partitions field"};
      } else {
        auto overrides = topic.config;
        overrides["partitions"] = std::to_string(topic.partitions);
        auto config = partition::ApplyTopicConfigOverrides(partition::TopicConfig{}, overrides);
        if (!config.ok()) {
          result = {fb::ErrorCode::INVALID_CONFIG, std::string(config.status().message())};
        } else if (req->validate_only()) {
          if (s_.cluster->view()->topics.contains(name)) {
            result = {fb::ErrorCode::TOPIC_ALREADY_EXISTS,
                      absl::StrCat("topic `", name, "` already exists")};
          }
        } else {
          absl::Status st = co_await AwaitCreateTopic(s_.cluster, &topic);
          result = ClusterError(st);
        }
      }
      has_error |= result.first != fb::ErrorCode::NONE;
      results.push_back(fb::CreateTopicResult(b, b.CreateString(name), result.first,
                                              b.CreateString(result.second)));
    }
  }
  b.Finish(fb::CreateCreateTopicsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(results)));
  co_return FinishResponse(frame, b, has_error);
}

asio::awaitable<Response> RequestHandler::ClusterDeleteTopics(const protocol::Frame& frame,
                                                              const fb::DeleteTopicsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicResult>> results;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      std::string name = Str(t);
      std::pair<fb::ErrorCode, std::string> result;
      if (IsInternalTopic(name)) {
        result = {fb::ErrorCode::INVALID_TOPIC,
                  absl::StrCat(name, " is an internal topic of the broker and cannot be deleted "
                               "(delete consumer groups with DeleteGroups)")};
      } else {
        absl::Status st = co_await AwaitDeleteTopic(s_.cluster, &name);
        result = ClusterError(st);
      }
      has_error |= result.first != fb::ErrorCode::NONE;
      results.push_back(fb::CreateTopicResult(b, b.CreateString(name), result.first,
                                              b.CreateString(result.second)));
    }
  }
  b.Finish(fb::CreateDeleteTopicsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(results)));
  co_return FinishResponse(frame, b, has_error);
}

asio::awaitable<Response> RequestHandler::ClusterFindCoordinator(
    const protocol::Frame& frame, const fb::FindCoordinatorRequest* req) {
  const std::string group = Str(req->key());
  ResponseBuilder b;
  auto fail = [&](fb::ErrorCode code, const std::string& message) {
    b.Finish(fb::CreateFindCoordinatorResponse(b, code, b.CreateString(message)));
    return FinishResponse(frame, b, true);
  };
  if (auto valid = consumer_offsets::GroupCoordinator::ValidateGroupId(group); !valid.ok()) {
    co_return fail(GroupErrorCode(valid.error), valid.message);
  }
  const std::string offsets_topic = consumer_offsets::kOffsetsTopic;
  if (!s_.cluster->view()->topics.contains(offsets_topic)) {
    // Created on first use, like Kafka, once enough brokers are up to replicate it as asked.
    const auto live = static_cast<int32_t>(s_.cluster->view()->brokers.size());
    if (live < s_.offsets_topic_replication_factor) {
      co_return fail(fb::ErrorCode::COORDINATOR_NOT_AVAILABLE,
                     absl::StrCat(offsets_topic, " is created once ",
                                  s_.offsets_topic_replication_factor, " brokers are up (",
                                  live, " now, offsets_topic_replication_factor); retry"));
    }
    cluster::NewTopic topic;
    topic.name = offsets_topic;
    topic.partitions = s_.offsets_topic_partitions;
    topic.replication_factor = s_.offsets_topic_replication_factor;
    // What a single broker's offset store gives the topic (consumer_offsets/offset_store.cc).
    topic.config = {{"cleanup_policy", "compact"},
                    {"retention_ms", "-1"},
                    {"flush_always", "true"},
                    {"segment_bytes", std::to_string(s_.offsets_topic_segment_bytes)}};
    absl::Status st = co_await AwaitCreateTopic(s_.cluster, &topic);
    if (!st.ok() && !absl::IsAlreadyExists(st)) {
      co_return fail(fb::ErrorCode::COORDINATOR_NOT_AVAILABLE,
                     absl::StrCat("creating ", offsets_topic, ": ", st.message(), "; retry"));
    }
  }
  auto view = s_.cluster->view();
  auto topic = view->topics.find(offsets_topic);
  if (topic == view->topics.end()) {
    co_return fail(fb::ErrorCode::COORDINATOR_NOT_AVAILABLE,
                   absl::StrCat(offsets_topic, " is being created; retry"));
  }
  const int32_t index = record::PartitionForKey(group, topic->second.partitions());
  const cluster::PartitionState* state = view->Find({offsets_topic, index});
  auto broker = state != nullptr ? view->brokers.find(state->leader) : view->brokers.end();
  if (broker == view->brokers.end()) {
    co_return fail(fb::ErrorCode::COORDINATOR_NOT_AVAILABLE,
                   absl::StrCat("group ", group, " is stored in ", offsets_topic, "-", index,
                                ", which has no leader now; retry shortly"));
  }
  b.Finish(fb::CreateFindCoordinatorResponse(b, fb::ErrorCode::NONE, 0, broker->first,
                                             b.CreateString(broker->second.host),
                                             broker->second.port));
  co_return FinishResponse(frame, b, false);
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
