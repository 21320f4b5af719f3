// Admin operations independent of any wire protocol: creating and deleting topics, and finding a
// consumer group's coordinator. The native handlers (admin_handlers.cc, group_handlers.cc) and the
// Kafka ones (kafka_*_handlers.cc) decode their request, call these, and encode the answer. On a
// single broker a topic is created in the TopicManager; in a cluster through etcd
// (ClusterMember), where the controller then places its replicas and elects leaders.
//
// Thread-safety: as the Services they use; the coroutines resume on the caller's executor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "broker/asio.h"
#include "broker/data_plane.h"
#include "broker/services.h"
#include "partition/topic_config.h"

namespace strata::broker {

struct NewTopicRequest {
  std::string name;
  int32_t partitions = 1;
  int32_t replication_factor = 0;   // 0: the default (docs/cluster.md)
  int32_t min_insync_replicas = 0;  // 0: the default
  std::map<std::string, std::string> config;  // `strata topic create --config` keys
  bool validate_only = false;
};

// Checks and (unless validate_only) creates the topic. INVALID_TOPIC, INVALID_CONFIG,
// TOPIC_ALREADY_EXISTS, STORAGE_FULL, STORAGE_ERROR, and in a cluster REQUEST_TIMED_OUT and
// BROKER_BUSY, each with a message saying what to do.
asio::awaitable<Error> CreateTopic(const Services& s, NewTopicRequest topic);

// Deletes the topic. INVALID_TOPIC for an internal topic, UNKNOWN_TOPIC_OR_PARTITION, and the
// codes above for the rest.
asio::awaitable<Error> DeleteTopic(const Services& s, std::string name);

// The key=value pairs of a topic's config as `strata topic create --config` takes them, in the
// config file's order (DescribeConfigs).
std::vector<std::pair<std::string, std::string>> TopicConfigEntries(
    const partition::TopicConfig& config);

// Which broker coordinates `group_id`: this one on a single broker; in a cluster the leader of
// the group's partition of __consumer_offsets, which is created on first use once
// offsets_topic_replication_factor brokers are up. On failure `error` says why (INVALID_GROUP_ID,
// COORDINATOR_NOT_AVAILABLE: retry) and broker_id is -1.
struct CoordinatorLookup {
  Error error;
  int32_t broker_id = -1;
};
asio::awaitable<CoordinatorLookup> LookUpCoordinator(const Services& s, std::string group_id);

}  // namespace strata::broker
