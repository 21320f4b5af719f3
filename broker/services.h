// Services: what the request handlers and the data plane use of the broker. Plain pointers to
// objects the Broker owns and that outlive every request; each is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "broker/config.h"
#include "broker/fetch_waiters.h"
#include "broker/metrics.h"
#include "broker/producer_ids.h"
#include "consumer_offsets/coordinator.h"
#include "partition/topic_manager.h"

namespace strata::cluster {
class ClusterMember;
}
namespace strata::replication {
class ReplicaManager;
}

namespace strata::broker {

struct Services {
  partition::TopicManager* topics = nullptr;
  ProducerIdAllocator* producer_ids = nullptr;
  FetchWaiters* fetch_waiters = nullptr;
  BrokerMetrics* metrics = nullptr;
  consumer_offsets::GroupCoordinator* groups = nullptr;
  int32_t node_id = 0;
  HostPort advertised;  // the native listener as clients should reach it
  // The Kafka-compatible listener as Kafka clients should reach it; nullopt: no such listener.
  std::optional<HostPort> kafka_advertised;
  const std::atomic<bool>* stopping = nullptr;  // set once shutdown starts
  // In a cluster (docs/cluster.md); both null on a single broker.
  replication::ReplicaManager* replicas = nullptr;
  cluster::ClusterMember* cluster = nullptr;
  // How a cluster creates __consumer_offsets on first use.
  int32_t offsets_topic_partitions = 8;
  int32_t offsets_topic_replication_factor = 3;
  uint64_t offsets_topic_segment_bytes = 16ull << 20;
};

}  // namespace strata::broker
