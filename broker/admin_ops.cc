#include "broker/admin_ops.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "broker/await_callback.h"
#include "broker/request_handler.h"
#include "cluster/member.h"
#include "io/file_system.h"
#include "consumer_offsets/coordinator.h"
#include "partition/topic_config.h"
#include "record/partitioner.h"

namespace strata::broker {

using partition::TopicConfig;

namespace {

// How long a topic change may take to show in the cluster's view (etcd, then the controller).
constexpr std::chrono::milliseconds kClusterChangeTimeout{10'000};

// A cluster call's outcome as a wire code, by what the client should do.
Error ClusterError(const absl::Status& st) {
  std::string message(st.message());
  switch (st.code()) {
    case absl::StatusCode::kOk: return {};
    case absl::StatusCode::kAlreadyExists: return {ErrorCode::TOPIC_ALREADY_EXISTS, message};
    case absl::StatusCode::kNotFound: return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, message};
    case absl::StatusCode::kInvalidArgument: return {ErrorCode::INVALID_CONFIG, message};
    case absl::StatusCode::kDeadlineExceeded:
      return {ErrorCode::REQUEST_TIMED_OUT,
              absl::StrCat(message, "; the request may still take effect: check with "
                           "`strata topic describe`")};
    default:
      return {ErrorCode::BROKER_BUSY,
              absl::StrCat("the cluster could not take the change now (", message,
                           "); retry shortly, and check etcd and `strata cluster status`")};
  }
}

// The checks every creation passes first, in either mode; the topic's config on success.
absl::StatusOr<TopicConfig> CheckNewTopic(const NewTopicRequest& topic, Error* error) {
  if (absl::Status st = partition::ValidateTopicName(topic.name); !st.ok()) {
    *error = {ErrorCode::INVALID_TOPIC, std::string(st.message())};
    return st;
  }
  if (IsInternalTopic(topic.name)) {
    *error = {ErrorCode::INVALID_TOPIC,
              "topic names starting with __ are reserved for the broker's internal topics; "
              "choose another name"};
    return absl::InvalidArgumentError(error->message);
  }
  if (topic.config.count("partitions") != 0) {
    *error = {ErrorCode::INVALID_CONFIG,
              "partitions: set the partition count with the request's partitions field, not as "
              "a config"};
    return absl::InvalidArgumentError(error->message);
  }
  auto overrides = topic.config;
  overrides["partitions"] = std::to_string(topic.partitions);
  auto config = partition::ApplyTopicConfigOverrides(TopicConfig{}, overrides);
  if (!config.ok()) *error = {ErrorCode::INVALID_CONFIG, std::string(config.status().message())};
  return config;
}

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

Error CreateLocalTopic(const Services& s, const NewTopicRequest& topic, const TopicConfig& config) {
  if (topic.replication_factor > 1 || topic.min_insync_replicas > 1) {
    return {ErrorCode::INVALID_CONFIG,
            absl::StrCat("this broker runs alone and keeps one copy of each partition; a "
                         "replication factor of ", topic.replication_factor, " needs a cluster "
                         "(docs/cluster.md, scripts/cluster.sh)")};
  }
  if (s.topics->Describe(topic.name).ok()) {
    return {ErrorCode::TOPIC_ALREADY_EXISTS, absl::StrCat("topic `", topic.name, "` already exists")};
  }
  if (topic.validate_only) return {};
  absl::Status st = s.topics->Create(topic.name, config);
  if (st.ok()) return {};
  if (absl::IsAlreadyExists(st)) return {ErrorCode::TOPIC_ALREADY_EXISTS, std::string(st.message())};
  if (absl::IsInvalidArgument(st)) return {ErrorCode::INVALID_CONFIG, std::string(st.message())};
  if (io::IsNoSpace(st)) {
    return {ErrorCode::STORAGE_FULL, absl::StrCat("broker ", s.node_id, ": ", st.message())};
  }
  return {ErrorCode::STORAGE_ERROR, st.ToString()};
}

}  // namespace

asio::awaitable<Error> CreateTopic(const Services& s, NewTopicRequest topic) {
  Error error;
  auto config = CheckNewTopic(topic, &error);
  if (!config.ok()) co_return error;
  if (s.cluster == nullptr) co_return CreateLocalTopic(s, topic, *config);
  if (topic.validate_only) {
    if (s.cluster->view()->topics.contains(topic.name)) {
      co_return Error{ErrorCode::TOPIC_ALREADY_EXISTS,
                      absl::StrCat("topic `", topic.name, "` already exists")};
    }
    co_return Error{};
  }
  cluster::NewTopic create;
  create.name = topic.name;
  create.partitions = topic.partitions;
  create.replication_factor = topic.replication_factor;
  create.min_insync_replicas = topic.min_insync_replicas;
  create.config = topic.config;
  absl::Status st = co_await AwaitCreateTopic(s.cluster, &create);
  co_return ClusterError(st);
}

asio::awaitable<Error> DeleteTopic(const Services& s, std::string name) {
  if (IsInternalTopic(name)) {
    co_return Error{ErrorCode::INVALID_TOPIC,
                    absl::StrCat(name, " is an internal topic of the broker and cannot be deleted "
                                 "(delete consumer groups with DeleteGroups)")};
  }
  if (s.cluster != nullptr) {
    absl::Status st = co_await AwaitDeleteTopic(s.cluster, &name);
    co_return ClusterError(st);
  }
  absl::Status st = s.topics->Delete(name);
  if (absl::IsNotFound(st)) {
    co_return Error{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                    absl::StrCat("topic `", name, "` does not exist")};
  }
  if (!st.ok()) co_return Error{ErrorCode::STORAGE_ERROR, st.ToString()};
  co_return Error{};
}

std::vector<std::pair<std::string, std::string>> TopicConfigEntries(const TopicConfig& config) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string text = partition::FormatTopicConfig(config);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

asio::awaitable<CoordinatorLookup> LookUpCoordinator(const Services& s, std::string group) {
  const auto fail = [](ErrorCode code, std::string message) {
    return CoordinatorLookup{Error{code, std::move(message)}, -1};
  };
  if (s.cluster == nullptr) {
    const consumer_offsets::GroupResult r = s.groups->FindCoordinator(group);
    if (!r.ok()) co_return fail(GroupErrorCode(r.error), r.message);
    co_return CoordinatorLookup{{}, s.node_id};
  }
  if (auto valid = consumer_offsets::GroupCoordinator::ValidateGroupId(group); !valid.ok()) {
    co_return fail(GroupErrorCode(valid.error), valid.message);
  }
  const std::string offsets_topic = consumer_offsets::kOffsetsTopic;
  if (!s.cluster->view()->topics.contains(offsets_topic)) {
    // Created on first use, like Kafka, once enough brokers are up to replicate it as asked.
    const auto live = static_cast<int32_t>(s.cluster->view()->brokers.size());
    if (live < s.offsets_topic_replication_factor) {
      co_return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE,
                     absl::StrCat(offsets_topic, " is created once ",
                                  s.offsets_topic_replication_factor, " brokers are up (", live,
                                  " now, offsets_topic_replication_factor); retry"));
    }
    cluster::NewTopic topic;
    topic.name = offsets_topic;
    topic.partitions = s.offsets_topic_partitions;
    topic.replication_factor = s.offsets_topic_replication_factor;
    // What a single broker's offset store gives the topic (consumer_offsets/offset_store.cc).
    topic.config = {{"cleanup_policy", "compact"},
                    {"retention_ms", "-1"},
                    {"flush_always", "true"},
                    {"segment_bytes", std::to_string(s.offsets_topic_segment_bytes)}};
    absl::Status st = co_await AwaitCreateTopic(s.cluster, &topic);
    if (!st.ok() && !absl::IsAlreadyExists(st)) {
      co_return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE,
                     absl::StrCat("creating ", offsets_topic, ": ", st.message(), "; retry"));
    }
  }
  auto view = s.cluster->view();
  auto topic = view->topics.find(offsets_topic);
  if (topic == view->topics.end()) {
    co_return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE,
                   absl::StrCat(offsets_topic, " is being created; retry"));
  }
  const int32_t index = record::PartitionForKey(group, topic->second.partitions());
  const cluster::PartitionState* state = view->Find({offsets_topic, index});
  if (state == nullptr || !view->brokers.contains(state->leader)) {
    co_return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE,
                   absl::StrCat("group ", group, " is stored in ", offsets_topic, "-", index,
                                ", which has no leader now; retry shortly"));
  }
  co_return CoordinatorLookup{{}, state->leader};
}

}  // namespace strata::broker
