// Broker: one stratad node. Owns the storage (TopicManager, a log::Flusher), the producer-id
// allocator, the io threads, the native listener and the metrics listener.
//
// Lifecycle: Start opens the data directory (recovering every partition) and binds both
// listeners, so every configuration mistake (unwritable data dir, port in use) fails Start with a
// message that says what to fix, before anything is served. Shutdown drains connections (answers
// in-progress requests, wakes long-polls), then closes every partition cleanly: flush, write the
// clean-shutdown markers.
// Thread-safety: Shutdown may be called from any thread (a signal handler's strand, a test), once
// or more; Wait blocks until the broker has stopped.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "broker/config.h"
#include "broker/fetch_waiters.h"
#include "broker/metrics.h"
#include "broker/metrics_server.h"
#include "broker/producer_ids.h"
#include "broker/kafka_handler.h"
#include "broker/request_handler.h"
#include "broker/request_memory.h"
#include "broker/server.h"
#include "cluster/etcd_client.h"
#include "cluster/member.h"
#include "consumer_offsets/coordinator.h"
#include "replication/replica_manager.h"
#include "log/flusher.h"
#include "partition/topic_manager.h"

namespace strata::broker {

class Broker {
 public:
  static absl::StatusOr<std::unique_ptr<Broker>> Start(BrokerConfig config);
  ~Broker();

  HostPort native_address() const { return listener_->address(); }
  // Port 0 when metrics are off.
  HostPort metrics_address() const;

  // Stops serving and closes the storage cleanly. Idempotent; returns the first error of closing.
  absl::Status Shutdown();
  // Blocks until Shutdown has completed.
  void Wait();
  // Asks for a shutdown from a signal (SIGTERM, SIGINT) and returns at once.
  void RequestShutdown();


 private:
  explicit Broker(BrokerConfig config);
  absl::Status Open();
  // The caps on open segment files and mappings, fitted to this process's limits (each warns
  // when it has to go below its limits:: value).
  static size_t SegmentFilesOpenMax();
  static size_t MappingsOpenMax();
  // Deletes segments past retention, every few seconds (a thread, off the io threads).
  void RetentionLoop();
  // Compacts the partitions of compacted topics (__consumer_offsets among them), one pass at a
  // time, every log_cleaner_interval_ms (a thread of its own: a pass may take a while).
  void CompactionLoop();
  // In a cluster: the etcd client, the replica manager and the cluster member, registered with
  // `advertised` as this broker's address. Called with the io threads running.
  absl::Status JoinCluster(const HostPort& advertised,
                           const std::optional<HostPort>& kafka_advertised);
  // The local partition `index` of a cluster topic, its topic created here if need be.
  absl::StatusOr<std::shared_ptr<partition::Partition>> OpenReplica(
      const cluster::TopicRecord& topic, int32_t index);

  BrokerConfig config_;
  // Destroyed explicitly first (~Broker): unfinished coroutines they still hold reference the
  // members below. io_ serves the listeners; workers_ the connections, one thread each (a
  // connection's requests never hop between threads). With one io thread, io_ is also the worker.
  std::unique_ptr<asio::io_context> io_;
  std::vector<std::unique_ptr<asio::io_context>> workers_;
  std::unique_ptr<log::Flusher> flusher_;
  std::unique_ptr<log::FileCache> file_cache_;
  std::unique_ptr<log::MapCache> map_cache_;
  std::unique_ptr<partition::TopicManager> topics_;
  // After topics_: its commits write to __consumer_offsets, and it is shut down first.
  std::unique_ptr<consumer_offsets::GroupCoordinator> groups_;
  std::unique_ptr<ProducerIdAllocator> producer_ids_;
  FetchWaiters fetch_waiters_;
  BrokerMetrics metrics_;
  RequestMemory request_memory_;
  std::atomic<bool> stopping_{false};
  // A cluster's parts (null on a single broker). The member goes first at shutdown (it hands
  // leaderships over), then the replica manager (its fetchers), before the partitions close.
  std::unique_ptr<cluster::EtcdClient> etcd_;
  std::unique_ptr<replication::ReplicaManager> replicas_;
  std::unique_ptr<cluster::ClusterMember> member_;
  std::unique_ptr<RequestHandler> handler_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<KafkaHandler> kafka_handler_;
  std::unique_ptr<Listener> kafka_listener_;  // null unless kafka_listen is set
  std::unique_ptr<MetricsServer> metrics_server_;
  std::vector<std::thread> threads_;
  std::thread retention_thread_;
  std::thread compaction_thread_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Status shutdown_status_ ABSL_GUARDED_BY(shutdown_mu_);
  absl::Notification stopped_;
  absl::Notification stop_requested_;
};

}  // namespace strata::broker
