// Admin: topic, consumer-group and cluster management. Create, delete, list and describe topics
// (with their replicas, ISR and leaders in a cluster), read and change their configs, look up
// offsets; list, describe and delete consumer groups and read or reset their committed offsets;
// describe the cluster (DescribeCluster). Requests any broker answers go to one connection
// (ClusterClient::Any: the first bootstrap broker that answers, reconnecting if an earlier call
// lost it); ListOffsets goes to each partition's leader, group requests to the group's
// coordinator.
//
// Not thread-safe: use one Admin per thread, or serialise calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/cluster_client.h"
#include "client/connection.h"
#include "client/group_requests.h"
#include "client/metadata.h"
#include "common/status.h"

namespace strata::client {

// key=value settings in the broker's order (docs/partition.md lists the keys).
using ConfigList = std::vector<std::pair<std::string, std::string>>;

// A topic to create. 0 for replication_factor or min_insync_replicas: the cluster's defaults (a
// single broker accepts only 0 or 1).
struct NewTopic {
  std::string name;
  int32_t partitions = 1;
  int32_t replication_factor = 0;
  int32_t min_insync_replicas = 0;
  ConfigList configs;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  std::string state;  // Empty, PreparingRebalance, CompletingRebalance, Stable
};

struct GroupMemberInfo {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<TopicPartition> assignment;  // decoded when the group is a consumer group
};

struct GroupInfo {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol_name;
  int32_t generation = -1;
  std::vector<GroupMemberInfo> members;
};

class Admin {
 public:
  // Connects to `bootstrap` ("host:port") and shakes hands. Unavailable with a message saying
  // what to do when the broker cannot be reached.
  static absl::StatusOr<std::unique_ptr<Admin>> Connect(std::string_view bootstrap,
                                                        ConnectionOptions options = {});

  // AlreadyExists, InvalidArgument (bad name, partitions, replication or config; the message
  // names it).
  absl::Status CreateTopic(const NewTopic& topic, bool validate_only = false);
  absl::Status CreateTopic(const std::string& name, int32_t partitions,
                           const ConfigList& configs = {}, bool validate_only = false) {
    return CreateTopic(NewTopic{name, partitions, 0, 0, configs}, validate_only);
  }
  // NotFound if there is no such topic. Its data is removed.
  absl::Status DeleteTopic(const std::string& name);
  // Every topic name, sorted.
  absl::StatusOr<std::vector<std::string>> ListTopics();
  // Partitions with leader, log start and high watermark. NotFound (saying how to create it).
  absl::StatusOr<TopicInfo> DescribeTopic(const std::string& name);
  // Brokers and topics (empty `topics`: every topic).
  absl::StatusOr<ClusterMetadata> Metadata(const std::vector<std::string>& topics = {});
  // The cluster as a broker sees it: brokers, controller, partition health and up to
  // `issues_max` partitions with a problem.
  absl::StatusOr<ClusterStatus> DescribeCluster(int32_t issues_max = 100);
  // Every config key of the topic with its value as text.
  absl::StatusOr<ConfigList> DescribeConfigs(const std::string& name);
  // Changes only the given keys. InvalidArgument for a bad key or value or lowering partitions.
  absl::Status AlterConfigs(const std::string& name, const ConfigList& configs,
                            bool validate_only = false);
  // Offsets of `partitions` (empty: every partition) for kEarliestTimestamp, kLatestTimestamp or
  // a timestamp in ms since epoch.
  absl::StatusOr<std::vector<PartitionOffset>> ListOffsets(const std::string& topic,
                                                           std::vector<int32_t> partitions,
                                                           int64_t timestamp_ms);

  // Every consumer group the broker coordinates, sorted by id.
  absl::StatusOr<std::vector<GroupListing>> ListGroups();
  // NotFound (GROUP_ID_NOT_FOUND) for a group the broker does not know.
  absl::StatusOr<GroupInfo> DescribeGroup(const std::string& group);
  // FailedPrecondition while the group has members; NotFound if there is no such group.
  absl::Status DeleteGroup(const std::string& group);
  // The group's committed offsets (every partition it committed).
  absl::StatusOr<std::map<TopicPartition, CommittedOffset>> GroupOffsets(const std::string& group);
  // Commits offsets for a group without members (generation -1): what `strata group
  // reset-offsets` does. Aborted (UNKNOWN_MEMBER_ID) while the group has members.
  absl::Status CommitGroupOffsets(const std::string& group,
                                  const std::map<TopicPartition, int64_t>& offsets);

 private:
  Admin(std::string bootstrap, ConnectionOptions options);
  // A connection to any broker, reconnected if an earlier call lost it.
  absl::StatusOr<Connection*> Conn();

  const std::string bootstrap_;
  const ConnectionOptions options_;
  ClusterClient cluster_;
  // The connection to `group`'s coordinator: conn_ when the bootstrap broker coordinates it.
  absl::StatusOr<Connection*> GroupConn(const std::string& group);
  std::unique_ptr<Connection> group_conn_;
  std::string group_conn_address_;
};

}  // namespace strata::client
