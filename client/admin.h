// Admin: topic management against one broker. Create, delete, list and describe topics, read and
// change their configs, look up offsets. Each call is one request/response on the Admin's own
// connection, reconnecting first if an earlier call lost it.
//
// Not thread-safe: use one Admin per thread, or serialise calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "client/metadata.h"
#include "common/status.h"

namespace strata::client {

// key=value settings in the broker's order (docs/partition.md lists the keys).
using ConfigList = std::vector<std::pair<std::string, std::string>>;

class Admin {
 public:
  // Connects to `bootstrap` ("host:port") and shakes hands. Unavailable with a message saying
  // what to do when the broker cannot be reached.
  static absl::StatusOr<std::unique_ptr<Admin>> Connect(std::string_view bootstrap,
                                                        ConnectionOptions options = {});

  // AlreadyExists, InvalidArgument (bad name, partitions or config; the message names it).
  absl::Status CreateTopic(const std::string& name, int32_t partitions,
                           const ConfigList& configs = {}, bool validate_only = false);
  // NotFound if there is no such topic. Its data is removed.
  absl::Status DeleteTopic(const std::string& name);
  // Every topic name, sorted.
  absl::StatusOr<std::vector<std::string>> ListTopics();
  // Partitions with leader, log start and high watermark. NotFound (saying how to create it).
  absl::StatusOr<TopicInfo> DescribeTopic(const std::string& name);
  // Brokers and topics (empty `topics`: every topic).
  absl::StatusOr<ClusterMetadata> Metadata(const std::vector<std::string>& topics = {});
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

 private:
  Admin(std::string bootstrap, ConnectionOptions options);
  // The connection, reconnected if an earlier call lost it.
  absl::StatusOr<Connection*> Conn();

  const std::string bootstrap_;
  const ConnectionOptions options_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace strata::client
