// Kafka's Metadata, CreateTopics, DeleteTopics and DescribeConfigs (docs/kafka.md#admin). Topic
// creation and deletion go through admin_ops.h, as the native protocol's do.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "broker/admin_ops.h"
#include "broker/kafka_handler.h"
#include "broker/request_handler.h"
#include "cluster/member.h"
#include "partition/topic_config.h"
#include "replication/replica_manager.h"

namespace strata::broker {

namespace {

// Kafka spells config keys with dots (retention.ms), Strata with underscores (retention_ms).
std::string ToStrataKey(const std::string& kafka_key) {
  return absl::StrReplaceAll(kafka_key, {{".", "_"}});
}
std::string ToKafkaKey(const std::string& strata_key) {
  return absl::StrReplaceAll(strata_key, {{"_", "."}});
}

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;
constexpr int8_t kDefaultConfigSource = 5;       // DEFAULT_CONFIG
constexpr int8_t kTopicConfigSource = 1;         // DYNAMIC_TOPIC_CONFIG

}  // namespace

KafkaResponse KafkaHandler::Metadata(const kafka::RequestHeader& h,
                                     const kafka::MetadataRequest& req) {
  kafka::MetadataResponse resp;
  resp.cluster_id = "strata";
  std::vector<std::string> names;
  // v0: an empty list means every topic; v1+: null does, and empty means none.
  const bool all = !req.topics.has_value() || (h.api_version == 0 && req.topics->empty());
  if (!all) {
    for (const auto& t : *req.topics) names.push_back(t.name);
  }
  using Partition = kafka::MetadataResponse::MetadataResponseTopic::MetadataResponsePartition;
  if (s_.cluster == nullptr) {
    if (s_.kafka_advertised.has_value()) {
      resp.brokers.push_back({s_.node_id, s_.kafka_advertised->host, s_.kafka_advertised->port,
                              std::nullopt});
    }
    resp.controller_id = s_.node_id;
    if (all) names = s_.topics->List();
    for (const std::string& name : names) {
      auto& topic = resp.topics.emplace_back();
      topic.name = name;
      topic.is_internal = IsInternalTopic(name);
      auto info = s_.topics->Describe(name);
      if (!info.ok()) {
        topic.error_code = static_cast<int16_t>(KafkaError::kUnknownTopicOrPartition);
        continue;
      }
      for (const auto& p : info->partitions) {
        Partition& part = topic.partitions.emplace_back();
        part.partition_index = p.index;
        part.replica_nodes = {s_.node_id};
        if (!p.status.ok()) {
          part.error_code = static_cast<int16_t>(KafkaError::kLeaderNotAvailable);
          part.leader_id = -1;
          part.offline_replicas = {s_.node_id};
          continue;
        }
        part.leader_id = s_.node_id;
        part.leader_epoch = p.leader_epoch;
        part.isr_nodes = {s_.node_id};
      }
    }
    return EncodeResponse(h, resp);
  }

  auto view = s_.cluster->view();
  for (const auto& [id, broker] : view->brokers) {
    if (broker.kafka_port == 0) continue;  // no Kafka listener: Kafka clients cannot reach it
    resp.brokers.push_back({id, broker.kafka_host, broker.kafka_port, std::nullopt});
  }
  resp.controller_id = view->controller ? view->controller->broker_id : -1;
  if (all) {
    for (const auto& [name, topic] : view->topics) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto& topic = resp.topics.emplace_back();
    topic.name = name;
    topic.is_internal = IsInternalTopic(name);
    auto record = view->topics.find(name);
    if (record == view->topics.end()) {
      topic.error_code = static_cast<int16_t>(KafkaError::kUnknownTopicOrPartition);
      continue;
    }
    for (int32_t p = 0; p < record->second.partitions(); ++p) {
      Partition& part = topic.partitions.emplace_back();
      part.partition_index = p;
      const cluster::PartitionState* state = view->Find({name, p});
      // A leader not in the view, or without a Kafka listener, is one Kafka clients cannot
      // reach: not available, as Kafka answers for a leader it cannot name a listener of.
      auto leader = state != nullptr ? view->brokers.find(state->leader) : view->brokers.end();
      if (state == nullptr || leader == view->brokers.end() || leader->second.kafka_port == 0) {
        part.error_code = static_cast<int16_t>(KafkaError::kLeaderNotAvailable);
        part.leader_id = -1;
        if (state != nullptr) part.replica_nodes = state->replicas;
        continue;
      }
      part.leader_id = state->leader;
      part.leader_epoch = state->leader_epoch;
      part.replica_nodes = state->replicas;
      part.isr_nodes = state->isr;
      for (int32_t r : state->replicas) {
        if (!view->brokers.contains(r)) part.offline_replicas.push_back(r);
      }
    }
  }
  return EncodeResponse(h, resp);
}

asio::awaitable<KafkaResponse> KafkaHandler::CreateTopics(const kafka::RequestHeader& h,
                                                          const kafka::CreateTopicsRequest& req) {
  kafka::CreateTopicsResponse resp;
  const int32_t brokers =
      s_.cluster != nullptr ? static_cast<int32_t>(s_.cluster->view()->brokers.size()) : 1;
  for (const auto& t : req.topics) {
    auto& result = resp.topics.emplace_back();
    result.name = t.name;
    const auto fail = [&](KafkaError code, std::string message) {
      result.error_code = static_cast<int16_t>(code);
      result.error_message = std::move(message);
    };
    if (t.num_partitions == 0 || t.num_partitions < -1) {
      fail(KafkaError::kInvalidPartitions,
           absl::StrCat("num_partitions must be at least 1 (or -1 for the default), not ",
                        t.num_partitions));
      continue;
    }
    if (t.replication_factor == 0 || t.replication_factor < -1) {
      fail(KafkaError::kInvalidReplicationFactor,
           absl::StrCat("replication_factor must be at least 1 (or -1 for the default), not ",
                        t.replication_factor));
      continue;
    }
    if (t.replication_factor > brokers) {
      fail(KafkaError::kInvalidReplicationFactor,
           absl::StrCat("replication factor ", t.replication_factor, " is larger than the ",
                        brokers, " broker", brokers == 1 ? "" : "s", " available"));
      continue;
    }
    if (!t.assignments.empty()) {
      fail(KafkaError::kInvalidRequest,
           "manual replica assignment is not supported: Strata places replicas itself; leave "
           "assignments empty and set num_partitions and replication_factor");
      continue;
    }
    NewTopicRequest topic;
    topic.name = t.name;
    topic.partitions = t.num_partitions == -1 ? 1 : t.num_partitions;
    topic.replication_factor = t.replication_factor == -1 ? 0 : t.replication_factor;
    topic.validate_only = req.validate_only;
    for (const auto& c : t.configs) {
      const std::string key = ToStrataKey(c.name);
      if (key == "min_insync_replicas") {
        int32_t value = 0;
        if (!c.value.has_value() || !absl::SimpleAtoi(*c.value, &value) || value < 1) {
          fail(KafkaError::kInvalidConfig, "min.insync.replicas must be a positive integer");
          break;
        }
        topic.min_insync_replicas = value;
        continue;
      }
      topic.config[key] = c.value.value_or("");
    }
    if (result.error_code != 0) continue;
    const Error error = co_await CreateTopic(s_, std::move(topic));
    result.error_code = KafkaErrorCode(error.code);
    if (!error.ok()) result.error_message = error.message;
  }
  co_return EncodeResponse(h, resp);
}

asio::awaitable<KafkaResponse> KafkaHandler::DeleteTopics(const kafka::RequestHeader& h,
                                                          const kafka::DeleteTopicsRequest& req) {
  kafka::DeleteTopicsResponse resp;
  for (const std::string& name : req.topic_names) {
    const Error error = co_await DeleteTopic(s_, name);
    resp.responses.push_back({name, KafkaErrorCode(error.code)});
  }
  co_return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::DescribeConfigs(const kafka::RequestHeader& h,
                                            const kafka::DescribeConfigsRequest& req) {
  kafka::DescribeConfigsResponse resp;
  for (const auto& resource : req.resources) {
    auto& result = resp.results.emplace_back();
    result.resource_type = resource.resource_type;
    result.resource_name = resource.resource_name;
    if (resource.resource_type == kBrokerResource) continue;  // no broker settings shown
    if (resource.resource_type != kTopicResource) {
      result.error_code = static_cast<int16_t>(KafkaError::kInvalidRequest);
      result.error_message = "only topic (2) and broker (4) resources are described";
      continue;
    }
    // The topic's settings: in a cluster from its record (overrides over the defaults), alone
    // from the topic manager.
    std::optional<partition::TopicConfig> config;
    if (s_.cluster != nullptr) {
      auto view = s_.cluster->view();
      if (auto it = view->topics.find(resource.resource_name); it != view->topics.end()) {
        auto all = it->second.config;
        all["partitions"] = std::to_string(it->second.partitions());
        auto applied = partition::ApplyTopicConfigOverrides(partition::TopicConfig{}, all);
        if (applied.ok()) config = *applied;
      }
    } else if (auto info = s_.topics->Describe(resource.resource_name); info.ok()) {
      config = info->config;
    }
    if (!config.has_value()) {
      result.error_code = static_cast<int16_t>(KafkaError::kUnknownTopicOrPartition);
      result.error_message = absl::StrCat("topic `", resource.resource_name, "` does not exist");
      continue;
    }
    const auto defaults = TopicConfigEntries(partition::TopicConfig{});
    for (const auto& [key, value] : TopicConfigEntries(*config)) {
      const std::string kafka_key = ToKafkaKey(key);
      if (resource.configuration_keys.has_value() &&
          std::find(resource.configuration_keys->begin(), resource.configuration_keys->end(),
                    kafka_key) == resource.configuration_keys->end()) {
        continue;
      }
      auto& entry = result.configs.emplace_back();
      entry.name = kafka_key;
      entry.value = value;
      const bool is_default =
          std::find(defaults.begin(), defaults.end(), std::make_pair(key, value)) !=
          defaults.end();
      entry.is_default = is_default;
      entry.config_source = is_default ? kDefaultConfigSource : kTopicConfigSource;
      entry.read_only = s_.cluster != nullptr;  // a cluster's topics keep their creation settings
    }
  }
  return EncodeResponse(h, resp);
}

}  // namespace strata::broker
